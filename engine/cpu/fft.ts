/** Batched 2-D DFT by an iterative radix-2 Cooley–Tukey FFT, computed in f64. */

/** Twiddle table for length n: cos and sign·sin of 2πk/n for k < n/2. */
function twiddles(n: number, sign: number): { cos: Float64Array; sin: Float64Array } {
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    const angle = (2 * Math.PI * k) / n;
    cos[k] = Math.cos(angle);
    sin[k] = sign * Math.sin(angle);
  }
  return { cos, sin };
}

/** Bit-reversal permutation of 0..n-1 (n a power of two). */
function bitReversal(n: number): Uint32Array {
  const bits = Math.log2(n);
  const rev = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  return rev;
}

/** A plan for in-place FFTs of one length and direction. */
class Fft1d {
  readonly n: number;
  readonly rev: Uint32Array;
  readonly cos: Float64Array;
  readonly sin: Float64Array;

  constructor(n: number, inverse: boolean) {
    if (n < 1 || (n & (n - 1)) !== 0) throw new Error(`fft length ${n} is not a power of two`);
    this.n = n;
    this.rev = bitReversal(n);
    // Forward uses exp(-2πik/n), inverse exp(+2πik/n).
    ({ cos: this.cos, sin: this.sin } = twiddles(n, inverse ? 1 : -1));
  }

  /** Transform (re, im) in place. */
  run(re: Float64Array, im: Float64Array): void {
    const n = this.n;
    for (let i = 0; i < n; i++) {
      const j = this.rev[i];
      if (j > i) {
        [re[i], re[j]] = [re[j], re[i]];
        [im[i], im[j]] = [im[j], im[i]];
      }
    }
    for (let size = 2; size <= n; size *= 2) {
      const half = size / 2;
      const step = n / size; // twiddle index stride for this stage
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < half; k++) {
          const wr = this.cos[k * step], wi = this.sin[k * step];
          const top = start + k, bottom = top + half;
          const tr = re[bottom] * wr - im[bottom] * wi;
          const ti = re[bottom] * wi + im[bottom] * wr;
          re[bottom] = re[top] - tr;
          im[bottom] = im[top] - ti;
          re[top] += tr;
          im[top] += ti;
        }
      }
    }
  }
}

/**
 * out[u,v] = scale · Σ_{y,x} x[y,x] · exp(∓2πi(uy/h + vx/w)) for each image of (batch, h, w, 2);
 * minus sign forward, plus sign when `inverse`.
 */
export function fft2(
  x: Float32Array,
  batch: number,
  h: number,
  w: number,
  inverse: boolean,
  scale: number,
): Float32Array {
  const rowFft = new Fft1d(w, inverse);
  const colFft = new Fft1d(h, inverse);
  const out = new Float32Array(x.length);
  const imgRe = new Float64Array(h * w);
  const imgIm = new Float64Array(h * w);
  const rowRe = new Float64Array(w), rowIm = new Float64Array(w);
  const colRe = new Float64Array(h), colIm = new Float64Array(h);
  for (let b = 0; b < batch; b++) {
    const base = b * h * w * 2;
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        rowRe[xx] = x[base + 2 * (y * w + xx)];
        rowIm[xx] = x[base + 2 * (y * w + xx) + 1];
      }
      rowFft.run(rowRe, rowIm);
      imgRe.set(rowRe, y * w);
      imgIm.set(rowIm, y * w);
    }
    for (let xx = 0; xx < w; xx++) {
      for (let y = 0; y < h; y++) {
        colRe[y] = imgRe[y * w + xx];
        colIm[y] = imgIm[y * w + xx];
      }
      colFft.run(colRe, colIm);
      for (let y = 0; y < h; y++) {
        out[base + 2 * (y * w + xx)] = scale * colRe[y];
        out[base + 2 * (y * w + xx) + 1] = scale * colIm[y];
      }
    }
  }
  return out;
}
