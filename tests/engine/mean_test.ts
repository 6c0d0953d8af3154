/**
 * `mean` as one scaled reduction: the CPU result and gradient bit for bit those of the chain it
 * replaced (sum, then affine by 1/count), over several axis sets; and the WebGPU reduce with a
 * scale (one pass and two) against the CPU.
 */
import { backward, div, mean, mul, sum, type Tensor, tensor, tidy } from "../../engine/mod.ts";
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
