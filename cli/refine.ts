/**
 * `deno task refine --data F.npz --output_dir D [flags]`: iterative reconstruction of object,
 * probe and (optionally) positions by gradient steps on the physical forward model
 * (model/refine/), from a flat object, a trained model's stitched reconstruction or an earlier
 * reconstruction.npz. Inputs are checked before any work; outputs are encoded in memory and
 * written atomically at the end (also after Ctrl-C, with the state reached).
 */
import { setBackend } from "../engine/mod.ts";
import { type Command, type FlagSpec, type ParsedArgs, UsageError } from "./args.ts";
import type { PtychoDataset } from "../io/dataset.ts";
import { lockOutputDir } from "../io/lock.ts";
import { loadScan } from "../io/scan_file.ts";
import { PtychoInputError } from "../io/errors.ts";
import { writeFileAtomic } from "../io/files.ts";
import { complexToFloat32, isComplex } from "../io/npy_convert.ts";
import { NpzReader } from "../io/npz.ts";
import { ACCELERATOR_FLAG, acceleratorFromFlags, chooseBackend } from "./accelerator.ts";
import { readReconstructionNpz } from "../model/evaluate/files.ts";
import { reconstruct } from "../model/infer/infer.ts";
import { checkOutputDir, resolveModelPath } from "./infer.ts";
import { loadModelBundle, modelFromBundle } from "../model/model_bundle.ts";
import { formatDuration } from "./progress.ts";
import { type CanvasLayout, canvasLayout } from "../model/refine/geometry.ts";
import { flatObject, objectFromImage, type PlacedImage } from "../model/refine/init.ts";
import { type IterationReport, Refiner, type RefineSnapshot } from "../model/refine/refiner.ts";
import { beamlineOutputs } from "./beamline_output.ts";
import { SCAN_FLAGS, scanOptionsFromFlags } from "./scan_flags.ts";
import { refinedObject, refineOutputs } from "./refine_output.ts";

const flags: readonly FlagSpec[] = [
  {
    name: "data",
    type: "string",
    required: true,
    help: "the scan to reconstruct (.npz, .h5, .cxi)",
  },
  { name: "output_dir", type: "string", required: true, help: "folder for the outputs" },
  ...SCAN_FLAGS,
  {
    name: "init",
    type: "string",
    default: "flat",
    help: "starting object: flat (amplitude 1, phase 0), a trained model (folder or model.zip: " +
      "its stitched reconstruction of --data) or a reconstruction.npz from infer or refine",
  },
  {
    name: "iterations",
    type: "int",
    default: 100,
    help: "passes over every position (0 writes the starting point)",
  },
  { name: "batch_size", type: "int", default: 64, help: "positions per update" },
  {
    name: "loss",
    type: "choice",
    choices: ["amplitude", "poisson"],
    default: "amplitude",
    help: "amplitude: Σ(|Ψ| − A)² (robust); poisson: Σ(|Ψ|² − I ln |Ψ|²) (low counts)",
  },
  {
    name: "probe",
    type: "choice",
    choices: ["fixed", "refine"],
    default: "refine",
    help: "refine the probe (from iteration 6; its power stays fixed) or keep the data's",
  },
  {
    name: "positions",
    type: "choice",
    choices: ["fixed", "refine"],
    default: "fixed",
    help: "refine the scan positions (from iteration 11; steps ≤ 0.5 px, mean fixed)",
  },
  ACCELERATOR_FLAG,
  {
    name: "deterministic",
    type: "boolean",
    default: false,
    help: "seeded, reproducible run (seed 42 unless --seed)",
  },
  {
    name: "seed",
    type: "int",
    help: "seed of the batch order (default 42 with --deterministic, else time-based)",
  },
  { name: "quiet", type: "boolean", default: false, help: "print only the summary and errors" },
  { name: "debug", type: "boolean", default: false, help: "print stack traces on errors" },
];

/** What --init names. */
type InitSource =
  | { kind: "flat" }
  | { kind: "model"; path: string }
  | { kind: "reconstruction"; path: string };

function initSource(value: string): InitSource {
  if (value === "flat") return { kind: "flat" };
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(value);
  } catch {
    throw new PtychoInputError(
      value,
      "--init: no such file or folder (expected flat, a model folder or model.zip, or a reconstruction.npz)",
    );
  }
  if (info.isDirectory || value.endsWith(".zip")) {
    return { kind: "model", path: resolveModelPath(value) };
  }
  if (value.endsWith(".npz")) return { kind: "reconstruction", path: value };
  throw new PtychoInputError(value, "--init: expected flat, a model (.zip or folder) or a .npz");
}

