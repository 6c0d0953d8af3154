/**
 * The fused merge weights: the CPU reference against the op chain they replace (window mask,
 * translate, group sum, covered test, inverse), and WebGPU against the CPU, with fractional,
 * negative and out-of-canvas shifts.
 */
import {
  add,
  div,
  expand,
  full,
  gt,
  mergeWeights,
  ones,
  pad,
  reshape,
  sub,
  sum,
  tensor,
  tidy,
  translate,
} from "../../engine/mod.ts";
import { assertClose } from "./cpu_test_util.ts";
import { cpu, expectClose, gpuTest, Inputs } from "./webgpu_test_util.ts";

const [B, C, M] = [3, 4, 30];

/** Shifts in pixels, some beyond the canvas so whole masks leave it. */
function shifts(inp: Inputs): Float32Array {
  const s = new Float32Array(2 * B * C).map(() => (inp.int(0, 1000) / 1000 - 0.5) * 16);
  s[0] = 40;
  s[3] = -2;
  return s;
}

Deno.test("mergeWeights equals the op chain it replaces (CPU, bit for bit)", () => {
  const shift = shifts(new Inputs(31));
  for (const side of [8, 16]) {
    const [masks, inverse, chainMasks, chainInverse] = tidy(() => {
      const sh = tensor(shift, [B * C, 2]);
      const fused = mergeWeights(sh, B, C, M, side, 1e-6);
      const lo = (M - side) >> 1, hi = M - side - lo;
      const window = reshape(pad(ones([1, side, side, 1]), [lo, lo, 0], [hi, hi, 0]), [1, M, M]);
      const m = translate(expand(window, [B * C, M, M]), sh);
      const weight = sum(reshape(m, [B, C, M, M]), 1);
      const covered = gt(weight, full([1], 1e-6));
      const inv = div(covered, add(weight, sub(1, covered)));
      return [fused.masks, fused.inverse, m, inv].map((t) => t.dataSync());
    });
    assertClose(masks, chainMasks, 0, 0, `masks, side ${side}`);
    assertClose(inverse, chainInverse, 0, 0, `inverse, side ${side}`);
    if (!inverse.some((v) => v === 0) || !inverse.some((v) => v > 0.5)) {
      throw new Error("expected covered and uncovered pixels");
    }
  }
});

gpuTest("mergeWeights matches the CPU", async (g) => {
  const shift = shifts(new Inputs(32));
  const [sg, sc] = [g.upload(shift), cpu.upload(shift)];
  const geo = { batch: B, c: C, m: M, lo: 7, side: 16, floor: 1e-6 };
  const gpu = g.mergeWeights(sg, geo), ref = cpu.mergeWeights(sc, geo);
  await expectClose(g, gpu.masks, ref.masks, "masks");
  await expectClose(g, gpu.inverse, ref.inverse, "inverse", { atol: 1e-6, rtol: 1e-5 });
  g.release(sg);
});
