/**
 * Dispatch logic of the single-pass kernels that replace op chains of a training step:
 * polar's gradient, |z|² and its gradient (shaders/complex.ts), the merge weights
 * (shaders/merge.ts), the reported Poisson NLL (shaders/poisson.ts) and the photon scale's
 * factors (shaders/scale.ts).
 */
import type { MergeGeometry } from "../backend.ts";
import { abs2GradKernel, abs2Kernel, polarGradKernel } from "../../shaders/complex.ts";
import { mergeWeightsKernel } from "../../shaders/merge.ts";
import { photonScaleGradKernel, photonScaleKernel } from "../../shaders/scale.ts";
import {
  photonCountsKernel,
  poissonNllKernel,
  poissonTermsGradKernel,
  poissonTermsKernel,
} from "../../shaders/poisson.ts";
import { f32bits, type GpuRuntime, type GpuStorage } from "./runtime.ts";

/** Gradient of polar: both outputs from one kernel. */
export function polarGrad(
  rt: GpuRuntime,
  g: GpuStorage,
  amp: GpuStorage,
  phase: GpuStorage,
): { amp: GpuStorage; phase: GpuStorage } {
  const n = amp.size, da = rt.alloc(n), dp = rt.alloc(n);
  rt.dispatch(polarGradKernel(), new Uint32Array([n]), [g, amp, phase, da, dp], rt.gridGroups(n));
  return { amp: da, phase: dp };
}

/** |z|² per complex element. */
export function abs2(rt: GpuRuntime, z: GpuStorage): GpuStorage {
  const n = z.size / 2, y = rt.alloc(n);
  rt.dispatch(abs2Kernel(), new Uint32Array([n]), [z, y], rt.gridGroups(n));
  return y;
}

/** Gradient of abs2. */
export function abs2Grad(rt: GpuRuntime, z: GpuStorage, g: GpuStorage): GpuStorage {
  const n = g.size, y = rt.alloc(2 * n);
  rt.dispatch(abs2GradKernel(), new Uint32Array([n]), [z, g, y], rt.gridGroups(n));
  return y;
}

/** Merge weights: window masks and inverse weights in one kernel. */
export function mergeWeights(
  rt: GpuRuntime,
  shift: GpuStorage,
  g: MergeGeometry,
): { masks: GpuStorage; inverse: GpuStorage } {
  const plane = g.m * g.m;
  const masks = rt.alloc(g.batch * g.c * plane), inverse = rt.alloc(g.batch * plane);
  const params = new Uint32Array([g.batch, g.c, g.m, g.lo, g.side, f32bits(g.floor)]);
  rt.dispatch(mergeWeightsKernel(), params, [shift, masks, inverse], rt.gridGroups(inverse.size));
  return { masks, inverse };
}

/** Photon counts (a·x)² per element. */
export function photonCounts(rt: GpuRuntime, x: GpuStorage, a: number): GpuStorage {
  const n = x.size, y = rt.alloc(n);
  rt.dispatch(photonCountsKernel(), new Uint32Array([n, f32bits(a)]), [x, y], rt.gridGroups(n));
  return y;
}

/** The full Poisson NLL per element. */
export function poissonNll(rt: GpuRuntime, rate: GpuStorage, counts: GpuStorage): GpuStorage {
  const n = rate.size, y = rt.alloc(n);
  const params = new Uint32Array([n, f32bits(Infinity)]);
  rt.dispatch(poissonNllKernel(), params, [rate, counts, y], rt.gridGroups(n));
  return y;
}

/** Poisson training terms and reported NLL terms. */
export function poissonTerms(
  rt: GpuRuntime,
  intensity: GpuStorage,
  s2: GpuStorage,
  counts: GpuStorage,
  floor: number,
): { terms: GpuStorage; nll: GpuStorage } {
  const n = intensity.size, terms = rt.alloc(n), nll = rt.alloc(n);
  const params = new Uint32Array([n, f32bits(floor), f32bits(Infinity)]);
  rt.dispatch(poissonTermsKernel(), params, [intensity, s2, counts, terms, nll], rt.gridGroups(n));
  return { terms, nll };
}

/** Gradient of the Poisson training terms: both outputs from one kernel. */
export function poissonTermsGrad(
  rt: GpuRuntime,
  g: GpuStorage,
  intensity: GpuStorage,
  s2: GpuStorage,
  counts: GpuStorage,
  floor: number,
): { intensity: GpuStorage; scale: GpuStorage } {
  const n = g.size, dI = rt.alloc(n), dS = rt.alloc(n);
  const params = new Uint32Array([n, f32bits(floor)]);
  const bufs = [g, intensity, s2, counts, dI, dS];
  rt.dispatch(poissonTermsGradKernel(), params, bufs, rt.gridGroups(n));
  return { intensity: dI, scale: dS };
}

/** The photon scale's factors s0/s and s² from log_scale. */
export function photonScale(
  rt: GpuRuntime,
  logScale: GpuStorage,
  s0: number,
): { input: GpuStorage; rate: GpuStorage } {
  const input = rt.alloc(1), rate = rt.alloc(1);
  rt.dispatch(photonScaleKernel(), new Uint32Array([f32bits(s0)]), [logScale, input, rate], 1);
  return { input, rate };
}

/** Gradient w.r.t. log_scale of one photon-scale factor. */
export function photonScaleGrad(
  rt: GpuRuntime,
  g: GpuStorage,
  logScale: GpuStorage,
  s0: number,
  rate: boolean,
): GpuStorage {
  const d = rt.alloc(1);
  const params = new Uint32Array([f32bits(s0), rate ? 1 : 0]);
  rt.dispatch(photonScaleGradKernel(), params, [g, logScale, d], 1);
  return d;
}
