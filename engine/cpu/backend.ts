/**
 * The CPU reference backend: every kernel of the contract as plain loops over Float32Arrays.
 * It is the oracle the WebGPU kernels are tested against.
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
import { adam } from "./adam.ts";
import { CpuFusedOps } from "./backend_fused.ts";
import { conv2d, conv2dGradInput, conv2dGradWeight, convEpilogue } from "./conv.ts";
import { binary, cmul, polar, unary } from "./elementwise.ts";
import { fft2 } from "./fft.ts";
import { pad, permute, roll2d, splitChannels } from "./layout.ts";
import { matmul } from "./matmul.ts";
import { cropPatches, scatterAddPatches } from "./patches.ts";
import { maxPool2d, maxPool2dGrad, reluMask, sumPool2x2, upsample2x } from "./pool.ts";
import { reduce } from "./reduce.ts";
import { CpuStorage, dataOf } from "./storage.ts";
import { translate } from "./translate.ts";

/**
 * Backend whose storages are host Float32Arrays and whose kernels run synchronously; the fused
 * kernels come from backend_fused.ts.
 */
export class CpuBackend extends CpuFusedOps implements Backend {
  /** Always "cpu". */
  readonly name = "cpu" as const;
  /** One line for logs. */
  readonly description = "cpu (TypeScript reference kernels, single thread)";
  #liveStorages = 0;
  #liveBytes = 0;

  /** A new storage owning `data`, counted as live. */
  protected wrap(data: Float32Array): Storage {
    this.#liveStorages++;
    this.#liveBytes += data.byteLength;
    return new CpuStorage(data);
  }

  /** Copy host data into a new storage. */
  upload(data: Float32Array): Storage {
    return this.wrap(data.slice());
  }

  /** A new storage filled with `value`. */
  fill(size: number, value: number): Storage {
    return this.wrap(new Float32Array(size).fill(value));
  }

  /** A copy of the values. */
  read(s: Storage): Promise<Float32Array> {
    return Promise.resolve(dataOf(s).slice());
  }

  /** A copy of the values, synchronously. */
  readSync(s: Storage): Float32Array {
    return dataOf(s).slice();
  }

  /** Release a storage; using it (or releasing it) again throws. */
  release(s: Storage): void {
    const bytes = dataOf(s).byteLength;
    (s as CpuStorage).release();
    this.#liveStorages--;
    this.#liveBytes -= bytes;
  }

  /** Nothing is ever pending on the CPU. */
  flush(): void {}

  /** Nothing to give back: storages are plain arrays, freed by the garbage collector. */
  releasePooled(): void {}

