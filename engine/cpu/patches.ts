/** Windows of a canvas at integer corners, and the adjoint that adds windows back onto it. */
import type { PatchGeometry } from "../backend.ts";

/**
 * out[b, i, j, c] = canvas[r_b + i, c_b + j, c] where (r_b, c_b) = ⌊corners[b]⌋ (row, column),
 * zero where the window leaves the canvas. canvas (h, w, inner), corners (batch, 2).
 */
export function cropPatches(
  canvas: Float32Array,
  corners: Float32Array,
  g: PatchGeometry,
): Float32Array {
  const { batch, n, h, w, inner } = g;
  const out = new Float32Array(batch * n * n * inner);
  for (let b = 0; b < batch; b++) {
    const r0 = Math.floor(corners[2 * b]), c0 = Math.floor(corners[2 * b + 1]);
    for (let i = 0; i < n; i++) {
      const y = r0 + i;
      if (y < 0 || y >= h) continue;
      for (let j = 0; j < n; j++) {
        const x = c0 + j;
        if (x < 0 || x >= w) continue;
        const dst = ((b * n + i) * n + j) * inner, src = (y * w + x) * inner;
        for (let c = 0; c < inner; c++) out[dst + c] = canvas[src + c];
      }
    }
  }
  return out;
}

/**
 * The adjoint of {@link cropPatches}: every window of patches (batch, n, n, inner) added onto a
 * zero canvas (h, w, inner) at its corner; parts outside the canvas are dropped. Sums in f64.
 */
export function scatterAddPatches(
  patches: Float32Array,
  corners: Float32Array,
  g: PatchGeometry,
): Float32Array {
  const { batch, n, h, w, inner } = g;
  const acc = new Float64Array(h * w * inner);
  for (let b = 0; b < batch; b++) {
    const r0 = Math.floor(corners[2 * b]), c0 = Math.floor(corners[2 * b + 1]);
    for (let i = 0; i < n; i++) {
      const y = r0 + i;
      if (y < 0 || y >= h) continue;
      for (let j = 0; j < n; j++) {
        const x = c0 + j;
        if (x < 0 || x >= w) continue;
        const src = ((b * n + i) * n + j) * inner, dst = (y * w + x) * inner;
        for (let c = 0; c < inner; c++) acc[dst + c] += patches[src + c];
      }
    }
  }
  return new Float32Array(acc);
}
