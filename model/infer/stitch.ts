/**
 * Stitching predicted object patches into one image (docs/physics.md#inference-and-stitching): the
 * central `stitchCrop` square of every N×N patch is placed where its scan position puts it, with
 * bilinear weights for fractional positions, and overlaps are averaged (sum / (count + 1e−9)).
 *
 * Geometry (docs/physics.md#coordinates): the patch at scan position (x, y) shows O[y − N/2 + i, x
 * − N/2 + j], so patch pixel (i, j) lands at object pixel (y − N/2 + i, x − N/2 + j) — the
 * physically correct placement, canvas centre + (pos − mean pos), not its mirror image. Optional
 * per-pixel weights (e.g. 0 where a merged group canvas had no patch) turn the average into a
 * weighted one. The canvas is laid on the object's pixel grid: its pixel (r, c) is object pixel (r
 * + originY, c + originX), which makes the comparison with a ground-truth object exact. Patches are
 * added in batches; memory holds only the canvas, whatever the number of patterns.
 *
 * Gaps: where scan positions lie farther apart than the crop (random scans do), a pixel can lie
 * in no patch's central crop. With `fill` (the default) such a pixel takes the average of the
 * patches' wider windows instead — first the central N/2 square (the window the gridsize > 1
 * merge trains), then the whole patch — and only pixels that no patch reaches stay 0.
 */

/** The default central crop kept per patch: 20 px at N = 64, scaled with N. */
export function defaultStitchCrop(n: number): number {
  return Math.max(1, Math.round((20 * n) / 64));
}

/** Where the stitched canvas lies on the object and how big it is. */
export interface StitchLayout {
  /** Patch side N. */
  n: number;
  /** Central crop side kept per patch. */
  crop: number;
  /** Object column of canvas column 0. */
  originX: number;
  /** Object row of canvas row 0. */
  originY: number;
  /** Canvas rows. */
  height: number;
  /** Canvas columns. */
  width: number;
}

/** First patch row/column of the central crop. */
function cropStart(n: number, crop: number): number {
  return Math.floor((n - crop) / 2);
}

/** Bounding box of scan positions (object pixels; x = column, y = row). */
export function scanBounds(
  xcoords: ArrayLike<number>,
  ycoords: ArrayLike<number>,
): { minX: number; maxX: number; minY: number; maxY: number } {
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < xcoords.length; i++) {
    minX = Math.min(minX, xcoords[i]);
    maxX = Math.max(maxX, xcoords[i]);
    minY = Math.min(minY, ycoords[i]);
    maxY = Math.max(maxY, ycoords[i]);
  }
  return { minX, maxX, minY, maxY };
}

/**
 * The canvas that holds the central crops of patches at these scan positions (object pixels,
 * x = column, y = row): the scan's bounding box ± crop/2, on whole object pixels.
 */
export function stitchLayout(
  xcoords: ArrayLike<number>,
  ycoords: ArrayLike<number>,
  n: number,
  crop = defaultStitchCrop(n),
): StitchLayout {
  if (!(crop >= 1 && crop <= n && Number.isInteger(crop))) {
    throw new RangeError(`stitch crop must be a whole number in [1, ${n}], got ${crop}`);
  }
  if (xcoords.length === 0 || xcoords.length !== ycoords.length) {
    throw new RangeError("stitching needs matching, non-empty x and y coordinates");
  }
  const { minX, maxX, minY, maxY } = scanBounds(xcoords, ycoords);
  const d = cropStart(n, crop) - n / 2;
  const originX = Math.floor(minX + d);
  const originY = Math.floor(minY + d);
  return {
    n,
    crop,
    originX,
    originY,
    width: Math.ceil(maxX + d) + crop - originX,
    height: Math.ceil(maxY + d) + crop - originY,
  };
}

/** A stitched complex image on the object grid. */
export interface StitchedObject {
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** Interleaved (re, im) pixels, row-major, length 2·height·width. */
  data: Float32Array;
  /** Object column of pixel column 0. */
  originX: number;
  /** Object row of pixel row 0. */
  originY: number;
  /**
   * Patches per pixel (bilinear and pixel weights summed) in the window that gave the pixel its
   * value (the central crop, or a wider window where that left a gap); 0 where no patch reached.
   */
  coverage: Float32Array;
  /** Pixels no central crop covered that a wider window filled (see the module comment). */
  filled: number;
}

/** Sums of one window size over the canvas. */
interface Accumulator {
  /** Window side kept per patch. */
  size: number;
  re: Float64Array;
  im: Float64Array;
  count: Float64Array;
}

/** The window sides that fill gaps left by `crop`: N/2, then N, each only when wider. */
export function fillWindows(n: number, crop: number): number[] {
  return [Math.floor(n / 2), n].filter((size, k, all) => size > crop && all.indexOf(size) === k);
}

/** Accumulates patches batch by batch onto a canvas (see the module comment). */
export class PatchStitcher {
  /** The canvas geometry. */
  readonly layout: StitchLayout;
  /** The central crop's sums first, then those of the gap-filling windows. */
  readonly #levels: Accumulator[];

