/** Dispatch of the decoder heads' fused epilogue and its per-head gradient (shaders/heads.ts). */
import type { HeadGeometry } from "../backend.ts";
import { objectFromHeadsGradKernel, objectFromHeadsKernel } from "../../shaders/heads.ts";
import type { GpuRuntime, GpuStorage } from "./runtime.ts";

/** The kernels' uniform block for `g`. */
function params(g: HeadGeometry): Uint32Array {
  return new Uint32Array([g.planes, g.n, g.side, (g.n - g.side) >> 1]);
}

/** Complex object (planes, n, n, 2) from the heads' four outputs. */
export function objectFromHeads(
  rt: GpuRuntime,
  heads: readonly GpuStorage[],
  g: HeadGeometry,
): GpuStorage {
  const count = g.planes * g.n * g.n, y = rt.alloc(2 * count);
  rt.dispatch(objectFromHeadsKernel(), params(g), [...heads, y], rt.gridGroups(count));
  return y;
}

/** Gradient w.r.t. one head's central and border outputs. */
export function objectFromHeadsGrad(
  rt: GpuRuntime,
  gy: GpuStorage,
  heads: readonly GpuStorage[],
  g: HeadGeometry,
  phase: boolean,
): { central: GpuStorage; border: GpuStorage } {
  const count = g.planes * g.n * g.n;
  const central = rt.alloc(g.planes * g.side * g.side), border = rt.alloc(count);
  const bufs = [...heads, gy, central, border];
  rt.dispatch(objectFromHeadsGradKernel(phase), params(g), bufs, rt.gridGroups(count));
  return { central, border };
}
