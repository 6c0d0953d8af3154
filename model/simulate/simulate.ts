/**
 * The simulator's physics (docs/physics.md#photon-model): exit wave = probe × object window at each
 * scan position (bilinear at sub-pixel positions), far field = fftshift(FFT2_ortho(exit wave)),
 * counts ~ Poisson with a mean of `nphotons` per pattern, stored amplitude = sqrt(counts); and the
 * arrays of the dataset contract (docs/physics.md#data-contract) that hold the result.
 *
 * The FFT runs on the engine's CPU backend in f32; everything else is plain f64 JavaScript with
 * the seeded {@link Rng}, so a seed gives the same dataset on every machine.
 */
import denoJson from "../../deno.json" with { type: "json" };
import {
  abs2,
  cmul,
  cpuBackend,
  fft2,
  fftshift,
  type Rng,
  tensor,
  tidy,
} from "../../engine/mod.ts";
import { PtychoInputError } from "../../io/errors.ts";
import type { NpyArray } from "../../io/npy.ts";
import type { InterleavedImage } from "../../io/image.ts";
import type { ScanPositions } from "./scan.ts";

/** Version of this program, written into `_metadata`. */
export const PTYCHO_VERSION: string = denoJson.version;

/** Patterns per engine batch (bounds memory; one progress report each). */
const CHUNK = 64;

/**
 * Object windows seen by an N×N probe at each position: patch m is O[y_m − N/2 + i, x_m − N/2 + j]
 * (x = column, y = row), bilinear at fractional positions, zero outside the object.
 * Returns (M, N, N) interleaved complex f32.
 */
export function extractObjectPatches(
  object: InterleavedImage,
  positions: ScanPositions,
  n: number,
): Float32Array {
  const { height, width, data } = object;
  const count = positions.x.length;
  const out = new Float32Array(count * n * n * 2);
  for (let m = 0; m < count; m++) {
    const top = positions.y[m] - n / 2, left = positions.x[m] - n / 2;
    const r0 = Math.floor(top), fy = top - r0, c0 = Math.floor(left), fx = left - c0;
    const weights = [(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx];
    const base = m * n * n * 2;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let re = 0, im = 0;
        for (let corner = 0; corner < 4; corner++) {
          const w = weights[corner];
          const r = r0 + i + (corner >> 1), c = c0 + j + (corner & 1);
          if (w === 0 || r < 0 || r >= height || c < 0 || c >= width) continue;
          re += w * data[2 * (r * width + c)];
          im += w * data[2 * (r * width + c) + 1];
        }
        out[base + 2 * (i * n + j)] = re;
        out[base + 2 * (i * n + j) + 1] = im;
      }
    }
  }
  return out;
}

/**
 * Noise-free far-field intensity |fftshift(FFT2_ortho(P·O_m))|² of (M, N, N) complex patches,
 * zero frequency at (N/2, N/2). Returns (M, N, N) f32 (engine CPU backend, f32).
 */
export function farFieldIntensity(patches: Float32Array, probe: InterleavedImage): Float32Array {
  const n = probe.height;
  const count = patches.length / (2 * n * n);
  const backend = cpuBackend();
  return tidy(() => {
    const z = tensor(patches, [count, n, n, 2], { backend });
    const p = tensor(probe.data, [n, n, 2], { backend });
    return abs2(fftshift(fft2(cmul(z, p), "ortho"))).dataSync();
  });
}

/** What {@link simulateDiffraction} needs. */
export interface SimulationInput {
  /** The complex object, (H, W). */
  object: InterleavedImage;
  /** The probe, (N, N) on the object pixel grid. */
  probe: InterleavedImage;
  /** Scan positions in object pixels (x = column, y = row). */
  positions: ScanPositions;
  /** Mean expected photon count per pattern. */
  nphotons: number;
  /** "poisson": counts ~ Poisson; "none": the expected counts themselves. */
  noise: "poisson" | "none";
  /** Draws the Poisson counts (unused without noise). */
  rng: Rng;
  /** Also return the object patches (M, N, N) complex. */
  keepPatches?: boolean;
  /** Called as patterns are done: (done, total, stage). */
  onProgress?: (done: number, total: number, stage: "diffraction" | "noise") => void;
}

