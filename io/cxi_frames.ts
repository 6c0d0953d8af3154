/**
 * A CXI entry's detector frames turned into the contract's amplitudes (M, N, N):
 *
 * - layout: (..., H, W); every axis before the last two counts patterns in C order, so (M, H, W),
 *   (M, 1, H, W), (1, M, H, W) and a scan grid (A, B, H, W) all give A·B·… patterns;
 * - frames: N × N, the central crop of H × W (`crop`, an even N ≤ min(H, W)); H × W frames that
 *   are not square or have an odd side need `crop`. The zero frequency of a detector frame is at
 *   (⌊H/2⌋, ⌊W/2⌋) (after any fftshift) and lands at (N/2, N/2);
 * - FFT order: frames with the zero frequency at the corners are fftshifted (`fftshift`, `auto`:
 *   when the mean frame holds more intensity in its four ⌊H/4⌋ × ⌊W/4⌋ corner blocks than in
 *   its central block);
 * - mask (H, W): CXI's pixel mask bits, a pixel is bad where `mask & 0x2FF` is nonzero (invalid,
 *   saturated, hot, dead, shadowed, peak mask, ignore, bad, missing; the other bits only inform);
 *   booleans and floats: bad where nonzero. `mask: "good"` reads nonzero as good, `"ignore"`
 *   reads no mask; a mask flagging more than half the detector is refused as probably inverted;
 * - amplitude = sqrt(counts); bad pixels, negative counts (detector gaps and bad pixels marked −1,
 *   −2, or noise after background subtraction) and 2³² − 1 in uint32 data (the invalid-pixel mark
 *   of Eiger detectors) read as 0 and are counted; NaN or Inf is an error.
 */
import type { CxiFail } from "./cxi_units.ts";
import type { Hdf5Reader } from "./hdf5.ts";
import type { NpyArray } from "./npy.ts";
import { firstNonFinite, isInteger, isRealFloat, realToFloat64 } from "./npy_convert.ts";

/** CXI pixel mask bits that make a pixel unusable (PIXEL_IS_IN_MASK). */
const CXI_BAD_BITS = 0x2ff;

/** How to read the frames. */
export interface FrameOptions {
  /** Keep the central crop × crop pixels. */
  crop?: number;
  /** Whether to fftshift (default auto). */
  fftshift?: "auto" | "yes" | "no";
  /** How to read the mask: CXI (nonzero bits = bad; default), `good` (nonzero = good), `ignore`. */
  mask?: "cxi" | "good" | "ignore";
}

/** The frames as amplitudes, with what was done to them. */
export interface Frames {
  /** Amplitudes (m, n, n), float32, zero frequency at (n/2, n/2). */
  amplitudes: Float32Array;
  /** Patterns. */
  m: number;
  /** Pattern side. */
  n: number;
  /** Summed counts over all patterns (bad pixels left out). */
  total: number;
  /** What was read and done, for the run's records. */
  record: Record<string, unknown>;
}

/** Reads the detector frames at `dataPath` (see the module comment). */
export function readFrames(
  h5: Hdf5Reader,
  dataPath: string,
  maskPath: string | null,
  options: FrameOptions,
  fail: CxiFail,
  warn: (message: string) => void,
): Frames {
  const counts = h5.get(dataPath);
  if (!isRealFloat(counts) && !isInteger(counts)) {
    fail(dataPath, `expected real counts, got dtype ${counts.dtype}`);
  }
  const dims = counts.shape;
  if (dims.length < 3) {
    fail(dataPath, `expected (patterns, H, W) or more dimensions, got shape (${dims})`);
  }
  const [h, w] = dims.slice(-2);
  const m = dims.slice(0, -2).reduce((a, b) => a * b, 1);
  if (m === 0 || h === 0 || w === 0) fail(dataPath, `holds no patterns: shape (${dims})`);
  const side = Math.min(h, w);
  const n = options.crop ?? side;
  if (options.crop === undefined && (h !== w || h % 2 !== 0)) {
    fail(
      dataPath,
      `frames are ${h}×${w}; the model needs even square patterns: give --cxi_crop N (even, ` +
        `at most ${side}) to keep the central N×N pixels`,
    );
  }
  if (!(Number.isInteger(n) && n > 0 && n % 2 === 0 && n <= side)) {
    fail(dataPath, `cannot crop ${h}×${w} frames to ${n}×${n} (an even side up to ${side})`);
  }
  // 64-bit integers arrive as bigints; every other type is read in place (no f64 copy).
  const values: ArrayLike<number> = counts.dtype === "i8" || counts.dtype === "u8"
    ? realToFloat64(counts)
    : counts.data as ArrayLike<number>;
  if (isRealFloat(counts)) {
    const bad = firstNonFinite(values);
    if (bad >= 0) fail(dataPath, `contains NaN or Inf (pattern ${Math.floor(bad / (h * w))})`);
  }
  const record: Record<string, unknown> = {
    data: dataPath,
    data_dtype: counts.dtype,
    data_shape: dims,
    amplitudes: "sqrt(counts)",
  };
  if (dims.length > 3) record.patterns = `the ${dims.length - 2} leading axes, in C order`;
  const masked = readMask(h5, maskPath, h, w, options.mask ?? "cxi", record, fail);
  const invalid = counts.dtype === "u4" ? 2 ** 32 - 1 : Infinity;
  const shift = decideShift(values, m, h, w, invalid, options.fftshift ?? "auto");
  record.fftshift = shift;
  // Output (r, c) is pixel (r0 + r, c0 + c) of the centred frame, which is the stored frame
  // rolled by ⌈H/2⌉, ⌈W/2⌉ when shifted.
  const r0 = Math.floor(h / 2) - n / 2;
  const c0 = Math.floor(w / 2) - n / 2;
  if (n < h || n < w) {
    record.crop = `the central ${n}×${n} of the ${h}×${w} frames (from row ${r0}, column ${c0})`;
  }
  const rows = Int32Array.from(
    { length: n },
    (_, r) => shift.applied ? (r0 + r + Math.ceil(h / 2)) % h : r0 + r,
  );
  const cols = Int32Array.from(
    { length: n },
    (_, c) => shift.applied ? (c0 + c + Math.ceil(w / 2)) % w : c0 + c,
  );
  const amplitudes = new Float32Array(m * n * n);
  let total = 0, negative = 0, marked = 0;
  for (let k = 0; k < m; k++) {
    for (let r = 0; r < n; r++) {
      const row = k * h * w + rows[r] * w;
      for (let c = 0; c < n; c++) {
        if (masked !== null && masked[rows[r] * w + cols[c]]) continue;
        const v = values[row + cols[c]];
        if (v < 0) negative++;
        else if (v === invalid) marked++;
        else {
          total += v;
          amplitudes[(k * n + r) * n + c] = Math.sqrt(v);
        }
      }
    }
  }
  if (negative > 0) {
    record.negative_counts = { pixels: negative, rule: "read as 0" };
    warn(`'${dataPath}': ${negative} negative counts (detector gaps or bad pixels) read as 0`);
  }
  if (marked > 0) {
    record.invalid_marks = {
      pixels: marked,
      rule: "uint32 2^32-1 (Eiger invalid pixel) read as 0",
    };
    warn(`'${dataPath}': ${marked} pixels at 2^32-1 (the invalid-pixel mark) read as 0`);
  }
  return { amplitudes, m, n, total, record };
}

