/** Reductions over axes: sum, mean, max. */
import type { ReduceOp, Storage } from "../backend.ts";
import { record } from "../autograd.ts";
import { shapeSize, type Tensor } from "../tensor.ts";
import { div, eq, expand, mul } from "./elementwise.ts";
import { reshape } from "./shape.ts";

/** Normalise axes (negative counts from the end; undefined = all), sorted and unique. */
export function normalizeAxes(
  axes: number | readonly number[] | undefined,
  rank: number,
): number[] {
  const list = axes === undefined
    ? [...Array(rank).keys()]
    : typeof axes === "number"
    ? [axes]
    : axes;
  const out = new Set<number>();
  for (const a of list) {
    const ax = a < 0 ? a + rank : a;
    if (!Number.isInteger(ax) || ax < 0 || ax >= rank) {
      throw new Error(`axis ${a} is out of range for rank ${rank}`);
    }
    out.add(ax);
  }
  return [...out].sort((p, q) => p - q);
}

/** Reduce contiguous groups of axes with backend kernels; returns a new keep-dims storage. */
function reduceRaw(x: Tensor, axes: readonly number[], op: ReduceOp): Storage {
  const backend = x.backend;
  if (axes.length === 0) return backend.unary(x.storage, "affine", 1, 0);
  let current: Storage | null = null;
  const shape = [...x.shape];
  let i = 0;
  while (i < axes.length) {
    let j = i;
    while (j + 1 < axes.length && axes[j + 1] === axes[j] + 1) j++;
    const first = axes[i], last = axes[j];
    const outer = shapeSize(shape.slice(0, first));
    const mid = shapeSize(shape.slice(first, last + 1));
    const inner = shapeSize(shape.slice(last + 1));
    const next: Storage = backend.reduce(current ?? x.storage, outer, mid, inner, op);
    if (current !== null) backend.release(current);
    current = next;
    for (let a = first; a <= last; a++) shape[a] = 1;
    i = j + 1;
  }
  return current!;
}

function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function finalShape(
  shape: readonly number[],
  axes: readonly number[],
  keepDims: boolean,
): number[] {
  return keepDims ? keptShape(shape, axes) : shape.filter((_, i) => !axes.includes(i));
}

/** Sum over `axes` (all when omitted). */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normalizeAxes(axes, x.rank);
  const storage = reduceRaw(x, ax, "sum");
  return record("sum", [x], x.backend, storage, finalShape(x.shape, ax, keepDims), (gy) => [
    expand(reshape(gy, keptShape(x.shape, ax)), x.shape),
  ]);
}

/** Mean over `axes` (all when omitted). */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normalizeAxes(axes, x.rank);
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  return div(sum(x, ax, keepDims), count);
}

/** Maximum over `axes`; the gradient is shared equally among tied maxima. */
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normalizeAxes(axes, x.rank);
  const storage = reduceRaw(x, ax, "max");
  const kept = keptShape(x.shape, ax);
  const out: Tensor = record(
    "max",
    [x],
    x.backend,
    storage,
    finalShape(x.shape, ax, keepDims),
    (gy) => {
      const mask = eq(x, reshape(out, kept));
      const count = sum(mask, ax, true);
      return [mul(expand(reshape(gy, kept), x.shape), div(mask, count))];
    },
  );
  return out;
}
