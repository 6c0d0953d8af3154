/**
 * A tiny simulated dataset for the training tests, made with this project's own forward model:
 * a smooth random object, a blurred disk probe, a jittered raster scan, noise-free amplitudes.
 */
import { noGrad, Rng, tensor, tidy } from "../../engine/mod.ts";
import type { NpyArray } from "../../io/npy.ts";
import { writeNpzFile } from "../../io/npz.ts";
import { diffract } from "../../model/physics.ts";

/** Options of {@link tinyDataset}. */
export interface TinyOptions {
  n?: number;
  /** Raster side: side² positions. */
  side?: number;
  seed?: number;
  nphotons?: number;
}

function bilinear(img: Float32Array, w: number, h: number, y: number, x: number, k: number) {
  const y0 = Math.floor(y), x0 = Math.floor(x), fy = y - y0, fx = x - x0;
  const at = (yy: number, xx: number) =>
    yy < 0 || yy >= h || xx < 0 || xx >= w ? 0 : img[2 * (yy * w + xx) + k];
  return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
    fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
}

/** Arrays of a valid dataset (docs/physics.md#data-contract) simulated at N (default 32). */
export function tinyDataset(opts: TinyOptions = {}): Record<string, NpyArray> {
  const n = opts.n ?? 32, side = opts.side ?? 5, rng = new Rng(opts.seed ?? 3);
  const size = n + 4 * side + 8;
  const bumps = Array.from({ length: 12 }, () => ({
    x: rng.uniform() * size,
    y: rng.uniform() * size,
    r: 2 + 4 * rng.uniform(),
    a: rng.uniform() - 0.3,
  }));
  const object = new Float32Array(2 * size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let f = 0;
      for (const b of bumps) {
        f += b.a * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.r ** 2));
      }
      const amp = 0.7 + 0.3 * Math.tanh(f), phase = 0.8 * Math.tanh(f);
      object[2 * (y * size + x)] = amp * Math.cos(phase);
      object[2 * (y * size + x) + 1] = amp * Math.sin(phase);
    }
  }
  const probe = new Float32Array(2 * n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const d = Math.hypot(y - n / 2 + 0.5, x - n / 2 + 0.5);
      probe[2 * (y * n + x)] = 1 / (1 + Math.exp((d - n / 5) / 0.8));
    }
  }
  const m = side * side;
  const xs = new Float64Array(m), ys = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    xs[i] = n / 2 + 4 + 4 * (i % side) + rng.uniform() - 0.5;
    ys[i] = n / 2 + 4 + 4 * Math.floor(i / side) + rng.uniform() - 0.5;
  }
  const patches = new Float32Array(m * 2 * n * n);
  for (let p = 0; p < m; p++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const y = ys[p] - n / 2 + i, x = xs[p] - n / 2 + j;
        for (let k = 0; k < 2; k++) {
          patches[p * 2 * n * n + 2 * (i * n + j) + k] = bilinear(object, size, size, y, x, k);
        }
      }
    }
  }
  const amplitude = noGrad(() =>
    tidy(() => diffract(tensor(patches, [m, 1, n, n, 2]), tensor(probe, [n, n, 2])).dataSync())
  );
  return {
    diffraction: { dtype: "f4", shape: [m, n, n], data: amplitude },
    probeGuess: { dtype: "c8", shape: [n, n], data: probe },
    objectGuess: { dtype: "c8", shape: [size, size], data: object },
    xcoords: { dtype: "f8", shape: [m], data: xs },
    ycoords: { dtype: "f8", shape: [m], data: ys },
    _metadata: {
      dtype: "U",
      shape: [],
      data: [
        JSON.stringify({ nphotons: opts.nphotons ?? 1e6, source: "tests/model/tiny_dataset.ts" }),
      ],
    },
  };
}

/** Writes {@link tinyDataset} to `path`. */
export function writeTinyDataset(path: string, opts: TinyOptions = {}): void {
  writeNpzFile(path, tinyDataset(opts));
}
