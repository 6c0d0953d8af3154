/**
 * Stride-1 2-D convolution (cross-correlation) and its two gradients, by im2col + packed gemm,
 * one image at a time so the column buffer stays c·kh·kw·outH·outW floats.
 *
 * Column matrix of one image: col[(ci·kh + i)·kw + j][y·outW + x] = x[ci, y+i-padTop, x+j-padLeft]
 * (zero outside), so out = W (o × ckk) · col (ckk × hw).
 */

import type { Conv2dGeometry } from "../backend.ts";
import { gemmPacked, packedSize, packPanels, scratchBuffer } from "./matmul.ts";

/** Fill `col` with the column matrix of the image at `xOffset`. */
function im2col(x: Float32Array, xOffset: number, g: Conv2dGeometry, col: Float32Array): void {
  const { c, h, w, kh, kw, padTop, padLeft, outH, outW } = g;
  const hw = outH * outW;
  for (let ci = 0; ci < c; ci++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const rowBase = ((ci * kh + i) * kw + j) * hw;
        for (let y = 0; y < outH; y++) {
          const sy = y + i - padTop;
          const dst = rowBase + y * outW;
          if (sy < 0 || sy >= h) {
            col.fill(0, dst, dst + outW);
            continue;
          }
          const src = xOffset + (ci * h + sy) * w + j - padLeft;
          for (let xx = 0; xx < outW; xx++) {
            const sx = xx + j - padLeft;
            col[dst + xx] = sx >= 0 && sx < w ? x[src + xx] : 0;
          }
        }
      }
    }
  }
}

/** Adjoint of im2col: add each column entry back onto its image pixel at `dxOffset`. */
function col2imAdd(col: Float32Array, g: Conv2dGeometry, dx: Float32Array, dxOffset: number): void {
  const { c, h, w, kh, kw, padTop, padLeft, outH, outW } = g;
  const hw = outH * outW;
  for (let ci = 0; ci < c; ci++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const rowBase = ((ci * kh + i) * kw + j) * hw;
        for (let y = 0; y < outH; y++) {
          const sy = y + i - padTop;
          if (sy < 0 || sy >= h) continue;
          const src = rowBase + y * outW;
          const dst = dxOffset + (ci * h + sy) * w + j - padLeft;
          for (let xx = 0; xx < outW; xx++) {
            const sx = xx + j - padLeft;
            if (sx >= 0 && sx < w) dx[dst + xx] += col[src + xx];
          }
        }
      }
    }
  }
}

/** out (n, o, outH, outW) = conv2d(x (n, c, h, w), w (o, c, kh, kw)). */
export function conv2d(x: Float32Array, wt: Float32Array, g: Conv2dGeometry): Float32Array {
  const ckk = g.c * g.kh * g.kw;
  const hw = g.outH * g.outW;
  const out = new Float32Array(g.n * g.o * hw);
  // A = W (o × ckk), rows contiguous; packed once for the whole batch.
  const wp = packPanels(wt, 0, ckk, 1, g.o, ckk, new Float32Array(packedSize(g.o, ckk)));
  const col = scratchBuffer(2, ckk * hw);
  for (let b = 0; b < g.n; b++) {
    im2col(x, b * g.c * g.h * g.w, g, col);
    // B = col (ckk × hw): its column q is the strided line col[p·hw + q].
    const cp = packPanels(col, 0, 1, hw, hw, ckk, scratchBuffer(1, packedSize(hw, ckk)));
    gemmPacked(wp, cp, g.o, hw, ckk, out, b * g.o * hw, false);
  }
  return out;
}

/** In place on out (n, o, outH, outW): add bias[o] (when given), then max(·, 0) with `relu`. */
export function convEpilogue(
  out: Float32Array,
  g: Conv2dGeometry,
  bias: Float32Array | null,
  relu: boolean,
): void {
  const hw = g.outH * g.outW;
  for (let plane = 0; plane < g.n * g.o; plane++) {
    const b = bias ? bias[plane % g.o] : 0;
    for (let i = plane * hw; i < (plane + 1) * hw; i++) {
      const v = out[i] + b;
      out[i] = relu && !(v > 0) ? 0 : v;
    }
  }
}

/** dx (n, c, h, w) = Σ over output positions of dy · w, i.e. col2im(Wᵀ · dy) per image. */
export function conv2dGradInput(
  dy: Float32Array,
  wt: Float32Array,
  g: Conv2dGeometry,
): Float32Array {
  const ckk = g.c * g.kh * g.kw;
  const hw = g.outH * g.outW;
  const dx = new Float32Array(g.n * g.c * g.h * g.w);
  // A = Wᵀ (ckk × o): row r is the strided line w[p·ckk + r].
  const wtp = packPanels(wt, 0, 1, ckk, ckk, g.o, new Float32Array(packedSize(ckk, g.o)));
  const dcol = scratchBuffer(2, ckk * hw);
  for (let b = 0; b < g.n; b++) {
    // B = dy of this image (o × hw).
    const dyp = packPanels(dy, b * g.o * hw, 1, hw, hw, g.o, scratchBuffer(1, packedSize(hw, g.o)));
    gemmPacked(wtp, dyp, ckk, hw, g.o, dcol, 0, false);
    col2imAdd(dcol, g, dx, b * g.c * g.h * g.w);
  }
  return dx;
}

/** dw (o, c, kh, kw) = Σ_images dy (o × hw) · colᵀ (hw × ckk). */
export function conv2dGradWeight(
  x: Float32Array,
  dy: Float32Array,
  g: Conv2dGeometry,
): Float32Array {
  const ckk = g.c * g.kh * g.kw;
  const hw = g.outH * g.outW;
  const dw = new Float32Array(g.o * ckk);
  const col = scratchBuffer(2, ckk * hw);
  for (let b = 0; b < g.n; b++) {
    im2col(x, b * g.c * g.h * g.w, g, col);
    // A = dy of this image (o × hw), rows contiguous; B = colᵀ (hw × ckk): column r is col row r.
    const dyp = packPanels(dy, b * g.o * hw, hw, 1, g.o, hw, scratchBuffer(0, packedSize(g.o, hw)));
    const cp = packPanels(col, 0, hw, 1, ckk, hw, scratchBuffer(1, packedSize(ckk, hw)));
    gemmPacked(dyp, cp, g.o, ckk, hw, dw, 0, b > 0);
  }
  return dw;
}
