/** The full Poisson negative log-likelihood per element, fused (forward only, for reporting). */
import { commonBackend, record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";

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
