/** 2×2 pooling kernels: max pool ("same", stride 2) and its gradient, nearest 2× up/down. */

/** 2×2 max pool, stride 2, TF "same": (n·c, h, w) → (n·c, ceil(h/2), ceil(w/2)). */
export function maxPool2d(
  x: Float32Array,
  n: number,
  c: number,
  h: number,
  w: number,
): Float32Array {
  const oh = Math.ceil(h / 2), ow = Math.ceil(w / 2);
  const planes = n * c;
  const out = new Float32Array(planes * oh * ow);
  for (let p = 0; p < planes; p++) {
    const src = p * h * w;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let best = -Infinity;
        for (let y = 2 * oy; y < Math.min(2 * oy + 2, h); y++) {
          for (let xx = 2 * ox; xx < Math.min(2 * ox + 2, w); xx++) {
            const v = x[src + y * w + xx];
            if (v > best || Number.isNaN(v)) best = v;
          }
        }
        out[(p * oh + oy) * ow + ox] = best;
      }
    }
  }
  return out;
}

/** Gradient of maxPool2d: each dy goes to the first maximum of its window in row-major order. */
export function maxPool2dGrad(
  x: Float32Array,
  dy: Float32Array,
  n: number,
  c: number,
  h: number,
  w: number,
): Float32Array {
  const oh = Math.ceil(h / 2), ow = Math.ceil(w / 2);
  const planes = n * c;
  const dx = new Float32Array(planes * h * w);
  for (let p = 0; p < planes; p++) {
    const src = p * h * w;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let best = -Infinity;
        let at = -1;
        for (let y = 2 * oy; y < Math.min(2 * oy + 2, h); y++) {
          for (let xx = 2 * ox; xx < Math.min(2 * ox + 2, w); xx++) {
            const v = x[src + y * w + xx];
            if (at < 0 || v > best) {
              best = v;
              at = src + y * w + xx;
            }
          }
        }
        dx[at] += dy[(p * oh + oy) * ow + ox];
      }
    }
  }
  return dx;
}

/** Nearest 2× upsampling: (planes, h, w) → (planes, 2h, 2w). */
export function upsample2x(x: Float32Array, planes: number, h: number, w: number): Float32Array {
  const w2 = 2 * w;
  const out = new Float32Array(planes * 4 * h * w);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < 2 * h; y++) {
      const src = (p * h + (y >> 1)) * w;
      const dst = (p * 2 * h + y) * w2;
      for (let xx = 0; xx < w2; xx++) out[dst + xx] = x[src + (xx >> 1)];
    }
  }
  return out;
}

/** Adjoint of upsample2x: sum each 2×2 block, (planes, 2h, 2w) → (planes, h, w). */
export function sumPool2x2(x: Float32Array, planes: number, h: number, w: number): Float32Array {
  const w2 = 2 * w;
  const out = new Float32Array(planes * h * w);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < h; y++) {
      const top = (p * 2 * h + 2 * y) * w2;
      const bottom = top + w2;
      for (let xx = 0; xx < w; xx++) {
        out[(p * h + y) * w + xx] = x[top + 2 * xx] + x[top + 2 * xx + 1] + x[bottom + 2 * xx] +
          x[bottom + 2 * xx + 1];
      }
    }
  }
  return out;
}

/**
 * The ReLU gradient mask in place: out[i] = 0 where mask[i] ≤ 0 (as the reluGrad op zeroes the
 * gradient of a ReLU output that is not positive).
 */
export function reluMask(out: Float32Array, mask: Float32Array): Float32Array {
  for (let i = 0; i < out.length; i++) if (!(mask[i] > 0)) out[i] = 0;
  return out;
}
