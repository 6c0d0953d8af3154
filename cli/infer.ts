/**
 * `deno task infer --model_path D --test_data F --output_dir D [flags]`: reconstruct a scan with a
 * trained model (docs/physics.md#inference-and-stitching, #outputs, #command-line-names).
 * Everything is computed before the first file is written, and every file is written atomically, so
 * a failed run leaves no partial outputs.
 */
import { setBackend } from "../engine/mod.ts";
import { type Command, type FlagSpec, type ParsedArgs, UsageError } from "./args.ts";
import { minimumPositions, type PtychoDataset } from "../io/dataset.ts";
import { loadScan } from "../io/scan_file.ts";
import { SCAN_FLAGS, scanOptionsFromFlags } from "./scan_flags.ts";
import { PtychoInputError } from "../io/errors.ts";
import { writeFileAtomic } from "../io/files.ts";
import { ACCELERATOR_FLAG, acceleratorFromFlags, chooseBackend } from "./accelerator.ts";
import { encodeReconstructionNpz } from "../model/evaluate/files.ts";
import { lockOutputDir } from "../io/lock.ts";
import { formatMetricsTable, frcCurveSvg, metricsJsonText } from "./evaluate_report.ts";
import { reconstruct, type Reconstruction, type StitchWeighting } from "../model/infer/infer.ts";
import { channelPng, comparisonPng, stitchedChannels } from "./infer_output.ts";
import { beamlineOutputs } from "./beamline_output.ts";
import {
  alignChannels,
  channelsMetrics,
  complexFromInterleaved,
} from "../model/evaluate/metrics.ts";
import { loadModelBundle, modelFromBundle, type PinnManifest } from "../model/model_bundle.ts";

const flags: readonly FlagSpec[] = [
  {
    name: "model_path",
    type: "string",
    required: true,
    help: "the training output folder (holding model.zip) or the model.zip file",
  },
  {
    name: "test_data",
    type: "string",
    required: true,
    help: "the scan to reconstruct (.npz, .h5 or .cxi, by content)",
  },
  ...SCAN_FLAGS,
  { name: "output_dir", type: "string", required: true, help: "folder for the outputs" },
  { name: "n_images", type: "int", help: "use only the first n patterns (default: all)" },
  { name: "batch-size", type: "int", default: 32, help: "groups per forward pass" },
  {
    name: "gridsize",
    type: "int",
    help: "group side; taken from the model (given, it must match the model's)",
  },
  { name: "stitch-crop", type: "int", help: "central crop kept per patch (default 20·N/64)" },
  {
    name: "stitch-weights",
    type: "choice",
    choices: ["uniform", "probe"],
    default: "uniform",
    help: "average overlapping crops plainly, or weight each pixel by the probe intensity there " +
      "(smoother seams; use a crop about the probe's size)",
  },
  {
    name: "stitch-fill",
    type: "choice",
    choices: ["wide", "none"],
    default: "wide",
    help: "pixels between scan positions that no central crop covers: wide = filled from the " +
      "patches' wider windows (N/2, then N), none = left at 0 (NaN in the HDF5 and TIFF outputs)",
  },
  ACCELERATOR_FLAG,
  {
    name: "device",
    type: "choice",
    choices: ["cpu", "cuda"],
    deprecated: "use --accelerator; --device cpu|cuda sets it when --accelerator is auto",
    help: "deprecated alias of --accelerator",
  },
  { name: "quiet", type: "boolean", default: false, help: "print only the summary and errors" },
  { name: "debug", type: "boolean", default: false, help: "print stack traces on errors" },
];

/** The bundle file: `path` itself, or `path/model.zip` for a training output folder. */
export function resolveModelPath(path: string): string {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    throw new PtychoInputError(path, "no such file or folder (expected model.zip or its folder)");
  }
  if (!info.isDirectory) return path;
  const file = `${path.replace(/\/+$/, "")}/model.zip`;
  try {
    Deno.statSync(file);
  } catch {
    throw new PtychoInputError(path, "this folder holds no model.zip (is it a training output?)");
  }
  return file;
}

