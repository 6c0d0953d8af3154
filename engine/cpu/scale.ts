/**
 * The photon scale's two factors from log_scale ℓ (engine/ops/scale.ts) and their gradients,
 * composed of the reference's own kernels in the order model/pinn.ts and model/losses.ts once
 * applied them op by op (s = exp ℓ; s0/s as pow(s, −1)·s0; s² as square) and autograd then
 * differentiated them, so CPU results are bit for bit the chain's.
 */
import { binary, unary } from "./elementwise.ts";

const ONE = [1];

/** a·b of two one-element arrays, as the binary kernel computes it. */
function mul(a: Float32Array, b: Float32Array): Float32Array {
  return binary(a, ONE, b, ONE, ONE, "mul");
}

/** (s0/s, s²) for s = e^ℓ, ℓ one element. */
export function photonScale(
  logScale: Float32Array,
  s0: number,
): { input: Float32Array; rate: Float32Array } {
  const s = unary(logScale, "exp", 0, 0);
  return {
    input: unary(unary(s, "pow", -1, 0), "affine", s0, 0),
    rate: unary(s, "square", 0, 0),
  };
}

/** d/dℓ of one factor (`rate`: s², else s0/s) times its gradient g (one element). */
export function photonScaleGrad(
  g: Float32Array,
  logScale: Float32Array,
  s0: number,
  rate: boolean,
): Float32Array {
  const s = unary(logScale, "exp", 0, 0);
  // exp's gradient multiplies by s last; square's is g·(2s); affine's g·s0, pow's ·(s^−2·(−1)).
  const inner = rate
    ? mul(g, unary(s, "affine", 2, 0))
    : mul(unary(g, "affine", s0, 0), unary(unary(s, "pow", -2, 0), "affine", -1, 0));
  return mul(inner, s);
}
