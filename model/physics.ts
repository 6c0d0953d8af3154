/**
 * The differentiable forward model of PtychoPINN (docs/physics.md#forward-model): per-group merge
 * of a group's patches onto one canvas and re-extraction (the overlap constraint), probe
 * illumination and far-field diffraction.
 *
 * Layouts: patches are [B, C, N, N, 2] complex (re, im); relative offsets are [B, C, 2] =
 * (x, y) = (column, row) in pixels, r = coords_relative = −(pos − group mean). Merge translates
 * patch c by −r_c, extraction by +r_c (translate moves content by +t).
 */
import {
  abs2,
  cmul,
  expand,
  extractIlluminate,
  fft2,
  fftshift,
  mergeCanvas,
  mergeWeights,
  mul,
  noGrad,
  pad,
  reshape,
  slice,
  sqrt,
  type Tensor,
  translate,
} from "../engine/mod.ts";

/**
 * Canvas side of the merge (docs/physics.md#canvas-size): M = N + (gridsize − 1)·4 + 10 (78 at
 * N=64, gs=2).
 */
export function canvasSize(n: number, gridsize: number): number {
  return n + (gridsize - 1) * 4 + 10;
}

/**
 * Merge weights at or below this are treated as "no patch covers this pixel"
 * (docs/physics.md#merge-and-re-extraction).
 */
export const MERGE_WEIGHT_FLOOR = 1e-6;

/** Zero-pad the last two spatial axes of [..., n, n, k] centrally to m × m. */
function padCentral(x: Tensor, n: number, m: number): Tensor {
  const lo = (m - n) >> 1, hi = m - n - lo;
  return pad(x, [lo, lo, 0], [hi, hi, 0]);
}

/**
 * The part of each patch the merge keeps: its central N/2 × N/2 window
 * (docs/physics.md#merge-and-re-extraction, the default) or the full N × N patch (the border region
 * of a wide probe's exit wave kept too).
 */
export type MergeWindow = "central" | "full";

/** Negated offsets, flattened to [B·C, 2]. */
function flatOffsets(offsets: Tensor, sign: 1 | -1): Tensor {
  const flat = reshape(offsets, [-1, 2]);
  return sign === 1 ? flat : mul(flat, -1);
}

/**
 * Per-group weighted merge (docs/physics.md#merge-and-re-extraction with the masked numerator):
 * every patch is padded to M × M, translated by −r_c and multiplied by its equally translated
 * window mask (central N/2 by default, see {@link MergeWindow}); the sum over the group is divided
 * by the summed masks, and pixels whose summed weight is ≤ 1e−6 are 0. patches [B, C, N, N, 2],
 * offsets [B, C, 2] → canvas [B, M, M, 2]. Differentiable in `patches`.
 */
export function mergePatches(
  patches: Tensor,
  offsets: Tensor,
  m: number,
  window: MergeWindow = "central",
): Tensor {
  const [b, c, n] = patches.shape;
  const shift = flatOffsets(offsets, -1);
  // The window masks (the merge window's 0/1 mask centred on the M × M canvas, translated like
  // the patches) and 1/Σ masks where covered, 0 elsewhere: one kernel; the weighted sum another
  // (engine/ops/merge.ts).
  const { masks, inverse } = noGrad(() =>
    mergeWeights(shift, b, c, m, window === "full" ? n : n >> 1, MERGE_WEIGHT_FLOOR)
  );
  return mergeCanvas(patches, shift, masks, inverse);
}

/**
 * Re-extraction (docs/physics.md#merge-and-re-extraction): for each c, translate the group's canvas
 * by +r_c and keep the central N × N. canvas [B, M, M, 2], offsets [B, C, 2] → patches [B, C, N, N,
 * 2].
 */
export function extractPatches(canvas: Tensor, offsets: Tensor, n: number): Tensor {
  const [b, m] = canvas.shape;
  const c = offsets.shape[1];
  const copies = expand(reshape(canvas, [b, 1, m, m, 2]), [b, c, m, m, 2]);
  const moved = translate(reshape(copies, [b * c, m, m, 2]), flatOffsets(offsets, 1));
  const lo = (m - n) >> 1;
  const cropped = slice(moved, [0, lo, lo, 0], [b * c, n, n, 2]);
  return reshape(cropped, [b, c, n, n, 2]);
}

/** Exit waves ψ = P · O': patches [B, C, N, N, 2] times probe [N, N, 2] (broadcast). */
export function illuminate(patches: Tensor, probe: Tensor): Tensor {
  return cmul(patches, probe);
}

/**
 * Far-field intensity of exit waves ψ [..., N, N, 2]: |fftshift(FFT2_ortho(ψ))|², DC at (N/2, N/2).
 */
export function farFieldIntensity(psi: Tensor): Tensor {
  return abs2(fftshift(fft2(psi, "ortho")));
}

/**
 * Far-field intensity without the photon scale: |fftshift(FFT2_ortho(P·O'))|², DC at (N/2, N/2).
 * patches [B, C, N, N, 2], probe [N, N, 2] → [B, C, N, N].
 */
export function diffractIntensity(patches: Tensor, probe: Tensor): Tensor {
  return farFieldIntensity(illuminate(patches, probe));
}

/**
 * The training path's exit waves ψ = P · O' [B, C, N, N, 2] from the network's patches: at
 * gridsize 1 the patches times the probe; at gridsize > 1 each member's window of its group's
 * canvas times the probe (one fused op), the canvas being the merged patches (`objectBig`, see
 * {@link overlapConstraint}) or the group's one patch padded (see {@link extractFromPatch}).
 */
export function exitWaves(
  patches: Tensor,
  offsets: Tensor,
  probe: Tensor,
  gridsize: number,
  objectBig: boolean,
  window: MergeWindow = "central",
): Tensor {
  if (gridsize === 1) return illuminate(patches, probe);
  const [b, , n] = patches.shape;
  const m = canvasSize(n, gridsize);
  const canvas = objectBig
    ? mergePatches(patches, offsets, m, window)
    : padCentral(reshape(patches, [b, n, n, 2]), n, m);
  return extractIlluminate(canvas, flatOffsets(offsets, 1), probe, offsets.shape[1]);
}

/**
 * Far-field amplitude Â = |fftshift(FFT2_ortho(P·O'))| (docs/physics.md#far-field-diffraction):
 * patches [B, C, N, N, 2], probe [N, N, 2] → amplitude [B, C, N, N]. Multiply by the intensity
 * scale s for counts.
 */
export function diffract(patches: Tensor, probe: Tensor): Tensor {
  return sqrt(diffractIntensity(patches, probe));
}

/**
 * The overlap constraint for a group (object_big, gridsize > 1): merge then re-extract.
 * patches [B, C, N, N, 2], offsets [B, C, 2].
 */
export function overlapConstraint(
  patches: Tensor,
  offsets: Tensor,
  gridsize: number,
  window: MergeWindow = "central",
): Tensor {
  const n = patches.shape[2];
  const m = canvasSize(n, gridsize);
  return extractPatches(mergePatches(patches, offsets, m, window), offsets, n);
}

/**
 * object_big = false at gridsize > 1: the group's one patch [B, 1, N, N, 2] is zero-padded
 * centrally to the M × M canvas and re-extracted at each member's offset (no merge):
 * offsets [B, C, 2] → patches [B, C, N, N, 2].
 */
export function extractFromPatch(patch: Tensor, offsets: Tensor, gridsize: number): Tensor {
  const [b, , n] = patch.shape;
  const m = canvasSize(n, gridsize);
  return extractPatches(padCentral(reshape(patch, [b, n, n, 2]), n, m), offsets, n);
}
