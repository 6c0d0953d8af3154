/**
 * Training losses (docs/physics.md#losses): Poisson negative log-likelihood of the measured counts
 * under the predicted intensity, and the amplitude MAE.
 *
 * Conventions: `intensity` is the unscaled far-field intensity |F(P·O')|² and `scale` the
 * trainable photon scale s (a one-element tensor), so the predicted rate is λ = s²·intensity;
 * `counts` are the targets k = (s0·X)².
 */
import {
  abs,
  add,
  clamp,
  detach,
  mean,
  mul,
  noGrad,
  poissonNllTerms,
  poissonTerms,
  reshape,
  sqrt,
  square,
  sub,
  type Tensor,
} from "../engine/mod.ts";

/** Smallest predicted rate used inside the logarithm (docs/physics.md#losses). */
export const RATE_FLOOR = 1e-8;

/** Which loss trains the model. */
export type LossKind = "poisson" | "mae";

/** s as a tensor that broadcasts against [B, C, N, N]. */
function scaleLike(scale: Tensor, like: Tensor): Tensor {
  return reshape(scale, new Array(like.rank).fill(1));
}

/** Predicted rate λ = s²·intensity, clamped ≥ 1e−8. */
export function predictedRate(intensity: Tensor, scale: Tensor): Tensor {
  return clamp(mul(intensity, square(scaleLike(scale, intensity))), RATE_FLOOR);
}

/**
 * Poisson NLL averaged over every element: mean(λ − k·ln λ), λ = max(s²·intensity, 1e−8).
 * The constant ln Γ(k+1) is left out (it has no gradient); see {@link poissonNllReported}.
 */
export function poissonNll(intensity: Tensor, scale: Tensor, counts: Tensor): Tensor {
  const s2 = square(scaleLike(scale, intensity));
  return mean(poissonTerms(intensity, s2, counts, RATE_FLOOR).terms);
}

/**
 * The full Poisson NLL mean(λ − k ln λ + ln Γ(k+1)), for reported values (no gradient needed).
 * Each element is evaluated as (λ − k − k·ln(λ/k)) + (ln Γ(k+1) − k ln k + k), the second part
 * by Stirling's series for k > 10 (error < 1e−8), so the two ~k·ln k terms never cancel in f32:
 * with 1e9 photons a pattern's central pixel holds ~1e8 counts, where the direct sum loses every
 * digit. One fused kernel (engine/ops/poisson.ts).
 */
export function poissonNllReported(intensity: Tensor, scale: Tensor, counts: Tensor): Tensor {
  return mean(poissonNllTerms(predictedRate(intensity, scale), counts));
}

/**
 * Amplitude MAE: mean |s·Â − √k| with Â = √intensity. A tiny floor inside the root keeps the
 * gradient finite where the predicted intensity is exactly zero.
 */
export function amplitudeMae(intensity: Tensor, scale: Tensor, counts: Tensor): Tensor {
  const amplitude = sqrt(add(intensity, 1e-20));
  return mean(abs(sub(mul(amplitude, scaleLike(scale, intensity)), sqrt(counts))));
}

/**
 * The training loss of `kind` (mean over elements) and its reported value: for Poisson
 * {@link poissonNllReported}, from the same predicted rate (computed once), for MAE the loss.
 */
export function trainingLoss(
  kind: LossKind,
  intensity: Tensor,
  scale: Tensor,
  counts: Tensor,
): { loss: Tensor; reported: Tensor } {
  if (kind === "mae") {
    const loss = amplitudeMae(intensity, scale, counts);
    return { loss, reported: detach(loss) };
  }
  return poissonTrainingLoss(intensity, square(scaleLike(scale, intensity)), counts);
}

/**
 * The Poisson training loss and its reported value (as {@link trainingLoss}) from the rate
 * factor s2 = s² (one element) instead of s: one kernel for the terms, one for the reported NLL.
 */
export function poissonTrainingLoss(
  intensity: Tensor,
  s2: Tensor,
  counts: Tensor,
): { loss: Tensor; reported: Tensor } {
  const { terms, nll } = poissonTerms(intensity, s2, counts, RATE_FLOOR);
  return { loss: mean(terms), reported: noGrad(() => mean(nll)) };
}
