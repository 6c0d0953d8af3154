/**
 * Scan positions for the simulator (docs/physics.md#scan-patterns), in object pixels with x =
 * column, y = row.
 *
 * A position (x, y) sees the object window O[y − N/2 + i, x − N/2 + j], i, j ∈ [0, N)
 * (docs/physics.md#coordinates), so every position is kept in [N/2, W − N/2 − 1] × [N/2, H − N/2 −
 * 1]: the window and its bilinear neighbours then lie inside the object.
 */
import type { Rng } from "../../engine/mod.ts";

/** Scan positions (x = column, y = row), one entry per pattern. */
export interface ScanPositions {
  /** Columns, object pixels. */
  x: Float64Array;
  /** Rows, object pixels. */
  y: Float64Array;
}

/** The box scan positions must stay in: [lo, hiX] × [lo, hiY]. */
export interface ScanBounds {
  /** Smallest x and y: N/2. */
  lo: number;
  /** Largest x: W − N/2 − 1. */
  hiX: number;
  /** Largest y: H − N/2 − 1. */
  hiY: number;
}

/** Allowed positions for N×N windows inside a height×width object (null when it does not fit). */
export function scanBounds(height: number, width: number, n: number): ScanBounds | null {
  const lo = n / 2, hiX = width - n / 2 - 1, hiY = height - n / 2 - 1;
  return hiX < lo || hiY < lo ? null : { lo, hiX, hiY };
}

/** `count` positions uniform in the bounds (upstream random scan: x, y ~ U[buffer, W − buffer]). */
export function randomScan(count: number, bounds: ScanBounds, rng: Rng): ScanPositions {
  const x = new Float64Array(count), y = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    x[k] = bounds.lo + (bounds.hiX - bounds.lo) * rng.uniform();
    y[k] = bounds.lo + (bounds.hiY - bounds.lo) * rng.uniform();
  }
  return { x, y };
}

/** Raster layout: either `count` → a ⌈√count⌉² grid over the bounds, or a fixed `step` in px. */
export interface RasterOptions {
  /** Number of positions requested; rounded up to a square grid. Ignored when `step` is set. */
  count?: number;
  /** Grid spacing in pixels; the grid is centred in the bounds. */
  step?: number;
  /** Uniform jitter of each position, ± this fraction of the step (default 0.3, upstream). */
  jitter?: number;
}

/** Grid size (points along x, along y) that {@link rasterScan} makes for these options. */
export function rasterGrid(bounds: ScanBounds, options: RasterOptions): [number, number] {
  if (options.step !== undefined) {
    return [
      Math.floor((bounds.hiX - bounds.lo) / options.step) + 1,
      Math.floor((bounds.hiY - bounds.lo) / options.step) + 1,
    ];
  }
  const k = Math.max(1, Math.ceil(Math.sqrt(options.count ?? 1)));
  return [k, k];
}

/** Grid coordinates along one axis: `k` points spaced `step`, centred in [lo, hi]. */
function axisPoints(lo: number, hi: number, k: number, step: number): number[] {
  const start = lo + (hi - lo - (k - 1) * step) / 2;
  return Array.from({ length: k }, (_, i) => start + i * step);
}

/**
 * Jittered raster (upstream Torch `generate_simulated_data`): a row-major grid (y outer, x inner),
 * each point moved by uniform jitter ±jitter·step on both axes and clamped to the bounds.
 */
export function rasterScan(bounds: ScanBounds, rng: Rng, options: RasterOptions): ScanPositions {
  const { lo, hiX, hiY } = bounds;
  const [kx, ky] = rasterGrid(bounds, options);
  const stepX = options.step ?? (kx > 1 ? (hiX - lo) / (kx - 1) : 0);
  const stepY = options.step ?? (ky > 1 ? (hiY - lo) / (ky - 1) : 0);
  const xs = axisPoints(lo, hiX, kx, stepX), ys = axisPoints(lo, hiY, ky, stepY);
  const jitter = options.jitter ?? 0.3;
  const clamp = (v: number, a: number, b: number) => Math.min(b, Math.max(a, v));
  const x = new Float64Array(kx * ky), y = new Float64Array(kx * ky);
  let k = 0;
  for (const gy of ys) {
    for (const gx of xs) {
      x[k] = clamp(gx + jitter * stepX * (2 * rng.uniform() - 1), lo, hiX);
      y[k] = clamp(gy + jitter * stepY * (2 * rng.uniform() - 1), lo, hiY);
      k++;
    }
  }
  return { x, y };
}
