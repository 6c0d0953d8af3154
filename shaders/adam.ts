/**
 * Fused Adam/AdamW update, in place on the parameter and both moment buffers, one grid item
 * per element: m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²;
 * p ← p − lr·wd·p − lr·(m/bc1)/(sqrt(v/bc2) + eps).
 */
import { gridMain, type Kernel, kernel, readBuf, UNIFORM_P, writeBuf } from "./common.ts";

/**
 * Adam kernel; uniforms (n, lr, beta1, beta2, eps, weightDecay, bc1, bc2). With `vec4` every
 * item is 4 elements (n counts vec4; the same expressions hold componentwise).
 */
export function adamKernel(vec4 = false): Kernel {
  return kernel(`adam${vec4 ? "/vec4" : ""}`, () => {
    const t = vec4 ? "vec4f" : "f32";
    return `struct P { n: u32, lr: f32, b1: f32, b2: f32, eps: f32, wd: f32, bc1: f32, bc2: f32 }
${UNIFORM_P}${writeBuf(1, "prm", t)}${readBuf(2, "g", t)}${writeBuf(3, "m", t)}${
      writeBuf(4, "v", t)
    }
${
      gridMain(
        "p.n",
        `  let gi = g[i];
  let mi = p.b1 * m[i] + (1.0 - p.b1) * gi;
  let vi = p.b2 * v[i] + (1.0 - p.b2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  let pi = prm[i];
  prm[i] = pi - p.lr * p.wd * pi - p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);`,
      )
    }`;
  });
}