/** The probe a refine output holds (key `probe`, N × N complex), or null when it has none. */
function storedProbe(path: string, n: number): Float32Array | null {
  const npz = NpzReader.open(path);
  try {
    if (!npz.has("probe")) return null;
    const a = npz.get("probe");
    if (!isComplex(a) || a.shape.length !== 2 || a.shape[0] !== n || a.shape[1] !== n) {
      throw new PtychoInputError(
        path,
        `key 'probe': expected a ${n}×${n} complex array, got ${a.dtype} (${a.shape})`,
      );
    }
    return complexToFloat32(a);
  } finally {
    npz.close();
  }
}

/** Every check that needs no computation; nothing is written. */
async function loadInputs(f: ParsedArgs["flags"]) {
  const iterations = f.iterations as number;
  if (iterations < 0) throw new UsageError(`--iterations must be ≥ 0, got ${iterations}`);
  const batchSize = f.batch_size as number;
  if (batchSize < 1) throw new UsageError(`--batch_size must be ≥ 1, got ${batchSize}`);
  const init = initSource(f.init as string);
  const dataset = await loadScan(f.data as string, {
    ...scanOptionsFromFlags(f),
    onWarning: (m) => console.error(`warning: ${m}`),
  });
  let model = null;
  if (init.kind === "model") {
    model = loadModelBundle(init.path);
    if (model.manifest.n !== dataset.n) {
      throw new PtychoInputError(
        init.path,
        `the model was trained at N=${model.manifest.n} but the patterns of ${dataset.file} ` +
          `are ${dataset.n}×${dataset.n}`,
      );
    }
  }
  const recon = init.kind === "reconstruction" ? readReconstructionNpz(init.path) : null;
  const probe = init.kind === "reconstruction" ? storedProbe(init.path, dataset.n) : null;
  // A refine output (it holds the probe) continues from its positions too.
  const sameScan = probe !== null && recon?.xcoords?.length === dataset.patternCount;
  const xcoords = sameScan ? recon!.xcoords! : dataset.xcoords;
  const ycoords = sameScan ? recon!.ycoords! : dataset.ycoords;
  const deterministic = f.deterministic as boolean;
  const seed = (f.seed as number | undefined) ?? (deterministic ? 42 : Date.now() % 2 ** 31);
  return {
    iterations,
    batchSize,
    init,
    dataset,
    model,
    recon,
    seed,
    probe: probe ?? dataset.probe,
    xcoords,
    ycoords,
  };
}

/** The starting object on the canvas. */
async function startObject(
  layout: CanvasLayout,
  inputs: Awaited<ReturnType<typeof loadInputs>>,
  quiet: boolean,
): Promise<Float32Array> {
  const { model, recon, dataset } = inputs;
  if (recon !== null) {
    const { height, width, re, im } = recon.object;
    const data = new Float32Array(2 * height * width);
    for (let i = 0; i < height * width; i++) {
      data[2 * i] = re[i];
      data[2 * i + 1] = im[i];
    }
    const [originX, originY] = recon.originXY ?? [0, 0];
    return objectFromImage(layout, { height, width, data, originX, originY });
  }
  if (model !== null) {
    const pinn = modelFromBundle(model.bundle, model.manifest);
    try {
      const neighbours = typeof model.manifest.config?.neighborCount === "number"
        ? model.manifest.config.neighborCount as number
        : 4;
      const r = await reconstruct(pinn, dataset, { neighbours });
      if (!quiet) {
        console.log(`init: the network's reconstruction (${r.predictSeconds.toFixed(2)} s)`);
      }
      const image: PlacedImage = r.stitched;
      return objectFromImage(layout, image);
    } finally {
      pinn.dispose();
    }
  }
  return flatObject(layout);
}

function progressLine(r: IterationReport, total: number, elapsed: number): string {
  const eta = (elapsed / r.iteration) * (total - r.iteration);
  const filled = Math.round((20 * r.iteration) / total);
  const bar = "=".repeat(filled) + " ".repeat(20 - filled);
  return `iteration [${bar}] ${r.iteration}/${total} R-factor ${r.rFactor.toExponential(3)} ` +
    `NLL/pattern ${r.nll.toExponential(4)} ${r.seconds.toFixed(2)} s/it ETA ${formatDuration(eta)}`;
}

