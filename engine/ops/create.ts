/** Tensor factories on the default backend. */
import { getBackend, shapeSize, type Tensor, wrap } from "../tensor.ts";
import type { Backend } from "../backend.ts";

/** A tensor from host values (copied) with the given shape; `requiresGrad` marks a leaf. */
export function tensor(
  values: ArrayLike<number>,
  shape: readonly number[] = [values.length],
  opts: { requiresGrad?: boolean; backend?: Backend } = {},
): Tensor {
  const n = shapeSize(shape);
  if (values.length !== n) {
    throw new Error(`tensor(): ${values.length} values do not fill shape [${shape}] (${n})`);
  }
  const backend = opts.backend ?? getBackend();
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  return wrap(backend, backend.upload(data), shape, opts.requiresGrad ?? false);
}

/** A tensor of the given shape filled with `value`. */
export function full(
  shape: readonly number[],
  value: number,
  backend: Backend = getBackend(),
): Tensor {
  return wrap(backend, backend.fill(shapeSize(shape), value), shape);
}

/** A tensor of zeros. */
export function zeros(shape: readonly number[], backend: Backend = getBackend()): Tensor {
  return full(shape, 0, backend);
}

/** A tensor of ones. */
export function ones(shape: readonly number[], backend: Backend = getBackend()): Tensor {
  return full(shape, 1, backend);
}

/** A one-element tensor of rank `rank` (all axes 1), for broadcasting. */
export function scalar(value: number, rank = 0, backend: Backend = getBackend()): Tensor {
  return full(new Array(rank).fill(1), value, backend);
}
