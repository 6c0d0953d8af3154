/**
 * Alignment of a reconstruction with its ground truth before the metrics
 * (docs/physics.md#alignment-before-scoring): crop the ground truth to the scan's bounding box ±
 * stitch_crop/2, bring both to one shape, optionally register a residual shift, trim 2 px; plus the
 * phase-plane removal. Host code in f64.
 */
import { estimateShift } from "./register.ts";
import type { ComplexImage } from "../../io/image.ts";
import type { RealImage } from "./measures.ts";

/** Rows [r0, r0+h) and columns [c0, c0+w) of a complex image (must lie inside it). */
export function cropComplex(
  image: ComplexImage,
  r0: number,
  c0: number,
  h: number,
  w: number,
): ComplexImage {
  if (r0 < 0 || c0 < 0 || h < 0 || w < 0 || r0 + h > image.height || c0 + w > image.width) {
    throw new RangeError(`crop ${h}×${w} at (${r0}, ${c0}) outside ${image.height}×${image.width}`);
  }
  const re = new Float64Array(h * w);
  const im = new Float64Array(h * w);
  for (let r = 0; r < h; r++) {
    const from = (r0 + r) * image.width + c0;
    re.set(image.re.subarray(from, from + w), r * w);
    im.set(image.im.subarray(from, from + w), r * w);
  }
  return { height: h, width: w, re, im };
}

/** The centred h×w part of an image (offsets rounded down, as NumPy's centre crops). */
export function centreCropComplex(image: ComplexImage, h: number, w: number): ComplexImage {
  return cropComplex(
    image,
    Math.floor((image.height - h) / 2),
    Math.floor((image.width - w) / 2),
    h,
    w,
  );
}

/** |z| per pixel. */
export function amplitudeOf(image: ComplexImage): RealImage {
  const data = new Float64Array(image.re.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.hypot(image.re[i], image.im[i]);
  return { height: image.height, width: image.width, data };
}

/** arg z per pixel, in (−π, π]. */
export function phaseOf(image: ComplexImage): RealImage {
  const data = new Float64Array(image.re.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.atan2(image.im[i], image.re[i]);
  return { height: image.height, width: image.width, data };
}

/** The image minus its least-squares plane a·col + b·row + c. */
export function removePlane(image: RealImage): RealImage {
  const { height, width } = image;
  // On a full pixel grid the centred coordinates are orthogonal to each other and to 1, so the
  // normal equations are diagonal.
  const cr = (height - 1) / 2;
  const cc = (width - 1) / 2;
  let sz = 0, srz = 0, scz = 0, srr = 0, scc = 0;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const z = image.data[r * width + c];
      sz += z;
      srz += (r - cr) * z;
      scz += (c - cc) * z;
      srr += (r - cr) ** 2;
      scc += (c - cc) ** 2;
    }
  }
  const mean = sz / (height * width);
  const b = srr > 0 ? srz / srr : 0;
  const a = scc > 0 ? scz / scc : 0;
  const data = new Float64Array(image.data.length);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const i = r * width + c;
      data[i] = image.data[i] - (a * (c - cc) + b * (r - cr) + mean);
    }
  }
  return { height, width, data };
}

/** The image minus its mean. */
export function removeMean(image: RealImage): RealImage {
  let sum = 0;
  for (const v of image.data) sum += v;
  const mean = sum / image.data.length;
  return { ...image, data: image.data.map((v) => v - mean) };
}

/** Content moved by +(tx, ty) (column, row), bilinear, zero fill. */
export function translateComplex(image: ComplexImage, tx: number, ty: number): ComplexImage {
  const { height, width } = image;
  const re = new Float64Array(height * width);
  const im = new Float64Array(height * width);
  const fx = Math.floor(tx), fy = Math.floor(ty);
  const ax = tx - fx, ay = ty - fy;
  // out(r, c) = in(r − ty, c − tx): corners (r − fy − 1 + {0,1}, c − fx − 1 + {0,1}).
  const weights = [
    [0, 0, (1 - ay) * (1 - ax)],
    [0, 1, (1 - ay) * ax],
    [1, 0, ay * (1 - ax)],
    [1, 1, ay * ax],
  ];
  for (const [dr, dc, wgt] of weights) {
    if (wgt === 0) continue;
    for (let r = 0; r < height; r++) {
      const sr = r - fy - dr;
      if (sr < 0 || sr >= height) continue;
      for (let c = 0; c < width; c++) {
        const sc = c - fx - dc;
        if (sc < 0 || sc >= width) continue;
        re[r * width + c] += wgt * image.re[sr * width + sc];
        im[r * width + c] += wgt * image.im[sr * width + sc];
      }
    }
  }
  return { height, width, re, im };
}

