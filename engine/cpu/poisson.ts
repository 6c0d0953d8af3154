/**
 * The full Poisson NLL per element (engine/ops/poisson.ts), composed of the reference's own
 * elementwise kernels in the order model/losses.ts once applied them op by op, so the CPU
 * backend's reported losses are bit-for-bit those of the unfused chain.
 */
import { binary, unary } from "./elementwise.ts";

/** λ − k ln λ + ln Γ(k+1) per element (Stirling's series for the Γ part above k = 10). */
export function poissonNll(rate: Float32Array, counts: Float32Array): Float32Array {
  const shape = [rate.length];
  const op = (a: Float32Array, o: "add" | "sub" | "mul" | "div", b: Float32Array) =>
    binary(a, shape, b, shape, shape, o);
  const k = counts, kPos = unary(k, "clamp", 1e-8, Infinity);
  const deviance = op(
    op(rate, "sub", k),
    "sub",
    op(k, "mul", unary(op(rate, "div", kPos), "log", 0, 0)),
  );
  const lgammaK1 = unary(unary(k, "affine", 1, 1), "lgamma", 0, 0);
  const exact = op(op(lgammaK1, "sub", op(k, "mul", unary(kPos, "log", 0, 0))), "add", k);
  const half = unary(unary(unary(kPos, "affine", 2 * Math.PI, 0), "log", 0, 0), "affine", 0.5, 0);
  const twelfth = unary(unary(kPos, "pow", -1, 0), "affine", 1 / 12, 0);
  const cube = unary(unary(unary(kPos, "pow", 3, 0), "pow", -1, 0), "affine", 1 / 360, 0);
  const stirling = op(half, "add", op(twelfth, "sub", cube));
  const large = unary(unary(k, "affine", 1, -10), "step", 0, 0);
  const remainder = op(
    op(unary(large, "affine", -1, 1), "mul", exact),
    "add",
    op(large, "mul", stirling),
  );
  return op(deviance, "add", remainder);
}

const f32 = Math.fround;

/**
 * The training loss's terms λ − k ln λ, λ = max(I·s², floor), and λ, rounded step by step as the
 * op chain (product, clamp, log, product, difference).
 */
export function poissonTerms(
  intensity: Float32Array,
  s2: number,
  counts: Float32Array,
  floor: number,
): { terms: Float32Array; nll: Float32Array } {
  const n = intensity.length, terms = new Float32Array(n), rate = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const lam = f32(Math.max(f32(intensity[i] * s2), floor));
    rate[i] = lam;
    terms[i] = lam - f32(counts[i] * f32(Math.log(lam)));
  }
  return { terms, nll: poissonNll(rate, counts) };
}

/**
 * Gradient of {@link poissonTerms} for incoming g, in the autograd chain's order: d = (g +
 * ((−g)·k)/λ)·[I·s² ≥ floor]; returns d·s² and the per-element part d·I of the s² gradient.
 */
export function poissonTermsGrad(
  g: Float32Array,
  intensity: Float32Array,
  s2: number,
  counts: Float32Array,
  floor: number,
): { intensity: Float32Array; scale: Float32Array } {
  const n = g.length, dI = new Float32Array(n), dS = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const prod = f32(intensity[i] * s2);
    const lam = f32(Math.max(prod, floor));
    const dRate = f32(g[i] + f32(f32(-g[i] * counts[i]) / lam));
    const d = f32(dRate * (prod >= floor ? 1 : 0));
    dI[i] = d * s2;
    dS[i] = d * intensity[i];
  }
  return { intensity: dI, scale: dS };
}
