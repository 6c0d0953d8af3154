/**
 * The forward model of iterative reconstruction on the engine, differentiable in the object canvas,
 * the probe and the sub-pixel shifts (docs/refine.md#forward-model): ψ_j = P(r − f_j) · O_j (probe
 * shifted by a Fourier phase ramp, object window at integer corners), far field Ψ_j =
 * FFT2_ortho(ψ_j) against the measured amplitudes. model/physics.ts applies fftshift to put the
 * zero frequency at (N/2, N/2) as the data has it; here the measured patterns are ifftshifted once
 * instead ({@link unshiftPatterns}), which saves two passes per batch.
 */
import {
  add,
  cmul,
  cropPatches,
  fft2,
  ifft2,
  ifftshift,
  mul,
  ones,
  polar,
  reshape,
  slice,
  sum,
  type Tensor,
  tensor,
} from "../../engine/mod.ts";

/** The loss minimised: Gaussian on amplitudes, or Poisson on counts (docs/refine.md#losses). */
export type RefineLoss = "poisson" | "amplitude";

/** Spatial frequencies (cycles per pixel, FFT order) as broadcastable tensors. */
export interface FrequencyGrid {
  /** Column frequencies [1, 1, N]. */
  kx: Tensor;
  /** Row frequencies [1, N, 1]. */
  ky: Tensor;
}

/**
 * The Fourier phase ramps e^{−2πi k·f_j} of shifts [B, 2] = (fx, fy) on an N × N grid:
 * [B, N, N, 2]. Fixed while the positions are, so a caller may keep them.
 */
export function phaseRamps(shifts: Tensor, grid: FrequencyGrid, n: number): Tensor {
  const b = shifts.shape[0];
  const fx = reshape(slice(shifts, [0, 0], [b, 1]), [b, 1, 1]);
  const fy = reshape(slice(shifts, [0, 1], [b, 1]), [b, 1, 1]);
  const phase = mul(add(mul(fx, grid.kx), mul(fy, grid.ky)), -2 * Math.PI);
  return polar(ones([b, n, n], shifts.backend), phase);
}

/** The probe [N, N, 2] shifted by the {@link phaseRamps} `ramps`: F⁻¹[F(P) · ramp_j]. */
export function shiftProbe(probe: Tensor, ramps: Tensor): Tensor {
  return ifft2(cmul(ramps, fft2(probe)));
}

/**
 * Probes shifted by their positions' sub-pixel parts: probe [N, N, 2], shifts [B, 2] = (fx, fy)
 * → [B, N, N, 2], P_j(r) = P(r − f_j) = F⁻¹[F(P) · e^{−2πi k·f_j}]. Differentiable in both.
 */
export function shiftedProbes(probe: Tensor, shifts: Tensor, grid: FrequencyGrid): Tensor {
  return shiftProbe(probe, phaseRamps(shifts, grid, probe.shape[0]));
}

/** What one batch's forward pass produced. */
export interface BatchForward {
  /** Object windows [B, N, N, 2]. */
  patches: Tensor;
  /** Shifted probes [B, N, N, 2]. */
  probes: Tensor;
  /** Far fields Ψ = FFT2_ortho(ψ) [B, N, N, 2], zero frequency at (0, 0). */
  farField: Tensor;
}

/** Far fields of the windows at `corners` [B, 2] with sub-pixel `shifts` [B, 2]. */
export function forwardBatch(
  object: Tensor,
  probe: Tensor,
  corners: Tensor,
  shifts: Tensor,
  grid: FrequencyGrid,
): BatchForward {
  return forwardWithProbes(object, shiftedProbes(probe, shifts, grid), corners);
}

/** As {@link forwardBatch}, with the shifted probes [B, N, N, 2] given. */
export function forwardWithProbes(object: Tensor, probes: Tensor, corners: Tensor): BatchForward {
  const patches = cropPatches(object, corners, probes.shape[1]);
  return { patches, probes, farField: fft2(cmul(patches, probes)) };
}

/**
 * The two residual sums of a batch, [Σ(√(λ+εa) − A)², Σ(λ − I − I·ln((λ+εp)/r))] with λ = |Ψ|²,
 * I = A², r = max(I, 1), from its per-pixel `residuals` [B, N, N, 2] =
 * farFieldResiduals(Ψ, A, ε) (engine/ops/farfield.ts: one fused kernel per pass). The first is
 * the amplitude (Gaussian) loss and, with a negligible εa, the R-factor's numerator Σ(|Ψ| − A)²;
 * the second the Poisson loss up to a constant, written so that every term is small near the
 * solution (no f32 cancellation between large λ and I·ln λ). Plus {@link poissonNllConstant} it
 * is the Poisson negative log-likelihood Σ(λ − I·ln λ + ln Γ(I+1)).
 */
export function residualSums(residuals: Tensor): Tensor {
  return sum(reshape(residuals, [-1, 2]), 0);
}

/**
 * The seed of backward() from the per-pixel residuals [B, N, N, 2] that makes it the gradient of
 * one loss (plane 0: amplitude, 1: Poisson) without materialising the gradient of a sum.
 */
export function lossSeed(batch: number, n: number, loss: RefineLoss): Tensor {
  const plane = loss === "amplitude" ? 0 : 1;
  return tensor(
    Float32Array.from({ length: batch * n * n * 2 }, (_, i) => (i % 2 === plane ? 1 : 0)),
    [
      batch,
      n,
      n,
      2,
    ],
  );
}

/** ln Γ(x) for x > 0 in f64 (Stirling series after shifting x above 8). */
function lnGamma(x: number): number {
  let shift = 0;
  while (x < 8) {
    shift -= Math.log(x);
    x += 1;
  }
  const inv = 1 / x, inv2 = inv * inv;
  const series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)));
  return shift + (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + series;
}

/**
 * Σ(I − I·ln r + ln Γ(I+1)), r = max(I, 1), over all measured counts I = A² (rounded to f32 as
 * on the device), in f64: what {@link poissonResidual} leaves out of the negative log-likelihood.
 */
export function poissonNllConstant(amplitude: Float32Array): number {
  let total = 0;
  for (const a of amplitude) {
    const c = Math.fround(a * a);
    total += c - c * Math.log(Math.max(c, 1)) + lnGamma(c + 1);
  }
  return total;
}

/**
 * Measured amplitudes (M, N, N) with the zero frequency at (N/2, N/2), as one [M·N, N] tensor
 * with it moved to (0, 0): pattern j is the window at row j·N (cut with cropPatches).
 */
export function unshiftPatterns(amplitude: Float32Array, m: number, n: number): Tensor {
  return reshape(ifftshift(tensor(amplitude, [m, n, n]), false), [m * n, n]);
}
