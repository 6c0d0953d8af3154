/** Bilinear sub-pixel translation of images, and its adjoint (the gradient w.r.t. the image). */

/**
 * For each image of (batch, h, w, inner) with offsets (batch, 2) = (tx, ty):
 * forward out[y,x] = bilinear(img; y - ty, x - tx), zero outside (content moves by +t);
 * adjoint scatters each x[y,x] back onto the same four source pixels with the same weights.
 */
export function translate(
  x: Float32Array,
  offsets: Float32Array,
  batch: number,
  h: number,
  w: number,
  inner: number,
  adjoint: boolean,
): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) {
    const tx = offsets[2 * b], ty = offsets[2 * b + 1];
    const base = b * h * w * inner;
    // Output pixel (y, x) samples source (y - ty, x - tx). With integer y, x the floor and the
    // fraction are the same for every pixel: source row = y + dy0 (+1), column = x + dx0 (+1).
    const dy0 = Math.floor(-ty), fy = -ty - dy0;
    const dx0 = Math.floor(-tx), fx = -tx - dx0;
    const corners = [
      { dy: dy0, dx: dx0, weight: (1 - fy) * (1 - fx) },
      { dy: dy0, dx: dx0 + 1, weight: (1 - fy) * fx },
      { dy: dy0 + 1, dx: dx0, weight: fy * (1 - fx) },
      { dy: dy0 + 1, dx: dx0 + 1, weight: fy * fx },
    ];
    for (const { dy, dx, weight } of corners) {
      if (weight === 0) continue;
      for (let y = 0; y < h; y++) {
        const sy = y + dy;
        if (sy < 0 || sy >= h) continue;
        for (let xx = 0; xx < w; xx++) {
          const sx = xx + dx;
          if (sx < 0 || sx >= w) continue;
          const here = base + (y * w + xx) * inner;
          const there = base + (sy * w + sx) * inner;
          for (let i = 0; i < inner; i++) {
            if (adjoint) out[there + i] += weight * x[here + i];
            else out[here + i] += weight * x[there + i];
          }
        }
      }
    }
  }
  return out;
}
