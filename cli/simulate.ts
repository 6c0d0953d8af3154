/**
 * `deno task simulate`: writes a synthetic ptychography dataset (docs/physics.md#data-contract
 * keys, with `objectGuess` and `_metadata`) from a lines/grf/image object, an ideal or measured
 * probe and a raster or random scan. Deterministic for a `--seed`.
 */
import { type Command, type FlagSpec, type ParsedArgs, UsageError } from "./args.ts";
import { PtychoInputError } from "../io/errors.ts";
import { writeNpzFile } from "../io/npz.ts";
import { lockOutputFile } from "../io/lock.ts";
import { datasetArrays } from "../model/simulate/simulate.ts";
import {
  type ObjectKind,
  simulateDataset,
  type SimulationRecipe,
} from "../model/simulate/dataset.ts";

const flags: readonly FlagSpec[] = [
  { name: "output", type: "string", help: "the .npz file to write", required: true },
  {
    name: "N",
    type: "int",
    help: "pattern side, a power of two (default: --probe_from's size, else 64)",
  },
  {
    name: "object",
    type: "choice",
    choices: ["lines", "grf", "image"],
    default: "lines",
    help: "object: random blurred lines, Gaussian random field, or PNG images",
  },
  { name: "object_size", type: "int", help: "side of a lines/grf object in px (default 4·N)" },
  { name: "amplitude_png", type: "string", help: "image object: amplitude PNG (gray → [0, 1])" },
  {
    name: "phase_png",
    type: "string",
    help: "image object: phase PNG (gray v → phase_scale·π·(2v−1))",
  },
  {
    name: "lines",
    type: "int",
    help: "lines object: number of lines (default round(400·size/392))",
  },
  {
    name: "grf_exponent",
    type: "number",
    help:
      "grf object: power spectrum ∝ k^-exponent (default 0.4 = upstream, near white noise; 3 gives smooth clouds)",
  },
  { name: "phase_scale", type: "number", default: 1, help: "multiplies the object's phase" },
  {
    name: "object_seed",
    type: "int",
    help: "seed of the object (default --seed): share it between train and test",
  },
  {
    name: "probe_from",
    type: "string",
    help: "take the probe from this .npz (probeGuess or probe_real/probe_imag); default ideal disk",
  },
  {
    name: "probe_curvature",
    type: "number",
    default: 0,
    help: "ideal disk probe: wavefront curvature, phase in radians at the disk edge (0 = flat, " +
      "upstream; a few radians break the twin-image ambiguity a flat disk leaves at gridsize 1)",
  },
  {
    name: "scan",
    type: "choice",
    choices: ["raster", "random"],
    default: "raster",
    help: "scan: jittered raster or uniform random, kept inside the object",
  },
  {
    name: "n_images",
    type: "int",
    help: "number of positions (raster: rounded up to k²; default 500)",
  },
  { name: "step", type: "number", help: "raster step in px (instead of --n_images)" },
  {
    name: "jitter",
    type: "number",
    default: 0.3,
    help: "raster jitter, ± this fraction of the step",
  },
  { name: "nphotons", type: "number", default: 1e9, help: "mean photon count per pattern" },
  {
    name: "noise",
    type: "choice",
    choices: ["poisson", "none"],
    default: "poisson",
    help: "Poisson counts, or the noise-free expected counts",
  },
  {
    name: "seed",
    type: "int",
    default: 42,
    help: "seed of the scan and the noise (and the object)",
  },
  {
    name: "write_patches",
    type: "boolean",
    default: false,
    help: "also write the object patches as key Y",
  },
  { name: "compress", type: "boolean", default: true, help: "deflate the .npz (savez_compressed)" },
  { name: "quiet", type: "boolean", default: false, help: "no progress or summary output" },
  { name: "debug", type: "boolean", default: false, help: "print stack traces of errors" },
];

/** Largest generated object side (the lines canvas is twice as wide, in f64). */
const MAX_OBJECT_SIZE = 2048;

/** Throws a UsageError unless `ok`. */
function check(ok: boolean, message: string): void {
  if (!ok) throw new UsageError(message);
}

