/**
 * Image quality measures of docs/physics.md#measures on real images: MAE, MSE, PSNR, SSIM (the
 * scikit-image `structural_similarity` defaults) and the Fourier ring correlation with its
 * threshold crossings. Host code in f64.
 */
import { fft2InPlace } from "./fft.ts";
import type { RealImage as AnyRealImage } from "../../io/image.ts";

/** The metrics compute on f64 images. */
export type RealImage = AnyRealImage<Float64Array>;

function checkSameShape(a: RealImage, b: RealImage): void {
  if (a.height !== b.height || a.width !== b.width) {
    throw new RangeError(`image shapes differ: ${a.height}×${a.width} vs ${b.height}×${b.width}`);
  }
}

/** Mean absolute difference. */
export function meanAbsoluteError(a: RealImage, b: RealImage): number {
  checkSameShape(a, b);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i] - b.data[i]);
  return sum / a.data.length;
}

/** Mean squared difference. */
export function meanSquaredError(a: RealImage, b: RealImage): number {
  checkSameShape(a, b);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += (a.data[i] - b.data[i]) ** 2;
  return sum / a.data.length;
}

/** PSNR in dB for a given MSE and peak value: 10·log10(peak²/mse); +Infinity when mse is 0. */
export function psnrFromMse(mse: number, peak: number): number {
  return mse === 0 ? Infinity : 10 * Math.log10((peak * peak) / mse);
}

/** max − min of an image. */
export function dataRange(image: RealImage): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of image.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi - lo;
}

/** Constants of {@link structuralSimilarity} (scikit-image defaults). */
export const SSIM_WINDOW = 7;
const SSIM_K1 = 0.01;
const SSIM_K2 = 0.03;

/**
 * Mean structural similarity with scikit-image's defaults: 7×7 uniform window, K1 0.01,
 * K2 0.03, sample covariances (×49/48), averaged over the pixels whose window lies inside the
 * image (a border of 3 excluded). `range` is the data range L (C1 = (K1·L)², C2 = (K2·L)²).
 */
export function structuralSimilarity(a: RealImage, b: RealImage, range: number): number {
  checkSameShape(a, b);
  const { height, width } = a;
  const w = SSIM_WINDOW;
  if (height < w || width < w) {
    throw new RangeError(`SSIM needs images of at least ${w}×${w}, got ${height}×${width}`);
  }
  const np = w * w;
  const covNorm = np / (np - 1);
  const c1 = (SSIM_K1 * range) ** 2;
  const c2 = (SSIM_K2 * range) ** 2;
  // Summed-area tables of x, y, x², y², xy make every window sum O(1).
  const tw = width + 1;
  const tables = [0, 1, 2, 3, 4].map(() => new Float64Array((height + 1) * tw));
  const [sx, sy, sxx, syy, sxy] = tables;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const x = a.data[r * width + c];
      const y = b.data[r * width + c];
      const values = [x, y, x * x, y * y, x * y];
      const at = (r + 1) * tw + c + 1;
      for (let t = 0; t < 5; t++) {
        const s = tables[t];
        s[at] = values[t] + s[at - 1] + s[at - tw] - s[at - tw - 1];
      }
    }
  }
  const boxMean = (s: Float64Array, r0: number, c0: number): number =>
    (s[(r0 + w) * tw + c0 + w] - s[r0 * tw + c0 + w] - s[(r0 + w) * tw + c0] + s[r0 * tw + c0]) /
    np;
  let total = 0;
  let count = 0;
  for (let r0 = 0; r0 + w <= height; r0++) {
    for (let c0 = 0; c0 + w <= width; c0++) {
      const ux = boxMean(sx, r0, c0);
      const uy = boxMean(sy, r0, c0);
      const vx = covNorm * (boxMean(sxx, r0, c0) - ux * ux);
      const vy = covNorm * (boxMean(syy, r0, c0) - uy * uy);
      const vxy = covNorm * (boxMean(sxy, r0, c0) - ux * uy);
      const num = (2 * ux * uy + c1) * (2 * vxy + c2);
      const den = (ux * ux + uy * uy + c1) * (vx + vy + c2);
      total += num / den;
      count++;
    }
  }
  return total / count;
}

