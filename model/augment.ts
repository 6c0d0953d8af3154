/**
 * Training augmentation by the probe's symmetries (issue 15; docs/physics.md#augmentation).
 *
 * A flip or a transpose of a whole scan (object, positions and probe together) flips or transposes
 * every diffraction pattern: |F(x ↦ f(c − x))|(k) = |F(f)|(−k) for any integer centre c, and the
 * fftshifted index of −k is (N − j) mod N. When the probe is unchanged by the same transform, the
 * transformed group is a scan of the transformed object with the *same* probe, so it is a valid
 * training example for the model's physics. The transforms are the 8 elements of the square's
 * symmetry group, coded as bits: 1 = flip x (columns), 2 = flip y (rows), 4 = then transpose.
 * A group's offsets (coords_relative, −(pos − centre)) transform with it, and with the angle
 * member order its members are sorted again by that rule (model/grouping.ts).
 */
import { angleOrder, type GroupOrder } from "./grouping.ts";

/** Training augmentation: none, or the probe's symmetries (`auto`). */
export type AugmentMode = "none" | "auto";

/** The augmentation modes, for flag parsing. */
export const AUGMENT_MODES: readonly AugmentMode[] = ["none", "auto"];

/** How close (relative L2) the transformed probe must be to the probe: 0.1 %. */
export const SYMMETRY_TOLERANCE = 1e-3;

/** Names of the transforms by code, for messages and config.json. */
export function transformName(code: number): string {
  if (code === 0) return "identity";
  const parts: string[] = [];
  if (code & 1) parts.push("flip_x");
  if (code & 2) parts.push("flip_y");
  if (code & 4) parts.push("transpose");
  return parts.join("+");
}

/**
 * The source pixel of output pixel (row, col) under `code`, flips about the centres cy/2 and cx/2
 * (c = N − 1: about (N − 1)/2; c = N: about N/2). With `wrap` indices are taken mod N (the far
 * field is periodic); without it, a flip about N/2 takes row or column 0 from outside the window,
 * and the result is −1.
 */
function sourceIndex(
  code: number,
  n: number,
  row: number,
  col: number,
  cy: number,
  cx: number,
  wrap: boolean,
): number {
  // The output is transpose(flipY(flipX(in))): undo in reverse order.
  let r = row, c = col;
  if (code & 4) [r, c] = [c, r];
  if (code & 2) r = cy - r;
  if (code & 1) c = cx - c;
  if (wrap) return ((r + n) % n) * n + (c + n) % n;
  return r < 0 || r >= n || c < 0 || c >= n ? -1 : r * n + c;
}

/**
 * The relative L2 distance between the complex probe (interleaved re, im; N × N) and its
 * transform by `code`, with each flip about the better of the two grid centres ((N − 1)/2, N/2);
 * a flip about N/2 counts the row or column it would take from outside the window as moved to 0.
 */
export function probeAsymmetry(probe: Float32Array, n: number, code: number): number {
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm += probe[2 * i] ** 2 + probe[2 * i + 1] ** 2;
  if (norm === 0) return 0;
  let best = Infinity;
  for (const cy of code & 2 ? [n - 1, n] : [0]) {
    for (const cx of code & 1 ? [n - 1, n] : [0]) {
      let d = 0;
      for (let row = 0; row < n; row++) {
        for (let col = 0; col < n; col++) {
          const o = row * n + col, s = sourceIndex(code, n, row, col, cy, cx, false);
          const re = s < 0 ? 0 : probe[2 * s], im = s < 0 ? 0 : probe[2 * s + 1];
          d += (probe[2 * o] - re) ** 2 + (probe[2 * o + 1] - im) ** 2;
        }
      }
      best = Math.min(best, d);
    }
  }
  return Math.sqrt(best / norm);
}

/**
 * The transform codes a training step may draw for `probe`: the identity and every transform that
 * leaves the probe unchanged to SYMMETRY_TOLERANCE (`auto`), or the identity alone (`none`).
 */
export function allowedTransforms(mode: AugmentMode, probe: Float32Array, n: number): number[] {
  const codes = [0];
  if (mode === "none") return codes;
  for (let code = 1; code < 8; code++) {
    if (probeAsymmetry(probe, n, code) <= SYMMETRY_TOLERANCE) codes.push(code);
  }
  return codes;
}

/**
 * Transforms one group in place: its C patterns (C × N × N, fftshifted diffraction amplitudes)
 * and its C offsets ((x, y) pairs), and with `order` "angle" sorts the members again by that rule.
 */
export function transformGroup(
  code: number,
  patterns: Float32Array,
  offsets: Float32Array,
  n: number,
  order: GroupOrder,
): void {
  if (code === 0) return;
  const c = offsets.length / 2, pixels = n * n;
  const moved = new Float32Array(pixels);
  for (let m = 0; m < c; m++) {
    const view = patterns.subarray(m * pixels, (m + 1) * pixels);
    // The far field of a flipped exit wave is flipped about k = 0: index j ↦ (N − j) mod N.
    for (let row = 0; row < n; row++) {
      for (let col = 0; col < n; col++) {
        moved[row * n + col] = view[sourceIndex(code, n, row, col, n, n, true)];
      }
    }
    view.set(moved);
    let x = offsets[2 * m], y = offsets[2 * m + 1];
    if (code & 1) x = -x;
    if (code & 2) y = -y;
    if (code & 4) [x, y] = [y, x];
    offsets[2 * m] = x;
    offsets[2 * m + 1] = y;
  }
  if (order !== "angle" || c === 1) return;
  // Positions relative to the group centre are −offset; the centre is then the origin.
  const xs = Float64Array.from({ length: c }, (_, m) => -offsets[2 * m]);
  const ys = Float64Array.from({ length: c }, (_, m) => -offsets[2 * m + 1]);
  const sorted = angleOrder(xs, ys, [...Array(c).keys()], 0, 0);
  const pats = patterns.slice(0, c * pixels), offs = offsets.slice(0, 2 * c);
  sorted.forEach((from, to) => {
    patterns.set(pats.subarray(from * pixels, (from + 1) * pixels), to * pixels);
    offsets[2 * to] = offs[2 * from];
    offsets[2 * to + 1] = offs[2 * from + 1];
  });
}
