/**
 * The WebGPU reduction over the middle axis of an (outer, mid, inner) view: one pass, or for few
 * outputs with a long axis a chunked pass then a pass over the partials, in an order fixed by
 * the shape (deterministic results).
 */
import type { ReduceOp } from "../backend.ts";
import { reduceKernel } from "../../shaders/reduce.ts";
import { f32bits, type GpuRuntime, type GpuStorage } from "./runtime.ts";

/**
 * Reduce the middle axis of x viewed as (outer, mid, inner), each result times `scale`; with
 * `weight`, of x·weight (see `Kernels.reduce`).
 */
export function reduce(
  rt: GpuRuntime,
  x: GpuStorage,
  outer: number,
  mid: number,
  inner: number,
  op: ReduceOp,
  scale: number,
  weight?: GpuStorage,
): GpuStorage {
  const outputs = outer * inner;
  // Few outputs with a long axis: reduce fixed chunks first so enough lanes work, then
  // reduce the partials; the order is fixed by the shape, so results are deterministic.
  if (outputs < 4096 && mid > 256) {
    const chunkLen = Math.max(64, Math.ceil(Math.sqrt(mid)));
    const chunks = Math.ceil(mid / chunkLen);
    const part = reducePass(rt, x, outer, mid, inner, chunkLen, chunks, op, 1, weight);
    const y = reducePass(rt, part, outer, chunks, inner, chunks, 1, op, scale);
    rt.free(part);
    return y;
  }
  return reducePass(rt, x, outer, mid, inner, mid, 1, op, scale, weight);
}

/** One reduce dispatch over chunks of `chunkLen` along mid. */
function reducePass(
  rt: GpuRuntime,
  x: GpuStorage,
  outer: number,
  mid: number,
  inner: number,
  chunkLen: number,
  chunks: number,
  op: ReduceOp,
  scale: number,
  weight?: GpuStorage,
): GpuStorage {
  const n = outer * chunks * inner;
  const y = rt.alloc(n);
  const params = new Uint32Array([
    outer,
    mid,
    inner,
    chunkLen,
    chunks,
    f32bits(-Infinity),
    f32bits(scale),
  ]);
  const bufs = weight === undefined ? [x, y] : [x, weight, y];
  rt.dispatch(reduceKernel(op, weight !== undefined), params, bufs, rt.gridGroups(n));
  return y;
}
