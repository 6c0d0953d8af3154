/**
 * Test objects for the simulator (docs/physics.md#test-objects): `lines` (random lines blurred at
 * several scales, phase derived from the amplitude), `grf` (independent Gaussian-random-field
 * amplitude and phase) and `image` (amplitude and optional phase from PNG files).
 *
 * Every object is a complex image, row-major, interleaved (re, im) f32. All arithmetic is plain
 * f64 JavaScript driven by the seeded {@link Rng}, so a seed gives the same object everywhere.
 */
import { decode } from "fast-png";
import type { Rng } from "../../engine/mod.ts";
import { PtychoInputError } from "../../io/errors.ts";
import { readFileOrFail } from "../../io/files.ts";
import type { InterleavedImage, RealImage } from "../../io/image.ts";

/** A real f64 image (blur and object arithmetic). */
export type F64Image = RealImage<Float64Array>;

/** Index into [0, n) of `i` under scipy's 'reflect' boundary (d c b a | a b c d | d c b a). */
function reflectIndex(i: number, n: number): number {
  const period = 2 * n;
  let k = i % period;
  if (k < 0) k += period;
  return k < n ? k : period - 1 - k;
}

/** 1-D Gaussian blur along rows (axis 1) or columns (axis 0), scipy `gaussian_filter1d` style. */
function blurAxis(src: F64Image, sigma: number, axis: 0 | 1): Float64Array {
  const { height, width, data } = src;
  const radius = Math.floor(4 * sigma + 0.5);
  const kernel = new Float64Array(2 * radius + 1);
  let total = 0;
  for (let k = -radius; k <= radius; k++) {
    kernel[k + radius] = Math.exp(-0.5 * (k * k) / (sigma * sigma));
    total += kernel[k + radius];
  }
  for (let k = 0; k < kernel.length; k++) kernel[k] /= total;
  const out = new Float64Array(data.length);
  const length = axis === 1 ? width : height;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const at = axis === 1 ? c : r;
      let acc = 0;
      for (let k = -radius; k <= radius; k++) {
        const j = reflectIndex(at + k, length);
        acc += kernel[k + radius] * (axis === 1 ? data[r * width + j] : data[j * width + c]);
      }
      out[r * width + c] = acc;
    }
  }
  return out;
}

/** Separable Gaussian blur with scipy's defaults (`mode='reflect'`, `truncate=4`). */
export function gaussianBlur(image: F64Image, sigma: number): F64Image {
  if (sigma <= 0) return { ...image, data: image.data.slice() };
  const rows = { ...image, data: blurAxis(image, sigma, 1) };
  return { ...image, data: blurAxis(rows, sigma, 0) };
}

/** Complex image A·e^{iφ} from amplitude and phase of the same size. */
export function complexFromPolar(amplitude: F64Image, phase: Float64Array): InterleavedImage {
  const { height, width } = amplitude;
  const data = new Float32Array(2 * height * width);
  for (let i = 0; i < height * width; i++) {
    const a = amplitude.data[i], p = phase[i];
    data[2 * i] = a * Math.cos(p);
    data[2 * i + 1] = a * Math.sin(p);
  }
  return { height, width, data };
}

/** Divides by the maximum (no-op for an all-zero image). */
function normalizeMax(data: Float64Array): void {
  let hi = 0;
  for (const v of data) hi = Math.max(hi, v);
  if (hi > 0) { for (let i = 0; i < data.length; i++) data[i] /= hi; }
}

