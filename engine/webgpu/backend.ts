/**
 * The WebGPU backend: every primitive kernel of the contract as a hand-written WGSL kernel
 * (shaders/), recorded lazily into one command encoder and submitted on `flush`/`read`.
 */
import type {
  AdamParams,
  AdamSlot,
  Backend,
  BinaryOp,
  Conv2dGeometry,
  ConvEpilogue,
  MatmulDims,
  PatchGeometry,
  ReduceOp,
  Storage,
  UnaryOp,
} from "../backend.ts";
import {
  binaryKernel,
  cmulKernel,
  fillKernel,
  polarKernel,
  unaryKernel,
} from "../../shaders/elementwise.ts";
import { padKernel, permuteKernel, roll2dKernel } from "../../shaders/layout.ts";
import { translateKernel } from "../../shaders/translate.ts";
import { type KernelVariants, kernelVariantsFor } from "./adapter_table.ts";
import { openGpuDevice } from "./device.ts";
import { padParams, permuteParams, repeatsOverLeading, stridedParams } from "./strided.ts";
import { fft2 } from "./fft.ts";
import { cropPatches, scatterAddPatches } from "./patches.ts";
import {
  conv2dForward,
  conv2dGradInput,
  conv2dGradWeight,
  fusedBiasGradient,
  matmul,
} from "./linalg.ts";
import { f32bits, GpuRuntime, GpuStorage } from "./runtime.ts";
import { adamStep } from "./adam.ts";
import { WebGpuFusedOps } from "./backend_fused.ts";
import * as pool from "./pool.ts";
import { reduce } from "./reduce.ts";

/** The WebGPU implementation of {@link Backend}; the fused kernels come from backend_fused.ts. */
export class WebGpuBackend extends WebGpuFusedOps implements Backend {
  /** Always "webgpu". */
  readonly name = "webgpu" as const;

  /**
   * Wrap an opened device whose grid-stride kernels get at most `gridCap` workgroups, with the
   * adapter's kernel variants unless `variants` is given; use {@link createWebGpuBackend} to get
   * one.
   */
  constructor(
    device: GPUDevice,
    readonly description: string,
    gridCap: number,
    variants: KernelVariants = kernelVariantsFor(description),
  ) {
    super(new GpuRuntime(device, gridCap, variants));
  }

  /**
   * A backend on the same device with `changes` to this one's kernel variants (its own pools and
   * caches): for measuring or testing another variant, e.g. a GPU's storage-buffer conv operands
   * on a software adapter.
   */
  withVariants(changes: Partial<KernelVariants>): WebGpuBackend {
    const variants = { ...this.rt.variants, ...changes };
    return new WebGpuBackend(this.rt.device, this.description, this.rt.gridCap, variants);
  }

  /** Copy host data into a new storage. */
  upload(data: Float32Array): Storage {
    const s = this.rt.alloc(data.length, true);
    this.rt.write(s, data);
    return s;
  }

