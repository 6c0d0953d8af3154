/**
 * Tensors, reference-counted storage, memory scopes (`tidy`) and the default backend.
 *
 * A tensor is an immutable-shape, contiguous f32 array on one backend. Tensors that share a
 * storage (reshape, detach) keep it alive through a reference count; `dispose()` drops this
 * tensor's reference. Autograd bookkeeping (`node`, `grad`) lives here too; the backward pass
 * itself is in autograd.ts.
 */
import type { Backend, Storage } from "./backend.ts";

/** A storage plus the number of tensors that refer to it. */
class SharedStorage {
  refs = 1;
  constructor(readonly backend: Backend, readonly storage: Storage) {}
  release(): void {
    if (--this.refs === 0) this.backend.release(this.storage);
  }
}

/** What an op recorded so the backward pass can run its gradient rule. */
export interface Node {
  /** Op name, for error messages. */
  readonly op: string;
  /** The inputs, in order. */
  readonly inputs: readonly Tensor[];
  /** Gradient rule: returns one gradient (or null for none) per input. */
  readonly backward: (gy: Tensor, needs: readonly boolean[]) => (Tensor | null)[];
}

let defaultBackend: Backend | null = null;
let backendFactory: (() => Backend) | null = null;

/** Make `backend` the one new tensors are created on. */
export function setBackend(backend: Backend): void {
  defaultBackend = backend;
}

/** Register how to create the default backend lazily (used to default to the CPU backend). */
export function setBackendFactory(factory: () => Backend): void {
  backendFactory = factory;
}

/** The backend new tensors are created on. */
export function getBackend(): Backend {
  if (defaultBackend === null) {
    if (backendFactory === null) throw new Error("no backend set: call setBackend() first");
    defaultBackend = backendFactory();
  }
  return defaultBackend;
}

/** Product of the entries of a shape. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const scopes: Set<Tensor>[] = [];
const kept = new WeakSet<Tensor>();

/** A contiguous f32 tensor. */
export class Tensor {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Number of elements. */
  readonly size: number;
  /** Whether gradients flow to this tensor. */
  requiresGrad: boolean;
  /** Accumulated gradient (leaves only) after `backward()`. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when it is part of a gradient graph. */
  node: Node | null;
  #shared: SharedStorage | null;

  /** Wrap a storage; prefer the factories in ops (`tensor`, `zeros`, ...). */
  constructor(
    shared: SharedStorage | { backend: Backend; storage: Storage },
    shape: readonly number[],
    requiresGrad = false,
    node: Node | null = null,
  ) {
    this.#shared = shared instanceof SharedStorage
      ? shared
      : new SharedStorage(shared.backend, shared.storage);
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    if (this.size !== this.#shared.storage.size) {
      throw new Error(
        `tensor shape [${shape}] has ${this.size} elements but its storage ${this.#shared.storage.size}`,
      );
    }
    this.requiresGrad = requiresGrad;
    this.node = node;
    scopes.at(-1)?.add(this);
  }

  /** The backend holding the data. */
  get backend(): Backend {
    return this.#live().backend;
  }

  /** The storage handle (throws once disposed). */
  get storage(): Storage {
    return this.#live().storage;
  }

  /** Number of axes. */
  get rank(): number {
    return this.shape.length;
  }

  /** True once `dispose()` has been called. */
  get disposed(): boolean {
    return this.#shared === null;
  }

  #live(): SharedStorage {
    if (this.#shared === null) {
      throw new Error(`tensor [${this.shape}] was used after dispose()`);
    }
    return this.#shared;
  }

  /** A new tensor of another shape over the same storage (no copy, no gradient link). */
  view(shape: readonly number[]): Tensor {
    const s = this.#live();
    s.refs++;
    return new Tensor(s, shape);
  }

  /** Replace this tensor's data by `other`'s (same shape); `other` is disposed. */
  assign(other: Tensor): void {
    if (other.size !== this.size) {
      throw new Error(`assign: shape [${other.shape}] does not match [${this.shape}]`);
    }
    const incoming = other.#live();
    incoming.refs++;
    other.dispose();
    this.#shared?.release();
    this.#shared = incoming;
  }

  /**
   * Exchange the storages of this tensor and `other` (same size), no copy: each then holds the
   * other's values. Gradients and graph links stay where they were.
   */
  swap(other: Tensor): void {
    if (other.size !== this.size) {
      throw new Error(`swap: shape [${other.shape}] does not match [${this.shape}]`);
    }
    const mine = this.#live();
    this.#shared = other.#live();
    other.#shared = mine;
  }

  /** Release this tensor's reference to its storage. Safe to call twice. */
  dispose(): void {
    if (this.#shared === null) return;
    this.#shared.release();
    this.#shared = null;
    for (const scope of scopes) scope.delete(this);
  }

  /** Copy the values to the host. */
  data(): Promise<Float32Array> {
    return this.backend.read(this.storage);
  }

  /** Copy the values to the host synchronously (host-memory backends only). */
  dataSync(): Float32Array {
    const out = this.backend.readSync(this.storage);
    if (out === null) {
      throw new Error(
        `dataSync() is not available on the ${this.backend.name} backend; use data()`,
      );
    }
    return out;
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new Error(`item() needs one element, tensor has shape [${this.shape}]`);
    }
    return (await this.data())[0];
  }
}

/** Create a tensor on `backend` from host data. */
export function fromHost(
  data: Float32Array,
  shape: readonly number[],
  backend: Backend = getBackend(),
): Tensor {
  return new Tensor({ backend, storage: backend.upload(data) }, shape);
}

/** Wrap a freshly computed storage as a tensor. */
export function wrap(
  backend: Backend,
  storage: Storage,
  shape: readonly number[],
  requiresGrad = false,
  node: Node | null = null,
): Tensor {
  return new Tensor({ backend, storage }, shape, requiresGrad, node);
}

/** Exclude a tensor from disposal by the enclosing `tidy` scopes. */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  for (const scope of scopes) scope.delete(t);
  return t;
}

function collectTensors(value: unknown, out: Set<Tensor>): void {
  if (value instanceof Tensor) out.add(value);
  else if (Array.isArray(value)) { for (const v of value) collectTensors(v, out); }
  else if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) collectTensors(v, out);
  }
}

/**
 * Run `fn` and dispose every tensor created inside it, except those it returns (inside arrays
 * or plain objects too) and those passed to `keep`. Returned tensors join the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  return tidyCreated(fn).result;
}

/**
 * {@link tidy}, also telling which of the returned tensors `fn` created (the others existed
 * before it ran): the backward pass frees the gradients it made once they are consumed.
 */
export function tidyCreated<T>(fn: () => T): { result: T; created: Set<Tensor> } {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) {
    throw new Error("tidy(fn): fn must be synchronous; await outside the scope");
  }
  const returned = new Set<Tensor>();
  collectTensors(result, returned);
  const created = new Set<Tensor>();
  for (const t of scope) {
    if (returned.has(t)) {
      created.add(t);
      scopes.at(-1)?.add(t);
    } else if (!kept.has(t)) t.dispose();
  }
  return { result, created };
}
