/** Dispatch of the canvas-window kernels: crop, and the tile-binned scatter-add (its adjoint). */
import type { PatchGeometry } from "../backend.ts";
import {
  cropPatchesKernel,
  PATCH_TILE,
  patchTileListKernel,
  scatterAddPatchesKernel,
} from "../../shaders/patches.ts";
import type { GpuRuntime, GpuStorage } from "./runtime.ts";

/** Windows of canvas (h, w, inner) at ⌊corners⌋: one item per output pixel. */
export function cropPatches(
  rt: GpuRuntime,
  canvas: GpuStorage,
  corners: GpuStorage,
  g: PatchGeometry,
): GpuStorage {
  const count = g.batch * g.n * g.n, y = rt.alloc(count * g.inner);
  const params = new Uint32Array([count, g.n, g.h, g.w]);
  rt.dispatch(cropPatchesKernel(g.inner), params, [canvas, corners, y], rt.gridGroups(count));
  return y;
}

/**
 * Windows summed onto a zero canvas: first the windows overlapping each PATCH_TILE² tile are
 * listed (in batch order), then each canvas pixel sums those of its tile that cover it.
 */
export function scatterAddPatches(
  rt: GpuRuntime,
  patches: GpuStorage,
  corners: GpuStorage,
  g: PatchGeometry,
): GpuStorage {
  const tilesX = Math.ceil(g.w / PATCH_TILE), tiles = tilesX * Math.ceil(g.h / PATCH_TILE);
  const list = rt.alloc(tiles * (g.batch + 1));
  const listParams = new Uint32Array([tiles, tilesX, g.n, g.batch]);
  rt.dispatch(patchTileListKernel(), listParams, [corners, list], rt.gridGroups(tiles));
  const count = g.h * g.w, y = rt.alloc(count * g.inner);
  const params = new Uint32Array([count, g.n, g.w, g.batch, tilesX]);
  rt.dispatch(
    scatterAddPatchesKernel(g.inner),
    params,
    [patches, corners, list, y],
    rt.gridGroups(count),
  );
  rt.free(list);
  return y;
}
