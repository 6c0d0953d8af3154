/**
 * The merge of a group's patches onto one canvas and the re-extraction times the probe
 * (model/physics.ts), fused: the merge weights, the weighted merge and the illuminated windows.
 */
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

/** Members, patch side and canvas side of a merge or extraction, checked against the shapes. */
function overlapGeometry(
  op: string,
  shift: Tensor,
  batch: number,
  c: number,
  n: number,
  m: number,
) {
  if (shift.size !== 2 * batch * c) {
    throw new Error(`${op}: shifts [${shift.shape}] for ${batch}·${c} members`);
  }
  if (m < n) throw new Error(`${op}: canvas side ${m} is below the patch side ${n}`);
  return { batch, c, n, m };
}

/** Throws where a gradient is asked of an input other than the first (the fused ops give none). */
function onlyFirst(op: string, needs: readonly boolean[]): void {
  if (needs.slice(1).some((x) => x)) {
    throw new Error(`${op}: gradients only w.r.t. its first input`);
  }
}

/**
 * The weighted merge of model/physics.ts `mergePatches` in one kernel: patches [B, C, n, n, 2],
 * each padded centrally to m × m and translated by its shift (B·C, 2) as {@link translate}
 * does, times its mask (masks [B·C, m, m] from {@link mergeWeights}), summed over the group and
 * times the group's inverse weight (inverse [B, m, m]) → canvas [B, m, m, 2]. Differentiable in
 * the patches (one kernel); CPU results equal the op chain's bit for bit.
 */
export function mergeCanvas(
  patches: Tensor,
  shift: Tensor,
  masks: Tensor,
  inverse: Tensor,
): Tensor {
  const [batch, c, n] = patches.shape;
  const m = inverse.shape[1];
  if (patches.rank !== 5 || patches.shape[4] !== 2 || masks.size !== batch * c * m * m) {
    throw new Error(`mergeCanvas: patches [${patches.shape}], masks [${masks.shape}]`);
  }
  const g = overlapGeometry("mergeCanvas", shift, batch, c, n, m);
  const inputs = [patches, shift, masks, inverse];
  const backend = commonBackend("mergeCanvas", inputs);
  const st = inputs.map((t) => t.storage);
  const out = backend.mergeCanvas(st[0], st[1], st[2], st[3], g);
  return record("mergeCanvas", inputs, backend, out, [batch, m, m, 2], (gy, needs) => {
    onlyFirst("mergeCanvas", needs);
    const d = backend.mergeCanvasAdjoint(gy.storage, st[1], st[2], st[3], g);
    return [
      record("mergeCanvasAdjoint", [gy], backend, d, patches.shape, () => {
        throw new Error("mergeCanvasAdjoint: second-order gradients are not supported");
      }),
    ];
  });
}

/**
 * Re-extraction times the probe in one kernel (model/physics.ts): each member's window of its
 * group's canvas [B, m, m, 2], translated by its shift (B·C, 2) as {@link translate} does and
 * cropped to the central n × n, times probe [n, n, 2] → exit waves [B, C, n, n, 2].
 * Differentiable in the canvas (one kernel); CPU results equal the op chain's bit for bit.
 */
export function extractIlluminate(canvas: Tensor, shift: Tensor, probe: Tensor, c: number): Tensor {
  const [batch, m] = canvas.shape, n = probe.shape[0];
  if (canvas.rank !== 4 || canvas.shape[3] !== 2 || probe.shape.join() !== `${n},${n},2`) {
    throw new Error(`extractIlluminate: canvas [${canvas.shape}], probe [${probe.shape}]`);
  }
  const g = overlapGeometry("extractIlluminate", shift, batch, c, n, m);
  const inputs = [canvas, shift, probe];
  const backend = commonBackend("extractIlluminate", inputs);
  const out = backend.extractIlluminate(canvas.storage, shift.storage, probe.storage, g);
  return record("extractIlluminate", inputs, backend, out, [batch, c, n, n, 2], (gy, needs) => {
    onlyFirst("extractIlluminate", needs);
    const d = backend.extractIlluminateAdjoint(gy.storage, shift.storage, probe.storage, g);
    return [
      record("extractIlluminateAdjoint", [gy], backend, d, canvas.shape, () => {
        throw new Error("extractIlluminateAdjoint: second-order gradients are not supported");
      }),
    ];
  });
}
