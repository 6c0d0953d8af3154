/**
 * Per-pixel far-field residuals of iterative reconstruction in one pass (instead of a chain of
 * elementwise kernels): for Ψ (vec2f) and the measured amplitude A, λ = |Ψ|², I = A²,
 * (√(λ+εa) − A)² and λ − I − I·ln((λ+εp)/max(I, 1)) as one vec2f per pixel; and the gradient
 * w.r.t. Ψ of Σ gy·residuals. Uniforms (n, εa, εp, pad).
 */
import { gridMain, type Kernel, kernel, readBuf, UNIFORM_P, writeBuf } from "./common.ts";

const HEAD = `struct P { n: u32, epsA: f32, epsP: f32, pad: u32 }
${UNIFORM_P}${readBuf(1, "psi", "vec2f")}${readBuf(2, "amp")}`;

const PIXEL = `  let z = psi[i];
  let a = amp[i];
  let lambda = dot(z, z);
  let counts = a * a;`;

/** Residuals: y (n, 2) from psi (n, 2) and amp (n). */
export function farFieldResidualsKernel(): Kernel {
  return kernel("farfield.residuals", () =>
    `${HEAD}${writeBuf(3, "y", "vec2f")}
${
      gridMain(
        "p.n",
        `${PIXEL}
  let d = sqrt(lambda + p.epsA) - a;
  let poisson = lambda - counts - counts * log((lambda + p.epsP) / max(counts, 1.0));
  y[i] = vec2f(d * d, poisson);`,
      )
    }`);
}

/** Gradient: dpsi (n, 2) from psi (n, 2), amp (n) and the upstream gy (n, 2). */
export function farFieldResidualsGradKernel(): Kernel {
  return kernel(
    "farfield.residualsGrad",
    () =>
      `${HEAD}${readBuf(3, "gy", "vec2f")}${writeBuf(4, "dpsi", "vec2f")}
${
        gridMain(
          "p.n",
          `${PIXEL}
  let g = gy[i];
  let f = g.x * (1.0 - a / sqrt(lambda + p.epsA)) + g.y * (1.0 - counts / (lambda + p.epsP));
  dpsi[i] = 2.0 * f * z;`,
        )
      }`,
  );
}
