/**
 * Complex-number kernels with their gradients in one pass each: |z|² and its gradient, and the
 * gradient of polar (which was a unit-phasor polar, a conjugate product and two part extractions).
 * The arithmetic follows the op chains they replace (so they round alike).
 */
import { gridMain, type Kernel, kernel, readBuf, UNIFORM_P, writeBuf } from "./common.ts";

/** y[i] = re² + im² of z[i] (vec2); uniforms (n). */
export function abs2Kernel(): Kernel {
  return kernel("abs2", () => {
    return `struct P { n: u32 }
${UNIFORM_P}${readBuf(1, "z", "vec2f")}${writeBuf(2, "y")}
${gridMain("p.n", "  let v = z[i];\n  y[i] = v.x * v.x + v.y * v.y;")}`;
  });
}

/** dz[i] = 2·z[i]·g[i] (vec2 out, as (g + 0)·(2·z + 0)); uniforms (n). */
export function abs2GradKernel(): Kernel {
  return kernel("abs2.grad", () => {
    return `struct P { n: u32 }
${UNIFORM_P}${readBuf(1, "z", "vec2f")}${readBuf(2, "g")}${writeBuf(3, "dz", "vec2f")}
${gridMain("p.n", "  dz[i] = (g[i] + 0.0) * (2.0 * z[i] + vec2f(0.0));")}`;
  });
}

/**
 * Gradient of polar(amp, phase) for g (vec2): r = g·e^{−iφ}; damp[i] = Re r, dphase[i] =
 * Im r · amp[i]; uniforms (n).
 */
export function polarGradKernel(): Kernel {
  return kernel("polar.grad", () => {
    return `struct P { n: u32 }
${UNIFORM_P}${readBuf(1, "g", "vec2f")}${readBuf(2, "amp")}${readBuf(3, "phase")}${
      writeBuf(4, "damp")
    }${writeBuf(5, "dphase")}
${
      gridMain(
        "p.n",
        `  let u = g[i];
  let t = phase[i];
  let v = vec2f(1.0 * cos(t), 1.0 * sin(t));
  damp[i] = u.x * v.x + u.y * v.y;
  dphase[i] = (u.y * v.x - u.x * v.y) * amp[i];`,
      )
    }`;
  });
}
