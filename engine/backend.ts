/**
 * The contract between the tensor layer and a compute backend.
 *
 * Every tensor is a contiguous row-major f32 array. A backend owns the memory ({@link Storage})
 * and implements every primitive kernel below; the tensor layer (engine/ops.ts) builds all other
 * operations and every gradient out of these primitives. Kernels never mutate their inputs,
 * except `adam`, which updates its parameter and moment buffers in place.
 *
 * Shapes are passed alongside storages; a kernel may assume they are consistent (the tensor
 * layer checks them). Complex values are real arrays whose last axis has length 2 (re, im).
 */
import type { BinaryOp, ReduceOp, UnaryOp } from "../shaders/op_names.ts";
import type { FusedKernels } from "./fused_kernels.ts";
import type { Storage } from "./storage.ts";

/** The op names live with the WGSL builders (shaders/ imports nothing of engine/). */
export type { BinaryOp, ReduceOp, UnaryOp };
export type { Storage } from "./storage.ts";
export type {
  FarFieldEps,
  FusedKernels,
  HeadGeometry,
  MergeGeometry,
  OverlapGeometry,
} from "./fused_kernels.ts";

/** Hyper-parameters of one fused Adam step (bias corrections precomputed by the caller). */
export interface AdamParams {
  /** Learning rate. */
  lr: number;
  /** First-moment decay. */
  beta1: number;
  /** Second-moment decay. */
  beta2: number;
  /** Denominator floor. */
  eps: number;
  /** Decoupled (AdamW) weight decay; 0 for plain Adam. */
  weightDecay: number;
  /** 1 - beta1^t */
  biasCorrection1: number;
  /** 1 - beta2^t */
  biasCorrection2: number;
  /**
   * Decay d of the weights' exponential moving average, for the slots that have one:
   * e ← d·e + (1 − d)·p after p's update. 0 when no slot has one.
   */
  emaDecay: number;
}

/** One parameter of an Adam step: the parameter, its gradient and its two moments. */
export interface AdamSlot {
  /** Parameter (updated in place). */
  p: Storage;
  /** Its gradient. */
  g: Storage;
  /**
   * Both moments in one storage of twice the parameter's size (updated in place): the first
   * moment m in elements [0, n), the second v in [n, 2n). One binding instead of two lets a
   * device update more parameters per dispatch.
   */
  mv: Storage;
  /** The parameter's moving average (updated in place after p), if it keeps one. */
  e?: Storage;
}

/**
 * The primitive kernels. Each returns a new storage. Layout conventions:
 * images are NCHW; complex tensors end in an axis of length 2. The fused kernels of the model's
 * layers and losses are declared in {@link FusedKernels}.
 */
