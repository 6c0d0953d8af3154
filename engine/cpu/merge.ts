/**
 * The merge weights (engine/ops/merge.ts), composed of the reference's own kernels in the order
 * model/physics.ts once applied them op by op (window mask, translate, sum over the group,
 * covered test, inverse), so CPU results are bit-for-bit those of the unfused chain.
 */
import type { MergeGeometry } from "../backend.ts";
import { binary, unary } from "./elementwise.ts";
import { reduce } from "./reduce.ts";
import { translate } from "./translate.ts";

/** Translated window masks (batch·c, m, m) and inverse weights (batch, m, m). */
export function mergeWeights(
  shift: Float32Array,
  g: MergeGeometry,
): { masks: Float32Array; inverse: Float32Array } {
  const { batch, c, m, lo, side } = g;
  const plane = m * m, images = batch * c;
  const window = new Float32Array(plane);
  for (let y = lo; y < lo + side; y++) window.fill(1, y * m + lo, y * m + lo + side);
  const copies = new Float32Array(images * plane);
  for (let i = 0; i < images; i++) copies.set(window, i * plane);
  const masks = translate(copies, shift, images, m, m, 1, false);
  const weight = reduce(masks, batch, c, plane, "sum");
  const shape = [batch * plane];
  const covered = binary(weight, shape, Float32Array.of(g.floor), [1], shape, "gt");
  const denominator = binary(weight, shape, unary(covered, "affine", -1, 1), shape, shape, "add");
  return { masks, inverse: binary(covered, shape, denominator, shape, shape, "div") };
}
