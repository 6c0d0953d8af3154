/**
 * One simulated dataset from a recipe: object, probe, scan, diffraction and the `_metadata`
 * provenance — what `deno task simulate` writes, callable in process (tests, demo).
 *
 * Random streams: the object draws from stream 1 of `objectSeed` (default `seed`), the scan from
 * stream 2 and the Poisson noise from stream 3 of `seed`; stream k of seed s is `new Rng(8·s + k)`.
 * Two runs that share `objectSeed` and differ in `seed` see the same object at other positions.
 */
import { Rng } from "../../engine/mod.ts";
import { PtychoInputError } from "../../io/errors.ts";
import { defaultLineCount, grfObject, imageObject, linesObject } from "./objects.ts";
import type { InterleavedImage } from "../../io/image.ts";
import { randomScan, rasterGrid, rasterScan, scanBounds, type ScanPositions } from "./scan.ts";
import { PTYCHO_VERSION, type SimulatedDataset, simulateDiffraction } from "./simulate.ts";
import { idealDiskProbe, probeFromFile } from "./probe.ts";

/** Object generators. */
export type ObjectKind = "lines" | "grf" | "image";

/**
 * A simulation recipe. Sizes in pixels; positions and objects follow docs/physics.md#coordinates.
 */
export interface SimulationRecipe {
  /** Pattern side N (power of two); default: the probe file's size, else 64. */
  n?: number;
  /** Object generator. */
  object: ObjectKind;
  /** Side of a generated (lines/grf) object; default 4·N. */
  objectSize?: number;
  /** `image`: PNG of the amplitude (gray in [0, 1]). */
  amplitudePng?: string;
  /** `image`: optional PNG of the phase (gray v → phaseScale·π·(2v − 1)). */
  phasePng?: string;
  /** `lines`: number of lines (default: upstream density, {@link defaultLineCount}). */
  lines?: number;
  /** `grf`: spectral exponent (default 0.4). */
  grfExponent?: number;
  /** Phase multiplier of every object kind (default 1). */
  phaseScale?: number;
  /** Seed of the object (default `seed`). */
  objectSeed?: number;
  /** NPZ to take the probe from (`probeGuess` or `probe_real`/`probe_imag`); default ideal disk. */
  probeFrom?: string;
  /** Wavefront curvature of the ideal disk probe, radians at its edge (default 0: flat). */
  probeCurvature?: number;
  /** Scan pattern. */
  scan: "raster" | "random";
  /** Number of positions (raster: rounded up to a square grid); default 500. */
  count?: number;
  /** Raster step in pixels (instead of `count`). */
  step?: number;
  /** Raster jitter, ± fraction of the step (default 0.3). */
  jitter?: number;
  /** Mean photon count per pattern. */
  nphotons: number;
  /** Poisson counts or the noise-free expected counts. */
  noise: "poisson" | "none";
  /** Master seed. */
  seed: number;
  /** Also keep the object patches (written as `Y`). */
  keepPatches?: boolean;
  /** Progress callback: (done, total, stage). */
  onProgress?: (done: number, total: number, stage: string) => void;
}

/** Default number of scan positions (upstream `simulate_and_save.py --n-images`). */
export const DEFAULT_POSITION_COUNT = 500;

/** Most diffraction values one dataset may hold (2 GiB of float32). */
const MAX_PATTERN_VALUES = 2 ** 29;

/** Stream `stream` of `seed`: `new Rng(8·seed + stream)`. */
export function seededStream(seed: number, stream: number): Rng {
  return new Rng(8 * seed + stream);
}

