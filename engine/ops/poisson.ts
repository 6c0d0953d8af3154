/** The Poisson negative log-likelihood per element: training terms and the reported full NLL, fused. */
import { commonBackend, record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { sumTo } from "./broadcast.ts";

/**
 * λ − k ln λ + ln Γ(k+1) per element of `rate` λ (> 0) and `counts` k (≥ 0), same shapes, as
 * model/losses.ts `poissonNllReported` defines it (deviance plus Stirling's series for the Γ
 * part above k = 10, so the ~k ln k terms never cancel in f32); one kernel. No gradient.
 */
export function poissonNllTerms(rate: Tensor, counts: Tensor): Tensor {
  if (rate.shape.join() !== counts.shape.join()) {
    throw new Error(`poissonNllTerms: shapes [${rate.shape}] and [${counts.shape}] differ`);
  }
  const backend = commonBackend("poissonNllTerms", [rate, counts]);
  const storage = backend.poissonNll(rate.storage, counts.storage);
  return record("poissonNllTerms", [rate, counts], backend, storage, rate.shape, () => {
    throw new Error("poissonNllTerms has no gradient (reported values only)");
  });
}

/**
 * The Poisson training loss's terms λ − k ln λ per element, λ = max(intensity·s2, floor), with s2
 * one value (s² of the photon scale, any shape of size 1), and the full NLL of λ per element
 * (detached, the reported loss, as {@link poissonNllTerms}). One kernel, and one for the gradient w.r.t. intensity and s2 (counts are
 * targets); CPU results equal the op chain clamp(I·s2) → λ − k·ln λ bit for bit.
 */
export function poissonTerms(
  intensity: Tensor,
  s2: Tensor,
  counts: Tensor,
  floor: number,
): { terms: Tensor; nll: Tensor } {
  if (intensity.shape.join() !== counts.shape.join() || s2.size !== 1) {
    throw new Error(
      `poissonTerms: intensity [${intensity.shape}], s² [${s2.shape}], counts [${counts.shape}]`,
    );
  }
  const backend = commonBackend("poissonTerms", [intensity, s2, counts]);
  const out = backend.poissonTerms(intensity.storage, s2.storage, counts.storage, floor);
  const second = () => {
    throw new Error("poissonTermsGrad: second-order gradients are not supported");
  };
  const terms = record(
    "poissonTerms",
    [intensity, s2, counts],
    backend,
    out.terms,
    intensity.shape,
    (
      g,
      needs,
    ) => {
      if (needs[2]) throw new Error("poissonTerms: no gradient w.r.t. the counts");
      const d = backend.poissonTermsGrad(
        g.storage,
        intensity.storage,
        s2.storage,
        counts.storage,
        floor,
      );
      const dI = record("poissonTermsGrad", [g], backend, d.intensity, intensity.shape, second);
      const dS = record("poissonTermsGrad", [g], backend, d.scale, intensity.shape, second);
      return [needs[0] ? dI : (dI.dispose(), null), needs[1] ? sumTo(dS, s2.shape) : null];
    },
  );
  return { terms, nll: record("poissonNllTerms", [], backend, out.nll, intensity.shape, null) };
}

/**
 * Photon counts (s0·x)² per element of the normalised amplitudes x: the Poisson targets (model/
 * pinn.ts), one kernel; CPU results equal square(mul(x, s0)) bit for bit. No gradient (targets).
 */
export function photonCounts(x: Tensor, s0: number): Tensor {
  const backend = commonBackend("photonCounts", [x]);
  return record("photonCounts", [x], backend, backend.photonCounts(x.storage, s0), x.shape, () => {
    throw new Error("photonCounts has no gradient (targets)");
  });
}