/** Simulated patterns and the scale that relates them to the forward model. */
export interface SimulationResult {
  /** (M, N, N) amplitudes sqrt(counts), zero frequency at (N/2, N/2). */
  diffraction: Float32Array;
  /** s with expected counts = (s·|fftshift(FFT2_ortho(P·O))|)²; s² = nphotons / mean Σ|P·O|². */
  intensityScale: number;
  /** Mean total count per pattern actually drawn (equals nphotons in expectation). */
  meanCounts: number;
  /** The object patches (M, N, N) complex, when `keepPatches` was set (written as key `Y`). */
  patches?: Float32Array;
}

/**
 * Simulates the diffraction amplitudes of an object scanned by a probe. One scale s for the whole
 * scan (a fixed illumination) makes the expected count per pattern average `nphotons`; patterns
 * that see more of the object collect more photons, as in a real measurement.
 */
export function simulateDiffraction(input: SimulationInput): SimulationResult {
  const n = input.probe.height;
  const pixels = n * n;
  const count = input.positions.x.length;
  const intensity = new Float32Array(count * pixels);
  const patches = input.keepPatches ? new Float32Array(2 * count * pixels) : undefined;
  for (let start = 0; start < count; start += CHUNK) {
    const end = Math.min(count, start + CHUNK);
    const where = {
      x: input.positions.x.subarray(start, end),
      y: input.positions.y.subarray(start, end),
    };
    const chunk = extractObjectPatches(input.object, where, n);
    patches?.set(chunk, 2 * start * pixels);
    intensity.set(farFieldIntensity(chunk, input.probe), start * pixels);
    input.onProgress?.(end, count, "diffraction");
  }
  let total = 0;
  for (let k = 0; k < intensity.length; k++) total += intensity[k];
  const meanIntensity = total / count;
  if (!(meanIntensity > 0)) {
    throw new PtychoInputError(
      "simulation",
      "the probe sees no object at any scan position (all exit waves are zero)",
    );
  }
  const scale2 = input.nphotons / meanIntensity;
  const diffraction = new Float32Array(count * pixels);
  let counted = 0;
  for (let m = 0; m < count; m++) {
    for (let p = m * pixels; p < (m + 1) * pixels; p++) {
      const lambda = scale2 * intensity[p];
      const k = input.noise === "poisson" ? input.rng.poisson(lambda) : lambda;
      counted += k;
      diffraction[p] = Math.sqrt(k);
    }
    if ((m + 1) % 64 === 0 || m + 1 === count) input.onProgress?.(m + 1, count, "noise");
  }
  return {
    diffraction,
    intensityScale: Math.sqrt(scale2),
    meanCounts: counted / count,
    ...(patches ? { patches } : {}),
  };
}

/** Everything written into a simulated dataset. */
export interface SimulatedDataset {
  /** The object, written as `objectGuess`. */
  object: InterleavedImage;
  /** The probe, written as `probeGuess`. */
  probe: InterleavedImage;
  /** The scan positions, written as `xcoords`/`ycoords` (and the `_start` twins). */
  positions: ScanPositions;
  /** The patterns, written as `diffraction` (and `Y` when patches were kept). */
  result: SimulationResult;
  /** The `_metadata` JSON object (nphotons, generator parameters, seed, version, ...). */
  metadata: Record<string, unknown>;
}

/**
 * The contract arrays (docs/physics.md#data-contract) of a simulated dataset, ready for
 * `writeNpzFile`.
 */
export function datasetArrays(dataset: SimulatedDataset): Record<string, NpyArray> {
  const { object, probe, positions, result } = dataset;
  const m = positions.x.length, n = probe.height;
  const arrays: Record<string, NpyArray> = {
    diffraction: { dtype: "f4", shape: [m, n, n], data: result.diffraction },
    probeGuess: { dtype: "c8", shape: [n, n], data: probe.data },
    objectGuess: { dtype: "c8", shape: [object.height, object.width], data: object.data },
    xcoords: { dtype: "f8", shape: [m], data: positions.x },
    ycoords: { dtype: "f8", shape: [m], data: positions.y },
    xcoords_start: { dtype: "f8", shape: [m], data: positions.x },
    ycoords_start: { dtype: "f8", shape: [m], data: positions.y },
    scan_index: { dtype: "i8", shape: [m], data: new BigInt64Array(m) },
  };
  if (result.patches !== undefined) {
    arrays.Y = { dtype: "c8", shape: [m, n, n], data: result.patches };
  }
  arrays._metadata = { dtype: "U", shape: [], data: [JSON.stringify(dataset.metadata)] };
  return arrays;
}
