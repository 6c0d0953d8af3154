/** Elementwise kernels: unary functions, broadcast binary ops, complex multiply, polar. */

import type { BinaryOp, UnaryOp } from "../backend.ts";

/** Lanczos coefficients for g = 7, n = 9 (relative error ≈ 1e-15 for x > 0). */
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993,
  676.5203681218851,
  -1259.1392167224028,
  771.32342877765313,
  -176.61502916214059,
  12.507343278686905,
  -0.13857109526572012,
  9.9843695780195716e-6,
  1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) by the Lanczos approximation, with the reflection formula below 0.5. */
export function lgamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return Infinity;
  if (x < 0.5) {
    const s = Math.sin(Math.PI * x);
    if (s === 0) return Infinity;
    return Math.log(Math.PI / Math.abs(s)) - lgamma(1 - x);
  }
  const z = x - 1;
  let series = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) series += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(series);
}

const f32 = Math.fround;

function sigmoid(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

/** out[i] = f(x[i]) for the named function; `a`, `b` are its scalar parameters. */
export function unary(x: Float32Array, op: UnaryOp, a: number, b: number): Float32Array {
  const n = x.length;
  const out = new Float32Array(n);
  switch (op) {
    case "neg":
      for (let i = 0; i < n; i++) out[i] = -x[i];
      break;
    case "exp":
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]);
      break;
    case "log":
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]);
      break;
    case "sqrt":
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]);
      break;
    case "square":
      for (let i = 0; i < n; i++) out[i] = x[i] * x[i];
      break;
    case "abs":
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]);
      break;
    case "sign":
      for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? 1 : x[i] < 0 ? -1 : x[i] === 0 ? 0 : NaN;
      break;
    case "relu":
      for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
      break;
    case "step":
      for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? 1 : 0;
      break;
    case "sigmoid":
      for (let i = 0; i < n; i++) out[i] = sigmoid(x[i]);
      break;
    case "tanh":
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]);
      break;
    case "silu":
      for (let i = 0; i < n; i++) out[i] = x[i] * sigmoid(x[i]);
      break;
    case "cos":
      for (let i = 0; i < n; i++) out[i] = Math.cos(x[i]);
      break;
    case "sin":
      for (let i = 0; i < n; i++) out[i] = Math.sin(x[i]);
      break;
    case "lgamma":
      for (let i = 0; i < n; i++) out[i] = lgamma(x[i]);
      break;
    case "clamp":
      for (let i = 0; i < n; i++) out[i] = Math.min(Math.max(x[i], a), b);
      break;
    case "inRange":
      for (let i = 0; i < n; i++) out[i] = x[i] >= a && x[i] <= b ? 1 : 0;
      break;
    case "pow":
      for (let i = 0; i < n; i++) out[i] = Math.pow(x[i], a);
      break;
    case "affine":
      for (let i = 0; i < n; i++) out[i] = a * x[i] + b;
      break;
    default:
      throw new Error(`unknown unary op ${op satisfies never}`);
  }
  return out;
}

/** Row-major strides of `shape`, with 0 on the axes where it is 1 but `outShape` is not. */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = shape[d] === outShape[d] ? s : 0;
    s *= shape[d];
  }
  return strides;
}

/**
 * Visit `outShape` one row (last axis) at a time in row-major order. `visit` gets the flat
 * offsets where the row starts in out, a and b, the steps of a and b along the row (0 where
 * that operand is broadcast), and the row length.
 */
function forEachBroadcastRow(
  aShape: readonly number[],
  bShape: readonly number[],
  outShape: readonly number[],
  visit: (o: number, ai: number, aStep: number, bi: number, bStep: number, len: number) => void,
): void {
  const size = outShape.reduce((p, d) => p * d, 1);
  if (size === 0) return;
  if (outShape.length === 0) {
    visit(0, 0, 0, 0, 0, 1);
    return;
  }
  const last = outShape.length - 1;
  const aStrides = broadcastStrides(aShape, outShape);
  const bStrides = broadcastStrides(bShape, outShape);
  const len = outShape[last];
  const coord = new Array<number>(last).fill(0);
  let ai = 0;
  let bi = 0;
  for (let o = 0; o < size; o += len) {
    visit(o, ai, aStrides[last], bi, bStrides[last], len);
    // Advance the odometer over the outer axes.
    for (let d = last - 1; d >= 0; d--) {
      coord[d]++;
      ai += aStrides[d];
      bi += bStrides[d];
      if (coord[d] < outShape[d]) break;
      ai -= aStrides[d] * outShape[d];
      bi -= bStrides[d] * outShape[d];
      coord[d] = 0;
    }
  }
}