async function run(args: ParsedArgs): Promise<void> {
  const f = args.flags;
  const quiet = f.quiet as boolean;
  const inputs = await loadInputs(f);
  const outDir = (f.output_dir as string).replace(/\/+$/, "") || "/";
  checkOutputDir(outDir);
  using _lock = lockOutputDir(outDir, "refine");
  const backend = await chooseBackend(acceleratorFromFlags(f));
  setBackend(backend);
  if (!quiet) console.log(`backend: ${backend.name} (${backend.description})`);
  const dataset: PtychoDataset = inputs.dataset;
  const layout = canvasLayout(inputs.xcoords, inputs.ycoords, dataset.n);
  const object = await startObject(layout, inputs, quiet);
  const refiner = new Refiner(
    {
      n: dataset.n,
      amplitude: dataset.diffraction,
      xcoords: inputs.xcoords,
      ycoords: inputs.ycoords,
    },
    { layout, object, probe: inputs.probe },
    {
      batchSize: inputs.batchSize,
      loss: f.loss as "amplitude" | "poisson",
      refineProbe: f.probe === "refine",
      refinePositions: f.positions === "refine",
      seed: inputs.seed,
    },
  );
  let interrupted = false;
  const onInterrupt = () => (interrupted = true);
  Deno.addSignalListener("SIGINT", onInterrupt);
  const history: IterationReport[] = [];
  const started = performance.now();
  const terminal = !quiet && Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  let state: RefineSnapshot;
  try {
    while (refiner.iteration < inputs.iterations && !interrupted) {
      const report = await refiner.step();
      history.push(report);
      // A macrotask turn, so that a pending Ctrl-C is delivered (the CPU backend's reads resolve
      // as microtasks and would never let the signal listener run).
      await new Promise((resolve) => setTimeout(resolve, 0));
      const line = progressLine(report, inputs.iterations, (performance.now() - started) / 1000);
      if (terminal) Deno.stderr.writeSync(encoder.encode(`\r${line}\x1b[K`));
      else if (!quiet && (report.iteration % 10 === 0 || report.iteration === inputs.iterations)) {
        console.error(line);
      }
    }
    state = await refiner.snapshot();
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    refiner.dispose();
  }
  if (terminal) Deno.stderr.writeSync(encoder.encode("\n"));
  if (interrupted) {
    console.error(`interrupted: writing the state after ${history.length} iterations`);
  }
  const seconds = (performance.now() - started) / 1000;
  const last = history.at(-1);
  const { files, table } = refineOutputs(state, history, dataset, {
    data: dataset.file,
    init: f.init,
    iterations: history.length,
    batch_size: inputs.batchSize,
    loss: f.loss,
    probe: f.probe,
    positions: f.positions,
    seed: inputs.seed,
    final_r_factor: last?.rFactor ?? null,
    final_nll_per_pattern: last?.nll ?? null,
    seconds,
  });
  const { stitched, probe } = refinedObject(state);
  const result = { stitched, probe, xcoords: state.xcoords, ycoords: state.ycoords, n: dataset.n };
  const settings = { command: "refine", data: dataset.file, iterations: history.length };
  for (const [name, bytes] of await beamlineOutputs(result, dataset.source, settings)) {
    files.set(name, bytes);
  }
  Deno.mkdirSync(outDir, { recursive: true });
  for (const [name, bytes] of files) writeFileAtomic(`${outDir}/${name}`, bytes);
  console.log(
    `refined ${dataset.patternCount} positions for ${history.length} iterations in ` +
      `${seconds.toFixed(1)} s (${(seconds / Math.max(1, history.length)).toFixed(3)} s/it)` +
      (last
        ? `: R-factor ${last.rFactor.toExponential(3)}, NLL/pattern ${last.nll.toExponential(4)}`
        : ""),
  );
  if (table !== null && !quiet) console.log(table);
  if (!quiet) console.log(`wrote ${[...files.keys()].map((n) => `${outDir}/${n}`).join(", ")}`);
}

/** The `refine` subcommand. */
export const refineCommand: Command = {
  name: "refine",
  usage: "refine --data F.npz --output_dir D [flags]",
  summary: "Reconstructs object, probe and optionally positions by iterative gradient steps on " +
    "the physical forward model (probe × object window, far field |FFT|²), from a flat object, " +
    "a trained model's reconstruction or an earlier reconstruction.npz, and writes " +
    "reconstructed_amplitude.png, reconstructed_phase.png (and .tif), reconstruction.npz and " +
    "reconstruction.h5 (with the probe and positions), probe_amplitude.png, probe_phase.png and refine_curve.svg (R-factor per " +
    "iteration); when the data has objectGuess, also metrics.json, comparison.png and " +
    "frc_curve.svg. Ctrl-C stops after the current iteration and writes the state reached.",
  flags,
  run,
};
