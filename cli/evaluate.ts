/**
 * `deno task evaluate RECON.npz GROUND_TRUTH.npz`: the metrics (docs/physics.md#metrics) of a
 * reconstruction against a known object, printed as a table and written as `metrics.json` plus
 * `frc_curve.svg`.
 */
import { type Command, type FlagSpec, type ParsedArgs, UsageError } from "./args.ts";
import { PtychoInputError } from "../io/errors.ts";
import { writeFileAtomic } from "../io/files.ts";
import { readGroundTruthNpz, readReconstructionNpz } from "../model/evaluate/files.ts";
import { formatMetricsTable, frcCurveSvg, metricsJsonText } from "./evaluate_report.ts";
import { type EvaluateOptions, evaluateReconstruction } from "../model/evaluate/metrics.ts";
import { defaultStitchCrop } from "../model/infer/stitch.ts";

const flags: readonly FlagSpec[] = [
  {
    name: "output_dir",
    type: "string",
    help: "folder for metrics.json and frc_curve.svg (default: the reconstruction's folder)",
  },
  {
    name: "stitch-crop",
    type: "int",
    help: "central crop per patch used when stitching (default: from RECON, else 20·N/64)",
  },
  {
    name: "register",
    type: "boolean",
    default: false,
    help: "find and undo a residual sub-pixel shift before measuring (reported in the JSON)",
  },
  {
    name: "phase-align",
    type: "choice",
    choices: ["plane", "mean"],
    default: "plane",
    help: "remove a least-squares phase plane (upstream default) or only the mean",
  },
  { name: "trim", type: "int", default: 2, help: "pixels trimmed from each side before measuring" },
  { name: "quiet", type: "boolean", default: false, help: "print nothing but errors" },
  { name: "debug", type: "boolean", default: false, help: "print stack traces on errors" },
];

function folderOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
}

async function run(args: ParsedArgs): Promise<void> {
  if (args.positional.length !== 2) {
    throw new UsageError(
      `expected two files, RECON.npz and GROUND_TRUTH.npz; got ${args.positional.length}`,
    );
  }
  const [reconPath, truthPath] = args.positional;
  const f = args.flags;
  const trim = f.trim as number;
  if (trim < 0) throw new UsageError(`--trim must be ≥ 0, got ${trim}`);
  const recon = readReconstructionNpz(reconPath);
  const truth = readGroundTruthNpz(truthPath);
  const stitchCrop = (f.stitch_crop as number | undefined) ?? recon.stitchCrop ??
    defaultStitchCrop(truth.n ?? 64);
  if (stitchCrop < 1) throw new UsageError(`--stitch-crop must be ≥ 1, got ${stitchCrop}`);
  const xcoords = recon.xcoords ?? truth.xcoords;
  const ycoords = recon.ycoords ?? truth.ycoords;
  const options: EvaluateOptions = {
    scan: xcoords && ycoords ? { xcoords, ycoords, stitchCrop } : undefined,
    reconOriginXY: recon.originXY ?? undefined,
    register: f.register as boolean,
    trim,
    phaseAlign: f.phase_align as "plane" | "mean",
  };
  let metrics;
  try {
    metrics = evaluateReconstruction(recon.object, truth.object, options);
  } catch (e) {
    if (e instanceof RangeError) throw new PtychoInputError(reconPath, e.message);
    throw e;
  }
  const outDir = (f.output_dir as string | undefined) ?? folderOf(reconPath);
  await Deno.mkdir(outDir, { recursive: true });
  const json = metricsJsonText(metrics, {
    reconstruction: reconPath,
    ground_truth: truthPath,
    alignment: {
      ground_truth_cropped_to_scan: options.scan !== undefined,
      scan_positions_from: recon.xcoords ? "reconstruction" : truth.xcoords ? "ground truth" : null,
      stitch_crop: stitchCrop,
      reconstruction_origin_xy: recon.originXY,
      trim,
      phase_align: options.phaseAlign,
      register: options.register,
    },
  });
  writeFileAtomic(`${outDir}/metrics.json`, new TextEncoder().encode(json));
  writeFileAtomic(`${outDir}/frc_curve.svg`, new TextEncoder().encode(frcCurveSvg(metrics)));
  if (!f.quiet) {
    console.log(formatMetricsTable(metrics));
    console.log(`wrote ${outDir}/metrics.json and ${outDir}/frc_curve.svg`);
  }
}

/** The `evaluate` subcommand. */
export const evaluateCommand: Command = {
  name: "evaluate",
  usage: "evaluate RECON.npz GROUND_TRUTH.npz [flags]",
  summary:
    "Compares a reconstruction (reconstruction.npz from infer, or any npz with a complex 'object') " +
    "with a ground-truth object ('objectGuess' of a dataset): upstream alignment (ground truth " +
    "cropped to the scan ± stitch_crop/2, 2 px trim, amplitude scaled to the truth's mean, phase " +
    "plane removed), then MAE, MSE, PSNR (peak 255 and peak = data range), SSIM and FRC50 for " +
    "amplitude and phase. Prints a table; writes metrics.json and frc_curve.svg.",
  flags,
  run,
};
