/** Index bookkeeping of the strided (broadcasting, permuting) kernels. */
import { axes8, MAX_RANK } from "../../shaders/common.ts";

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

/**
 * Whether `shape` (equal-rank to `out`) is `out`'s trailing axes behind size-1 leading axes, so
 * that its values repeat over the leading axes: element i of the output reads element
 * i mod size(shape), one modulo instead of an index division per axis.
 */
export function repeatsOverLeading(shape: readonly number[], out: readonly number[]): boolean {
  const first = shape.findIndex((d) => d !== 1);
  return first >= 0 && shape.every((d, k) => k < first || d === out[k]);
}

/**
 * Broadcast strides of `shapes` (each equal-rank to `out`) along the output axes, with size-1
 * output axes dropped and neighbouring axes merged where every input walks them as one (fewer
 * axes, fewer index divisions per element); throws past the kernels' maximum rank.
 */
function broadcastAxes(out: readonly number[], shapes: (readonly number[])[]) {
  const keep = out.map((n, d) => [n, d]).filter(([n]) => n !== 1).map(([, d]) => d);
  const shape = keep.map((d) => out[d]);
  const strides = shapes.map((s) => {
    const st = stridesOf(s);
    return keep.map((d) => (s[d] === 1 ? 0 : st[d]));
  });
  for (let d = shape.length - 2; d >= 0; d--) {
    if (strides.every((st) => st[d] === st[d + 1] * shape[d + 1])) {
      shape.splice(d, 2, shape[d] * shape[d + 1]);
      for (const st of strides) st.splice(d, 1);
    }
  }
  if (shape.length > MAX_RANK) throw new Error(`WebGPU kernels support rank <= ${MAX_RANK}`);
  return { shape, strides };
}

/**
 * Uniforms of the strided kernels: count, rank, the output shape and each input's broadcast
 * strides along the output axes (size-1 output axes dropped).
 */
export function stridedParams(
  n: number,
  outShape: readonly number[],
  shapes: (readonly number[])[],
): Uint32Array {
  const { shape, strides } = broadcastAxes(outShape, shapes);
  return new Uint32Array([
    n,
    shape.length,
    0,
    0,
    ...axes8(shape),
    ...axes8(strides[0]),
    ...axes8(strides[1]),
  ]);
}

/**
 * Uniforms of the permute kernel: output shape and the input stride of each output axis, with
 * size-1 axes dropped and output axes merged where they are adjacent, in order, in the input.
 */
export function permuteParams(
  n: number,
  shape: readonly number[],
  perm: readonly number[],
): Uint32Array {
  const inStrides = stridesOf(shape);
  const axes = perm.filter((p) => shape[p] !== 1);
  const outShape = axes.map((p) => shape[p]);
  const strides = axes.map((p) => inStrides[p]);
  for (let d = axes.length - 2; d >= 0; d--) {
    if (strides[d] === strides[d + 1] * outShape[d + 1]) {
      outShape.splice(d, 2, outShape[d] * outShape[d + 1]);
      strides.splice(d, 1);
    }
  }
  if (outShape.length > MAX_RANK) throw new Error(`WebGPU kernels support rank <= ${MAX_RANK}`);
  return new Uint32Array([n, outShape.length, 0, 0, ...axes8(outShape), ...axes8(strides)]);
}

/**
 * Uniforms of the pad kernel: output shape, input shape and strides, and `before` per axis,
 * with each axis that is neither padded nor cropped merged into the axis outside it (an
 * unpadded inner axis makes the pair one contiguous axis whose padding scales by its length).
 */
export function padParams(
  n: number,
  shape: readonly number[],
  before: readonly number[],
  after: readonly number[],
): Uint32Array {
  const inShape = [...shape], lo = [...before], hi = [...after];
  for (let d = inShape.length - 2; d >= 0; d--) {
    if (lo[d + 1] === 0 && hi[d + 1] === 0) {
      const inner = inShape[d + 1];
      inShape.splice(d, 2, inShape[d] * inner);
      lo.splice(d, 2, lo[d] * inner);
      hi.splice(d, 2, hi[d] * inner);
    }
  }
  if (inShape.length > MAX_RANK) throw new Error(`WebGPU kernels support rank <= ${MAX_RANK}`);
  const outShape = inShape.map((s, d) => s + lo[d] + hi[d]);
  return new Uint32Array([
    n,
    inShape.length,
    0,
    0,
    ...axes8(outShape),
    ...axes8(inShape),
    ...axes8(stridesOf(inShape)),
    ...axes8(lo),
  ]);
}