/** Maps to [0, 1] by min and max (a constant image becomes zeros). */
function normalizeMinMax(data: Float64Array): void {
  let lo = Infinity, hi = -Infinity;
  for (const v of data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi - lo;
  for (let i = 0; i < data.length; i++) data[i] = span > 0 ? (data[i] - lo) / span : 0;
}

/** Parameters of the `lines` object. */
export interface LinesOptions {
  /** Number of lines on the 2·size canvas (default round(400·size/392): upstream density). */
  lines?: number;
  /** Phase multiplier: φ = phaseScale·π·tanh((A − max/2)/(3·mean A)) (default 1). */
  phaseScale?: number;
}

/** Default line count for a `lines` object of side `size` (upstream: 400 lines at 392 px). */
export function defaultLineCount(size: number): number {
  return Math.max(1, Math.round(400 * size / 392));
}

/**
 * `lines` (upstream `mk_lines_img` + `dummy_phi`): random 1-px lines between random end points on
 * a 2·size canvas, amplitude = g1 + 2·g5 + 5·g10 (Gaussian blurs σ = 1, 5, 10), centre crop, max
 * normalised to 1; phase = phaseScale·π·tanh((A − max/2)/(3·mean A)).
 */
export function linesObject(size: number, rng: Rng, options: LinesOptions = {}): InterleavedImage {
  const count = options.lines ?? defaultLineCount(size);
  const phaseScale = options.phaseScale ?? 1;
  const big = 2 * size;
  const canvas: F64Image = { height: big, width: big, data: new Float64Array(big * big) };
  for (let l = 0; l < count; l++) {
    const r0 = rng.int(big), c0 = rng.int(big), r1 = rng.int(big), c1 = rng.int(big);
    const steps = Math.max(Math.abs(r1 - r0), Math.abs(c1 - c0));
    for (let t = 0; t <= steps; t++) {
      const r = steps === 0 ? r0 : Math.round(r0 + (r1 - r0) * t / steps);
      const c = steps === 0 ? c0 : Math.round(c0 + (c1 - c0) * t / steps);
      canvas.data[r * big + c] = 1;
    }
  }
  const g1 = gaussianBlur(canvas, 1).data, g5 = gaussianBlur(canvas, 5).data;
  const g10 = gaussianBlur(canvas, 10).data;
  const amplitude: F64Image = { height: size, width: size, data: new Float64Array(size * size) };
  const off = Math.floor(size / 2);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const k = (r + off) * big + c + off;
      amplitude.data[r * size + c] = g1[k] + 2 * g5[k] + 5 * g10[k];
    }
  }
  normalizeMax(amplitude.data);
  let mean = 0;
  for (const v of amplitude.data) mean += v / amplitude.data.length;
  const phase = amplitude.data.map((a) =>
    mean > 0 ? phaseScale * Math.PI * Math.tanh((a - 0.5) / (3 * mean)) : 0
  );
  return complexFromPolar(amplitude, phase);
}

/**
 * Gaussian random field (upstream `ptycho/datagen/grf.py`): white noise shaped to the power
 * spectrum P(k) ∝ k^−exponent on a ⌈size/2⌉² box (periodic), min-max normalised to [0, 1],
 * bilinear ×2, Gaussian blur σ = 1, cropped to size×size and normalised to [0, 1] again.
 */
export function gaussianRandomField(size: number, rng: Rng, exponent = 0.4): F64Image {
  const m = Math.ceil(size / 2);
  const re = new Float64Array(m * m), im = new Float64Array(m * m);
  for (let u = 0; u < m; u++) {
    for (let v = 0; v < m; v++) {
      const ku = Math.min(u, m - u), kv = Math.min(v, m - v);
      const k = Math.hypot(ku, kv);
      const amp = k === 0 ? 0 : Math.pow(k, -exponent / 2);
      re[u * m + v] = amp * rng.normal();
      im[u * m + v] = amp * rng.normal();
    }
  }
  const field = { height: m, width: m, data: inverseDftReal(re, im, m) };
  normalizeMinMax(field.data);
  const up = upsample2xBilinear(field);
  const blurred = gaussianBlur(up, 1);
  const out: F64Image = { height: size, width: size, data: new Float64Array(size * size) };
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) out.data[r * size + c] = blurred.data[r * up.width + c];
  }
  normalizeMinMax(out.data);
  return out;
}

/** Real part of the 2-D inverse DFT of an m×m spectrum (separable, O(m³), f64). */
function inverseDftReal(re: Float64Array, im: Float64Array, m: number): Float64Array {
  const cos = new Float64Array(m), sin = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    cos[k] = Math.cos(2 * Math.PI * k / m);
    sin[k] = Math.sin(2 * Math.PI * k / m);
  }
  // Along rows (the v axis): t[u, x] = Σ_v F[u, v] e^{2πi v x / m}.
  const tr = new Float64Array(m * m), ti = new Float64Array(m * m);
  for (let u = 0; u < m; u++) {
    for (let x = 0; x < m; x++) {
      let ar = 0, ai = 0;
      for (let v = 0; v < m; v++) {
        const t = (v * x) % m, fr = re[u * m + v], fi = im[u * m + v];
        ar += fr * cos[t] - fi * sin[t];
        ai += fr * sin[t] + fi * cos[t];
      }
      tr[u * m + x] = ar;
      ti[u * m + x] = ai;
    }
  }
  // Along columns (the u axis), keeping the real part: f[y, x] = Re Σ_u t[u, x] e^{2πi u y / m}.
  const out = new Float64Array(m * m);
  for (let y = 0; y < m; y++) {
    for (let x = 0; x < m; x++) {
      let ar = 0;
      for (let u = 0; u < m; u++) {
        const t = (u * y) % m;
        ar += tr[u * m + x] * cos[t] - ti[u * m + x] * sin[t];
      }
      out[y * m + x] = ar;
    }
  }
  return out;
}

