/**
 * |z|², its gradient and polar's gradient, each rounded step by step as the op chains they
 * replace (square and a pair sum; expand, 2·z, product; unit phasor, conjugate product, parts),
 * so CPU results are bit-for-bit those of the chains.
 */
import { cmul, polar } from "./elementwise.ts";

const f32 = Math.fround;

/** re² + im² per element of z (n, 2). */
export function abs2(z: Float32Array): Float32Array {
  const out = new Float32Array(z.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = f32(z[2 * i] * z[2 * i]) + f32(z[2 * i + 1] * z[2 * i + 1]);
  }
  return out;
}

/** 2·z·g per component, g broadcast over the (re, im) pair. */
export function abs2Grad(z: Float32Array, g: Float32Array): Float32Array {
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = (g[i >> 1] + 0) * f32(2 * z[i] + 0);
  return out;
}

/** (Re(g·e^{−iφ}), Im(g·e^{−iφ})·amp) for g (n, 2). */
export function polarGrad(
  g: Float32Array,
  amp: Float32Array,
  phase: Float32Array,
): { amp: Float32Array; phase: Float32Array } {
  const n = amp.length, shape = [n, 2];
  const rotated = cmul(g, shape, polar(new Float32Array(n).fill(1), phase), shape, shape, true);
  const dAmp = new Float32Array(n), dPhase = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    dAmp[i] = rotated[2 * i];
    dPhase[i] = rotated[2 * i + 1] * amp[i];
  }
  return { amp: dAmp, phase: dPhase };
}
