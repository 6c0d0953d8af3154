/** Test helpers for stitching and metrics: an asymmetric object, scans, patch extraction. */

/** A complex object (height, width), interleaved (re, im) f32. */
export interface TestObject {
  height: number;
  width: number;
  data: Float32Array;
}

/**
 * A smooth object with no mirror symmetry: an off-centre "L" in amplitude plus ramps, and a
 * phase made of a tilted plane and an off-centre bump.
 */
export function asymmetricObject(height: number, width: number): TestObject {
  const data = new Float32Array(2 * height * width);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const u = c / width, v = r / height;
      const bar = Math.exp(-(((u - 0.3) / 0.06) ** 2)) * (v > 0.2 && v < 0.8 ? 1 : 0.2);
      const foot = Math.exp(-(((v - 0.75) / 0.05) ** 2)) * (u > 0.3 && u < 0.7 ? 1 : 0.2);
      const amp = 0.4 + 0.5 * Math.max(bar, foot) + 0.1 * u * v +
        0.08 * Math.sin(13 * u + 7 * v * v);
      const phase = 0.6 * Math.exp(-(((u - 0.68) ** 2 + (v - 0.3) ** 2) / 0.01)) +
        0.3 * u - 0.2 * v + 0.1 * Math.cos(17 * v + 5 * u);
      data[2 * (r * width + c)] = amp * Math.cos(phase);
      data[2 * (r * width + c) + 1] = amp * Math.sin(phase);
    }
  }
  return { height, width, data };
}

/** Raster positions from x0..x1 and y0..y1 (inclusive when on the step). */
export function rasterScan(
  x0: number,
  x1: number,
  y0: number,
  y1: number,
  step: number,
): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (let py = y0; py <= y1 + 1e-9; py += step) {
    for (let px = x0; px <= x1 + 1e-9; px += step) {
      x.push(px);
      y.push(py);
    }
  }
  return { x, y };
}

/** Bilinear sample of the object at (row, col), zero outside. */
function sample(obj: TestObject, row: number, col: number): [number, number] {
  const r0 = Math.floor(row), c0 = Math.floor(col);
  const ar = row - r0, ac = col - c0;
  let re = 0, im = 0;
  for (
    const [dr, dc, w] of [[0, 0, (1 - ar) * (1 - ac)], [0, 1, (1 - ar) * ac], [
      1,
      0,
      ar * (1 - ac),
    ], [1, 1, ar * ac]]
  ) {
    const r = r0 + dr, c = c0 + dc;
    if (w === 0 || r < 0 || c < 0 || r >= obj.height || c >= obj.width) continue;
    re += w * obj.data[2 * (r * obj.width + c)];
    im += w * obj.data[2 * (r * obj.width + c) + 1];
  }
  return [re, im];
}

/**
 * Patches (B, N, N, 2) per docs/physics.md#coordinates: the patch at (x, y) is O[y − N/2 + i, x −
 * N/2 + j], bilinear at fractional positions.
 */
export function extractPatches(
  obj: TestObject,
  x: readonly number[],
  y: readonly number[],
  n: number,
): Float32Array {
  const out = new Float32Array(x.length * n * n * 2);
  for (let b = 0; b < x.length; b++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const [re, im] = sample(obj, y[b] - n / 2 + i, x[b] - n / 2 + j);
        const at = ((b * n + i) * n + j) * 2;
        out[at] = re;
        out[at + 1] = im;
      }
    }
  }
  return out;
}

/** Seeded uniform numbers in [0, 1) (mulberry32). */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
