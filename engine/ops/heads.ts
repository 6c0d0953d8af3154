/** The decoder heads' epilogue of model/network.ts, fused: activations, padding, mask, polar. */
import { commonBackend, record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";

/**
 * The complex object from the two decoder heads' pre-activation outputs: amplitude
 * a = pad(sigmoid(ampCentral)) + silu(ampBorder)·mask, phase φ = pad(π·tanh(phaseCentral)) +
 * silu(phaseBorder)·mask, object a·e^{iφ} [B, C, N, N, 2]; centrals [B, C, S, S] padded centrally
 * to N × N (N − S even), borders [B, C, N, N], mask 1 outside the central window. One kernel, and
 * one per head for the gradient; CPU results equal the op chain's bit for bit.
 */
export function objectFromHeads(
  ampCentral: Tensor,
  ampBorder: Tensor,
  phaseCentral: Tensor,
  phaseBorder: Tensor,
): Tensor {
  const [b, c, n] = ampBorder.shape, side = ampCentral.shape[2];
  const centralShape = `${b},${c},${side},${side}`, borderShape = `${b},${c},${n},${n}`;
  const shapes = [ampCentral, ampBorder, phaseCentral, phaseBorder].map((t) => t.shape.join());
  if (
    shapes.join(";") !== [centralShape, borderShape, centralShape, borderShape].join(";") ||
    side > n || (n - side) % 2 !== 0
  ) {
    throw new Error(`objectFromHeads: shapes [${shapes.join("], [")}]`);
  }
  const g = { planes: b * c, n, side };
  const inputs = [ampCentral, ampBorder, phaseCentral, phaseBorder];
  const backend = commonBackend("objectFromHeads", inputs);
  const storages = [
    ampCentral.storage,
    ampBorder.storage,
    phaseCentral.storage,
    phaseBorder.storage,
  ] as const;
  const out = backend.objectFromHeads(...storages, g);
  return record("objectFromHeads", inputs, backend, out, [b, c, n, n, 2], (gy, needs) => {
    const second = () => {
      throw new Error("objectFromHeadsGrad: second-order gradients are not supported");
    };
    const grads: (Tensor | null)[] = [];
    for (const phase of [false, true]) {
      const at = phase ? 2 : 0;
      if (!needs[at] && !needs[at + 1]) {
        grads.push(null, null);
        continue;
      }
      const d = backend.objectFromHeadsGrad(gy.storage, storages, g, phase);
      [d.central, d.border].forEach((s, k) => {
        if (needs[at + k]) {
          grads.push(record("objectFromHeadsGrad", [gy], backend, s, inputs[at + k].shape, second));
        } else {
          backend.release(s);
          grads.push(null);
        }
      });
    }
    return grads;
  });
}
