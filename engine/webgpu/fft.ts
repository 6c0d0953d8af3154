/** Batched 2-D FFT dispatch: a line transform along rows, then along columns. */
import { fftLineKernel } from "../../shaders/fft.ts";
import { FLAT_WG } from "../../shaders/common.ts";
import { unaryKernel } from "../../shaders/elementwise.ts";
import { f32bits, type GpuRuntime, type GpuStorage } from "./runtime.ts";

/** fft2 of x (batch, h, w, 2) over (h, w), scaled by `scale` (see Kernels.fft2). */
export function fft2(
  rt: GpuRuntime,
  x: GpuStorage,
  batch: number,
  h: number,
  w: number,
  inverse: boolean,
  scale: number,
): GpuStorage {
  const rows = fftPass(rt, x, w, batch * h, 1, w, 1, inverse, h === 1 ? scale : 1);
  if (h === 1) return rows;
  const out = fftPass(rt, rows, h, batch * w, w, h * w, w, inverse, scale);
  rt.free(rows);
  return out;
}

/** One line-transform pass over `lines` lines of length N (layout as in fftLineKernel). */
function fftPass(
  rt: GpuRuntime,
  x: GpuStorage,
  N: number,
  lines: number,
  inner: number,
  outerStride: number,
  es: number,
  inverse: boolean,
  scale: number,
): GpuStorage {
  const y = rt.alloc(x.size);
  if (N === 1) {
    const params = new Uint32Array([x.size, f32bits(scale), 0, f32bits(Infinity)]);
    rt.dispatch(unaryKernel("affine"), params, [x, y], rt.gridGroups(x.size));
    return y;
  }
  const params = new Uint32Array([lines, inner, outerStride, es, f32bits(scale)]);
  rt.dispatch(fftLineKernel(N, inverse), params, [x, y], Math.ceil(lines / FLAT_WG));
  return y;
}