/** Bilinear 2× upsampling with half-pixel centres and edge clamping. */
function upsample2xBilinear(src: F64Image): F64Image {
  const { height, width, data } = src;
  const h = 2 * height, w = 2 * width;
  const out = new Float64Array(h * w);
  const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
  for (let r = 0; r < h; r++) {
    const sy = (r + 0.5) / 2 - 0.5, y0 = Math.floor(sy), fy = sy - y0;
    const ya = clamp(y0, height), yb = clamp(y0 + 1, height);
    for (let c = 0; c < w; c++) {
      const sx = (c + 0.5) / 2 - 0.5, x0 = Math.floor(sx), fx = sx - x0;
      const xa = clamp(x0, width), xb = clamp(x0 + 1, width);
      out[r * w + c] = (1 - fy) * ((1 - fx) * data[ya * width + xa] + fx * data[ya * width + xb]) +
        fy * ((1 - fx) * data[yb * width + xa] + fx * data[yb * width + xb]);
    }
  }
  return { height: h, width: w, data: out };
}

/** Parameters of the `grf` object. */
export interface GrfOptions {
  /** Spectral exponent: P(k) ∝ k^−exponent (default 0.4, upstream). */
  exponent?: number;
  /** Phase multiplier: φ = phaseScale·π·(g − 1/2), i.e. ±π/2 at 1 (default 1). */
  phaseScale?: number;
}

/** `grf`: amplitude 0.2 + 0.8·g₁ and phase phaseScale·π·(g₂ − 1/2) from two independent fields. */
export function grfObject(size: number, rng: Rng, options: GrfOptions = {}): InterleavedImage {
  const phaseScale = options.phaseScale ?? 1;
  const amplitude = gaussianRandomField(size, rng, options.exponent);
  amplitude.data = amplitude.data.map((g) => 0.2 + 0.8 * g);
  const phase = gaussianRandomField(size, rng, options.exponent).data.map((g) =>
    phaseScale * Math.PI * (g - 0.5)
  );
  return complexFromPolar(amplitude, phase);
}

/**
 * Reads a PNG (8 or 16 bit; gray, gray+alpha, RGB, RGBA or palette; alpha ignored) as gray
 * values in [0, 1] (RGB by Rec. 601 luma). Unreadable or unsupported files are a
 * {@link PtychoInputError}.
 */
export function readPngGray(path: string): F64Image {
  const bytes = readFileOrFail(path);
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new PtychoInputError(path, `not a readable PNG (${why})`, { cause: e });
  }
  const { width, height, depth, channels, data, palette } = png;
  if (depth !== 8 && depth !== 16) {
    throw new PtychoInputError(path, `PNG bit depth ${depth} is not supported (use 8 or 16)`);
  }
  const maxValue = depth === 16 ? 65535 : 255;
  const out = new Float64Array(width * height);
  for (let p = 0; p < width * height; p++) {
    if (palette !== undefined) {
      const [r, g, b] = palette[data[p]] ?? [0, 0, 0];
      out[p] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    } else if (channels >= 3) {
      const k = p * channels;
      out[p] = (0.299 * data[k] + 0.587 * data[k + 1] + 0.114 * data[k + 2]) / maxValue;
    } else {
      out[p] = data[p * channels] / maxValue;
    }
  }
  return { height, width, data: out };
}

/**
 * `image`: amplitude = the gray values of `amplitudePng` in [0, 1]; phase = phaseScale·π·(2v − 1)
 * from the gray values v of `phasePng` (±π at 1), or zero without one. Both must be the same size.
 */
export function imageObject(
  amplitudePng: string,
  phasePng?: string,
  phaseScale = 1,
): InterleavedImage {
  const amplitude = readPngGray(amplitudePng);
  let phase = new Float64Array(amplitude.data.length);
  if (phasePng !== undefined) {
    const p = readPngGray(phasePng);
    if (p.height !== amplitude.height || p.width !== amplitude.width) {
      throw new PtychoInputError(
        phasePng,
        `phase image is ${p.width}×${p.height} but the amplitude image is ${amplitude.width}×${amplitude.height}`,
      );
    }
    phase = p.data.map((v) => phaseScale * Math.PI * (2 * v - 1));
  }
  return complexFromPolar(amplitude, phase);
}
