/**
 * Sub-pixel registration of a reconstruction against a reference (optional step of the metric
 * alignment): a whole-pixel estimate from the FFT cross-correlation of the mean-removed,
 * Hann-windowed images, refined by maximising the normalised complex correlation
 * |Σ conj(ref)·moving(p + s)| over bilinear sub-pixel shifts s on successively finer grids.
 * The normalised correlation ignores a global complex factor (amplitude scale, phase offset).
 */
import type { ComplexImage } from "../../io/image.ts";
import { fft2InPlace } from "./fft.ts";

/** Mean removed and a Hann window applied (the frame edges must not pull the peak to 0). */
function windowed(image: ComplexImage): { re: Float64Array; im: Float64Array } {
  const { height: h, width: w } = image;
  let mr = 0, mi = 0;
  for (let i = 0; i < h * w; i++) {
    mr += image.re[i];
    mi += image.im[i];
  }
  mr /= h * w;
  mi /= h * w;
  const re = new Float64Array(h * w);
  const im = new Float64Array(h * w);
  for (let r = 0; r < h; r++) {
    const wr = 0.5 - 0.5 * Math.cos((2 * Math.PI * (r + 0.5)) / h);
    for (let c = 0; c < w; c++) {
      const wgt = wr * (0.5 - 0.5 * Math.cos((2 * Math.PI * (c + 0.5)) / w));
      re[r * w + c] = wgt * (image.re[r * w + c] - mr);
      im[r * w + c] = wgt * (image.im[r * w + c] - mi);
    }
  }
  return { re, im };
}

/** Whole-pixel shift (x, y) of `moving` relative to `reference` from the cross-correlation peak. */
function wholePixelShift(reference: ComplexImage, moving: ComplexImage): [number, number] {
  const { height: h, width: w } = reference;
  const a = windowed(reference);
  const b = windowed(moving);
  fft2InPlace(a.re, a.im, h, w);
  fft2InPlace(b.re, b.im, h, w);
  // conj(A)·B transforms back to the correlation Σ conj(a(p))·b(p + d), peaking at d = shift.
  for (let i = 0; i < h * w; i++) {
    const re = a.re[i] * b.re[i] + a.im[i] * b.im[i];
    const im = a.re[i] * b.im[i] - a.im[i] * b.re[i];
    a.re[i] = re;
    a.im[i] = im;
  }
  fft2InPlace(a.re, a.im, h, w, true);
  let best = 0;
  let bestMag = -1;
  for (let i = 0; i < h * w; i++) {
    const mag = a.re[i] * a.re[i] + a.im[i] * a.im[i];
    if (mag > bestMag) {
      bestMag = mag;
      best = i;
    }
  }
  const wrap = (k: number, n: number) => (k > n / 2 ? k - n : k);
  return [wrap(best % w, w), wrap(Math.floor(best / w), h)];
}

/**
 * Normalised correlation of the reference with the moving image sampled (bilinear) at p + s,
 * over the pixels p at least `margin` from every edge.
 */
function correlationAt(
  ref: ComplexImage,
  moving: ComplexImage,
  sx: number,
  sy: number,
  margin: number,
): number {
  const { height: h, width: w } = ref;
  const fx = Math.floor(sx), fy = Math.floor(sy);
  const ax = sx - fx, ay = sy - fy;
  const w00 = (1 - ay) * (1 - ax), w01 = (1 - ay) * ax, w10 = ay * (1 - ax), w11 = ay * ax;
  let n = 0;
  let sgr = 0, sgi = 0, smr = 0, smi = 0;
  let sgg = 0, smm = 0, scr = 0, sci = 0;
  for (let r = margin; r < h - margin; r++) {
    const i0 = (r + fy) * w + fx;
    const i1 = i0 + w;
    for (let c = margin; c < w - margin; c++) {
      const gr = ref.re[r * w + c], gi = ref.im[r * w + c];
      const mr = w00 * moving.re[i0 + c] + w01 * moving.re[i0 + c + 1] +
        w10 * moving.re[i1 + c] + w11 * moving.re[i1 + c + 1];
      const mi = w00 * moving.im[i0 + c] + w01 * moving.im[i0 + c + 1] +
        w10 * moving.im[i1 + c] + w11 * moving.im[i1 + c + 1];
      n++;
      sgr += gr;
      sgi += gi;
      smr += mr;
      smi += mi;
      sgg += gr * gr + gi * gi;
      smm += mr * mr + mi * mi;
      scr += gr * mr + gi * mi;
      sci += gr * mi - gi * mr;
    }
  }
  // Centred sums: Σ conj(g − ḡ)(m − m̄) = Σ conj(g)m − n·conj(ḡ)m̄, likewise the norms.
  const cr = scr - (sgr * smr + sgi * smi) / n;
  const ci = sci - (sgr * smi - sgi * smr) / n;
  const vg = sgg - (sgr * sgr + sgi * sgi) / n;
  const vm = smm - (smr * smr + smi * smi) / n;
  return vg > 0 && vm > 0 ? Math.hypot(cr, ci) / Math.sqrt(vg * vm) : 0;
}

/**
 * Shift (x, y) = (column, row) by which `moving`'s content is displaced relative to
 * `reference` (same shape), to 0.01 px: moving(p + shift) ≈ c·reference(p).
 */
export function estimateShift(reference: ComplexImage, moving: ComplexImage): [number, number] {
  const { height: h, width: w } = reference;
  if (moving.height !== h || moving.width !== w) {
    throw new RangeError(`shapes differ: ${h}×${w} vs ${moving.height}×${moving.width}`);
  }
  let [bx, by] = wholePixelShift(reference, moving);
  const margin = Math.max(Math.abs(bx), Math.abs(by)) + 3;
  if (h - 2 * margin < 4 || w - 2 * margin < 4) return [bx, by];
  for (const [step, reach] of [[0.25, 5], [0.05, 5], [0.01, 5]]) {
    let best = -1;
    let nx = bx, ny = by;
    for (let j = -reach; j <= reach; j++) {
      for (let i = -reach; i <= reach; i++) {
        const sx = bx + i * step, sy = by + j * step;
        const score = correlationAt(reference, moving, sx, sy, margin);
        if (score > best) {
          best = score;
          nx = sx;
          ny = sy;
        }
      }
    }
    bx = Math.round(nx * 1000) / 1000;
    by = Math.round(ny * 1000) / 1000;
  }
  return [bx, by];
}
