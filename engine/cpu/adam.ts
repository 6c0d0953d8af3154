/** Fused Adam/AdamW parameter update, in place. */

import type { AdamParams } from "../backend.ts";

/**
 * Moments `mv` = [m | v] (2n elements): m ← β1 m + (1-β1) g; v ← β2 v + (1-β2) g²;
 * p ← p - lr·wd·p - lr·(m/bc1)/(sqrt(v/bc2) + eps);
 * then, with a moving average `e`, e ← d·e + (1 − d)·p (d = h.emaDecay).
 */
export function adam(
  p: Float32Array,
  g: Float32Array,
  mv: Float32Array,
  h: AdamParams,
  e: Float32Array | null = null,
): void {
  const n = p.length;
  if (mv.length !== 2 * n) throw new RangeError(`adam: moments hold ${mv.length}, want ${2 * n}`);
  const m = mv.subarray(0, n), v = mv.subarray(n);
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * gi;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * gi * gi;
    const mHat = m[i] / h.biasCorrection1;
    const vHat = v[i] / h.biasCorrection2;
    p[i] = p[i] - h.lr * h.weightDecay * p[i] - (h.lr * mHat) / (Math.sqrt(vHat) + h.eps);
    if (e !== null) e[i] = h.emaDecay * e[i] + (1 - h.emaDecay) * p[i];
  }
}
