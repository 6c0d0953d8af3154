/** Neural-network ops: matmul, conv2d (+ bias), 2×2 max pooling, nearest 2× upsampling. */
import type { Conv2dGeometry } from "../backend.ts";
import { commonBackend, record } from "../autograd.ts";
import { shapeSize, type Tensor } from "../tensor.ts";
import { sum } from "./broadcast.ts";
import { reluGrad } from "./elementwise.ts";
import { reshape } from "./shape.ts";

/**
 * Outputs of fused conv + ReLU layers. An op whose gradient w.r.t. such a tensor z can apply
 * the ReLU's gradient mask (z > 0) in its own kernel (max pooling, nearest upsampling) does, and
 * records its result in {@link maskedGrads}; the layer then skips its separate reluGrad pass
 * when the gradient it receives is that very tensor (a sum of several contributions is a new,
 * unmasked tensor and takes the mask as before). Masking twice is harmless, so this is exact.
 */
const reluOutputs = new WeakSet<Tensor>();
/** Gradients that already carry the ReLU mask of the tensor they are the gradient of. */
const maskedGrads = new WeakMap<Tensor, Tensor>();

function secondOrder(op: string): () => never {
  return () => {
    throw new Error(`${op}: second-order gradients are not supported`);
  };
}

/** Options of {@link matmul}: take A or B transposed (last two axes). */
export interface MatmulOptions {
  /** A is stored with its last two axes swapped. */
  transA?: boolean;
  /** B is stored with its last two axes swapped. */
  transB?: boolean;
}

/**
 * Batched matrix product over the last two axes. Leading (batch) axes are flattened; the two
 * batch sizes must be equal or one of them 1. Output: [...batch, m, n].
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false, transB = opts.transB ?? false;
  if (a.rank < 2 || b.rank < 2) {
    throw new Error(`matmul: needs rank ≥ 2, got [${a.shape}] and [${b.shape}]`);
  }
  const backend = commonBackend("matmul", [a, b]);
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const m = transA ? ac : ar, k = transA ? ar : ac;
  const kb = transB ? bc : br, n = transB ? br : bc;
  const batchA = shapeSize(a.shape.slice(0, -2)), batchB = shapeSize(b.shape.slice(0, -2));
  if (k !== kb || (batchA !== batchB && batchA !== 1 && batchB !== 1)) {
    throw new Error(`matmul: shapes [${a.shape}] and [${b.shape}] do not multiply`);
  }
  const batchShape = batchA >= batchB ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  const storage = backend.matmul(a.storage, b.storage, { batchA, batchB, m, k, n, transA, transB });
  const outShape = [...batchShape, m, n];
  return record("matmul", [a, b], backend, storage, outShape, (g, needs) => {
    const g3 = reshape(g, [Math.max(batchA, batchB), m, n]);
    const a3 = reshape(a, [batchA, ar, ac]), b3 = reshape(b, [batchB, br, bc]);
    const fold = (t: Tensor, batch: number, shape: readonly number[]) =>
      reshape(batch === 1 && t.shape[0] !== 1 ? sum(t, 0) : t, shape);
    // C = A_eff·B_eff; dA_eff = dC·B_effᵀ, dB_eff = A_effᵀ·dC; transposed storage takes the transpose.
    const da = !needs[0]
      ? null
      : transA
      ? matmul(b3, g3, { transA: transB, transB: true })
      : matmul(g3, b3, { transB: !transB });
    const db = !needs[1]
      ? null
      : transB
      ? matmul(g3, a3, { transA: true, transB: transA })
      : matmul(a3, g3, { transA: !transA });
    return [da && fold(da, batchA, a.shape), db && fold(db, batchB, b.shape)];
  });
}

/** "same" (TF: output = input size, extra padding at the end) or "valid" (no padding). */
export type Padding = "same" | "valid";

/** Activation applied inside {@link conv2d}'s kernel: "none" or "relu". */
export type ConvActivation = "none" | "relu";

/**
 * One fused layer: z = conv(x, w) (+ bias) (then ReLU), in one kernel pass. The backward pass
 * masks dy once (ReLU), then feeds it to the input gradient and to one pass that gives both the
 * weight and the bias gradient.
 */
function conv2dLayer(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  g: Conv2dGeometry,
  relu: boolean,
): Tensor {
  const inputs = bias === null ? [x, w] : [x, w, bias];
  const backend = commonBackend("conv2d", inputs);
  const storage = backend.conv2d(x.storage, w.storage, g, {
    bias: bias?.storage ?? null,
    relu,
  });
  const z: Tensor = record(
    "conv2d",
    inputs,
    backend,
    storage,
    [g.n, g.o, g.outH, g.outW],
    (dz, needs) => {
      const dy = relu && maskedGrads.get(dz) !== z ? reluGrad(dz, z) : dz;
      const dx = needs[0] ? conv2dGradInput(dy, w, g) : null;
      if (bias !== null && needs[1] && needs[2]) return [dx, ...conv2dGradParams(x, dy, g)];
      const grads = [dx, needs[1] ? conv2dGradWeight(x, dy, g) : null];
      if (bias !== null) grads.push(needs[2] ? sum(dy, [0, 2, 3]) : null);
      return grads;
    },
  );
  if (relu) reluOutputs.add(z);
  return z;
}

