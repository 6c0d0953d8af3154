/**
 * The issue-15 model options on WebGPU: a few training steps match the CPU reference for the
 * offset-plane network, object_big = false and the full merge window. Skipped without an adapter
 * unless PTYCHO_REQUIRE_WEBGPU=1.
 */
import { getBackend, setBackend } from "../../../engine/mod.ts";
import { benchTrainingSteps } from "../../../bench/train_setup.ts";
import type { PinnConfig } from "../../../model/pinn.ts";
import { assert } from "../../assert.ts";
import { cpu, gpuTest } from "../../engine/webgpu_test_util.ts";

const base: PinnConfig = { n: 32, gridsize: 2, nFiltersScale: 0.25 };
const variants: [string, PinnConfig][] = [
  ["offset planes", { ...base, offsetPlanes: true }],
  ["object_big false", { ...base, objectBig: false }],
  ["full merge window", { ...base, mergeWindow: "full" }],
];

gpuTest("three training steps with each option match the CPU backend", async (gpu) => {
  const before = getBackend();
  try {
    for (const [name, config] of variants) {
      const run = { config, batchSize: 4, warmupSteps: 0, steps: 3 };
      setBackend(cpu);
      const onCpu = await benchTrainingSteps(run);
      setBackend(gpu);
      const onGpu = await benchTrainingSteps(run);
      const rel = Math.abs(onGpu.loss - onCpu.loss) / Math.abs(onCpu.loss);
      assert(rel < 1e-4, `${name}: loss after 3 steps: webgpu ${onGpu.loss}, cpu ${onCpu.loss}`);
    }
  } finally {
    setBackend(before);
  }
});
