/**
 * The WebGPU buffer pool stays flat over repeated steps: after warm-up, a step that allocates,
 * computes and releases the same storages leaves the live-storage count and the pooled bytes
 * unchanged (buffers come back to the pool after their submit and are reused).
 */
import type { Conv2dGeometry, Storage } from "../../engine/backend.ts";
import type { WebGpuBackend } from "../../engine/webgpu/backend.ts";
import { gpuTest } from "./webgpu_test_util.ts";

/** One simulated training step: forward, backward-like kernels, an Adam update, a loss read. */
async function step(g: WebGpuBackend, params: Storage[], readLoss: boolean): Promise<void> {
  const [w, m, v] = params;
  const geo: Conv2dGeometry = {
    n: 2,
    c: 3,
    h: 16,
    w: 16,
    o: 4,
    kh: 3,
    kw: 3,
    padTop: 1,
    padLeft: 1,
    outH: 16,
    outW: 16,
  };
  const x = g.fill(2 * 3 * 16 * 16, 0.5);
  const y = g.conv2d(x, w, geo);
  const a = g.unary(y, "relu", 0, 0);
  const pooled = g.maxPool2d(a, 2, 4, 16, 16);
  const up = g.upsample2x(pooled, 8, 8, 8);
  const c = g.fft2(up, 4, 16, 8, false, 1);
  const loss = g.reduce(c, 1, c.size, 1, "sum");
  const ones = g.fill(pooled.size, 1);
  const dy = g.maxPool2dGrad(a, ones, 2, 4, 16, 16);
  const dw = g.conv2dGradWeight(x, dy, geo);
  const dx = g.conv2dGradInput(dy, w, geo);
  g.adam(w, dw, m, v, {
    lr: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0,
    biasCorrection1: 0.1,
    biasCorrection2: 0.001,
  });
  if (readLoss) await g.read(loss);
  for (const s of [x, y, a, pooled, up, c, loss, ones, dy, dw, dx]) g.release(s);
  g.flush();
}

gpuTest("50 steps: live storages and pooled bytes are the same after step 10 and 50", async (g) => {
  const params = [g.fill(4 * 3 * 9, 0.1), g.fill(4 * 3 * 9, 0), g.fill(4 * 3 * 9, 0)];
  const snapshot = () => JSON.stringify(g.memory());
  let at10 = "";
  for (let s = 1; s <= 50; s++) {
    await step(g, params, s % 5 === 0);
    if (s === 10) at10 = snapshot();
  }
  const at50 = snapshot();
  if (at10 !== at50) throw new Error(`memory grew: step 10 ${at10}, step 50 ${at50}`);
  for (const p of params) g.release(p);
});
