/** Reductions over the middle axis of an (outer, mid, inner) view. */

import type { ReduceOp } from "../backend.ts";

/** Reduce the middle axis: sums accumulate in f64 in index order; max propagates NaN. */
export function reduce(
  x: Float32Array,
  outer: number,
  mid: number,
  inner: number,
  op: ReduceOp,
): Float32Array {
  const out = new Float32Array(outer * inner);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * mid * inner;
    if (op === "sum") {
      acc.fill(0);
      for (let m = 0; m < mid; m++) {
        const row = base + m * inner;
        for (let i = 0; i < inner; i++) acc[i] += x[row + i];
      }
    } else {
      acc.fill(-Infinity);
      for (let m = 0; m < mid; m++) {
        const row = base + m * inner;
        for (let i = 0; i < inner; i++) {
          const v = x[row + i];
          if (v > acc[i] || Number.isNaN(v)) acc[i] = v;
        }
      }
    }
    for (let i = 0; i < inner; i++) out[o * inner + i] = acc[i];
  }
  return out;
}
