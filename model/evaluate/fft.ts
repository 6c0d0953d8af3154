/**
 * Host-side discrete Fourier transforms of any length, in f64, for the metrics (FRC, image
 * registration). Power-of-two lengths use an iterative radix-2 transform; other lengths use
 * Bluestein's chirp-z identity on a power-of-two transform. Unnormalised forward transform
 * X[k] = Σ x[n]·exp(−2πi·kn/L); the inverse divides by L.
 */

/** Smallest power of two ≥ `n`. */
function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** In-place radix-2 FFT of (re, im) of power-of-two length; `sign` −1 forward, +1 inverse. */
function radix2(re: Float64Array, im: Float64Array, sign: number): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len *= 2) {
    const angle = (sign * 2 * Math.PI) / len;
    const half = len / 2;
    for (let k = 0; k < half; k++) {
      const wr = Math.cos(angle * k);
      const wi = Math.sin(angle * k);
      for (let start = 0; start < n; start += len) {
        const a = start + k;
        const b = a + half;
        const tr = re[b] * wr - im[b] * wi;
        const ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}

/** A reusable plan for transforms of one length. */
class FftPlan {
  readonly length: number;
  readonly #m: number;
  readonly #chirpRe: Float64Array;
  readonly #chirpIm: Float64Array;
  readonly #kernelRe: Float64Array;
  readonly #kernelIm: Float64Array;
  readonly #workRe: Float64Array;
  readonly #workIm: Float64Array;

  constructor(length: number) {
    this.length = length;
    const pow2 = (length & (length - 1)) === 0;
    this.#m = pow2 ? length : nextPow2(2 * length - 1);
    this.#chirpRe = new Float64Array(pow2 ? 0 : length);
    this.#chirpIm = new Float64Array(pow2 ? 0 : length);
    this.#kernelRe = new Float64Array(pow2 ? 0 : this.#m);
    this.#kernelIm = new Float64Array(pow2 ? 0 : this.#m);
    this.#workRe = new Float64Array(pow2 ? 0 : this.#m);
    this.#workIm = new Float64Array(pow2 ? 0 : this.#m);
    if (pow2) return;
    // chirp w_n = exp(−iπ n²/L); n² taken mod 2L keeps the angle small and exact.
    for (let n = 0; n < length; n++) {
      const angle = (Math.PI * ((n * n) % (2 * length))) / length;
      this.#chirpRe[n] = Math.cos(angle);
      this.#chirpIm[n] = -Math.sin(angle);
    }
    const m = this.#m;
    for (let n = 0; n < length; n++) {
      this.#kernelRe[n] = this.#chirpRe[n];
      this.#kernelIm[n] = -this.#chirpIm[n];
      if (n > 0) {
        this.#kernelRe[m - n] = this.#chirpRe[n];
        this.#kernelIm[m - n] = -this.#chirpIm[n];
      }
    }
    radix2(this.#kernelRe, this.#kernelIm, -1);
  }

  /** In-place forward (sign −1) or unnormalised inverse (sign +1) transform. */
  run(re: Float64Array, im: Float64Array, sign: number): void {
    if (this.#m === this.length) {
      radix2(re, im, sign);
      return;
    }
    // The inverse is the conjugate of the forward transform of the conjugate.
    const s = sign > 0 ? -1 : 1;
    const n = this.length;
    const wr = this.#workRe;
    const wi = this.#workIm;
    wr.fill(0);
    wi.fill(0);
    for (let k = 0; k < n; k++) {
      const xr = re[k];
      const xi = s * im[k];
      wr[k] = xr * this.#chirpRe[k] - xi * this.#chirpIm[k];
      wi[k] = xr * this.#chirpIm[k] + xi * this.#chirpRe[k];
    }
    radix2(wr, wi, -1);
    for (let k = 0; k < this.#m; k++) {
      const ar = wr[k];
      const ai = wi[k];
      wr[k] = ar * this.#kernelRe[k] - ai * this.#kernelIm[k];
      wi[k] = ar * this.#kernelIm[k] + ai * this.#kernelRe[k];
    }
    radix2(wr, wi, 1);
    const inv = 1 / this.#m;
    for (let k = 0; k < n; k++) {
      const cr = wr[k] * inv;
      const ci = wi[k] * inv;
      re[k] = cr * this.#chirpRe[k] - ci * this.#chirpIm[k];
      im[k] = s * (cr * this.#chirpIm[k] + ci * this.#chirpRe[k]);
    }
  }
}

/**
 * In-place 2-D DFT of a (height, width) complex image held as separate row-major `re`/`im`
 * planes; `inverse` applies the inverse transform including the 1/(height·width) factor.
 */
export function fft2InPlace(
  re: Float64Array,
  im: Float64Array,
  height: number,
  width: number,
  inverse = false,
): void {
  const sign = inverse ? 1 : -1;
  const rowPlan = new FftPlan(width);
  const colPlan = width === height ? rowPlan : new FftPlan(height);
  const lineRe = new Float64Array(Math.max(width, height));
  const lineIm = new Float64Array(Math.max(width, height));
  const rr = lineRe.subarray(0, width);
  const ri = lineIm.subarray(0, width);
  for (let y = 0; y < height; y++) {
    rr.set(re.subarray(y * width, (y + 1) * width));
    ri.set(im.subarray(y * width, (y + 1) * width));
    rowPlan.run(rr, ri, sign);
    re.set(rr, y * width);
    im.set(ri, y * width);
  }
  const cr = lineRe.subarray(0, height);
  const ci = lineIm.subarray(0, height);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      cr[y] = re[y * width + x];
      ci[y] = im[y * width + x];
    }
    colPlan.run(cr, ci, sign);
    for (let y = 0; y < height; y++) {
      re[y * width + x] = cr[y];
      im[y * width + x] = ci[y];
    }
  }
  if (inverse) {
    const scale = 1 / (width * height);
    for (let i = 0; i < re.length; i++) {
      re[i] *= scale;
      im[i] *= scale;
    }
  }
}

/** 1-D DFT of any length (returns new arrays); `inverse` includes the 1/L factor. */
export function fft1d(
  re: ArrayLike<number>,
  im: ArrayLike<number>,
  inverse = false,
): { re: Float64Array; im: Float64Array } {
  const outRe = Float64Array.from(re);
  const outIm = Float64Array.from(im);
  new FftPlan(outRe.length).run(outRe, outIm, inverse ? 1 : -1);
  if (inverse) {
    for (let i = 0; i < outRe.length; i++) {
      outRe[i] /= outRe.length;
      outIm[i] /= outRe.length;
    }
  }
  return { re: outRe, im: outIm };
}
