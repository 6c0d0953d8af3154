/** The weights of merging a group's patches onto one canvas (model/physics.ts), fused. */
import { commonBackend, record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";

/**
 * For shifts (batch·c, 2) = (tx, ty): each member's window mask (1 on rows and columns
 * [lo, lo + side) of an m × m canvas) translated by its shift as {@link translate} does,
 * masks (batch·c, m, m), and per group the inverse of the masks' sum where the sum exceeds
 * `floor` (0 elsewhere), inverse (batch, m, m). One kernel; no gradient (the weights depend on
 * the offsets only).
 */
export function mergeWeights(
  shift: Tensor,
  batch: number,
  c: number,
  m: number,
  side: number,
  floor: number,
): { masks: Tensor; inverse: Tensor } {
  if (shift.size !== 2 * batch * c) {
    throw new Error(`mergeWeights: shifts [${shift.shape}] for ${batch}·${c} members`);
  }
  const backend = commonBackend("mergeWeights", [shift]);
  const lo = (m - side) >> 1;
  const out = backend.mergeWeights(shift.storage, { batch, c, m, lo, side, floor });
  const none = () => {
    throw new Error("mergeWeights has no gradient");
  };
  return {
    masks: record("mergeWeights", [shift], backend, out.masks, [batch * c, m, m], none),
    inverse: record("mergeWeights", [shift], backend, out.inverse, [batch, m, m], none),
  };
}
