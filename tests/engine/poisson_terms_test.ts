/**
 * The fused Poisson training terms: the CPU reference bit for bit against the op chain they
 * replace (forward and both gradients), gradients against finite differences, and WebGPU against
 * the CPU.
 */
import {
  backward,
  clamp,
  exp,
  log,
  mean,
  mul,
  photonCounts,
  poissonNllTerms,
  poissonTerms,
  square,
  sub,
  type Tensor,
  tensor,
  tidy,
} from "../../engine/mod.ts";
import { assertClose, randomArray, rng } from "./cpu_test_util.ts";
import { gradCheck } from "./gradcheck.ts";
import { cpu, expectClose, gpuTest, Inputs } from "./webgpu_test_util.ts";

const SHAPE = [2, 3, 5, 7], N = 2 * 3 * 5 * 7, FLOOR = 1e-8;

/** Intensities with exact zeros (clamped rates) and counts with zeros. */
function inputs(seed: number): { intensity: Float32Array; counts: Float32Array } {
  const rand = rng(seed);
  const intensity = randomArray(rand, N, 0, 3).map((v, i) => (i % 9 === 0 ? 0 : v));
  const counts = randomArray(rand, N, 0, 20).map((v, i) => (i % 5 === 0 ? 0 : Math.round(v)));
  return { intensity, counts };
}

/** Loss and its gradients w.r.t. intensity and log s, fused or by the op chain. */
function run(fused: boolean, data: { intensity: Float32Array; counts: Float32Array }) {
  return tidy(() => {
    const i = tensor(data.intensity, SHAPE, { requiresGrad: true });
    const logS = tensor([0.3], [1], { requiresGrad: true });
    const k = tensor(data.counts, SHAPE);
    const s2 = square(mul(exp(logS), tensor([1], [1, 1, 1, 1])));
    const loss = fused ? mean(poissonTerms(i, s2, k, FLOOR).terms) : (() => {
      const rate = clamp(mul(i, s2), FLOOR);
      return mean(sub(rate, mul(k, log(rate))));
    })();
    backward(loss);
    const out = [loss.dataSync(), i.grad!.dataSync(), logS.grad!.dataSync()];
    for (const t of [i, logS]) t.grad!.dispose();
    return out;
  });
}

Deno.test("poissonTerms equals the op chain (loss and gradients, CPU, bit for bit)", () => {
  const data = inputs(51);
  const [fused, chain] = [run(true, data), run(false, data)];
  ["loss", "d intensity", "d log s"].forEach((what, k) => {
    assertClose(fused[k], chain[k], 0, 0, what);
  });
});

Deno.test("photonCounts equals square(mul(x, s0)) (CPU, bit for bit)", () => {
  const x = randomArray(rng(56), N, -2, 2);
  for (const s0 of [988.37, 0.3, 12345.678]) {
    const [fused, chain] = tidy(() => {
      const t = tensor(x, SHAPE);
      return [photonCounts(t, s0).dataSync(), square(mul(t, s0)).dataSync()];
    });
    assertClose(fused, chain, 0, 0, `s0 ${s0}`);
  }
});

gpuTest("photonCounts matches the CPU", async (g) => {
  const [xg, xc] = new Inputs(57).pair(g, N + 1, -2, 2);
  await expectClose(g, g.photonCounts(xg, 988.37), cpu.photonCounts(xc, 988.37), "counts", {
    atol: 0,
    rtol: 1e-6,
  });
  g.release(xg);
});

Deno.test("poissonTerms' reported NLL terms equal poissonNllTerms of the clamped rate (CPU)", () => {
  const data = inputs(55);
  const [nll, chain] = tidy(() => {
    const i = tensor(data.intensity, SHAPE), k = tensor(data.counts, SHAPE);
    const s2 = tensor([1.7], [1]);
    return [
      poissonTerms(i, s2, k, FLOOR).nll.dataSync(),
      poissonNllTerms(clamp(mul(i, s2), FLOOR), k).dataSync(),
    ];
  });
  assertClose(nll, chain, 0, 0, "nll");
});

Deno.test("poissonTerms: gradients match finite differences", () => {
  const data = inputs(52);
  const intensity = data.intensity.map((v) => v + 0.5);
  const f = (t: Tensor[]) =>
    mean(poissonTerms(t[0], square(t[1]), tensor(data.counts, SHAPE), FLOOR).terms);
  const problem = gradCheck(f, [intensity, Float32Array.of(1.3)], [SHAPE, [1]], {});
  if (problem !== null) throw new Error(problem);
});

gpuTest("poissonTerms and its gradient match the CPU", async (g) => {
  const data = inputs(53);
  const inp = new Inputs(54);
  const [ig, kg, sg] = [
    g.upload(data.intensity),
    g.upload(data.counts),
    g.upload(Float32Array.of(1.7)),
  ];
  const [ic, kc, sc] = [
    cpu.upload(data.intensity),
    cpu.upload(data.counts),
    cpu.upload(Float32Array.of(1.7)),
  ];
  const fg = g.poissonTerms(ig, sg, kg, FLOOR), fc = cpu.poissonTerms(ic, sc, kc, FLOOR);
  const tol = { atol: 1e-5, rtol: 1e-5 };
  await expectClose(g, fg.terms, fc.terms, "terms", tol);
  await expectClose(g, fg.nll, fc.nll, "nll", tol);
  const [gg, gc] = inp.pair(g, N);
  const dg = g.poissonTermsGrad(gg, ig, sg, kg, FLOOR),
    dc = cpu.poissonTermsGrad(gc, ic, sc, kc, FLOOR);
  await expectClose(g, dg.intensity, dc.intensity, "d intensity", tol);
  await expectClose(g, dg.scale, dc.scale, "d scale", tol);
  for (const s of [ig, kg, sg, gg]) g.release(s);
});
