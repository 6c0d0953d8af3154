/** cropPatches / scatterAddPatches on WebGPU against the CPU reference, forward and backward. */
import type { PatchGeometry } from "../../engine/backend.ts";
import {
  abs2,
  backward,
  cmul,
  cpuBackend,
  cropPatches,
  fft2,
  mul,
  scatterAddPatches,
  setBackend,
  sum,
  tensor,
} from "../../engine/mod.ts";
import type { Backend } from "../../engine/backend.ts";
import { randomArray, rng } from "./cpu_test_util.ts";
import { cpu, expectClose, gpuTest, Inputs } from "./webgpu_test_util.ts";

gpuTest(
  "cropPatches and scatterAddPatches match the CPU (odd sizes, edges, overlaps)",
  async (g) => {
    const inp = new Inputs(5);
    for (const inner of [1, 2] as const) {
      for (const [h, w, n, batch] of [[13, 11, 4, 7], [32, 40, 8, 33], [5, 6, 7, 3]]) {
        const geo: PatchGeometry = { batch, n, h, w, inner };
        // Corners from one window's side outside the canvas to past its far edge, some fractional.
        const c = new Float32Array(2 * batch).map((_, i) =>
          inp.int(-n, i % 2 === 0 ? h : w) + (i % 3 === 0 ? 0.6 : 0)
        );
        const [cg, cc] = [g.upload(c), cpu.upload(c)];
        const [xg, xc] = inp.pair(g, h * w * inner);
        await expectClose(
          g,
          g.cropPatches(xg, cg, geo),
          cpu.cropPatches(xc, cc, geo),
          `crop ${JSON.stringify(geo)}`,
        );
        const [pg, pc] = inp.pair(g, batch * n * n * inner);
        const what = `scatter ${JSON.stringify(geo)}`;
        await expectClose(
          g,
          g.scatterAddPatches(pg, cg, geo),
          cpu.scatterAddPatches(pc, cc, geo),
          what,
          {
            atol: 1e-5,
          },
        );
        for (const s of [cg, xg, pg]) g.release(s);
      }
    }
  },
);

const rand = rng(9);
const CANVAS = randomArray(rand, 20 * 18 * 2);
const PROBE = randomArray(rand, 8 * 8 * 2);
const CORNERS = Float32Array.of(0, 0, 3, 5, 10, 9, 12, 10, 6.5, 2.2);

/** Loss of a crop → probe → FFT → |·|² → scatter pipeline and its two gradients on `backend`. */
async function run(backend: Backend): Promise<Float32Array[]> {
  setBackend(backend);
  try {
    const canvas = tensor(CANVAS, [20, 18, 2], { requiresGrad: true });
    const probe = tensor(PROBE, [8, 8, 2], { requiresGrad: true });
    const corners = tensor(CORNERS, [5, 2]);
    const far = abs2(fft2(cmul(cropPatches(canvas, corners, 8), probe)));
    const back = scatterAddPatches(far, corners, 20, 18);
    const loss = sum(mul(back, back));
    backward(loss);
    return [await loss.data(), await canvas.grad!.data(), await probe.grad!.data()];
  } finally {
    setBackend(cpuBackend());
  }
}

gpuTest("gradients through cropPatches and scatterAddPatches match the CPU", async (g) => {
  const gpu = await run(g);
  const ref = await run(cpuBackend());
  ["loss", "dcanvas", "dprobe"].forEach((what, k) => {
    let scale = 0;
    for (const v of ref[k]) scale = Math.max(scale, Math.abs(v));
    ref[k].forEach((e, i) => {
      if (!(Math.abs(gpu[k][i] - e) <= 1e-4 * scale + 1e-6)) {
        throw new Error(`${what}[${i}]: webgpu ${gpu[k][i]}, cpu ${e} (scale ${scale})`);
      }
    });
  });
});
