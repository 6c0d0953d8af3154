/**
 * Browser bundle entry of bench/browser.ts: the kernel benchmark and training steps of the
 * demo network on the page's WebGPU, the same code the Deno side runs.
 */
import { openBackend } from "../engine/backend_choice.ts";
import { setBackend } from "../engine/mod.ts";
import { benchKernels } from "./kernels.ts";
import { benchTrainingSteps } from "./train_setup.ts";
import { BROWSER_BENCH_STEP } from "./browser_config.ts";

(globalThis as unknown as { ptychoBench: unknown }).ptychoBench = async () => {
  const { backend } = await openBackend("webgpu");
  setBackend(backend);
  const kernels = await benchKernels(backend);
  const step = await benchTrainingSteps(BROWSER_BENCH_STEP);
  return { description: backend.description, kernels, step };
};