/** out[o + t] = a[ai + t·aStep] op b[bi + t·bStep] for t < len. */
function binaryRow(
  op: BinaryOp,
  out: Float32Array,
  o: number,
  a: Float32Array,
  ai: number,
  aStep: number,
  b: Float32Array,
  bi: number,
  bStep: number,
  len: number,
): void {
  switch (op) {
    case "add":
      for (let t = 0; t < len; t++) out[o + t] = a[ai + t * aStep] + b[bi + t * bStep];
      break;
    case "sub":
      for (let t = 0; t < len; t++) out[o + t] = a[ai + t * aStep] - b[bi + t * bStep];
      break;
    case "mul":
      for (let t = 0; t < len; t++) out[o + t] = a[ai + t * aStep] * b[bi + t * bStep];
      break;
    case "div":
      for (let t = 0; t < len; t++) out[o + t] = a[ai + t * aStep] / b[bi + t * bStep];
      break;
    case "eq":
      for (let t = 0; t < len; t++) out[o + t] = a[ai + t * aStep] === b[bi + t * bStep] ? 1 : 0;
      break;
    case "gt":
      for (let t = 0; t < len; t++) out[o + t] = a[ai + t * aStep] > b[bi + t * bStep] ? 1 : 0;
      break;
    case "reluGrad":
      for (let t = 0; t < len; t++) out[o + t] = b[bi + t * bStep] > 0 ? a[ai + t * aStep] : 0;
      break;
    // The activation gradients round every step to f32 as the op chains they replace did
    // (each op stores f32; 1 − y was the affine −1·y + 1), so results are bit-for-bit theirs.
    case "sigmoidGrad":
      for (let t = 0; t < len; t++) {
        const y = b[bi + t * bStep];
        out[o + t] = a[ai + t * aStep] * f32(y * f32(-1 * y + 1));
      }
      break;
    case "tanhGrad":
      for (let t = 0; t < len; t++) {
        const y = b[bi + t * bStep];
        out[o + t] = a[ai + t * aStep] * f32(-1 * f32(y * y) + 1);
      }
      break;
    case "siluGrad":
      for (let t = 0; t < len; t++) {
        const x = b[bi + t * bStep], s = f32(sigmoid(x));
        out[o + t] = a[ai + t * aStep] * f32(s + f32(x * f32(s * f32(-1 * s + 1))));
      }
      break;
    case "expand":
      for (let t = 0; t < len; t++) out[o + t] = a[ai + t * aStep] + 0;
      break;
    default:
      throw new Error(`unknown binary op ${op satisfies never}`);
  }
}

function sameShape(p: readonly number[], q: readonly number[]): boolean {
  return p.length === q.length && p.every((d, i) => d === q[i]);
}

/** out = a op b with numpy broadcasting of equal-rank shapes. */
export function binary(
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  outShape: readonly number[],
  op: BinaryOp,
): Float32Array {
  const size = outShape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(size);
  const aFull = sameShape(aShape, outShape), bFull = sameShape(bShape, outShape);
  if ((aFull || a.length === 1) && (bFull || b.length === 1)) {
    // Nothing broadcast beyond a scalar: one flat row.
    binaryRow(op, out, 0, a, 0, aFull ? 1 : 0, b, 0, bFull ? 1 : 0, size);
  } else {
    forEachBroadcastRow(aShape, bShape, outShape, (o, ai, aStep, bi, bStep, len) => {
      binaryRow(op, out, o, a, ai, aStep, b, bi, bStep, len);
    });
  }
  return out;
}

/** Complex multiply a·b (or a·conj(b)) with broadcasting; all shapes end in an axis of 2. */
export function cmul(
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  outShape: readonly number[],
  conjB: boolean,
): Float32Array {
  const size = outShape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(size);
  const sign = conjB ? -1 : 1;
  // Broadcast over the complex elements: drop the trailing (re, im) axis; offsets count pairs.
  const pairs = (shape: readonly number[]) => shape.slice(0, -1);
  forEachBroadcastRow(
    pairs(aShape),
    pairs(bShape),
    pairs(outShape),
    (o, ai, aStep, bi, bStep, len) => {
      for (let t = 0; t < len; t++) {
        const i = 2 * (ai + t * aStep), j = 2 * (bi + t * bStep), k = 2 * (o + t);
        const ar = a[i], aim = a[i + 1];
        const br = b[j], bim = sign * b[j + 1];
        out[k] = ar * br - aim * bim;
        out[k + 1] = ar * bim + aim * br;
      }
    },
  );
  return out;
}

/** Interleaved (amp·cos φ, amp·sin φ). */
export function polar(amp: Float32Array, phase: Float32Array): Float32Array {
  const n = amp.length;
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = amp[i] * Math.cos(phase[i]);
    out[2 * i + 1] = amp[i] * Math.sin(phase[i]);
  }
  return out;
}
