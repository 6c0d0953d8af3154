/**
 * splitChannels: the two channel blocks and their gradients bit for bit those of two slices
 * (CPU), and WebGPU against the CPU on odd and vec4-sized planes.
 */
import { backward, mul, slice, splitChannels, sum, tensor, tidy } from "../../engine/mod.ts";
import { assertClose, randomArray, rng } from "./cpu_test_util.ts";
import { cpu, expectClose, gpuTest, Inputs } from "./webgpu_test_util.ts";

const SHAPES = [[2, 7, 3, 5], [3, 5, 4, 4], [1, 3, 2]] as const;

Deno.test("splitChannels equals two slices, values and gradients (CPU, bit for bit)", () => {
  SHAPES.forEach((shape, k) => {
    const size = shape.reduce((p: number, d) => p * d, 1), c = shape[1];
    const data = randomArray(rng(70 + k), size);
    const [ra, rb] = [0, 1].map((j) => randomArray(rng(80 + j), size));
    for (const first of [1, c - 1]) {
      const run = (fused: boolean) =>
        tidy(() => {
          const x = tensor(data, [...shape], { requiresGrad: true });
          const [a, b] = fused
            ? splitChannels(x, first)
            : [slice(x, [0, 0], [shape[0], first]), slice(x, [0, first], [shape[0], c - first])];
          const weigh = (t: typeof a, r: Float32Array) =>
            sum(mul(t, tensor(r.subarray(0, t.size), t.shape)));
          backward(sum(mul(weigh(a, ra), weigh(b, rb))));
          return [a.dataSync(), b.dataSync(), x.grad!.dataSync()];
        });
      const [f, s] = [run(true), run(false)];
      ["a", "b", "gradient"].forEach((w, i) =>
        assertClose(f[i], s[i], 0, 0, `${w} ${shape}/${first}`)
      );
    }
  });
});

gpuTest("splitChannels matches the CPU", async (g) => {
  for (const [k, shape] of SHAPES.entries()) {
    const [outer, c] = shape, plane = shape.slice(2).reduce((p: number, d) => p * d, 1);
    const [xg, xc] = new Inputs(90 + k).pair(g, outer * c * plane);
    const first = Math.max(1, c - 2);
    const sg = g.splitChannels(xg, outer, c, plane, first);
    const sc = cpu.splitChannels(xc, outer, c, plane, first);
    await expectClose(g, sg.a, sc.a, `a ${shape}`, { atol: 0, rtol: 0 });
    await expectClose(g, sg.b, sc.b, `b ${shape}`, { atol: 0, rtol: 0 });
    g.release(xg);
  }
});
