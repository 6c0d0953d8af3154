/** The photon scale's factors from its logarithm (model/pinn.ts), fused. */
import { commonBackend, record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";

/**
 * For the one-element log_scale ℓ and the initial scale s0, with s = e^ℓ: the network input's
 * factor s0/s and the predicted rate's factor s², both shape [1], in one kernel; each one's
 * gradient w.r.t. ℓ is one kernel too. CPU results equal the op chain exp → pow(·, −1)·s0 and
 * exp → square (and its autograd) bit for bit.
 */
export function photonScale(logScale: Tensor, s0: number): { input: Tensor; rate: Tensor } {
  if (logScale.size !== 1) throw new Error(`photonScale: log_scale [${logScale.shape}]`);
  const backend = commonBackend("photonScale", [logScale]);
  const out = backend.photonScale(logScale.storage, s0);
  const factor = (storage: typeof out.input, rate: boolean) =>
    record("photonScale", [logScale], backend, storage, [1], (g) => [
      record(
        "photonScaleGrad",
        [g],
        backend,
        backend.photonScaleGrad(g.storage, logScale.storage, s0, rate),
        logScale.shape,
        () => {
          throw new Error("photonScaleGrad: second-order gradients are not supported");
        },
      ),
    ]);
  return { input: factor(out.input, false), rate: factor(out.rate, true) };
}
