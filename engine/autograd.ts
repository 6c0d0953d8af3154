/**
 * The op registry's single entry point (`record`) and reverse-mode automatic differentiation.
 *
 * An op computes its output storage with a backend kernel and, when any input requires a
 * gradient and gradients are enabled, records a {@link Node} whose gradient rule is written in
 * terms of other ops. `backward()` walks the recorded graph in reverse topological order.
 */
import type { Backend, Storage } from "./backend.ts";
import { keep, type Node, type Tensor, tidy, tidyCreated, wrap } from "./tensor.ts";

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
 * intermediate gradients are released as soon as the last rule that needs them has run, and each
 * rule's temporaries right after it, so the pass holds only the gradients still to be consumed
 * (on WebGPU their buffers serve the rest of the pass: see engine/webgpu/buffer_pool.ts).
 */
export function backward(root: Tensor, seed?: Tensor): void {
  if (!root.requiresGrad) throw new Error("backward(): the tensor does not require a gradient");
  if (seed === undefined && root.size !== 1) {
    throw new Error(`backward(): needs a scalar, got shape [${root.shape}]; pass a seed gradient`);
  }
  const order = topoOrder(root);
  noGrad(() =>
    tidy(() => {
      const grads = new GradientTable();
      if (seed === undefined) {
        grads.addCreated(root, wrap(root.backend, root.backend.fill(1, 1), root.shape));
      } else grads.add(root, seed);
      for (const t of order) {
        const gy = grads.take(t);
        if (gy === undefined) {
          continue;
        }
        if (t.node === null) {
          accumulateLeaf(t, gy);
          grads.done(gy);
          continue;
        }
        const node = t.node;
        const needs = node.inputs.map((x) => x.requiresGrad);
        const { result: gxs, created } = tidyCreated(() => node.backward(gy, needs));
        for (const gx of created) grads.own(gx);
        node.inputs.forEach((x, i) => {
          const gx = gxs[i];
          if (!needs[i] || gx === null || gx === undefined) return;
          if (gx.size !== x.size) {
            throw new Error(`${node.op}: gradient shape [${gx.shape}] != input shape [${x.shape}]`);
          }
          grads.add(x, gx);
        });
        for (const gx of [gy, ...gxs]) if (gx) grads.done(gx);
      }
    })
  );
}

/**
 * The gradients still to be consumed, by the tensor they belong to. The pass owns the gradients
 * it created (never a seed or any other tensor a rule hands back from outside) and disposes one
 * when no entry holds it any more; a rule may return one tensor for several inputs, so holds are
 * counted.
 */
class GradientTable {
  private grads = new Map<Tensor, Tensor>();
  private holds = new Map<Tensor, number>();
  private owned = new Set<Tensor>();

  /** Mark a gradient as made by this pass. */
  own(g: Tensor): void {
    this.owned.add(g);
  }

  /** {@link add} a gradient this pass made. */
  addCreated(x: Tensor, g: Tensor): void {
    this.own(g);
    this.add(x, g);
  }

  /** Add `g` to the gradient of `x` (a new sum when `x` has one already). */
  add(x: Tensor, g: Tensor): void {
    const prev = this.grads.get(x);
    const next = prev === undefined ? g : addSame(prev, g);
    if (prev !== undefined) {
      this.own(next);
      this.unhold(prev);
      this.done(prev);
    }
    this.grads.set(x, next);
    this.holds.set(next, (this.holds.get(next) ?? 0) + 1);
  }

  /** Remove and return the gradient of `t` (the caller then calls {@link done} on it). */
  take(t: Tensor): Tensor | undefined {
    const g = this.grads.get(t);
    if (g !== undefined) {
      this.grads.delete(t);
      this.unhold(g);
    }
    return g;
  }

  /** Dispose `g` if this pass made it and no entry holds it. */
  done(g: Tensor): void {
    if (this.owned.has(g) && !this.holds.has(g)) {
      this.owned.delete(g);
      g.dispose();
    }
  }

  private unhold(g: Tensor): void {
    const n = this.holds.get(g)! - 1;
    if (n > 0) this.holds.set(g, n);
    else this.holds.delete(g);
  }
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
