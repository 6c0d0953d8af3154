/**
 * Broadcasting and its adjoint: `expand` copies along broadcast axes and `sum` adds along them,
 * so each is the other's gradient. Both live here, below the elementwise ops that use them for
 * their own gradients (`sumTo`), so that the op modules import each other in one direction only.
 */
import type { ReduceOp, Storage } from "../backend.ts";
import { record } from "../autograd.ts";
import { shapeSize, type Tensor } from "../tensor.ts";
import { reshape } from "./shape.ts";

/** numpy broadcasting of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`shapes [${a}] and [${b}] do not broadcast`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Left-pad a shape with ones to `rank` axes. */
export function padShape(shape: readonly number[], rank: number): number[] {
  return [...new Array(rank - shape.length).fill(1), ...shape];
}

/** Sum `g` over the axes along which `shape` was broadcast to g's shape; result has `shape`. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const padded = padShape(shape, g.rank);
  const axes = padded.flatMap((d, i) => (d === 1 && g.shape[i] !== 1 ? [i] : []));
  const reduced = axes.length > 0 ? sum(g, axes, true) : g;
  return reshape(reduced, shape);
}

/**
 * sumTo(g·w, shape) for w of g's shape, in one reduction where g·w must be summed (the product
 * rounded as `mul` does, so results equal the two ops'); `product` makes g·w where no sum is
 * needed (no gradient: for backward rules, which run without recording).
 */
export function sumProductTo(
  g: Tensor,
  w: Tensor,
  shape: readonly number[],
  product: (a: Tensor, b: Tensor) => Tensor,
): Tensor {
  const padded = padShape(shape, g.rank);
  const axes = padded.flatMap((d, i) => (d === 1 && g.shape[i] !== 1 ? [i] : []));
  if (axes.length === 0) return sumTo(product(g, w), shape);
  const storage = reduceRaw(g, axes, "sum", 1, w);
  return reshape(
    record("sumProduct", [], g.backend, storage, keptShape(g.shape, axes), null),
    shape,
  );
}

/** Broadcast x to `shape` (a copy). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const backend = x.backend;
  const xs = padShape(x.shape, shape.length);
  broadcastShapes(xs, shape);
  const out = backend.binary(x.storage, xs, x.storage, xs, shape, "expand");
  return record("expand", [x], backend, out, shape, (gy) => [sumTo(gy, x.shape)]);
}

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

/**
 * Reduce contiguous groups of axes with backend kernels; returns a new keep-dims storage. A
 * `scale` other than 1 multiplies the result as `affine(·, scale, 0)` would, in the last pass.
 */
export function reduceRaw(
  x: Tensor,
  axes: readonly number[],
  op: ReduceOp,
  scale = 1,
  weight?: Tensor,
): Storage {
  const backend = x.backend;
  if (weight !== undefined && weight.shape.join() !== x.shape.join()) {
    throw new Error(`reduce: weight [${weight.shape}] for [${x.shape}]`);
  }
  if (axes.length === 0) {
    const input = weight === undefined
      ? x.storage
      : backend.binary(x.storage, x.shape, weight.storage, x.shape, x.shape, "mul");
    const out = backend.unary(input, "affine", scale, 0);
    if (input !== x.storage) backend.release(input);
    return out;
  }
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
    const final = j + 1 === axes.length;
    const next: Storage = backend.reduce(
      current ?? x.storage,
      outer,
      mid,
      inner,
      op,
      final ? scale : 1,
      current === null ? weight?.storage : undefined,
    );
    if (current !== null) backend.release(current);
    current = next;
    for (let a = first; a <= last; a++) shape[a] = 1;
    i = j + 1;
  }
  return current!;
}

/** `shape` with the reduced `axes` kept as size 1. */
export function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** The shape of a reduction over `axes`, with or without the reduced axes kept. */
export function finalShape(
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