/** Every check that needs no computation; nothing is written. */
async function loadInputs(f: ParsedArgs["flags"], warn: (m: string) => void) {
  const modelPath = resolveModelPath(f.model_path as string);
  const { bundle, manifest } = loadModelBundle(modelPath);
  const given = f.gridsize as number | undefined;
  if (given !== undefined && given !== manifest.gridsize) {
    throw new UsageError(
      `--gridsize ${given} does not match the model (trained with gridsize ${manifest.gridsize})`,
    );
  }
  const neighbours = typeof manifest.config?.neighborCount === "number"
    ? manifest.config.neighborCount as number
    : 4;
  const dataset = await loadScan(f.test_data as string, {
    ...scanOptionsFromFlags(f),
    gridsize: manifest.gridsize,
    neighbours,
    onWarning: warn,
  });
  if (dataset.n !== manifest.n) {
    throw new PtychoInputError(
      dataset.file,
      `patterns are ${dataset.n}×${dataset.n} but the model (${modelPath}) was trained at ` +
        `N=${manifest.n}; use a model trained on ${dataset.n}×${dataset.n} patterns` +
        (dataset.source?.format === "cxi" && dataset.n > manifest.n
          ? `, or --cxi_crop ${manifest.n} to keep the central ${manifest.n}×${manifest.n} ` +
            "detector pixels"
          : ""),
    );
  }
  const nImages = f.n_images as number | undefined;
  const least = minimumPositions(manifest.gridsize, neighbours);
  if (nImages !== undefined && nImages < least) {
    throw new UsageError(`--n_images must be ≥ ${least} for gridsize ${manifest.gridsize}`);
  }
  const batchSize = f.batch_size as number;
  if (batchSize < 1) throw new UsageError(`--batch-size must be ≥ 1, got ${batchSize}`);
  const crop = f.stitch_crop as number | undefined;
  if (crop !== undefined && (crop < 1 || crop > manifest.n)) {
    throw new UsageError(`--stitch-crop must be in [1, ${manifest.n}], got ${crop}`);
  }
  const weights = f.stitch_weights as StitchWeighting;
  const fill = f.stitch_fill === "wide";
  return {
    modelPath,
    bundle,
    manifest,
    neighbours,
    dataset,
    nImages,
    batchSize,
    crop,
    weights,
    fill,
  };
}

/**
 * Proves before any work that `dir` exists and is writable or can be created; a folder created
 * for the check is removed again (it is made for real when the outputs are written), so a failed
 * run leaves nothing behind.
 */
