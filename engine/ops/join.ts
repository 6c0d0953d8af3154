/** Joining tensors: concat places each input with `pad` and adds them (its gradient is slices). */
import { commonBackend } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { add } from "./elementwise.ts";
import { pad, reshape } from "./shape.ts";

/** Join tensors along an existing axis. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  commonBackend("concat", xs);
  const rank = xs[0].rank;
  const ax = axis < 0 ? axis + rank : axis;
  const total = xs.reduce((n, t) => n + t.shape[ax], 0);
  for (const t of xs) {
    if (t.rank !== rank || t.shape.some((d, i) => i !== ax && d !== xs[0].shape[i])) {
      throw new Error(`concat: shapes [${xs[0].shape}] and [${t.shape}] differ off axis ${ax}`);
    }
  }
  let offset = 0;
  let out: Tensor | null = null;
  for (const t of xs) {
    const before = new Array(rank).fill(0), after = new Array(rank).fill(0);
    before[ax] = offset;
    after[ax] = total - offset - t.shape[ax];
    offset += t.shape[ax];
    const placed = pad(t, before, after);
    out = out === null ? placed : add(out, placed);
  }
  return out!;
}

/** Join tensors along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  const rank = xs[0].rank + 1;
  const ax = axis < 0 ? axis + rank : axis;
  return concat(xs.map((t) => reshape(t, [...t.shape.slice(0, ax), 1, ...t.shape.slice(ax)])), ax);
}