  /** Live storages and bytes; the CPU backend keeps no pool. */
  memory(): { liveStorages: number; liveBytes: number; pooledBytes: number } {
    return { liveStorages: this.#liveStorages, liveBytes: this.#liveBytes, pooledBytes: 0 };
  }

  /** out[i] = f(x[i]). */
  unary(x: Storage, op: UnaryOp, a: number, b: number): Storage {
    return this.wrap(unary(dataOf(x), op, a, b));
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
    return this.wrap(binary(dataOf(a), aShape, dataOf(b), bShape, outShape, op));
  }

  /** Complex multiply with broadcasting, optionally conjugating b. */
  cmul(
    a: Storage,
    aShape: readonly number[],
    b: Storage,
    bShape: readonly number[],
    outShape: readonly number[],
    conjB: boolean,
  ): Storage {
    return this.wrap(cmul(dataOf(a), aShape, dataOf(b), bShape, outShape, conjB));
  }

  /** Interleaved (amp·cos φ, amp·sin φ). */
  polar(amp: Storage, phase: Storage): Storage {
    return this.wrap(polar(dataOf(amp), dataOf(phase)));
  }

  /** Reduce the middle axis of an (outer, mid, inner) view. */
  reduce(
    x: Storage,
    outer: number,
    mid: number,
    inner: number,
    op: ReduceOp,
    scale = 1,
    weight?: Storage,
  ): Storage {
    const shape = [x.size];
    const input = weight === undefined
      ? dataOf(x)
      : binary(dataOf(x), shape, dataOf(weight), shape, shape, "mul");
    const out = reduce(input, outer, mid, inner, op);
    return this.wrap(scale === 1 ? out : unary(out, "affine", scale, 0));
  }

  /** Transpose: out axis i is input axis perm[i]. */
  permute(x: Storage, shape: readonly number[], perm: readonly number[]): Storage {
    return this.wrap(permute(dataOf(x), shape, perm));
  }

  /** Zero-pad or crop every axis. */
  pad(
    x: Storage,
    shape: readonly number[],
    before: readonly number[],
    after: readonly number[],
  ): Storage {
    return this.wrap(pad(dataOf(x), shape, before, after));
  }

  /** Split axis 1 at `first`: the two blocks copied. */
  splitChannels(
    x: Storage,
    outer: number,
    channels: number,
    plane: number,
    first: number,
  ): { a: Storage; b: Storage } {
    const { a, b } = splitChannels(dataOf(x), outer, channels, plane, first);
    return { a: this.wrap(a), b: this.wrap(b) };
  }

  /** Batched matmul with optional transposes and batch broadcasting. */
  matmul(a: Storage, b: Storage, dims: MatmulDims): Storage {
    return this.wrap(matmul(dataOf(a), dataOf(b), dims));
  }

  /** Stride-1 2-D cross-correlation with zero padding, then the optional bias and ReLU. */
  conv2d(x: Storage, w: Storage, g: Conv2dGeometry, epilogue?: ConvEpilogue): Storage {
    const out = conv2d(dataOf(x), dataOf(w), g);
    if (epilogue) convEpilogue(out, g, epilogue.bias && dataOf(epilogue.bias), epilogue.relu);
    return this.wrap(out);
  }

  /** Gradient of conv2d w.r.t. its input. */
  conv2dGradInput(dy: Storage, w: Storage, g: Conv2dGeometry): Storage {
    return this.wrap(conv2dGradInput(dataOf(dy), dataOf(w), g));
  }

  /** Gradient of conv2d w.r.t. its weights. */
  conv2dGradWeight(x: Storage, dy: Storage, g: Conv2dGeometry): Storage {
    return this.wrap(conv2dGradWeight(dataOf(x), dataOf(dy), g));
  }

  /** Weight gradient, and the bias gradient as two reductions (over n, then over y and x). */
  conv2dGradWeightBias(
    x: Storage,
    dy: Storage,
    g: Conv2dGeometry,
  ): { weight: Storage; bias: Storage } {
    const hw = g.outH * g.outW;
    const perImage = reduce(dataOf(dy), 1, g.n, g.o * hw, "sum");
    return {
      weight: this.conv2dGradWeight(x, dy, g),
      bias: this.wrap(reduce(perImage, g.o, hw, 1, "sum")),
    };
  }

  /** 2×2 max pool, stride 2, TF "same" padding. */
  maxPool2d(x: Storage, n: number, c: number, h: number, w: number): Storage {
    return this.wrap(maxPool2d(dataOf(x), n, c, h, w));
  }

  /** Gradient of maxPool2d. */
  maxPool2dGrad(
    x: Storage,
    dy: Storage,
    n: number,
    c: number,
    h: number,
    w: number,
    masked = false,
  ): Storage {
    const dx = maxPool2dGrad(dataOf(x), dataOf(dy), n, c, h, w);
    return this.wrap(masked ? reluMask(dx, dataOf(x)) : dx);
  }

  /** Nearest 2× upsampling. */
  upsample2x(x: Storage, planes: number, h: number, w: number): Storage {
    return this.wrap(upsample2x(dataOf(x), planes, h, w));
  }

  /** Sum of each 2×2 block (adjoint of upsample2x). */
  sumPool2x2(
    x: Storage,
    planes: number,
    h: number,
    w: number,
    mask: Storage | null = null,
  ): Storage {
    const y = sumPool2x2(dataOf(x), planes, h, w);
    return this.wrap(mask ? reluMask(y, dataOf(mask)) : y);
  }

  /** Batched 2-D DFT over (h, w), scaled. */
  fft2(x: Storage, batch: number, h: number, w: number, inverse: boolean, scale: number): Storage {
    return this.wrap(fft2(dataOf(x), batch, h, w, inverse, scale));
  }

  /** Circular shift of the (h, w) axes. */
  roll2d(
    x: Storage,
    batch: number,
    h: number,
    w: number,
    inner: number,
    shiftY: number,
    shiftX: number,
  ): Storage {
    return this.wrap(roll2d(dataOf(x), batch, h, w, inner, shiftY, shiftX));
  }

  /** Bilinear translation of each image by its own (tx, ty), or its adjoint. */
  translate(
    x: Storage,
    offsets: Storage,
    batch: number,
    h: number,
    w: number,
    inner: number,
    adjoint: boolean,
  ): Storage {
    return this.wrap(translate(dataOf(x), dataOf(offsets), batch, h, w, inner, adjoint));
  }

  /** Windows of a canvas at integer corners. */
  cropPatches(canvas: Storage, corners: Storage, g: PatchGeometry): Storage {
    return this.wrap(cropPatches(dataOf(canvas), dataOf(corners), g));
  }

  /** Windows added back onto a zero canvas (adjoint of cropPatches). */
  scatterAddPatches(patches: Storage, corners: Storage, g: PatchGeometry): Storage {
    return this.wrap(scatterAddPatches(dataOf(patches), dataOf(corners), g));
  }

  /** Fused Adam/AdamW steps of every slot, in slot order, updating p and its moments in place. */
  adam(slots: readonly AdamSlot[], h: AdamParams): void {
    for (const { p, g, mv, e } of slots) {
      adam(dataOf(p), dataOf(g), dataOf(mv), h, e === undefined ? null : dataOf(e));
    }
  }
}

let shared: CpuBackend | null = null;

/** The process-wide CPU backend. */
export function cpuBackend(): CpuBackend {
  shared ??= new CpuBackend();
  return shared;
}
