/** farFieldResiduals and its gradient on WebGPU against the CPU reference. */
import { cpu, expectClose, gpuTest, Inputs } from "./webgpu_test_util.ts";

gpuTest("farFieldResiduals and its gradient match the CPU (odd size, zero counts)", async (g) => {
  const inp = new Inputs(3);
  const eps = { amplitude: 1e-4, poisson: 1e-2 };
  const size = 3 * 37 + 1;
  const [pg, pc] = inp.pair(g, 2 * size, -20, 20);
  const amp = new Float32Array(size).map((_, i) => (i % 7 === 0 ? 0 : 0.1 + (i % 29)));
  const [ag, ac] = [g.upload(amp), cpu.upload(amp)];
  await expectClose(
    g,
    g.farFieldResiduals(pg, ag, eps),
    cpu.farFieldResiduals(pc, ac, eps),
    "residuals",
    { atol: 1e-4, rtol: 1e-4 },
  );
  const [gg, gc] = inp.pair(g, 2 * size);
  await expectClose(
    g,
    g.farFieldResidualsGrad(pg, ag, gg, eps),
    cpu.farFieldResidualsGrad(pc, ac, gc, eps),
    "gradient",
    { atol: 1e-4, rtol: 1e-4 },
  );
  for (const s of [pg, ag, gg]) g.release(s);
});