/** Scan geometry for the ground-truth crop. */
export interface ScanBounds {
  /** Scan positions in object pixels, x = column. */
  xcoords: ArrayLike<number>;
  /** Scan positions in object pixels, y = row. */
  ycoords: ArrayLike<number>;
  /** Central crop side kept per patch by the stitcher; the box grows by half of it. */
  stitchCrop: number;
}

/** Object-pixel box [row0, row1) × [col0, col1) covered by the stitched central crops. */
export function scanBoundingBox(scan: ScanBounds): {
  row0: number;
  row1: number;
  col0: number;
  col1: number;
} {
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < scan.xcoords.length; i++) {
    minX = Math.min(minX, scan.xcoords[i]);
    maxX = Math.max(maxX, scan.xcoords[i]);
    minY = Math.min(minY, scan.ycoords[i]);
    maxY = Math.max(maxY, scan.ycoords[i]);
  }
  if (!(minX <= maxX)) throw new RangeError("no scan positions");
  const half = scan.stitchCrop / 2;
  return {
    row0: Math.floor(minY - half),
    row1: Math.ceil(maxY + half),
    col0: Math.floor(minX - half),
    col1: Math.ceil(maxX + half),
  };
}

/** How to align (see {@link alignForEvaluation}). */
export interface AlignOptions {
  /** Crop the ground truth to this scan's bounding box ± stitchCrop/2 (else use all of it). */
  scan?: ScanBounds;
  /**
   * Object-pixel (column, row) of the reconstruction's pixel (0, 0) when known (the stitcher
   * reports it; rounded to whole pixels): both images are then cut to the same object region.
   * Without it both are centre-cropped to their common shape, as upstream does.
   */
  reconOriginXY?: readonly [number, number];
  /** Register and undo a residual shift of the reconstruction (default false). */
  register?: boolean;
  /** Pixels trimmed from each side at the end (default 2). */
  trim?: number;
}

/** Two images of one shape, ready for the metrics, and the shift that was undone. */
export interface AlignedPair {
  /** The reconstruction, aligned. */
  recon: ComplexImage;
  /** The ground truth, aligned. */
  truth: ComplexImage;
  /** Residual shift (x, y) found and undone when registering, else null. */
  shiftXY: [number, number] | null;
}

/**
 * Brings a reconstruction and the full ground-truth object to one shape
 * (docs/physics.md#alignment-before-scoring).
 */
export function alignForEvaluation(
  recon: ComplexImage,
  truth: ComplexImage,
  options: AlignOptions = {},
): AlignedPair {
  let gt = truth;
  let gtRow0 = 0, gtCol0 = 0;
  if (options.scan) {
    const box = scanBoundingBox(options.scan);
    gtRow0 = Math.max(0, box.row0);
    gtCol0 = Math.max(0, box.col0);
    const row1 = Math.min(truth.height, box.row1);
    const col1 = Math.min(truth.width, box.col1);
    gt = cropComplex(truth, gtRow0, gtCol0, Math.max(0, row1 - gtRow0), Math.max(0, col1 - gtCol0));
  }
  let rc = recon;
  if (options.reconOriginXY) {
    const ox = Math.round(options.reconOriginXY[0]);
    const oy = Math.round(options.reconOriginXY[1]);
    const row0 = Math.max(gtRow0, oy), row1 = Math.min(gtRow0 + gt.height, oy + recon.height);
    const col0 = Math.max(gtCol0, ox), col1 = Math.min(gtCol0 + gt.width, ox + recon.width);
    const h = Math.max(0, row1 - row0), w = Math.max(0, col1 - col0);
    gt = cropComplex(gt, row0 - gtRow0, col0 - gtCol0, h, w);
    rc = cropComplex(recon, row0 - oy, col0 - ox, h, w);
  } else {
    const h = Math.min(gt.height, recon.height), w = Math.min(gt.width, recon.width);
    gt = centreCropComplex(gt, h, w);
    rc = centreCropComplex(recon, h, w);
  }
  let shiftXY: [number, number] | null = null;
  if (options.register) {
    shiftXY = estimateShift(gt, rc);
    rc = translateComplex(rc, -shiftXY[0], -shiftXY[1]);
    const mx = Math.ceil(Math.abs(shiftXY[0]) - 1e-9), my = Math.ceil(Math.abs(shiftXY[1]) - 1e-9);
    const h = Math.max(0, gt.height - 2 * my), w = Math.max(0, gt.width - 2 * mx);
    gt = cropComplex(gt, my, mx, h, w);
    rc = cropComplex(rc, my, mx, h, w);
  }
  const trim = options.trim ?? 2;
  const h = gt.height - 2 * trim, w = gt.width - 2 * trim;
  if (h < 8 || w < 8) {
    throw new RangeError(
      `the reconstruction and the ground truth overlap in only ${gt.height}×${gt.width} px`,
    );
  }
  return {
    recon: cropComplex(rc, trim, trim, h, w),
    truth: cropComplex(gt, trim, trim, h, w),
    shiftXY,
  };
}
