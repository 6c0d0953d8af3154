/**
 * The op registry's single entry point (`record`) and reverse-mode automatic differentiation.
 *
 * An op computes its output storage with a backend kernel and, when any input requires a
 * gradient and gradients are enabled, records a {@link Node} whose gradient rule is written in
 * terms of other ops. `backward()` walks the recorded graph in reverse topological order.
 */
import type { Backend, Storage } from "./backend.ts";
import { keep, type Node, type Tensor, tidy, wrap } from "./tensor.ts";

let gradEnabled = true;

/** Run `fn` without recording gradients. */
export function noGrad<T>(fn: () => T): T {
  const before = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = before;
  }
}

/** Check that all inputs live on one backend and return it. */
export function commonBackend(op: string, inputs: readonly Tensor[]): Backend {
  const backend = inputs[0].backend;
  for (const t of inputs) {
    if (t.backend !== backend) {
      throw new Error(
        `${op}: inputs live on different backends (${backend.name}, ${t.backend.name})`,
      );
    }
  }
  return backend;
}

/**
 * Create the output of an op: wraps `storage` and, when needed, records the gradient rule.
 * `backward(gy, needs)` returns one gradient per input (null where `needs[i]` is false or the
 * input has no gradient); each gradient has exactly that input's shape.
 */
export function record(
  op: string,
  inputs: readonly Tensor[],
  backend: Backend,
  storage: Storage,
  shape: readonly number[],
  backward: Node["backward"] | null,
): Tensor {
  const requiresGrad = gradEnabled && backward !== null && inputs.some((t) => t.requiresGrad);
  const node = requiresGrad ? { op, inputs, backward: backward! } : null;
  return wrap(backend, storage, shape, requiresGrad, node);
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const input of t.node?.inputs ?? []) {
      if (input.requiresGrad && !seen.has(input)) stack.push([input, false]);
    }
  }
  return order.reverse();
}

/**
 * Back-propagate from `root` (a one-element tensor unless `seed` is given). Gradients of leaf
 * tensors that require them are added to their `.grad` (accumulating across calls); the
 * intermediate gradients are released.
 */
export function backward(root: Tensor, seed?: Tensor): void {
  if (!root.requiresGrad) throw new Error("backward(): the tensor does not require a gradient");
  if (seed === undefined && root.size !== 1) {
    throw new Error(`backward(): needs a scalar, got shape [${root.shape}]; pass a seed gradient`);
  }
  const order = topoOrder(root);
  const grads = new Map<Tensor, Tensor>();
  noGrad(() =>
    tidy(() => {
      grads.set(root, seed ?? wrap(root.backend, root.backend.fill(1, 1), root.shape));
      for (const t of order) {
        const gy = grads.get(t);
        if (gy === undefined) continue;
        grads.delete(t);
        if (t.node === null) {
          accumulateLeaf(t, gy);
          continue;
        }
        const needs = t.node.inputs.map((x) => x.requiresGrad);
        const gxs = t.node.backward(gy, needs);
        t.node.inputs.forEach((x, i) => {
          const gx = gxs[i];
          if (!needs[i] || gx === null || gx === undefined) return;
          if (gx.size !== x.size) {
            throw new Error(
              `${t.node!.op}: gradient shape [${gx.shape}] != input shape [${x.shape}]`,
            );
          }
          const prev = grads.get(x);
          grads.set(x, prev === undefined ? gx : addSame(prev, gx));
        });
      }
    })
  );
}

function addSame(a: Tensor, b: Tensor): Tensor {
  const backend = a.backend;
  const s = backend.binary(a.storage, a.shape, b.storage, a.shape, a.shape, "add");
  return wrap(backend, s, a.shape);
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.grad === null) {
    leaf.grad = keep(g.view(leaf.shape));
  } else {
    const sum = keep(addSame(leaf.grad, g.view(leaf.shape)));
    leaf.grad.dispose();
    leaf.grad = sum;
  }
}

/** Give an already created tensor (e.g. a storage-sharing view) a gradient link to `inputs`. */
export function attachGrad(
  out: Tensor,
  op: string,
  inputs: readonly Tensor[],
  backward: Node["backward"],
): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}
