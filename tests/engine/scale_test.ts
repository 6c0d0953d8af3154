/**
 * The photon scale's fused factors s0/s and s² from log_scale: the CPU reference against the op
 * chain it replaces (values and the log_scale gradient bit for bit, each factor alone and both
 * together), the gradient against finite differences, and WebGPU against the CPU.
 */
import {
  add,
  backward,
  div,
  exp,
  mul,
  photonScale,
  square,
  sum,
  type Tensor,
  tensor,
  tidy,
} from "../../engine/mod.ts";
import { assertClose } from "./cpu_test_util.ts";
import { gradCheck } from "./gradcheck.ts";
import { cpu, expectClose, gpuTest } from "./webgpu_test_util.ts";

/** Σ w·factors for the given weights, its value and the log_scale gradient. */
function run(factors: (l: Tensor) => Tensor[], ell: number, weights: number[]): Float32Array[] {
  return tidy(() => {
    const l = tensor(Float32Array.of(ell), [1], { requiresGrad: true });
    const fs = factors(l);
    const total = fs.map((f, i) => mul(f, weights[i])).reduce((a, b) => add(a, b));
    backward(sum(total));
    return [...fs.map((f) => f.dataSync()), l.grad!.dataSync()];
  });
}

const fused = (s0: number) => (l: Tensor) => {
  const { input, rate } = photonScale(l, s0);
  return [input, rate];
};
const chain = (s0: number) => (l: Tensor) => [div(s0, exp(l)), square(exp(l))];

Deno.test("photonScale equals the chain it replaces (CPU, bit for bit)", () => {
  for (const [ell, s0] of [[6.9, 988.4], [-1.3, 0.37], [0.2, 12345.678]]) {
    for (const weights of [[0.7, 0], [0, -1.9], [1.3, 0.011]]) {
      const a = run(fused(s0), ell, weights), b = run(chain(s0), ell, weights);
      a.forEach((v, i) => assertClose(v, b[i], 0, 0, `output ${i}, ℓ ${ell}, w ${weights}`));
    }
  }
});

Deno.test("photonScale gradients match finite differences", () => {
  for (const k of [0, 1]) {
    const err = gradCheck(([l]) => Object.values(photonScale(l, 3.5))[k], [Float32Array.of(0.4)], [
      [1],
    ], { step: 1e-3 });
    if (err !== null) throw new Error(`factor ${k}: ${err}`);
  }
});

gpuTest("photonScale and its gradients match the CPU", async (g) => {
  for (const [ell, s0] of [[6.9, 988.4], [-1.3, 0.37]]) {
    const [lg, lc] = [g.upload(Float32Array.of(ell)), cpu.upload(Float32Array.of(ell))];
    const [gg, gc] = [g.upload(Float32Array.of(-0.8)), cpu.upload(Float32Array.of(-0.8))];
    const tol = { atol: 0, rtol: 1e-5 };
    const fg = g.photonScale(lg, s0), fc = cpu.photonScale(lc, s0);
    await expectClose(g, fg.input, fc.input, `input ${ell}`, tol);
    await expectClose(g, fg.rate, fc.rate, `rate ${ell}`, tol);
    for (const rate of [false, true]) {
      const what = `gradient ${rate ? "rate" : "input"} ${ell}`;
      await expectClose(
        g,
        g.photonScaleGrad(gg, lg, s0, rate),
        cpu.photonScaleGrad(gc, lc, s0, rate),
        what,
        tol,
      );
    }
    for (const s of [lg, gg]) g.release(s);
  }
});