export function checkOutputDir(dir: string): void {
  let created = false;
  try {
    try {
      if (!Deno.statSync(dir).isDirectory) {
        throw new PtychoInputError(dir, "exists and is not a directory");
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      Deno.mkdirSync(dir, { recursive: true });
      created = true;
    }
    const probe = `${dir}/.ptycho-write-test-${crypto.randomUUID().slice(0, 8)}`;
    Deno.writeFileSync(probe, new Uint8Array(0));
    Deno.removeSync(probe);
  } catch (e) {
    if (e instanceof PtychoInputError) throw e;
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new PtychoInputError(dir, `the output directory is not writable (${why})`);
  } finally {
    if (created) Deno.removeSync(dir);
  }
}

/** All output files of a reconstruction, as bytes, plus the metrics table when there is truth. */
export function inferenceOutputs(
  recon: Reconstruction,
  dataset: PtychoDataset,
  context: Record<string, unknown>,
): { files: Map<string, Uint8Array>; table: string | null } {
  const files = new Map<string, Uint8Array>();
  const { amplitude, phase } = stitchedChannels(recon.stitched);
  files.set("reconstructed_amplitude.png", channelPng(amplitude));
  files.set("reconstructed_phase.png", channelPng(phase));
  files.set(
    "reconstruction.npz",
    encodeReconstructionNpz(recon.stitched, recon.xcoords, recon.ycoords, recon.stitchCrop),
  );
  if (dataset.objectGuess === null) return { files, table: null };
  const { height, width, data } = dataset.objectGuess;
  const s = recon.stitched;
  const channels = alignChannels(
    complexFromInterleaved(s.data, s.height, s.width),
    complexFromInterleaved(data, height, width),
    {
      scan: { xcoords: recon.xcoords, ycoords: recon.ycoords, stitchCrop: recon.stitchCrop },
      reconOriginXY: [s.originX, s.originY],
    },
  );
  const metrics = channelsMetrics(channels);
  const encoder = new TextEncoder();
  files.set("metrics.json", encoder.encode(metricsJsonText(metrics, context)));
  files.set("comparison.png", comparisonPng(channels));
  files.set("frc_curve.svg", encoder.encode(frcCurveSvg(metrics)));
  return { files, table: formatMetricsTable(metrics) };
}

async function run(args: ParsedArgs): Promise<void> {
  const f = args.flags;
  const quiet = f.quiet as boolean;
  const started = performance.now();
  const inputs = await loadInputs(f, (m) => console.error(`warning: ${m}`));
  const outDir = (f.output_dir as string).replace(/\/+$/, "") || "/";
  checkOutputDir(outDir);
  using _lock = lockOutputDir(outDir, "infer");
  const backend = await chooseBackend(acceleratorFromFlags(f));
  setBackend(backend);
  if (!quiet) console.log(`backend: ${backend.name} (${backend.description})`);
  const model = modelFromBundle(inputs.bundle, inputs.manifest);
  let recon: Reconstruction;
  // A progress line redrawn in place only on a terminal; logs get the summary line alone.
  const progress = !quiet && Deno.stderr.isTerminal();
  try {
    recon = await reconstruct(model, inputs.dataset, {
      nImages: inputs.nImages,
      batchSize: inputs.batchSize,
      stitchCrop: inputs.crop,
      stitchWeights: inputs.weights,
      stitchFill: inputs.fill,
      neighbours: inputs.neighbours,
      onProgress: progress
        ? (done, total) =>
          Deno.stderr.writeSync(new TextEncoder().encode(`\rpredicted ${done}/${total} groups`))
        : undefined,
    });
  } finally {
    model.dispose();
  }
  if (progress) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  if (recon.stitched.filled > 0 && !quiet) {
    console.error(
      `note: ${recon.stitched.filled} px lie in no patch's central ${recon.stitchCrop} px; ` +
        "filled from the patches' wider windows (--stitch-fill none leaves them at 0)",
    );
  }
  if (recon.holes > 0) {
    console.error(
      `warning: ${recon.holes} px between the scan positions are covered by no patch` +
        (inputs.fill ? "" : `'s central ${recon.stitchCrop} px`) +
        " (left at 0); a larger --stitch-crop closes the gaps",
    );
  }
  const manifest: PinnManifest = inputs.manifest;
  const settings = {
    model: inputs.modelPath,
    test_data: inputs.dataset.file,
    patterns: recon.patterns,
    groups: recon.groups,
    gridsize: manifest.gridsize,
    n: manifest.n,
    stitch_crop: recon.stitchCrop,
    stitch_weights: inputs.weights,
    stitch_fill: inputs.fill ? "wide" : "none",
    filled_px: recon.stitched.filled,
    nll_per_pattern: recon.nllPerPattern,
    uncovered_px_between_positions: recon.holes,
    alignment: "ground truth cut to the scan box ± stitch_crop/2 on the object grid, 2 px trim, " +
      "amplitude scaled to the truth's mean, phase planes removed",
  };
  const { files, table } = inferenceOutputs(recon, inputs.dataset, settings);
  const result = { ...recon, probe: inputs.bundle.probe, n: manifest.n };
  for (const [name, bytes] of await beamlineOutputs(result, inputs.dataset.source, settings)) {
    files.set(name, bytes);
  }
  Deno.mkdirSync(outDir, { recursive: true });
  for (const [name, bytes] of files) writeFileAtomic(`${outDir}/${name}`, bytes);
  const total = (performance.now() - started) / 1000;
  const rate = recon.patterns / recon.predictSeconds;
  console.log(
    `reconstructed ${recon.patterns} patterns (${recon.groups} groups, gridsize ${manifest.gridsize}) ` +
      `into ${recon.stitched.height}×${recon.stitched.width} px: predict ${
        recon.predictSeconds.toFixed(2)
      } s (${rate.toFixed(1)} patterns/s), stitch ${recon.stitchSeconds.toFixed(2)} s, ` +
      `total ${total.toFixed(2)} s; Poisson NLL ${recon.nllPerPattern.toFixed(1)} per pattern`,
  );
  if (table !== null && !quiet) console.log(table);
  if (!quiet) console.log(`wrote ${[...files.keys()].map((n) => `${outDir}/${n}`).join(", ")}`);
}

/** The `infer` subcommand. */
export const inferCommand: Command = {
  name: "infer",
  usage: "infer --model_path D --test_data F --output_dir D [flags]",
  summary:
    "Reconstructs a scan with a trained model: predicts object patches in batches, stitches the " +
    "central stitch_crop of each at its scan position (overlaps averaged, plainly or weighted by " +
    "the probe intensity) and writes " +
    "reconstructed_amplitude.png, reconstructed_phase.png, reconstruction.npz, reconstruction.h5 " +
    "and 32-bit float reconstructed_amplitude.tif / reconstructed_phase.tif; when the test " +
    "file has objectGuess, also metrics.json, comparison.png (truth | reconstruction | error; " +
    "amplitude above, phase below) and frc_curve.svg.",
  flags,
  run,
};