function conv2dGradInput(dy: Tensor, w: Tensor, g: Conv2dGeometry): Tensor {
  const storage = dy.backend.conv2dGradInput(dy.storage, w.storage, g);
  return record(
    "conv2dGradInput",
    [dy, w],
    dy.backend,
    storage,
    [g.n, g.c, g.h, g.w],
    secondOrder("conv2dGradInput"),
  );
}

function conv2dGradWeight(x: Tensor, dy: Tensor, g: Conv2dGeometry): Tensor {
  const storage = x.backend.conv2dGradWeight(x.storage, dy.storage, g);
  return record(
    "conv2dGradWeight",
    [x, dy],
    x.backend,
    storage,
    [g.o, g.c, g.kh, g.kw],
    secondOrder("conv2dGradWeight"),
  );
}

/** Weight and bias gradients of a conv2d from one backend pass over dy. */
function conv2dGradParams(x: Tensor, dy: Tensor, g: Conv2dGeometry): [Tensor, Tensor] {
  const { weight, bias } = x.backend.conv2dGradWeightBias(x.storage, dy.storage, g);
  const second = secondOrder("conv2dGradWeightBias");
  return [
    record("conv2dGradWeight", [x, dy], x.backend, weight, [g.o, g.c, g.kh, g.kw], second),
    record("conv2dGradBias", [x, dy], x.backend, bias, [g.o], second),
  ];
}

/**
 * 2-D convolution (cross-correlation, stride 1) of x (n, c, h, w) with w (o, c, kh, kw), an
 * optional bias (o) and an optional ReLU, all in one kernel pass.
 */
export function conv2d(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null = null,
  padding: Padding = "same",
  activation: ConvActivation = "none",
): Tensor {
  if (x.rank !== 4 || w.rank !== 4 || x.shape[1] !== w.shape[1]) {
    throw new Error(`conv2d: input [${x.shape}] and weight [${w.shape}] do not match (NCHW, OCKK)`);
  }
  if (bias !== null && (bias.rank !== 1 || bias.shape[0] !== w.shape[0])) {
    throw new Error(`conv2d: bias [${bias.shape}] does not match weight [${w.shape}]`);
  }
  const [n, c, h, wd] = x.shape, [o, , kh, kw] = w.shape;
  const same = padding === "same";
  const g: Conv2dGeometry = {
    n,
    c,
    h,
    w: wd,
    o,
    kh,
    kw,
    padTop: same ? Math.floor((kh - 1) / 2) : 0,
    padLeft: same ? Math.floor((kw - 1) / 2) : 0,
    outH: same ? h : h - kh + 1,
    outW: same ? wd : wd - kw + 1,
  };
  if (g.outH < 1 || g.outW < 1) {
    throw new Error(`conv2d: kernel [${kh}, ${kw}] larger than image [${h}, ${wd}]`);
  }
  return conv2dLayer(x, w, bias, g, activation === "relu");
}

/** 2×2 max pooling, stride 2, TF "same" padding: (n, c, h, w) → (n, c, ⌈h/2⌉, ⌈w/2⌉). */
export function maxPool2d(x: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  const storage = x.backend.maxPool2d(x.storage, n, c, h, w);
  const shape = [n, c, Math.ceil(h / 2), Math.ceil(w / 2)];
  return record("maxPool2d", [x], x.backend, storage, shape, (dy) => {
    const masked = reluOutputs.has(x);
    const s = x.backend.maxPool2dGrad(x.storage, dy.storage, n, c, h, w, masked);
    const dx = record(
      "maxPool2dGrad",
      [x, dy],
      x.backend,
      s,
      x.shape,
      secondOrder("maxPool2dGrad"),
    );
    if (masked) maskedGrads.set(dx, x);
    return [dx];
  });
}

/** Nearest-neighbour 2× upsampling: (n, c, h, w) → (n, c, 2h, 2w). */
export function upsample2x(x: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  const storage = x.backend.upsample2x(x.storage, n * c, h, w);
  return record("upsample2x", [x], x.backend, storage, [n, c, 2 * h, 2 * w], (dy) => {
    if (!reluOutputs.has(x)) return [sumPool2x2(dy)];
    // The adjoint with the mask of the ReLU that made x, in the same pass.
    const s = x.backend.sumPool2x2(dy.storage, n * c, h, w, x.storage);
    const dx = record("sumPool2x2", [dy, x], x.backend, s, x.shape, secondOrder("sumPool2x2"));
    maskedGrads.set(dx, x);
    return [dx];
  });
}

/** Sum of each 2×2 block: (n, c, 2h, 2w) → (n, c, h, w); the adjoint of {@link upsample2x}. */
export function sumPool2x2(x: Tensor): Tensor {
  const [n, c, h2, w2] = x.shape;
  const storage = x.backend.sumPool2x2(x.storage, n * c, h2 / 2, w2 / 2);
  return record("sumPool2x2", [x], x.backend, storage, [n, c, h2 / 2, w2 / 2], (dy) => [
    upsample2x(dy),
  ]);
}