/** The recipe from parsed `simulate` flags; every out-of-range value is a one-line UsageError. */
export function recipeFromFlags(f: ParsedArgs["flags"]): SimulationRecipe {
  const int = (k: string) => f[k] as number | undefined;
  const num = (k: string) => f[k] as number | undefined;
  const str = (k: string) => f[k] as string | undefined;
  const n = int("N");
  check(
    n === undefined || (n >= 4 && (n & (n - 1)) === 0),
    `--N must be a power of two ≥ 4, got ${n}`,
  );
  const object = str("object") as ObjectKind;
  const size = int("object_size");
  check(
    size === undefined || (size >= 1 && size <= MAX_OBJECT_SIZE),
    `--object_size must be in [1, ${MAX_OBJECT_SIZE}], got ${size}`,
  );
  check(
    object !== "image" || size === undefined,
    "--object_size does not apply to the image object",
  );
  check(
    object !== "image" || str("amplitude_png") !== undefined,
    "--object image needs --amplitude_png",
  );
  check(
    object === "image" || (str("amplitude_png") === undefined && str("phase_png") === undefined),
    "--amplitude_png/--phase_png need --object image",
  );
  const lines = int("lines");
  check(lines === undefined || object === "lines", "--lines applies to the lines object only");
  check(lines === undefined || lines >= 1, `--lines must be at least 1, got ${lines}`);
  const exponent = num("grf_exponent");
  check(
    exponent === undefined || object === "grf",
    "--grf_exponent applies to the grf object only",
  );
  const phaseScale = num("phase_scale")!;
  const seed = int("seed")!, objectSeed = int("object_seed");
  for (const [name, v] of [["seed", seed], ["object_seed", objectSeed]] as const) {
    check(v === undefined || (v >= 0 && v <= 2 ** 48), `--${name} must be in [0, 2^48], got ${v}`);
  }
  const curvature = num("probe_curvature")!;
  check(
    curvature === 0 || str("probe_from") === undefined,
    "--probe_curvature applies to the ideal disk probe, not to --probe_from",
  );
  check(
    Math.abs(curvature) <= 100,
    `--probe_curvature must be in [-100, 100] radians, got ${curvature}`,
  );
  const scan = str("scan") as "raster" | "random";
  const count = int("n_images"), step = num("step"), jitter = num("jitter")!;
  check(count === undefined || count >= 1, `--n_images must be at least 1, got ${count}`);
  check(step === undefined || step > 0, `--step must be positive, got ${step}`);
  check(step === undefined || scan === "raster", "--step applies to the raster scan only");
  check(step === undefined || count === undefined, "give either --n_images or --step, not both");
  check(jitter >= 0 && jitter <= 0.5, `--jitter must be in [0, 0.5], got ${jitter}`);
  const nphotons = num("nphotons")!;
  check(nphotons > 0 && nphotons <= 1e15, `--nphotons must be in (0, 1e15], got ${nphotons}`);
  return {
    n,
    object,
    objectSize: size,
    amplitudePng: str("amplitude_png"),
    phasePng: str("phase_png"),
    lines,
    grfExponent: exponent,
    phaseScale,
    objectSeed,
    probeFrom: str("probe_from"),
    probeCurvature: curvature,
    scan,
    count,
    step,
    jitter,
    nphotons,
    noise: str("noise") as "poisson" | "none",
    seed,
    keepPatches: f.write_patches as boolean,
  };
}

/** Fails early, before any work, when `path` cannot be written (missing folder, no permission). */
function checkWritable(path: string): void {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) || "/" : ".";
  let isDirectory = false;
  try {
    isDirectory = Deno.statSync(path).isDirectory;
  } catch {
    // absent: it will be created
  }
  if (isDirectory) throw new PtychoInputError(path, "is a directory");
  const probe = `${dir}/.${path.slice(slash + 1)}.${crypto.randomUUID().slice(0, 8)}.check`;
  try {
    Deno.openSync(probe, { write: true, createNew: true }).close();
    Deno.removeSync(probe);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? `folder '${dir}' does not exist`
      : e instanceof Deno.errors.PermissionDenied
      ? `folder '${dir}' is not writable`
      : e instanceof Error
      ? e.message.split("\n")[0]
      : String(e);
    throw new PtychoInputError(path, `cannot write: ${why}`, { cause: e });
  }
}

/** Progress on stderr at most once a second (small jobs stay silent). */
function progressReporter(): (done: number, total: number, stage: string) => void {
  let last = performance.now();
  return (done, total, stage) => {
    const now = performance.now();
    if (now - last < 1000) return;
    last = now;
    console.error(
      `simulate: ${stage} ${done}/${total} patterns (${Math.round(100 * done / total)}%)`,
    );
  };
}

function run(args: ParsedArgs): Promise<void> {
  if (args.positional.length > 0) {
    throw new UsageError(`unexpected argument '${args.positional[0]}'`);
  }
  const recipe = recipeFromFlags(args.flags);
  const output = args.flags.output as string;
  const quiet = args.flags.quiet as boolean;
  checkWritable(output);
  using _lock = lockOutputFile(output, "simulate");
  const started = performance.now();
  const dataset = simulateDataset({
    ...recipe,
    onProgress: quiet ? undefined : progressReporter(),
  });
  // A failed write is already one line naming the file (writeFileAtomic).
  writeNpzFile(output, datasetArrays(dataset), { compress: args.flags.compress as boolean });
  if (!quiet) {
    const { object, probe, positions, result } = dataset;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `wrote ${output}: ${positions.x.length} patterns ${probe.height}×${probe.width}, ` +
        `object ${object.width}×${object.height} (${recipe.object}), ` +
        `mean ${result.meanCounts.toPrecision(4)} photons/pattern, ${seconds} s`,
    );
  }
  return Promise.resolve();
}

/** The `simulate` subcommand. */
export const simulateCommand: Command = {
  name: "simulate",
  usage: "simulate --output FILE.npz [flags]",
  summary: "Simulates a ptychography dataset with a known object: probe × object window at each " +
    "scan position (bilinear at sub-pixel positions), far field |fftshift(FFT2_ortho)|², Poisson " +
    "counts with a mean of --nphotons per pattern, stored as sqrt(counts). Writes every dataset " +
    "key (diffraction, probeGuess, objectGuess, x/ycoords[_start], scan_index, _metadata). " +
    "The same --seed gives the same file on every machine.",
  flags,
  run,
};
