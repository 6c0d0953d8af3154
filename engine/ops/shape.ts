/** Shape ops: reshape, permute/transpose, slice, pad, detach (concat and stack: join.ts). */
import { attachGrad, record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";

/** Resolve one -1 entry of a target shape against `size` elements. */
function inferShape(shape: readonly number[], size: number, from: readonly number[]): number[] {
  const known = shape.reduce((n, d) => (d === -1 ? n : n * d), 1);
  const holes = shape.filter((d) => d === -1).length;
  const out = shape.map((d) => (d === -1 ? size / known : d));
  const total = out.reduce((n, d) => n * d, 1);
  if (holes > 1 || out.some((d) => !Number.isInteger(d) || d < 0) || total !== size) {
    throw new Error(`reshape: cannot view [${from}] (${size} elements) as [${shape}]`);
  }
  return out;
}

/** The same data seen with another shape (no copy); one entry may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = inferShape(shape, x.size, x.shape);
  return attachGrad(x.view(s), "reshape", [x], (gy) => [reshape(gy, x.shape)]);
}

/** Reorder axes: output axis i is input axis perm[i]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`permute: [${perm}] is not a permutation of ${x.rank} axes`);
  }
  const shape = perm.map((p) => x.shape[p]);
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  const storage = x.backend.permute(x.storage, x.shape, perm);
  return record("permute", [x], x.backend, storage, shape, (gy) => [permute(gy, inverse)]);
}

/** Swap two axes. */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const perm = [...Array(x.rank).keys()];
  const i = a < 0 ? a + x.rank : a, j = b < 0 ? b + x.rank : b;
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return permute(x, perm);
}

/**
 * Pad every axis with zeros (`before[i]`, `after[i]` elements; negative values crop).
 * Arrays shorter than the rank apply to the last axes.
 */
export function pad(x: Tensor, before: readonly number[], after: readonly number[]): Tensor {
  const b = [...new Array(x.rank - before.length).fill(0), ...before];
  const a = [...new Array(x.rank - after.length).fill(0), ...after];
  const shape = x.shape.map((d, i) => d + b[i] + a[i]);
  if (shape.some((d) => d < 0)) {
    throw new Error(`pad: [${x.shape}] padded by [${b}]/[${a}] has a negative size`);
  }
  const storage = x.backend.pad(x.storage, x.shape, b, a);
  return record("pad", [x], x.backend, storage, shape, (gy) => [
    pad(gy, b.map((v) => -v), a.map((v) => -v)),
  ]);
}

/** The block starting at `starts` with `sizes` (-1 = to the end); shorter arrays cover leading axes. */
export function slice(x: Tensor, starts: readonly number[], sizes: readonly number[]): Tensor {
  const before = x.shape.map((_, i) => -(starts[i] ?? 0));
  const after = x.shape.map((d, i) => {
    const start = starts[i] ?? 0;
    const size = sizes[i] === undefined || sizes[i] === -1 ? d - start : sizes[i];
    if (start < 0 || size < 0 || start + size > d) {
      throw new Error(`slice: start ${start} size ${size} is outside axis ${i} of [${x.shape}]`);
    }
    return -(d - start - size);
  });
  return pad(x, before, after);
}

/**
 * The channels [0, first) and [first, end) of axis 1 of x (rank ≥ 2) in one pass: the two
 * {@link slice}s, each differentiated as a slice is (its gradient padded back to x's shape).
 */
export function splitChannels(x: Tensor, first: number): [Tensor, Tensor] {
  const [outer, channels] = x.shape;
  if (x.rank < 2 || !(Number.isInteger(first) && first > 0 && first < channels)) {
    throw new Error(`splitChannels: cannot split axis 1 of [${x.shape}] at ${first}`);
  }
  const plane = x.size / (outer * channels);
  const { a, b } = x.backend.splitChannels(x.storage, outer, channels, plane, first);
  const rest = x.shape.slice(2), zeros = rest.map(() => 0);
  const part = (s: typeof a, lo: number, size: number) =>
    record("splitChannels", [x], x.backend, s, [outer, size, ...rest], (gy) => [
      pad(gy, [0, lo, ...zeros], [0, channels - lo - size, ...zeros]),
    ]);
  return [part(a, 0, first), part(b, first, channels - first)];
}

/** The same data cut off from the gradient graph (no copy). */
export function detach(x: Tensor): Tensor {
  return x.view(x.shape);
}
