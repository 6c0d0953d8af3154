/** Per-pixel far-field residuals against measured amplitudes, and their gradient (CPU, f64). */
import type { FarFieldEps } from "../backend.ts";

/**
 * out[2k] = (√(λ+εa) − A)², out[2k+1] = λ − I − I·ln((λ+εp)/max(I, 1)), with λ = |Ψ_k|² from
 * psi (size, 2) and I = A² from amplitude (size), I rounded to f32 as the device holds it.
 */
export function farFieldResiduals(
  psi: Float32Array,
  amplitude: Float32Array,
  eps: FarFieldEps,
): Float32Array {
  const out = new Float32Array(psi.length);
  for (let k = 0; k < amplitude.length; k++) {
    const re = psi[2 * k], im = psi[2 * k + 1], a = amplitude[k];
    const lambda = re * re + im * im, counts = Math.fround(a * a);
    out[2 * k] = (Math.sqrt(lambda + eps.amplitude) - a) ** 2;
    out[2 * k + 1] = lambda - counts -
      counts * Math.log((lambda + eps.poisson) / Math.max(counts, 1));
  }
  return out;
}

/**
 * The gradient w.r.t. psi of Σ gy·{@link farFieldResiduals}: for each pixel
 * 2Ψ·[gy₀(1 − A/√(λ+εa)) + gy₁(1 − I/(λ+εp))], as (size, 2).
 */
export function farFieldResidualsGrad(
  psi: Float32Array,
  amplitude: Float32Array,
  gy: Float32Array,
  eps: FarFieldEps,
): Float32Array {
  const out = new Float32Array(psi.length);
  for (let k = 0; k < amplitude.length; k++) {
    const re = psi[2 * k], im = psi[2 * k + 1], a = amplitude[k];
    const lambda = re * re + im * im, counts = Math.fround(a * a);
    const f = 2 * (gy[2 * k] * (1 - a / Math.sqrt(lambda + eps.amplitude)) +
      gy[2 * k + 1] * (1 - counts / (lambda + eps.poisson)));
    out[2 * k] = f * re;
    out[2 * k + 1] = f * im;
  }
  return out;
}
