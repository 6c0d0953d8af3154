/**
 * Dispatch of the fused merge onto a group's canvas and the probe-illuminated re-extraction,
 * and their adjoints (shaders/overlap.ts): one kernel each.
 */
import type { OverlapGeometry } from "../backend.ts";
import {
  extractIlluminateAdjointKernel,
  extractIlluminateKernel,
  mergeCanvasAdjointKernel,
  mergeCanvasKernel,
} from "../../shaders/overlap.ts";
import type { GpuRuntime, GpuStorage } from "./runtime.ts";

/** The kernels' uniform block for `g`. */
function params(g: OverlapGeometry): Uint32Array {
  return new Uint32Array([g.batch, g.c, g.n, g.m, (g.m - g.n) >> 1]);
}

/** The c patches of each group merged onto its canvas: (batch, m, m, 2). */
export function mergeCanvas(
  rt: GpuRuntime,
  patches: GpuStorage,
  shift: GpuStorage,
  masks: GpuStorage,
  inverse: GpuStorage,
  g: OverlapGeometry,
): GpuStorage {
  const count = g.batch * g.m * g.m, y = rt.alloc(2 * count);
  rt.dispatch(
    mergeCanvasKernel(),
    params(g),
    [patches, shift, masks, inverse, y],
    rt.gridGroups(count),
  );
  return y;
}

/** Gradient of the merge w.r.t. the patches: (batch·c, n, n, 2). */
export function mergeCanvasAdjoint(
  rt: GpuRuntime,
  grad: GpuStorage,
  shift: GpuStorage,
  masks: GpuStorage,
  inverse: GpuStorage,
  g: OverlapGeometry,
): GpuStorage {
  const count = g.batch * g.c * g.n * g.n, y = rt.alloc(2 * count);
  const bufs = [grad, shift, masks, inverse, y];
  rt.dispatch(mergeCanvasAdjointKernel(), params(g), bufs, rt.gridGroups(count));
  return y;
}

/** Each member's window of its canvas times the probe: (batch·c, n, n, 2). */
export function extractIlluminate(
  rt: GpuRuntime,
  canvas: GpuStorage,
  shift: GpuStorage,
  probe: GpuStorage,
  g: OverlapGeometry,
): GpuStorage {
  const count = g.batch * g.c * g.n * g.n, y = rt.alloc(2 * count);
  rt.dispatch(
    extractIlluminateKernel(),
    params(g),
    [canvas, shift, probe, y],
    rt.gridGroups(count),
  );
  return y;
}

/** Gradient of extract-and-illuminate w.r.t. the canvas: (batch, m, m, 2). */
export function extractIlluminateAdjoint(
  rt: GpuRuntime,
  grad: GpuStorage,
  shift: GpuStorage,
  probe: GpuStorage,
  g: OverlapGeometry,
): GpuStorage {
  const count = g.batch * g.m * g.m, y = rt.alloc(2 * count);
  const bufs = [grad, shift, probe, y];
  rt.dispatch(extractIlluminateAdjointKernel(), params(g), bufs, rt.gridGroups(count));
  return y;
}
