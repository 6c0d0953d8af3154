/** Reductions over axes built on `sum` (broadcast.ts): mean, and max with its tie-sharing gradient. */
import { record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { expand, finalShape, keptShape, normalizeAxes, reduceRaw, sum } from "./broadcast.ts";
import { div, eq, mul } from "./elementwise.ts";
import { reshape } from "./shape.ts";

/**
 * Mean over `axes` (all when omitted): the sum scaled by 1/count in its last reduction pass,
 * rounding as sum → affine(·, 1/count, 0) did (and differentiated like that chain).
 */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normalizeAxes(axes, x.rank);
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  const storage = reduceRaw(x, ax, "sum", 1 / count);
  return record("mean", [x], x.backend, storage, finalShape(x.shape, ax, keepDims), (gy) => [
    expand(reshape(mul(gy, 1 / count), keptShape(x.shape, ax)), x.shape),
  ]);
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
