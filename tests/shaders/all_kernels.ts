/**
 * Every WGSL kernel the builders make, over a grid of their parameters: the key tests
 * (kernels_test.ts) and the browser compile test (tests/browser/) walk the same list.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from "../../shaders/op_names.ts";
import type { Kernel } from "../../shaders/common.ts";
import { adamKernel } from "../../shaders/adam.ts";
import { convDirectKernel, convWeightPrepKernel } from "../../shaders/conv2d.ts";
import {
  convGradFinishKernel,
  convGradWeightKernel,
  convGradWeightVec4Kernel,
} from "../../shaders/conv2d_grad.ts";
import {
  binaryKernel,
  cmulKernel,
  fillKernel,
  polarKernel,
  unaryKernel,
} from "../../shaders/elementwise.ts";
import { fftLineKernel } from "../../shaders/fft.ts";
import {
  padKernel,
  permuteKernel,
  roll2dKernel,
  splitChannelsKernel,
} from "../../shaders/layout.ts";
import { matmulKernel, matmulPackKernel } from "../../shaders/matmul.ts";
import {
  maxPoolGradKernel,
  maxPoolGradVecKernel,
  maxPoolKernel,
  maxPoolVecKernel,
} from "../../shaders/pool.ts";
import { reduceKernel } from "../../shaders/reduce.ts";
import {
  sumPool2x2Kernel,
  sumPool2x2VecKernel,
  upsample2xKernel,
  upsample2xVecKernel,
} from "../../shaders/resample.ts";
import { translateKernel } from "../../shaders/translate.ts";
import {
  photonCountsKernel,
  poissonNllKernel,
  poissonTermsGradKernel,
  poissonTermsKernel,
} from "../../shaders/poisson.ts";
import { mergeWeightsKernel } from "../../shaders/merge.ts";
import { photonScaleGradKernel, photonScaleKernel } from "../../shaders/scale.ts";
import { objectFromHeadsGradKernel, objectFromHeadsKernel } from "../../shaders/heads.ts";
import {
  extractIlluminateAdjointKernel,
  extractIlluminateKernel,
  mergeCanvasAdjointKernel,
  mergeCanvasKernel,
} from "../../shaders/overlap.ts";
import { abs2GradKernel, abs2Kernel, polarGradKernel } from "../../shaders/complex.ts";

// Records, so that adding an op name to op_names.ts without listing it here fails type checking.
const UNARY: Record<UnaryOp, 0> = {
  neg: 0,
  exp: 0,
  log: 0,
  sqrt: 0,
  square: 0,
  abs: 0,
  sign: 0,
  relu: 0,
  step: 0,
  sigmoid: 0,
  tanh: 0,
  silu: 0,
  cos: 0,
  sin: 0,
  lgamma: 0,
  clamp: 0,
  inRange: 0,
  pow: 0,
  affine: 0,
};
const BINARY: Record<BinaryOp, 0> = {
  add: 0,
  sub: 0,
  mul: 0,
  div: 0,
  eq: 0,
  gt: 0,
  reluGrad: 0,
  sigmoidGrad: 0,
  tanhGrad: 0,
  siluGrad: 0,
  expand: 0,
};
const REDUCE: Record<ReduceOp, 0> = { sum: 0, max: 0 };
const BOOLS = [false, true];

/** Every kernel builder over a grid of its parameters, defaults left out and given. */
export function allKernels(): Kernel[] {
  const ks: Kernel[] = [
    polarKernel(),
    permuteKernel(),
    roll2dKernel(),
    matmulPackKernel(),
    matmulKernel(),
    matmulKernel(16, 16),
    matmulKernel(8, 16),
    matmulKernel(16, 8),
    maxPoolKernel(),
    maxPoolGradKernel(),
    maxPoolVecKernel(),
    maxPoolGradVecKernel(),
    upsample2xKernel(),
    upsample2xVecKernel(),
    sumPool2x2Kernel(),
    sumPool2x2VecKernel(),
    adamKernel(),
    fillKernel(),
    padKernel(),
    convGradWeightKernel(3, 8, 4),
    convGradFinishKernel(),
    convGradFinishKernel(2),
    convGradFinishKernel(8),
    convGradFinishKernel(1, true),
    convGradFinishKernel(8, true),
    poissonNllKernel(),
    photonCountsKernel(),
    poissonTermsKernel(),
    poissonTermsGradKernel(),
    mergeWeightsKernel(),
    mergeCanvasKernel(),
    mergeCanvasAdjointKernel(),
    extractIlluminateKernel(),
    extractIlluminateAdjointKernel(),
    objectFromHeadsKernel(),
    objectFromHeadsGradKernel(false),
    objectFromHeadsGradKernel(true),
    photonScaleKernel(),
    splitChannelsKernel(false),
    splitChannelsKernel(true),
    photonScaleGradKernel(),
    abs2Kernel(),
    abs2GradKernel(),
    polarGradKernel(),
  ];
  for (const b of BOOLS) {
    // Slot counts as grouped under limits of 8 and 32 storage buffers per stage (3 + copies
    // bindings per slot, one more with a moving average; at most 64 uniform words).
    for (const l of [0, 1, 2] as const) {
      for (const k of [1, 2, 6]) ks.push(adamKernel(b, l, k));
      for (const k of [1, 2, 5]) ks.push(adamKernel(b, l, k, true));
    }
    ks.push(adamKernel(b, 0, 10), adamKernel(b, 1, 8));
    ks.push(adamKernel(b, 0, 8, true), adamKernel(b, 1, 6, true));
    ks.push(
      adamKernel(b),
      fillKernel(b),
      padKernel(b),
      cmulKernel(b),
      cmulKernel(b, "same"),
      cmulKernel(b, "same", true),
      cmulKernel(b, "tail"),
      cmulKernel(b, "tail", true),
      translateKernel(b),
    );
    for (const op of Object.keys(UNARY) as UnaryOp[]) ks.push(unaryKernel(op, b));
    for (const op of Object.keys(BINARY) as BinaryOp[]) {
      for (const same of BOOLS) ks.push(binaryKernel(op, same, b));
    }
    for (const n of [2, 4, 8, 64]) ks.push(fftLineKernel(n, b));
  }
  for (const op of Object.keys(REDUCE) as ReduceOp[]) {
    ks.push(reduceKernel(op), reduceKernel(op, true), unaryKernel("neg"));
  }
  for (const ob of [4, 8, 16]) {
    ks.push(convWeightPrepKernel(ob));
    for (const k of [1, 3]) {
      for (const px of [8, 16, 32]) {
        for (const pad of [null, 0, 1, 2]) {
          ks.push(convDirectKernel(k, 3, px, ob, pad), convDirectKernel(3, k, px, ob, pad));
        }
        // Weights and rows as texels: only the loads differ, the same for every padding.
        if (k === 3) {
          ks.push(convDirectKernel(3, 3, px, ob, null, true));
          ks.push(
            convDirectKernel(3, 3, px, ob, 1, true),
            convDirectKernel(3, 3, px, ob, 1, true, true),
            convDirectKernel(3, 3, px, ob, 1, true, true, "sampled"),
          );
        }
      }
      for (const cb of [4, 8]) {
        for (const u of [1, 2]) ks.push(convGradWeightKernel(k, ob, cb, u));
        for (const pad of [0, 1]) ks.push(convGradWeightVec4Kernel(k, ob, cb, pad));
        ks.push(convGradWeightVec4Kernel(k, ob, cb, 1, true));
        ks.push(convGradWeightVec4Kernel(k, ob, cb, 1, true, "sampled"));
      }
    }
  }
  return ks;
}
