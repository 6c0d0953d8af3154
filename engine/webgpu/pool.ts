/**
 * Dispatch logic of the pooling and resampling kernels (shaders/pool.ts, shaders/resample.ts):
 * the vec variants where no window crosses an edge and rows are whole vectors.
 */
import {
  maxPoolGradKernel,
  maxPoolGradVecKernel,
  maxPoolKernel,
  maxPoolVecKernel,
} from "../../shaders/pool.ts";
import {
  sumPool2x2Kernel,
  sumPool2x2VecKernel,
  upsample2xKernel,
  upsample2xVecKernel,
} from "../../shaders/resample.ts";
import type { GpuRuntime, GpuStorage } from "./runtime.ts";

/** 2×2 max pool, stride 2, "same" padding, of (planes, h, w). */
export function maxPool2d(
  rt: GpuRuntime,
  x: GpuStorage,
  planes: number,
  h: number,
  w: number,
): GpuStorage {
  const [oh, ow] = [Math.ceil(h / 2), Math.ceil(w / 2)];
  const y = rt.alloc(planes * oh * ow);
  const params = new Uint32Array([planes, h, w, oh, ow]);
  // Two windows per item, vec4 rows, when no window crosses the edge and rows are vec4s.
  const v = h % 2 === 0 && w % 4 === 0;
  const kernel = v ? maxPoolVecKernel() : maxPoolKernel();
  rt.dispatch(kernel, params, [x, y], rt.gridGroups(v ? y.size / 2 : y.size));
  return y;
}

/** Gradient of maxPool2d (to the first maximum of each window; with `masked`, if above 0). */
export function maxPool2dGrad(
  rt: GpuRuntime,
  x: GpuStorage,
  dy: GpuStorage,
  planes: number,
  h: number,
  w: number,
  masked: boolean,
): GpuStorage {
  const [oh, ow] = [Math.ceil(h / 2), Math.ceil(w / 2)];
  const params = new Uint32Array([planes, h, w, oh, ow, masked ? 1 : 0]);
  const dx = rt.alloc(planes * h * w);
  const v = h % 2 === 0 && w % 4 === 0;
  const kernel = v ? maxPoolGradVecKernel() : maxPoolGradKernel();
  rt.dispatch(kernel, params, [x, dy, dx], rt.gridGroups(v ? dx.size / 8 : dx.size));
  return dx;
}

/** Nearest 2× upsampling of (planes, h, w). */
export function upsample2x(
  rt: GpuRuntime,
  x: GpuStorage,
  planes: number,
  h: number,
  w: number,
): GpuStorage {
  const y = rt.alloc(planes * 4 * h * w);
  const params = new Uint32Array([planes, h, w]);
  // One output vec4 per item for even widths.
  const v = w % 2 === 0;
  const kernel = v ? upsample2xVecKernel() : upsample2xKernel();
  rt.dispatch(kernel, params, [x, y], rt.gridGroups(v ? y.size / 4 : y.size));
  return y;
}

/** Sum of each 2×2 block: (planes, 2h, 2w) → (planes, h, w); 0 where a `mask` is not > 0. */
export function sumPool2x2(
  rt: GpuRuntime,
  x: GpuStorage,
  planes: number,
  h: number,
  w: number,
  mask: GpuStorage | null,
): GpuStorage {
  const y = rt.alloc(planes * h * w);
  const params = new Uint32Array([planes, h, w, mask ? 1 : 0]);
  const v = w % 2 === 0;
  const kernel = v ? sumPool2x2VecKernel() : sumPool2x2Kernel();
  // Without a mask, binding 3 gets x as a (read-only, unread) stand-in.
  rt.dispatch(kernel, params, [x, y, mask ?? x], rt.gridGroups(v ? y.size / 2 : y.size));
  return y;
}
