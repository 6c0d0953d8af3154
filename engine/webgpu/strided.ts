/** Index bookkeeping of the strided (broadcasting, permuting) kernels. */
import { axes8, MAX_RANK } from "../../shaders/common.ts";

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
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
