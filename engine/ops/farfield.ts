/**
 * Far-field residuals of iterative ptychographic reconstruction (docs/refine.md#losses), fused
 * into one kernel with one for its gradient: the amplitude (Gaussian) and Poisson terms of every
 * pixel from the complex far field Ψ and the measured amplitudes A.
 */
import { commonBackend, record } from "../autograd.ts";
import type { FarFieldEps } from "../backend.ts";
import type { Tensor } from "../tensor.ts";

function secondOrder(): never {
  throw new Error("farFieldResidualsGrad: second-order gradients are not supported");
}

/**
 * Per pixel, with λ = |Ψ|² and I = A²: [..., 0] = (√(λ+εa) − A)² (the amplitude loss; with a
 * negligible εa the R-factor's numerator) and [..., 1] = λ − I − I·ln((λ+εp)/max(I, 1)) (the
 * Poisson loss up to a constant, small near the solution). psi [..., 2], amplitude [...] → [...,
 * 2]. ε keeps √'s gradient finite at λ = 0 and the logarithm defined. Differentiable in psi only:
 * ∂/∂Ψ = 2Ψ·[gy₀(1 − A/√(λ+εa)) + gy₁(1 − I/(λ+εp))].
 */
export function farFieldResiduals(psi: Tensor, amplitude: Tensor, eps: FarFieldEps): Tensor {
  const ok = psi.rank === amplitude.rank + 1 && psi.shape[psi.rank - 1] === 2 &&
    amplitude.shape.every((d, i) => d === psi.shape[i]);
  if (!ok) {
    throw new Error(
      `farFieldResiduals: expected psi [..., 2] and amplitude [...], got [${psi.shape}] and [${amplitude.shape}]`,
    );
  }
  const backend = commonBackend("farFieldResiduals", [psi, amplitude]);
  const storage = backend.farFieldResiduals(psi.storage, amplitude.storage, eps);
  return record("farFieldResiduals", [psi, amplitude], backend, storage, psi.shape, (gy, needs) => {
    if (needs[1]) throw new Error("farFieldResiduals: no gradient w.r.t. the measured amplitude");
    const s = backend.farFieldResidualsGrad(psi.storage, amplitude.storage, gy.storage, eps);
    return [
      record("farFieldResidualsGrad", [psi, gy], backend, s, psi.shape, secondOrder),
      null,
    ];
  });
}
