/**
 * |z|², its gradient and polar's gradient as single kernels: the CPU reference bit for bit
 * against the op chains they replace, WebGPU against the CPU.
 */
import {
  cmul,
  expand,
  mul,
  polar,
  reshape,
  slice,
  square,
  sum,
  tensor,
  tidy,
} from "../../engine/mod.ts";
import { cpuBackend } from "../../engine/cpu/backend.ts";
import { assertClose, randomArray, rng } from "./cpu_test_util.ts";
import { cpu, expectClose, gpuTest, Inputs, TRIG_ATOL } from "./webgpu_test_util.ts";

const N = 1001;

Deno.test("abs2, abs2Grad and polarGrad equal their op chains (CPU, bit for bit)", () => {
  const rand = rng(41);
  const z = randomArray(rand, 2 * N, -3, 3), g = randomArray(rand, N, -2, 2);
  const amp = randomArray(rand, N, 0, 2), phase = randomArray(rand, N, -4, 4);
  const g2 = randomArray(rand, 2 * N, -2, 2);
  const be = cpuBackend();
  const up = (x: Float32Array) => be.upload(x);
  const fused = {
    abs2: be.readSync(be.abs2(up(z)))!,
    abs2Grad: be.readSync(be.abs2Grad(up(z), up(g)))!,
    polarGrad: be.polarGrad(up(g2), up(amp), up(phase)),
  };
  const chain = tidy(() => {
    const zt = tensor(z, [N, 2]);
    const gExp = expand(reshape(tensor(g, [N]), [N, 1]), [N, 2]);
    const unit = polar(tensor(new Float32Array(N).fill(1), [N]), tensor(phase, [N]));
    const rotated = cmul(tensor(g2, [N, 2]), unit, true);
    return {
      abs2: sum(square(zt), -1).dataSync(),
      abs2Grad: mul(gExp, mul(zt, 2)).dataSync(),
      amp: reshape(slice(rotated, [0, 0], [N, 1]), [N]).dataSync(),
      phase: mul(reshape(slice(rotated, [0, 1], [N, 1]), [N]), tensor(amp, [N])).dataSync(),
    };
  });
  assertClose(fused.abs2, chain.abs2, 0, 0, "abs2");
  assertClose(fused.abs2Grad, chain.abs2Grad, 0, 0, "abs2Grad");
  assertClose(be.readSync(fused.polarGrad.amp)!, chain.amp, 0, 0, "polarGrad amp");
  assertClose(be.readSync(fused.polarGrad.phase)!, chain.phase, 0, 0, "polarGrad phase");
});

gpuTest("abs2, abs2Grad and polarGrad match the CPU", async (g) => {
  const inp = new Inputs(42);
  const [zg, zc] = inp.pair(g, 2 * N, -3, 3), [gg, gc] = inp.pair(g, N, -2, 2);
  const [ag, ac] = inp.pair(g, N, 0, 2), [pg, pc] = inp.pair(g, N, -4, 4);
  const [hg, hc] = inp.pair(g, 2 * N, -2, 2);
  await expectClose(g, g.abs2(zg), cpu.abs2(zc), "abs2");
  await expectClose(g, g.abs2Grad(zg, gg), cpu.abs2Grad(zc, gc), "abs2Grad");
  const dg = g.polarGrad(hg, ag, pg), dc = cpu.polarGrad(hc, ac, pc);
  // |h| < 2√2 times cos/sin (amp), times amp < 2 more for the phase: WGSL's trig precision.
  const tolAmp = { atol: 3 * TRIG_ATOL, rtol: 1e-5 },
    tolPhase = { atol: 6 * TRIG_ATOL, rtol: 1e-5 };
  await expectClose(g, dg.amp, dc.amp, "polarGrad amp", tolAmp);
  await expectClose(g, dg.phase, dc.phase, "polarGrad phase", tolPhase);
  for (const s of [zg, gg, ag, pg, hg]) g.release(s);
});