  /** Fill the first `size` elements of s with `value` (vec4 items when size allows). */
  #fill(s: GpuStorage, size: number, value: number): void {
    const v = size % 4 === 0, n = v ? size / 4 : size;
    const params = new Uint32Array([n, f32bits(value)]);
    this.rt.dispatch(fillKernel(v), params, [s], this.groups(n));
  }

  /** A new storage filled with `value`. */
  fill(size: number, value: number): Storage {
    const s = this.rt.alloc(size);
    this.#fill(s, size, value);
    return s;
  }

  /** Read a storage back (submits pending work and waits for it). */
  read(s: Storage): Promise<Float32Array> {
    return this.rt.read(this.st(s));
  }

  /** GPU memory is not host memory: always null. */
  readSync(_s: Storage): Float32Array | null {
    return null;
  }

  /** Release a storage; its buffer is reused only after the submit that last used it. */
  release(s: Storage): void {
    if (!(s instanceof GpuStorage)) {
      throw new Error("storage does not belong to the WebGPU backend");
    }
    this.rt.free(s);
  }

  /** Submit pending work without waiting. */
  flush(): void {
    this.rt.flush();
  }

  /** Destroy the pools' free buffers and textures (after submitting pending work). */
  releasePooled(): void {
    this.rt.releasePooled();
  }

  /** Live storages, their bytes, and the bytes waiting in the pool. */
  memory(): { liveStorages: number; liveBytes: number; pooledBytes: number } {
    const { storages, bytes } = this.rt.live;
    return { liveStorages: storages, liveBytes: bytes, pooledBytes: this.rt.pooledBytes };
  }

  /** Device time (ms) of the kernels `record` issues, by timestamp queries; null if unsupported. */
  deviceTimeMs(record: () => void): Promise<number | null> {
    return this.rt.deviceTimeMs(record);
  }

  /** out[i] = f(x[i]). */
  unary(x: Storage, op: UnaryOp, a: number, b: number): Storage {
    this.validate(x);
    const n = x.size;
    const y = this.rt.alloc(n);
    // vec4 items when the size allows (memory-bound; see shaders/elementwise.ts).
    const v = n % 4 === 0, items = v ? n / 4 : n;
    const params = new Uint32Array([items, f32bits(a), f32bits(b), f32bits(Infinity)]);
    this.rt.dispatch(unaryKernel(op, v), params, [this.st(x), y], this.groups(items));
    return y;
  }

  /** out = a op b with broadcasting. */
  binary(
    a: Storage,
    aShape: readonly number[],
    b: Storage,
    bShape: readonly number[],
    outShape: readonly number[],
    op: BinaryOp,
  ): Storage {
    this.validate(a, b);
    const n = outShape.reduce((p, q) => p * q, 1);
    const y = this.rt.alloc(n);
    const same = a.size === n && b.size === n;
    const v = same && n % 4 === 0, items = v ? n / 4 : n;
    const params = same ? new Uint32Array([items]) : stridedParams(n, outShape, [aShape, bShape]);
    const bufs = [this.st(a), this.st(b), y];
    this.rt.dispatch(binaryKernel(op, same, v), params, bufs, this.groups(items));
    return y;
  }

  /** Complex multiply with broadcasting (optionally by the conjugate of b). */
  cmul(
    a: Storage,
    aShape: readonly number[],
    b: Storage,
    bShape: readonly number[],
    outShape: readonly number[],
    conjB: boolean,
  ): Storage {
    this.validate(a, b);
    const n = outShape.reduce((p, q) => p * q, 1);
    const y = this.rt.alloc(n);
    const pairs = n / 2;
    const bufs = [this.st(a), this.st(b), y];
    // a of the output's shape, b repeated over its leading axes.
    const tail = a.size === n && b.size < n && repeatsOverLeading(bShape, outShape);
    if ((a.size === n && b.size === n) || tail) {
      // Two pairs per item where the pair counts are even.
      const bPairs = b.size / 2;
      const v = pairs % 2 === 0 && bPairs % 2 === 0, items = v ? pairs / 2 : pairs;
      const params = tail
        ? new Uint32Array([items, v ? bPairs / 2 : bPairs])
        : new Uint32Array([items]);
      const kernel = cmulKernel(conjB, tail ? "tail" : "same", v);
      this.rt.dispatch(kernel, params, bufs, this.groups(items));
      return y;
    }
    const params = stridedParams(
      pairs,
      outShape.slice(0, -1),
      [aShape.slice(0, -1), bShape.slice(0, -1)],
    );
    this.rt.dispatch(cmulKernel(conjB), params, bufs, this.groups(pairs));
    return y;
  }

  /** Interleaved (amp cos φ, amp sin φ). */
  polar(amp: Storage, phase: Storage): Storage {
    this.validate(amp, phase);
    const n = amp.size;
    const y = this.rt.alloc(2 * n);
    const params = new Uint32Array([n]);
    const bufs = [this.st(amp), this.st(phase), y];
    this.rt.dispatch(polarKernel(), params, bufs, this.groups(n));
    return y;
  }

  /** Reduce the middle axis of an (outer, mid, inner) view in a fixed order. */
  reduce(
    x: Storage,
    outer: number,
    mid: number,
    inner: number,
    op: ReduceOp,
    scale = 1,
    weight?: Storage,
  ): Storage {
    const gx = this.st(x), w = weight === undefined ? undefined : this.st(weight);
    return reduce(this.rt, gx, outer, mid, inner, op, scale, w);
  }

  /** Transpose: out axis i is input axis perm[i]. */
  permute(x: Storage, shape: readonly number[], perm: readonly number[]): Storage {
    this.validate(x);
    const y = this.rt.alloc(x.size);
    const params = permuteParams(x.size, shape, perm);
    this.rt.dispatch(permuteKernel(), params, [this.st(x), y], this.groups(x.size));
    return y;
  }

  /** Zero-pad (positive) or crop (negative) every axis. */
  pad(
    x: Storage,
    shape: readonly number[],
    before: readonly number[],
    after: readonly number[],
  ): Storage {
    this.validate(x);
    const n = shape.reduce((p, s, d) => p * (s + before[d] + after[d]), 1);
    const y = this.rt.alloc(n);
    if (x.size === 0) {
      this.#fill(y, n, 0);
      return y;
    }
    // Groups of 4 along the last axis when its size and both paddings allow.
    const last = shape.length - 1;
    const v = last >= 0 && [shape[last], before[last], after[last]].every((d) => d % 4 === 0);
    const quarter = (a: readonly number[]) => v ? [...a.slice(0, last), a[last] / 4] : a;
    const items = v ? n / 4 : n;
    const params = padParams(items, quarter(shape), quarter(before), quarter(after));
    this.rt.dispatch(padKernel(v), params, [this.st(x), y], this.groups(items));
    return y;
  }

  /** Batched matmul with optional transposes and batch broadcasting. */
  matmul(
    a: Storage,
    b: Storage,
    dims: MatmulDims,
  ): Storage {
    return matmul(this.rt, this.st(a), this.st(b), dims);
  }

  /** Stride-1 2-D cross-correlation with zero padding, then the optional bias and ReLU. */
  conv2d(x: Storage, w: Storage, g: Conv2dGeometry, epilogue?: ConvEpilogue): Storage {
    const bias = epilogue?.bias ? this.st(epilogue.bias) : null;
    return conv2dForward(this.rt, this.st(x), this.st(w), g, bias, epilogue?.relu ?? false);
  }

  /** Gradient of conv2d w.r.t. its input. */
  conv2dGradInput(dy: Storage, w: Storage, g: Conv2dGeometry): Storage {
    return conv2dGradInput(this.rt, this.st(dy), this.st(w), g);
  }

  /** Gradient of conv2d w.r.t. its weights. */
  conv2dGradWeight(x: Storage, dy: Storage, g: Conv2dGeometry): Storage {
    return conv2dGradWeight(this.rt, this.st(x), this.st(dy), g).dw;
  }

  /**
   * Weight and bias gradients from one weight-gradient pass (the bias partials come with the
   * weight partials); geometries with output rows below the input take two reductions.
   */
  conv2dGradWeightBias(
    x: Storage,
    dy: Storage,
    g: Conv2dGeometry,
  ): { weight: Storage; bias: Storage } {
    if (fusedBiasGradient(g)) {
      const { dw, db } = conv2dGradWeight(this.rt, this.st(x), this.st(dy), g, true);
      return { weight: dw, bias: db! };
    }
    const hw = g.outH * g.outW;
    const perImage = this.reduce(dy, 1, g.n, g.o * hw, "sum");
    const bias = this.reduce(perImage, g.o, hw, 1, "sum");
    this.release(perImage);
    return { weight: this.conv2dGradWeight(x, dy, g), bias };
  }

  /** 2×2 max pool, stride 2, "same" padding. */
  maxPool2d(x: Storage, n: number, c: number, h: number, w: number): Storage {
    return pool.maxPool2d(this.rt, this.st(x), n * c, h, w);
  }

  /** Gradient of maxPool2d (to the first maximum of each window; with `masked`, if above 0). */
  maxPool2dGrad(
    x: Storage,
    dy: Storage,
    n: number,
    c: number,
    h: number,
    w: number,
    masked = false,
  ): Storage {
    this.validate(x, dy);
    return pool.maxPool2dGrad(this.rt, this.st(x), this.st(dy), n * c, h, w, masked);
  }

  /** Nearest 2× upsampling of (planes, h, w). */
  upsample2x(x: Storage, planes: number, h: number, w: number): Storage {
    return pool.upsample2x(this.rt, this.st(x), planes, h, w);
  }

  /** Sum of each 2×2 block: (planes, 2h, 2w) → (planes, h, w); 0 where a `mask` is not > 0. */
  sumPool2x2(
    x: Storage,
    planes: number,
    h: number,
    w: number,
    mask: Storage | null = null,
  ): Storage {
    this.validate(x, ...(mask ? [mask] : []));
    return pool.sumPool2x2(this.rt, this.st(x), planes, h, w, mask && this.st(mask));
  }

  /** Batched 2-D DFT over (h, w) of (batch, h, w, 2): a row pass then a column pass. */
  fft2(x: Storage, batch: number, h: number, w: number, inverse: boolean, scale: number): Storage {
    return fft2(this.rt, this.st(x), batch, h, w, inverse, scale);
  }

  /** Circular shift of the (h, w) axes of (batch, h, w, inner). */
  roll2d(
    x: Storage,
    batch: number,
    h: number,
    w: number,
    inner: number,
    shiftY: number,
    shiftX: number,
  ): Storage {
    this.validate(x);
    const mod = (a: number, m: number) => ((a % m) + m) % m;
    const n = batch * h * w * inner;
    const y = this.rt.alloc(n);
    const params = new Uint32Array([n, h, w, inner, mod(shiftY, h), mod(shiftX, w)]);
    this.rt.dispatch(roll2dKernel(), params, [this.st(x), y], this.groups(n));
    return y;
  }

  /** Bilinear translation of each image by its own offset (or the adjoint map). */
  translate(
    x: Storage,
    offsets: Storage,
    batch: number,
    h: number,
    w: number,
    inner: number,
    adjoint: boolean,
  ): Storage {
    this.validate(x, offsets);
    const n = batch * h * w * inner;
    const y = this.rt.alloc(n);
    const params = new Uint32Array([n, h, w, inner]);
    const bufs = [this.st(x), this.st(offsets), y];
    this.rt.dispatch(translateKernel(adjoint), params, bufs, this.groups(n));
    return y;
  }

  /** Windows of a canvas at integer corners. */
  cropPatches(canvas: Storage, corners: Storage, g: PatchGeometry): Storage {
    return cropPatches(this.rt, this.st(canvas), this.st(corners), g);
  }

  /** Adjoint of cropPatches (deterministic scatter-add). */
  scatterAddPatches(patches: Storage, corners: Storage, g: PatchGeometry): Storage {
    return scatterAddPatches(this.rt, this.st(patches), this.st(corners), g);
  }

  /**
   * Fused Adam/AdamW steps, in place on each p and its moments and on the current re-laid copies of p
   * (conv weights), many parameters per dispatch (see adam.ts).
   */
  adam(slots: readonly AdamSlot[], h: AdamParams): void {
    const gpu = slots.map(({ p, g, mv, e }) => ({
      p: this.st(p),
      g: this.st(g),
      mv: this.st(mv),
      e: e === undefined ? null : this.st(e),
    }));
    adamStep(this.rt, gpu, h);
  }
}

/**
 * Open the default WebGPU adapter as a backend (with `cpuOnly`, a CPU adapter such as llvmpipe),
 * or null when there is none.
 */
export async function createWebGpuBackend(cpuOnly = false): Promise<WebGpuBackend | null> {
  const opened = await openGpuDevice(cpuOnly);
  return opened ? new WebGpuBackend(opened.device, opened.description, opened.gridCap) : null;
}