function makeObject(recipe: SimulationRecipe, n: number): {
  object: InterleavedImage;
  params: Record<string, unknown>;
} {
  const phaseScale = recipe.phaseScale ?? 1;
  const objectSeed = recipe.objectSeed ?? recipe.seed;
  const rng = seededStream(objectSeed, 1);
  const size = recipe.objectSize ?? 4 * n;
  switch (recipe.object) {
    case "lines": {
      const lines = recipe.lines ?? defaultLineCount(size);
      const object = linesObject(size, rng, { lines, phaseScale });
      return {
        object,
        params: { kind: "lines", size, lines, phase_scale: phaseScale, seed: objectSeed },
      };
    }
    case "grf": {
      const exponent = recipe.grfExponent ?? 0.4;
      const object = grfObject(size, rng, { exponent, phaseScale });
      return {
        object,
        params: { kind: "grf", size, exponent, phase_scale: phaseScale, seed: objectSeed },
      };
    }
    case "image": {
      if (recipe.amplitudePng === undefined) {
        throw new PtychoInputError("--amplitude_png", "the image object needs an amplitude PNG");
      }
      const object = imageObject(recipe.amplitudePng, recipe.phasePng, phaseScale);
      return {
        object,
        params: {
          kind: "image",
          amplitude_png: recipe.amplitudePng,
          phase_png: recipe.phasePng ?? null,
          phase_scale: phaseScale,
        },
      };
    }
  }
}

/** Runs a recipe: the dataset to write, with its `_metadata`. Bad input is a PtychoInputError. */
export function simulateDataset(recipe: SimulationRecipe): SimulatedDataset {
  const probe = recipe.probeFrom !== undefined
    ? probeFromFile(recipe.probeFrom)
    : idealDiskProbe(recipe.n ?? 64, recipe.probeCurvature ?? 0);
  const n = probe.height;
  if (recipe.n !== undefined && recipe.n !== n) {
    throw new PtychoInputError(recipe.probeFrom!, `the probe is ${n}×${n} but N is ${recipe.n}`);
  }
  if (n < 4 || (n & (n - 1)) !== 0) {
    throw new PtychoInputError(
      recipe.probeFrom ?? "--N",
      `N must be a power of two ≥ 4 (the FFT needs it), got ${n}`,
    );
  }
  const { object, params: objectParams } = makeObject(recipe, n);
  const bounds = scanBounds(object.height, object.width, n);
  if (bounds === null) {
    throw new PtychoInputError(
      recipe.object === "image" ? recipe.amplitudePng! : "--object_size",
      `the object (${object.width}×${object.height}) is too small for ${n}×${n} windows ` +
        `(needs at least ${n + 1} px per side)`,
    );
  }
  const count = recipe.count ?? DEFAULT_POSITION_COUNT;
  const jitter = recipe.jitter ?? 0.3;
  const raster = { count, step: recipe.step, jitter };
  const patterns = recipe.scan === "random"
    ? count
    : rasterGrid(bounds, raster).reduce((a, b) => a * b);
  if (patterns * n * n > MAX_PATTERN_VALUES) {
    throw new PtychoInputError(
      recipe.step !== undefined ? "--step" : "--n_images",
      `${patterns} patterns of ${n}×${n} exceed ${MAX_PATTERN_VALUES} values (2 GiB of float32)`,
    );
  }
  const scanRng = seededStream(recipe.seed, 2);
  const positions: ScanPositions = recipe.scan === "random"
    ? randomScan(count, bounds, scanRng)
    : rasterScan(bounds, scanRng, raster);
  const result = simulateDiffraction({
    object,
    probe,
    positions,
    nphotons: recipe.nphotons,
    noise: recipe.noise,
    rng: seededStream(recipe.seed, 3),
    keepPatches: recipe.keepPatches,
    onProgress: recipe.onProgress,
  });
  const metadata = {
    nphotons: recipe.nphotons,
    intensity_scale: result.intensityScale,
    mean_counts_per_pattern: result.meanCounts,
    noise: recipe.noise,
    amplitude: "sqrt(counts); expected counts = (intensity_scale·|fftshift(FFT2_ortho(P·O))|)²",
    generator: "ptycho simulate",
    version: PTYCHO_VERSION,
    seed: recipe.seed,
    N: n,
    object: objectParams,
    probe: recipe.probeFrom !== undefined
      ? { kind: "file", file: recipe.probeFrom }
      : recipe.probeCurvature
      ? { kind: "ideal_disk", curvature: recipe.probeCurvature }
      : { kind: "ideal_disk" },
    scan: recipe.scan === "random" ? { kind: "random", count: positions.x.length } : {
      kind: "raster",
      count: positions.x.length,
      ...(recipe.step !== undefined ? { step: recipe.step } : {}),
      jitter,
    },
  };
  return { object, probe, positions, result, metadata };
}
