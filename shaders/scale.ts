/**
 * The photon scale's two factors from log_scale ℓ and their gradients (engine/ops/scale.ts),
 * one single-invocation kernel each: the factors replace five one-element dispatches, each
 * gradient three to five.
 */
import { type Kernel, kernel, readBuf, UNIFORM_P, writeBuf } from "./common.ts";

/** ls (1) → input = s0/s, rate = s², s = e^ℓ; uniform (s0). */
export function photonScaleKernel(): Kernel {
  return kernel(
    "scale.photon",
    () =>
      `struct P { s0: f32 }
${UNIFORM_P}${readBuf(1, "ls")}${writeBuf(2, "input")}${writeBuf(3, "rate")}
@compute @workgroup_size(1)
fn main() {
  let s = exp(ls[0]);
  input[0] = p.s0 * (1.0 / s) + 0.0;
  rate[0] = s * s;
}
`,
  );
}

/**
 * g (1), ls (1) → d/dℓ of the rate factor s² (uniform `rate` ≠ 0) or of the input factor s0/s,
 * times g; uniforms (s0, rate).
 */
export function photonScaleGradKernel(): Kernel {
  return kernel("scale.photon.grad", () =>
    `struct P { s0: f32, rate: u32 }
${UNIFORM_P}${readBuf(1, "g")}${readBuf(2, "ls")}${writeBuf(3, "d")}
@compute @workgroup_size(1)
fn main() {
  let s = exp(ls[0]);
  let ofRate = g[0] * (2.0 * s + 0.0);
  let ofInput = (p.s0 * g[0] + 0.0) * (-1.0 * (1.0 / (s * s)) + 0.0);
  d[0] = select(ofInput, ofRate, p.rate != 0u) * s;
}
`);
}