/** Bad pixels (1) of an H × W detector from its mask, or null without one. */
function readMask(
  h5: Hdf5Reader,
  maskPath: string | null,
  h: number,
  w: number,
  mode: "cxi" | "good" | "ignore",
  record: Record<string, unknown>,
  fail: CxiFail,
): Uint8Array | null {
  if (maskPath === null || mode === "ignore") {
    if (maskPath !== null) record.mask = { path: maskPath, rule: "ignored (--cxi_mask ignore)" };
    return null;
  }
  const mask: NpyArray = h5.get(maskPath);
  const dims = mask.shape.join();
  if (
    (!isInteger(mask) && !isRealFloat(mask)) || (dims !== `${h},${w}` && dims !== `1,${h},${w}`)
  ) {
    fail(
      maskPath,
      `expected a (${h}, ${w}) mask like the frames, got ${mask.dtype} (${mask.shape})`,
    );
  }
  const flags = realToFloat64(mask);
  const bits = isInteger(mask) && mask.dtype !== "b1";
  const masked = new Uint8Array(h * w);
  let count = 0;
  for (let p = 0; p < h * w; p++) {
    const bad = bits ? (flags[p] & CXI_BAD_BITS) !== 0 : flags[p] !== 0;
    masked[p] = bad !== (mode === "good") ? 1 : 0;
    count += masked[p];
  }
  if (mode === "cxi" && count > (h * w) / 2) {
    fail(
      maskPath,
      `flags ${count} of ${h * w} pixels as bad (CXI: nonzero = bad), so it is probably ` +
        "inverted: --cxi_mask good reads nonzero as good, --cxi_mask ignore reads no mask",
    );
  }
  record.mask = {
    path: maskPath,
    rule: mode === "good"
      ? "pixel used where mask != 0 (--cxi_mask good)"
      : bits
      ? "pixel unused where mask & 0x2FF != 0 (CXI pixel mask bits)"
      : "pixel unused where mask != 0",
    masked_pixels: count,
  };
  return masked;
}

/** Whether to fftshift, decided as the module comment says. */
function decideShift(
  values: ArrayLike<number>,
  m: number,
  h: number,
  w: number,
  invalid: number,
  mode: "auto" | "yes" | "no",
): { applied: boolean; rule: string } {
  if (mode !== "auto") return { applied: mode === "yes", rule: `--cxi_fftshift ${mode}` };
  let centre = 0, corners = 0;
  const qh = Math.floor(h / 4), qw = Math.floor(w / 4);
  for (let k = 0; k < m; k++) {
    for (let r = 0; r < h; r++) {
      const rowCentre = r >= qh && r < h - qh;
      const rowCorner = r < qh || r >= h - qh;
      const base = (k * h + r) * w;
      for (let c = 0; c < w; c++) {
        const v = values[base + c];
        if (!(v > 0) || v === invalid) continue;
        if (rowCentre && c >= qw && c < w - qw) centre += v;
        else if (rowCorner && (c < qw || c >= w - qw)) corners += v;
      }
    }
  }
  const applied = corners > centre;
  return {
    applied,
    rule: `auto: ${applied ? "more" : "less"} intensity in the four H/4×W/4 corner blocks ` +
      `(${corners.toExponential(3)}) than in the central H/2×W/2 block (${
        centre.toExponential(3)
      })`,
  };
}
