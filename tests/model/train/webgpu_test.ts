/**
 * Training on WebGPU: a few steps match the CPU reference, and a training step makes no host
 * round trip (one readback for the whole run). Skipped without an adapter unless
 * PTYCHO_REQUIRE_WEBGPU=1.
 */
import { getBackend, setBackend } from "../../../engine/mod.ts";
import { benchTrainingSteps } from "../../../bench/train_setup.ts";
import { assert } from "../../assert.ts";
import { cpu, gpuTest } from "../../engine/webgpu_test_util.ts";

const small = { config: { n: 32, gridsize: 2, nFiltersScale: 0.25 }, batchSize: 4 };

gpuTest("three training steps match the CPU backend", async (gpu) => {
  const before = getBackend();
  try {
    setBackend(cpu);
    const onCpu = await benchTrainingSteps({ ...small, warmupSteps: 0, steps: 3 });
    setBackend(gpu);
    const onGpu = await benchTrainingSteps({ ...small, warmupSteps: 0, steps: 3 });
    const rel = Math.abs(onGpu.loss - onCpu.loss) / Math.abs(onCpu.loss);
    assert(rel < 1e-4, `loss after 3 steps: webgpu ${onGpu.loss}, cpu ${onCpu.loss}`);
  } finally {
    setBackend(before);
  }
});

gpuTest(
  "training steps read nothing back from the device until the loss is asked for",
  async (gpu) => {
    const before = getBackend();
    const read = gpu.read.bind(gpu);
    let reads = 0;
    gpu.read = (s) => {
      reads++;
      return read(s);
    };
    try {
      setBackend(gpu);
      await benchTrainingSteps({ ...small, warmupSteps: 0, steps: 4 });
      assert(reads === 1, `${reads} readbacks in 4 steps (expected only the final loss)`);
    } finally {
      gpu.read = read;
      setBackend(before);
    }
  },
);

gpuTest("device memory stays flat over training steps", async (gpu) => {
  const before = getBackend();
  try {
    setBackend(gpu);
    const live: number[] = [];
    await benchTrainingSteps({
      ...small,
      warmupSteps: 0,
      steps: 8,
      afterStep: () => live.push(gpu.memory().liveStorages),
    });
    assert(live.slice(2).every((v) => v === live[1]), `live storages per step: ${live}`);
  } finally {
    setBackend(before);
  }
});