export interface Kernels extends FusedKernels {
  /** out[i] = f(x[i]). */
  unary(x: Storage, op: UnaryOp, a: number, b: number): Storage;
  /**
   * out = a op b with broadcasting. `aShape`, `bShape` and `outShape` have equal rank; an axis
   * of `aShape`/`bShape` is either equal to `outShape`'s or 1.
   */
  binary(
    a: Storage,
    aShape: readonly number[],
    b: Storage,
    bShape: readonly number[],
    outShape: readonly number[],
    op: BinaryOp,
  ): Storage;
  /**
   * Complex multiply with broadcasting: shapes as for `binary`, all ending in 2.
   * With `conjB`, computes a · conj(b).
   */
  cmul(
    a: Storage,
    aShape: readonly number[],
    b: Storage,
    bShape: readonly number[],
    outShape: readonly number[],
    conjB: boolean,
  ): Storage;
  /** polar(amp, phase) = interleaved (amp·cos φ, amp·sin φ); both inputs have `size` elements. */
  polar(amp: Storage, phase: Storage): Storage;
  /** Gradient of polar for g (size, 2): amp ← Re(g·e^{−iφ}), phase ← Im(g·e^{−iφ})·amp. */
  polarGrad(g: Storage, amp: Storage, phase: Storage): { amp: Storage; phase: Storage };
  /** |z|² = re² + im² of z (size, 2) → (size). */
  abs2(z: Storage): Storage;
  /** Gradient of abs2: 2·z·g with g (size) broadcast over each (re, im) pair → (size, 2). */
  abs2Grad(z: Storage, g: Storage): Storage;
  /**
   * View x as (outer, mid, inner) and reduce the middle axis: out has outer·inner elements.
   * Sums accumulate in f64 on the CPU and in a fixed order everywhere. With `scale` (not 1),
   * each result is then scaled as the unary affine (scale·v + 0) would (a mean in one pass).
   * With `weight` (x's size), x·weight is reduced, each product rounded to f32 as the binary
   * mul does (the gradient sum of a broadcast product in one pass).
   */
  reduce(
    x: Storage,
    outer: number,
    mid: number,
    inner: number,
    op: ReduceOp,
    scale?: number,
    weight?: Storage,
  ): Storage;
  /** Transpose: out axis i is input axis perm[i]. */
  permute(x: Storage, shape: readonly number[], perm: readonly number[]): Storage;
  /**
   * Zero-pad (positive) or crop (negative) every axis: out shape[i] = shape[i] + before[i] + after[i];
   * out[j] = x[j - before] where inside, else 0.
   */
  pad(
    x: Storage,
    shape: readonly number[],
    before: readonly number[],
    after: readonly number[],
  ): Storage;
  /**
   * Split axis 1 of x (outer, channels, plane) at `first`: a (outer, first, plane) and b
   * (outer, channels − first, plane), the copies `pad` would make of the two blocks.
   */
  splitChannels(
    x: Storage,
    outer: number,
    channels: number,
    plane: number,
    first: number,
  ): { a: Storage; b: Storage };
  /**
   * Batched matmul: A is (batchA, m, k) or (batchA, k, m) when transA; B is (batchB, k, n) or
   * (batchB, n, k) when transB; batchA and batchB are equal or 1; out is (max batch, m, n).
   */
  matmul(a: Storage, b: Storage, dims: MatmulDims): Storage;
  /**
   * 2-D cross-correlation, stride 1, zero padding: x (n, c, h, w), w (o, c, kh, kw) →
   * out (n, o, outH, outW), out[n,o,y,x] = Σ_{c,i,j} x[n, c, y+i-padTop, x+j-padLeft]·w[o,c,i,j].
   * With an epilogue, each output value then gets bias[o] added and/or max(·, 0) applied in the
   * same pass (a fused layer saves two full passes over the activation).
   */
  conv2d(x: Storage, w: Storage, g: Conv2dGeometry, epilogue?: ConvEpilogue): Storage;
  /** Gradient of conv2d w.r.t. x: dy (n, o, outH, outW), w → dx (n, c, h, w). */
  conv2dGradInput(dy: Storage, w: Storage, g: Conv2dGeometry): Storage;
  /** Gradient of conv2d w.r.t. w: x, dy → dw (o, c, kh, kw). */
  conv2dGradWeight(x: Storage, dy: Storage, g: Conv2dGeometry): Storage;
  /**
   * Both parameter gradients of a conv2d with a bias: `weight` as {@link conv2dGradWeight} and
   * `bias`[o] = Σ_{n,y,x} dy[n, o, y, x], summed like `reduce` over n, then over (y, x).
   * One pass over dy where the backend can (a bias costs no reduction passes of its own).
   */
  conv2dGradWeightBias(
    x: Storage,
    dy: Storage,
    g: Conv2dGeometry,
  ): { weight: Storage; bias: Storage };
  /**
   * 2×2 max pool, stride 2, "same" padding (TF): x (n, c, h, w) → (n, c, ceil(h/2), ceil(w/2));
   * windows that run past the edge use only the pixels inside.
   */
  maxPool2d(x: Storage, n: number, c: number, h: number, w: number): Storage;
  /**
   * Gradient of maxPool2d: dy goes to the first maximum of each window (row-major order). With
   * `masked` (x a ReLU output), the ReLU's gradient too: only to maxima above 0.
   */
  maxPool2dGrad(
    x: Storage,
    dy: Storage,
    n: number,
    c: number,
    h: number,
    w: number,
    masked?: boolean,
  ): Storage;
  /** Nearest 2× upsampling: (n, c, h, w) → (n, c, 2h, 2w). Here n·c is passed as `planes`. */
  upsample2x(x: Storage, planes: number, h: number, w: number): Storage;
  /**
   * Adjoint of upsample2x: sums each 2×2 block: (planes, 2h, 2w) → (planes, h, w). With `mask`
   * (planes, h, w; a ReLU output), the ReLU's gradient too: 0 where mask ≤ 0.
   */
  sumPool2x2(x: Storage, planes: number, h: number, w: number, mask?: Storage | null): Storage;
  /**
   * Batched 2-D DFT over the (h, w) axes of x (batch, h, w, 2):
   * out[u,v] = scale · Σ x[y,x] · exp(∓2πi(uy/h + vx/w)), minus sign forward, plus sign when
   * `inverse`. h and w are powers of two.
   */
  fft2(x: Storage, batch: number, h: number, w: number, inverse: boolean, scale: number): Storage;
  /**
   * Circular shift of the (h, w) axes of x (batch, h, w, inner): out[(y+shiftY) mod h,
   * (x+shiftX) mod w] = x[y, x]. fftshift is the shift (⌊h/2⌋, ⌊w/2⌋).
   */
  roll2d(
    x: Storage,
    batch: number,
    h: number,
    w: number,
    inner: number,
    shiftY: number,
    shiftX: number,
  ): Storage;
  /**
   * Bilinear translation of each image of x (batch, h, w, inner) by its own offset
   * offsets (batch, 2) = (tx, ty) in pixels (x = column, y = row): content moves by +t,
   * out[y, x] = bilinear(img; y - ty, x - tx), zero outside. Corner weights come from explicit
   * floor/fraction in pixel units. With `adjoint`, computes the transpose map (scatter of x
   * back through the same weights), which is the gradient w.r.t. the image.
   */
  translate(
    x: Storage,
    offsets: Storage,
    batch: number,
    h: number,
    w: number,
    inner: number,
    adjoint: boolean,
  ): Storage;
  /**
   * Windows of a canvas: canvas (h, w, inner), corners (batch, 2) = (row, column) as f32, floored →
   * out (batch, n, n, inner), out[b, i, j] = canvas[row_b + i, col_b + j], zero outside.
   * `inner` is 1 or 2.
   */
  cropPatches(canvas: Storage, corners: Storage, g: PatchGeometry): Storage;
  /**
   * Adjoint of cropPatches: the windows of patches (batch, n, n, inner) summed onto a zero canvas
   * (h, w, inner) at their corners (parts outside dropped), in batch order for every pixel.
   */
  scatterAddPatches(patches: Storage, corners: Storage, g: PatchGeometry): Storage;
  /**
   * Fused Adam/AdamW step of every parameter in `slots`, in place, in slot order:
   * m ← β1 m + (1-β1) g; v ← β2 v + (1-β2) g²; p ← p - lr·wd·p - lr·(m/bc1)/(sqrt(v/bc2) + eps);
   * then, for a slot with a moving average e, e ← d·e + (1 − d)·p with d = `h.emaDecay`.
   * A backend may update many parameters per kernel launch.
   */
  adam(slots: readonly AdamSlot[], h: AdamParams): void;
}

