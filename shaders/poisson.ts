/**
 * The full Poisson negative log-likelihood per element, λ − k ln λ + ln Γ(k+1), as the reported
 * training loss evaluates it (model/losses.ts `poissonNllReported`): in one kernel the chain
 * of about thirty elementwise ops it was built from, the same f32 operations in the same order,
 * so the GPU value matches the op-by-op one up to rounding in `exp2`/`log2`.
 */
import { gridMain, type Kernel, kernel, readBuf, UNIFORM_P, writeBuf } from "./common.ts";
import { UNARY_HELPERS } from "./elementwise.ts";

/** An f32 constant as a WGSL literal that parses to the same f32 as `Math.fround(x)`. */
function f32(x: number): string {
  const text = Math.fround(x).toPrecision(9);
  return text.includes("e") || text.includes(".") ? text : `${text}.0`;
}

/**
 * y[i] = (λ − k − k·ln(λ/k⁺)) + ln Γ(k+1) − k ln k⁺ + k (k ≤ 10), or, for k > 10, Stirling's
 * ½ln(2πk⁺) + 1/(12k⁺) − 1/(360k⁺³) for the last three terms; k⁺ = max(k, 1e−8), λ = rate[i],
 * k = counts[i]. Uniforms (n, inf), `inf` = +∞ from the host (see `pow_real`).
 */
export function poissonNllKernel(): Kernel {
  return kernel("poisson.nll", () => {
    return `struct P { n: u32, inf: f32 }
${UNIFORM_P}${readBuf(1, "rate")}${readBuf(2, "counts")}${writeBuf(3, "y")}${UNARY_HELPERS}
${gridMain("p.n", `  let lam = rate[i];\n${nllBody("y[i]")}`)}`;
  });
}

/** WGSL lines that store the full NLL of rate `lam` and counts counts[i] into `out`. */
function nllBody(out: string): string {
  return `  let k = counts[i];
  let kPos = max(k, ${f32(1e-8)});
  let deviance = (lam - k) - k * log(lam / kPos);
  let exact = (lgamma_pos(k + 1.0) - k * log(kPos)) + k;
  let a = log(${f32(2 * Math.PI)} * kPos) * 0.5;
  let b = ${f32(1 / 12)} * pow_real(kPos, -1.0) - ${
    f32(1 / 360)
  } * pow_real(pow_real(kPos, 3.0), -1.0);
  let stirling = a + b;
  let large = select(0.0, 1.0, k - 10.0 > 0.0);
  ${out} = deviance + (((-1.0) * large + 1.0) * exact + large * stirling);`;
}

/**
 * The training loss's terms λ − k ln λ per element, λ = max(I·s², floor), written with the full
 * NLL of λ (the reported value, as {@link poissonNllKernel}); uniforms (n, floor, inf); s² is
 * one value (binding 2).
 */
export function poissonTermsKernel(): Kernel {
  return kernel("poisson.terms", () => {
    return `struct P { n: u32, floor: f32, inf: f32 }
${UNIFORM_P}${readBuf(1, "intensity")}${readBuf(2, "s2")}${readBuf(3, "counts")}${
      writeBuf(4, "y")
    }${writeBuf(5, "nll")}${UNARY_HELPERS}
${
      gridMain(
        "p.n",
        `  let lam = max(intensity[i] * s2[0], p.floor);
  y[i] = lam - counts[i] * log(lam);
${nllBody("nll[i]")}`,
      )
    }`;
  });
}

/**
 * Gradient of the terms for incoming g: with d = (g + (−g·k)/λ)·[I·s² ≥ floor] (the op chain's
 * order), dI = d·s² and the per-element part d·I of the s² gradient; uniforms (n, floor).
 */
export function poissonTermsGradKernel(): Kernel {
  return kernel("poisson.terms.grad", () => {
    return `struct P { n: u32, floor: f32 }
${UNIFORM_P}${readBuf(1, "g")}${readBuf(2, "intensity")}${readBuf(3, "s2")}${readBuf(4, "counts")}${
      writeBuf(5, "dI")
    }${writeBuf(6, "dS")}
${
      gridMain(
        "p.n",
        `  let u = g[i];
  let x = intensity[i];
  let prod = x * s2[0];
  let lam = max(prod, p.floor);
  let dRate = u + (-u * counts[i]) / lam;
  let d = dRate * select(0.0, 1.0, prod >= p.floor);
  dI[i] = d * s2[0];
  dS[i] = d * x;`,
      )
    }`;
  });
}

/** Photon counts y[i] = (a·x[i] + 0)², as the affine then square kernels; uniforms (n, a). */
export function photonCountsKernel(): Kernel {
  return kernel("poisson.counts", () => {
    return `struct P { n: u32, a: f32 }
${UNIFORM_P}${readBuf(1, "x")}${writeBuf(2, "y")}
${gridMain("p.n", "  let v = p.a * x[i] + 0.0;\n  y[i] = v * v;")}`;
  });
}