  /** An empty canvas for `layout` (from {@link stitchLayout}); `fill`: see the module comment. */
  constructor(layout: StitchLayout, fill = true) {
    this.layout = layout;
    const pixels = layout.height * layout.width;
    const sizes = [layout.crop, ...(fill ? fillWindows(layout.n, layout.crop) : [])];
    this.#levels = sizes.map((size) => ({
      size,
      re: new Float64Array(pixels),
      im: new Float64Array(pixels),
      count: new Float64Array(pixels),
    }));
  }

  /**
   * Adds a batch of patches: `patches` holds B complex N×N patches, interleaved (re, im),
   * shape (B, N, N, 2); `xcoords`/`ycoords` give each one's scan position (length B).
   * Optional `weights` (B, N, N) weigh each pixel in the average (default 1; 0 = the patch
   * says nothing there); (N, N) weights are shared by every patch of the batch.
   */
  add(
    patches: ArrayLike<number>,
    xcoords: ArrayLike<number>,
    ycoords: ArrayLike<number>,
    weights?: ArrayLike<number>,
  ): void {
    const n = this.layout.n;
    const batch = xcoords.length;
    if (patches.length !== batch * n * n * 2 || ycoords.length !== batch) {
      throw new RangeError(
        `expected ${batch} patches of ${n}×${n} complex (${batch * n * n * 2} values), ` +
          `got ${patches.length} values and ${ycoords.length} y coordinates`,
      );
    }
    const shared = weights !== undefined && weights.length === n * n;
    if (weights !== undefined && !shared && weights.length !== batch * n * n) {
      throw new RangeError(
        `expected ${batch * n * n} or ${n * n} weights, got ${weights.length}`,
      );
    }
    for (const level of this.#levels) this.#accumulate(level, patches, xcoords, ycoords, weights);
  }

  /** Adds each patch's central `level.size` window to the level's sums (see {@link add}). */
  #accumulate(
    level: Accumulator,
    patches: ArrayLike<number>,
    xcoords: ArrayLike<number>,
    ycoords: ArrayLike<number>,
    weights: ArrayLike<number> | undefined,
  ): void {
    const { n, originX, originY, width, height } = this.layout;
    const { size, re, im, count } = level;
    const shared = weights !== undefined && weights.length === n * n;
    const s = cropStart(n, size);
    const d = s - n / 2;
    for (let b = 0; b < xcoords.length; b++) {
      // Window pixel (k, l) sits at canvas (ty + k, tx + l); split into whole and fraction.
      const tx = xcoords[b] + d - originX;
      const ty = ycoords[b] + d - originY;
      const fx = Math.floor(tx), fy = Math.floor(ty);
      const ax = tx - fx, ay = ty - fy;
      const corners: [number, number, number][] = [
        [0, 0, (1 - ay) * (1 - ax)],
        [0, 1, (1 - ay) * ax],
        [1, 0, ay * (1 - ax)],
        [1, 1, ay * ax],
      ];
      const base = b * n * n * 2;
      // Index of patch pixel (0, 0) in `weights` minus that in `patches` / 2.
      const wShift = shared ? -b * n * n : 0;
      for (const [dr, dc, w] of corners) {
        if (w === 0) continue;
        for (let k = 0; k < size; k++) {
          const r = fy + dr + k;
          if (r < 0 || r >= height) continue;
          const row = base + (s + k) * n * 2;
          for (let l = 0; l < size; l++) {
            const c = fx + dc + l;
            if (c < 0 || c >= width) continue;
            const at = r * width + c;
            const from = row + (s + l) * 2;
            const wp = weights === undefined ? w : w * weights[(from >> 1) + wShift];
            re[at] += wp * patches[from];
            im[at] += wp * patches[from + 1];
            count[at] += wp;
          }
        }
      }
    }
  }

  /** The averaged canvas so far: each pixel from the narrowest window that reached it. */
  result(): StitchedObject {
    const { height, width, originX, originY } = this.layout;
    const data = new Float32Array(2 * height * width);
    const coverage = new Float32Array(height * width);
    let filled = 0;
    for (let i = 0; i < height * width; i++) {
      const level = this.#levels.find((l) => l.count[i] > 0) ?? this.#levels[0];
      if (level !== this.#levels[0]) filled++;
      const norm = 1 / (level.count[i] + 1e-9);
      data[2 * i] = level.re[i] * norm;
      data[2 * i + 1] = level.im[i] * norm;
      coverage[i] = level.count[i];
    }
    return { height, width, data, originX, originY, coverage, filled };
  }
}

/** Stitches all patches at once (B complex N×N patches interleaved; see {@link PatchStitcher}). */
export function stitchPatches(
  patches: ArrayLike<number>,
  xcoords: ArrayLike<number>,
  ycoords: ArrayLike<number>,
  n: number,
  crop: number = defaultStitchCrop(n),
  fill = true,
): StitchedObject {
  const stitcher = new PatchStitcher(stitchLayout(xcoords, ycoords, n, crop), fill);
  stitcher.add(patches, xcoords, ycoords);
  return stitcher.result();
}
