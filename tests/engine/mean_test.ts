/**
 * `mean` as one scaled reduction and the broadcast factor's gradient of `mul` as one weighted
 * reduction: CPU results and gradients bit for bit those of the chains they replaced (sum then
 * affine by 1/count; mul then sum), over several axis sets; and the WebGPU reduce with a scale
 * or a weight (one pass and two) against the CPU.
 */
import {
  backward,
  div,
  mean,
  mul,
  sum,
  sumTo,
  type Tensor,
  tensor,
  tidy,
} from "../../engine/mod.ts";
import { assertClose, randomArray, rng } from "./cpu_test_util.ts";
import { cpu, expectClose, gpuTest, Inputs } from "./webgpu_test_util.ts";

const SHAPE = [3, 5, 7, 2];

/** Mean (or the chain) over `axes` with its gradient for a random seed gradient. */
function run(f: (x: Tensor) => Tensor, data: Float32Array, seed: number): Float32Array[] {
  return tidy(() => {
    const x = tensor(data, SHAPE, { requiresGrad: true });
    const y = f(x);
    const r = randomArray(rng(seed), y.size);
    backward(sum(mul(y, tensor(r, y.shape))));
    return [y.dataSync(), x.grad!.dataSync()];
  });
}

Deno.test("mean equals sum → affine(1/count) bit for bit (values and gradients, CPU)", () => {
  const data = randomArray(rng(61), 3 * 5 * 7 * 2, -5, 5);
  const sets: (number[] | undefined)[] = [undefined, [1], [0, 2], [1, 2, 3], []];
  sets.forEach((axes, k) => {
    for (const keep of [false, true]) {
      const count = (axes ?? [0, 1, 2, 3]).reduce((n, a) => n * SHAPE[a], 1);
      const fused = run((x) => mean(x, axes, keep), data, k);
      const chain = run((x) => div(sum(x, axes, keep), count), data, k);
      assertClose(fused[0], chain[0], 0, 0, `mean over [${axes}]`);
      assertClose(fused[1], chain[1], 0, 0, `gradient over [${axes}]`);
    }
  });
});

Deno.test("mul's broadcast-factor gradient equals sumTo(mul(g, other)) (CPU, bit for bit)", () => {
  const data = randomArray(rng(63), 3 * 5 * 7 * 2, -5, 5);
  const seed = randomArray(rng(70), data.length);
  const factors: number[][] = [[1, 1, 1, 1], [1, 5, 1, 2], [3, 1, 7, 1], [5, 7, 2], [1]];
  factors.forEach((shape, k) => {
    const fv = randomArray(rng(64 + k), shape.reduce((p, d) => p * d, 1), -2, 2);
    const [fused, chain] = tidy(() => {
      const f = tensor(fv, shape, { requiresGrad: true });
      const x = tensor(data, SHAPE), r = tensor(seed, SHAPE);
      // d/df Σ (x·f)·r: the incoming gradient of x·f is r (1·r), so the old rule gives
      // sumTo(mul(r, x), shape).
      backward(sum(mul(mul(x, f), r)));
      return [f.grad!.dataSync(), sumTo(mul(r, x), shape).dataSync()];
    });
    assertClose(fused, chain, 0, 0, `factor [${shape}]`);
  });
});

gpuTest("reduce with a scale matches the CPU (one and two passes)", async (g) => {
  const inp = new Inputs(62);
  for (const [outer, mid, inner] of [[3, 40, 5], [1, 5000, 1], [2, 999, 3]]) {
    const [xg, xc] = inp.pair(g, outer * mid * inner);
    const scale = 1 / mid;
    const what = `[${outer}, ${mid}, ${inner}]`;
    await expectClose(
      g,
      g.reduce(xg, outer, mid, inner, "sum", scale),
      cpu.reduce(xc, outer, mid, inner, "sum", scale),
      `mean ${what}`,
      { atol: 1e-6, rtol: 1e-4 },
    );
    g.release(xg);
  }
});

gpuTest("reduce with a weight matches the CPU (one and two passes)", async (g) => {
  const inp = new Inputs(65);
  for (const [outer, mid, inner] of [[3, 40, 5], [1, 5000, 1], [2, 999, 3]]) {
    const [xg, xc] = inp.pair(g, outer * mid * inner);
    const [wg, wc] = inp.pair(g, outer * mid * inner);
    await expectClose(
      g,
      g.reduce(xg, outer, mid, inner, "sum", 1, wg),
      cpu.reduce(xc, outer, mid, inner, "sum", 1, wc),
      `weighted [${outer}, ${mid}, ${inner}]`,
      { atol: 1e-5, rtol: 1e-4 },
    );
    for (const s of [xg, wg]) g.release(s);
  }
});