/** The largest centred square of an image (side min(height, width)). */
export function centreSquare(image: RealImage): RealImage {
  const side = Math.min(image.height, image.width);
  const r0 = Math.floor((image.height - side) / 2);
  const c0 = Math.floor((image.width - side) / 2);
  const data = new Float64Array(side * side);
  for (let r = 0; r < side; r++) {
    data.set(
      image.data.subarray((r0 + r) * image.width + c0, (r0 + r) * image.width + c0 + side),
      r * side,
    );
  }
  return { height: side, width: side, data };
}

/**
 * Fourier ring correlation of two images (after cropping both to their centred square of side
 * n): ring k holds the pixels whose distance from the zero frequency (⌊n/2⌋, ⌊n/2⌋ after
 * fftshift) rounds to k, out to the corners (≈ √2·n/2 rings), and
 * FRC[k] = |Σ F₁·conj(F₂)| / sqrt(Σ|F₁|² · Σ|F₂|²) over the ring. A ring where either image
 * has no power is NaN.
 */
export function fourierRingCorrelation(a: RealImage, b: RealImage): Float64Array {
  checkSameShape(a, b);
  const sa = centreSquare(a);
  const sb = centreSquare(b);
  const n = sa.width;
  const spectrum = (img: RealImage) => {
    const re = Float64Array.from(img.data);
    const im = new Float64Array(re.length);
    fft2InPlace(re, im, n, n);
    return { re, im };
  };
  const fa = spectrum(sa);
  const fb = spectrum(sb);
  const centre = Math.floor(n / 2);
  // The farthest pixel from the zero frequency is the corner (−⌊n/2⌋, −⌊n/2⌋).
  const rings = Math.round(Math.hypot(centre, centre)) + 1;
  const crossRe = new Float64Array(rings);
  const crossIm = new Float64Array(rings);
  const powA = new Float64Array(rings);
  const powB = new Float64Array(rings);
  for (let u = 0; u < n; u++) {
    // Unshifted frequency index u sits at shifted position (u + centre) mod n.
    const dy = ((u + centre) % n) - centre;
    for (let v = 0; v < n; v++) {
      const dx = ((v + centre) % n) - centre;
      const k = Math.round(Math.hypot(dy, dx));
      const i = u * n + v;
      const ar = fa.re[i], ai = fa.im[i], br = fb.re[i], bi = fb.im[i];
      crossRe[k] += ar * br + ai * bi;
      crossIm[k] += ai * br - ar * bi;
      powA[k] += ar * ar + ai * ai;
      powB[k] += br * br + bi * bi;
    }
  }
  const curve = new Float64Array(rings);
  for (let k = 0; k < rings; k++) {
    const den = Math.sqrt(powA[k] * powB[k]);
    curve[k] = den > 0 ? Math.hypot(crossRe[k], crossIm[k]) / den : NaN;
  }
  return curve;
}

/**
 * First ring index where `curve` drops below `threshold`, linearly interpolated between the last
 * ring at or above it and the first below (ring-index units); 0 if ring 0 is already below; the
 * curve length when it never drops below (saturated). NaN rings are skipped.
 */
export function firstBelowThreshold(curve: ArrayLike<number>, threshold: number): number {
  let prev = -1;
  for (let k = 0; k < curve.length; k++) {
    const v = curve[k];
    if (Number.isNaN(v)) continue;
    if (v < threshold) {
      if (prev < 0) return k;
      const pv = curve[prev];
      return prev + ((k - prev) * (pv - threshold)) / (pv - v);
    }
    prev = k;
  }
  return curve.length;
}
