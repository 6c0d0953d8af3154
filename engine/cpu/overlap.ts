/**
 * The fused merge onto a group's canvas and the probe-illuminated re-extraction (engine/ops/
 * merge.ts) and their adjoints, composed of the reference's own kernels in the order
 * model/physics.ts once applied them op by op (pad, translate, mask, group sum, inverse weight;
 * expand, translate, crop, probe product) and autograd then differentiated them, so CPU results
 * are bit for bit those of the unfused chain.
 */
import type { OverlapGeometry } from "../backend.ts";
import { binary, cmul } from "./elementwise.ts";
import { pad } from "./layout.ts";
import { reduce } from "./reduce.ts";
import { translate } from "./translate.ts";

/** Padding that puts an n × n patch centrally on the m × m canvas, per axis of (b·c, n, n, 2). */
function centring(g: OverlapGeometry): { before: number[]; after: number[] } {
  const lo = (g.m - g.n) >> 1, hi = g.m - g.n - lo;
  return { before: [0, lo, lo, 0], after: [0, hi, hi, 0] };
}

/** Patches (batch·c, n, n, 2) → canvas (batch, m, m, 2). */
export function mergeCanvas(
  patches: Float32Array,
  shift: Float32Array,
  masks: Float32Array,
  inverse: Float32Array,
  g: OverlapGeometry,
): Float32Array {
  const { batch, c, n, m } = g, images = batch * c;
  const { before, after } = centring(g);
  const padded = pad(patches, [images, n, n, 2], before, after);
  const moved = translate(padded, shift, images, m, m, 2, false);
  const full = [images, m, m, 2];
  const masked = binary(moved, full, masks, [images, m, m, 1], full, "mul");
  const summed = reduce(masked, batch, c, m * m * 2, "sum");
  const canvas = [batch, m, m, 2];
  return binary(summed, canvas, inverse, [batch, m, m, 1], canvas, "mul");
}

/** Gradient of {@link mergeCanvas} w.r.t. the patches: canvas gradient → (batch·c, n, n, 2). */
export function mergeCanvasAdjoint(
  grad: Float32Array,
  shift: Float32Array,
  masks: Float32Array,
  inverse: Float32Array,
  g: OverlapGeometry,
): Float32Array {
  const { batch, c, m } = g, images = batch * c;
  const canvas = [batch, m, m, 2];
  const weighted = binary(grad, canvas, inverse, [batch, m, m, 1], canvas, "mul");
  const kept = [batch, 1, m, m, 2];
  const copies = binary(weighted, kept, weighted, kept, [batch, c, m, m, 2], "expand");
  const full = [images, m, m, 2];
  const masked = binary(copies, full, masks, [images, m, m, 1], full, "mul");
  const moved = translate(masked, shift, images, m, m, 2, true);
  const { before, after } = centring(g);
  return pad(moved, full, before.map((v) => -v), after.map((v) => -v));
}

/** Canvas (batch, m, m, 2) → each member's window times the probe (batch·c, n, n, 2). */
export function extractIlluminate(
  canvas: Float32Array,
  shift: Float32Array,
  probe: Float32Array,
  g: OverlapGeometry,
): Float32Array {
  const { batch, c, n, m } = g, images = batch * c;
  const kept = [batch, 1, m, m, 2];
  const copies = binary(canvas, kept, canvas, kept, [batch, c, m, m, 2], "expand");
  const moved = translate(copies, shift, images, m, m, 2, false);
  const { before, after } = centring(g);
  const cropped = pad(moved, [images, m, m, 2], before.map((v) => -v), after.map((v) => -v));
  const out = [batch, c, n, n, 2];
  return cmul(cropped, out, probe, [1, 1, n, n, 2], out, false);
}

/** Gradient of {@link extractIlluminate} w.r.t. the canvas: → (batch, m, m, 2). */
export function extractIlluminateAdjoint(
  grad: Float32Array,
  shift: Float32Array,
  probe: Float32Array,
  g: OverlapGeometry,
): Float32Array {
  const { batch, c, n, m } = g, images = batch * c;
  const out = [batch, c, n, n, 2];
  const exit = cmul(grad, out, probe, [1, 1, n, n, 2], out, true);
  const { before, after } = centring(g);
  const padded = pad(exit, [images, n, n, 2], before, after);
  const moved = translate(padded, shift, images, m, m, 2, true);
  return reduce(moved, batch, c, m * m * 2, "sum");
}
