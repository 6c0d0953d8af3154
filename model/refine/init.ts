/**
 * Starting objects for iterative reconstruction, and the global-phase convention of its output.
 */
import type { CanvasLayout } from "./geometry.ts";

/** A complex image placed on the object grid (e.g. a stitched reconstruction). */
export interface PlacedImage {
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** Interleaved (re, im), row-major. */
  data: Float32Array;
  /** Object column of image column 0. */
  originX: number;
  /** Object row of image row 0. */
  originY: number;
}

/** Amplitude 1, phase 0 everywhere on the canvas. */
export function flatObject(layout: CanvasLayout): Float32Array {
  const out = new Float32Array(2 * layout.height * layout.width);
  for (let i = 0; i < out.length; i += 2) out[i] = 1;
  return out;
}

/**
 * The canvas filled from `image` where it overlaps the canvas (the pixel of the same object
 * coordinates; whole-pixel origins assumed, fractional ones rounded), and elsewhere — and where
 * the image is exactly 0 (no patch reached it) — with the mean of the image's non-zero pixels.
 */
export function objectFromImage(layout: CanvasLayout, image: PlacedImage): Float32Array {
  let sre = 0, sim = 0, count = 0;
  for (let i = 0; i < image.height * image.width; i++) {
    const re = image.data[2 * i], im = image.data[2 * i + 1];
    if (re === 0 && im === 0) continue;
    sre += re;
    sim += im;
    count++;
  }
  const fillRe = count > 0 ? sre / count : 1, fillIm = count > 0 ? sim / count : 0;
  const out = new Float32Array(2 * layout.height * layout.width);
  const dy = layout.originY - Math.round(image.originY);
  const dx = layout.originX - Math.round(image.originX);
  for (let r = 0; r < layout.height; r++) {
    for (let c = 0; c < layout.width; c++) {
      const o = 2 * (r * layout.width + c);
      const y = r + dy, x = c + dx;
      let re = fillRe, im = fillIm;
      if (y >= 0 && y < image.height && x >= 0 && x < image.width) {
        const s = 2 * (y * image.width + x);
        if (image.data[s] !== 0 || image.data[s + 1] !== 0) {
          re = image.data[s];
          im = image.data[s + 1];
        }
      }
      out[o] = re;
      out[o + 1] = im;
    }
  }
  return out;
}

/**
 * Rotates the object so that its mean over `weights` (e.g. the summed illumination; uniform when
 * null) has phase 0, and the probe by the opposite phase: ψ = P·O is unchanged. In place.
 */
export function fixGlobalPhase(
  object: Float32Array,
  probe: Float32Array,
  weights: Float32Array | null,
): void {
  let re = 0, im = 0;
  for (let i = 0; i < object.length / 2; i++) {
    const w = weights === null ? 1 : weights[i];
    re += w * object[2 * i];
    im += w * object[2 * i + 1];
  }
  const norm = Math.hypot(re, im);
  if (norm === 0) return;
  const c = re / norm, s = im / norm;
  const rotate = (z: Float32Array, sign: number) => {
    for (let i = 0; i < z.length; i += 2) {
      const a = z[i], b = z[i + 1];
      z[i] = a * c + sign * b * s;
      z[i + 1] = b * c - sign * a * s;
    }
  };
  rotate(object, 1);
  rotate(probe, -1);
}