/** Where the windows of {@link Kernels.cropPatches} lie. */
export interface PatchGeometry {
  /** Number of windows. */
  batch: number;
  /** Window side. */
  n: number;
  /** Canvas rows. */
  h: number;
  /** Canvas columns. */
  w: number;
  /** Interleaved channels per pixel: 1 (real) or 2 (complex). */
  inner: 1 | 2;
}

/** Geometry of a stride-1 2-D convolution. */
export interface Conv2dGeometry {
  /** Batch size. */
  n: number;
  /** Input channels. */
  c: number;
  /** Input height. */
  h: number;
  /** Input width. */
  w: number;
  /** Output channels. */
  o: number;
  /** Kernel height. */
  kh: number;
  /** Kernel width. */
  kw: number;
  /** Zero rows above the input (the rest of the padding, below, follows from outH). */
  padTop: number;
  /** Zero columns left of the input (the rest, right, follows from outW). */
  padLeft: number;
  /** Output height. */
  outH: number;
  /** Output width. */
  outW: number;
}

/** What {@link Kernels.conv2d} applies to each output value before storing it. */
export interface ConvEpilogue {
  /** Per-output-channel bias (o values), added first; null for none. */
  bias: Storage | null;
  /** Apply max(·, 0) after the bias. */
  relu: boolean;
}

/** Dimensions of a batched matmul (see {@link Kernels.matmul}). */
export interface MatmulDims {
  /** Batch count of A (equal to batchB, or 1 = broadcast). */
  batchA: number;
  /** Batch count of B (equal to batchA, or 1 = broadcast). */
  batchB: number;
  /** Rows of the product. */
  m: number;
  /** Inner dimension. */
  k: number;
  /** Columns of the product. */
  n: number;
  /** A is stored (k, m). */
  transA: boolean;
  /** B is stored (n, k). */
  transB: boolean;
}

/** A compute backend: memory plus the primitive kernels. */
export interface Backend extends Kernels {
  /** "cpu" or "webgpu". */
  readonly name: "cpu" | "webgpu";
  /** One line for logs (e.g. the adapter description). */
  readonly description: string;
  /** Copy host data into a new storage. */
  upload(data: Float32Array): Storage;
  /** A new storage filled with `value`. */
  fill(size: number, value: number): Storage;
  /** Read a storage back (flushes pending work). */
  read(s: Storage): Promise<Float32Array>;
  /** Synchronous read; only backends whose memory is host memory support it (null otherwise). */
  readSync(s: Storage): Float32Array | null;
  /** Release a storage. Using it afterwards is an error. */
  release(s: Storage): void;
  /** Submit pending work without waiting for it. */
  flush(): void;
  /** Live storages and their bytes, for leak tests. */
  memory(): { liveStorages: number; liveBytes: number; pooledBytes: number };
  /**
   * Give the free pooled buffers back to the device (submitting pending work first), e.g. between
   * training and another phase; later work allocates again. How much the process's memory falls
   * depends on the device's allocator (on lavapipe, little: docs/engine.md).
   */
  releasePooled(): void;
}
