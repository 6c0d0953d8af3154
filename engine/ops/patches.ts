/**
 * Windows of a canvas at integer corners and their adjoint: the object patches of a
 * ptychographic scan (crop), and the object gradient (and illumination sums) put back onto the
 * canvas (scatter-add). Corners are a [B, 2] tensor of (row, column) values, floored by the
 * kernels; they carry no gradient (sub-pixel shifts belong elsewhere, e.g. a Fourier shift).
 */
import { commonBackend, record } from "../autograd.ts";
import type { PatchGeometry } from "../backend.ts";
import type { Tensor } from "../tensor.ts";

function geometry(
  op: string,
  canvasShape: readonly number[],
  corners: Tensor,
  n: number,
): PatchGeometry {
  if (canvasShape.length !== 2 && !(canvasShape.length === 3 && canvasShape[2] === 2)) {
    throw new Error(`${op}: expected a canvas [h, w] or [h, w, 2], got [${canvasShape}]`);
  }
  if (corners.rank !== 2 || corners.shape[1] !== 2) {
    throw new Error(`${op}: expected corners [B, 2] (row, column), got [${corners.shape}]`);
  }
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`${op}: window side ${n} is not ≥ 1`);
  const [h, w] = canvasShape;
  return { batch: corners.shape[0], n, h, w, inner: canvasShape.length === 3 ? 2 : 1 };
}

function patchShape(g: PatchGeometry): number[] {
  return g.inner === 2 ? [g.batch, g.n, g.n, 2] : [g.batch, g.n, g.n];
}

/**
 * The n × n windows of a real [h, w] or complex [h, w, 2] canvas whose top-left pixels are
 * ⌊corners⌋ (corners [B, 2] = row, column): [B, n, n(, 2)], zero where a window leaves the canvas.
 * Gradient w.r.t. the canvas: {@link scatterAddPatches}.
 */
export function cropPatches(canvas: Tensor, corners: Tensor, n: number): Tensor {
  const g = geometry("cropPatches", canvas.shape, corners, n);
  const backend = commonBackend("cropPatches", [canvas, corners]);
  const storage = backend.cropPatches(canvas.storage, corners.storage, g);
  return record("cropPatches", [canvas, corners], backend, storage, patchShape(g), (gy, needs) => [
    needs[0] ? scatterAddPatches(gy, corners, g.h, g.w) : null,
    null,
  ]);
}

/**
 * The adjoint of {@link cropPatches}: windows [B, n, n] or [B, n, n, 2] summed onto a zero
 * h × w canvas at ⌊corners⌋ (parts outside dropped). Deterministic: every canvas pixel sums the
 * windows that cover it in batch order. Gradient w.r.t. the windows: {@link cropPatches}.
 */
export function scatterAddPatches(patches: Tensor, corners: Tensor, h: number, w: number): Tensor {
  const complexPatches = patches.rank === 4 && patches.shape[3] === 2;
  if (!(patches.rank === 3 || complexPatches) || patches.shape[1] !== patches.shape[2]) {
    throw new Error(
      `scatterAddPatches: expected [B, n, n] or [B, n, n, 2], got [${patches.shape}]`,
    );
  }
  const canvasShape = complexPatches ? [h, w, 2] : [h, w];
  const g = geometry("scatterAddPatches", canvasShape, corners, patches.shape[1]);
  if (patches.shape[0] !== g.batch) {
    throw new Error(`scatterAddPatches: ${patches.shape[0]} windows but ${g.batch} corners`);
  }
  const backend = commonBackend("scatterAddPatches", [patches, corners]);
  const storage = backend.scatterAddPatches(patches.storage, corners.storage, g);
  return record(
    "scatterAddPatches",
    [patches, corners],
    backend,
    storage,
    canvasShape,
    (gy, needs) => [needs[0] ? cropPatches(gy, corners, g.n) : null, null],
  );
}
