/**
 * Device-time profile of one WebGPU training step, per kernel key (the kernel family and the
 * parameters that change its code, e.g. `conv2d.direct/3x3/px32/ob16/vec4pad1`), or per key and
 * shape with `--detail`: where a step's time goes, for choosing what to optimise next.
 *
 *   deno run -A bench/profile_step.ts [--n=64] [--gs=2] [--nfs=2] [--batch=16] [--detail] [--top=40]
 *
 * Each dispatch runs in its own timestamped pass, so the sum is a little above an unprofiled
 * step; the wall time printed is of the profiled step. First, unprofiled steps give the
 * dispatches per step and the host (JS) time to record one step (up to its submit).
 */
import { createWebGpuBackend } from "../engine/webgpu/backend.ts";
import { setBackend } from "../engine/mod.ts";
import { benchTrainingSteps } from "./train_setup.ts";

const USAGE =
  "usage: deno run -A bench/profile_step.ts [--n=64] [--gs=2] [--nfs=2] [--batch=16] [--detail] [--top=40]";

function flag(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
}

if (Deno.args.includes("--help")) {
  console.log(USAGE);
  Deno.exit(0);
}
const gpu = await createWebGpuBackend();
if (gpu === null) {
  console.error("profile_step: no WebGPU adapter on this machine");
  Deno.exit(2);
}
setBackend(gpu);
const warmup = 2;
let done = 0;
const config = { n: flag("n", 64), gridsize: flag("gs", 2), nFiltersScale: flag("nfs", 2) };
const unprofiled = await benchTrainingSteps({
  config,
  batchSize: flag("batch", 16),
  warmupSteps: warmup,
  steps: 3,
});
const result = await benchTrainingSteps({
  config,
  batchSize: flag("batch", 16),
  warmupSteps: warmup,
  steps: 1,
  afterStep: () => {
    if (++done === warmup) gpu.rt.startProfile(2048, Deno.args.includes("--detail"));
  },
});
const profile = await gpu.rt.stopProfile();
const total = profile.reduce((s, [, v]) => s + v.ms, 0);
const dispatches = profile.reduce((s, [, v]) => s + v.count, 0);
const device = `${total.toFixed(1)} ms device in ${dispatches} dispatches`;
const wall = `${result.secondsPerStep.toFixed(3)} s wall`;
console.log(
  `${JSON.stringify(config)} batch ${flag("batch", 16)}: profiled step ${wall}, ${device}, ` +
    `${gpu.rt.pipelineCount} pipelines`,
);
console.log(
  `unprofiled: ${unprofiled.dispatchesPerStep} dispatches per step, host (JS) time to record one ` +
    `step ${unprofiled.hostMsPerStep.toFixed(1)} ms (median of 3), ` +
    `${unprofiled.secondsPerStep.toFixed(3)} s wall per step`,
);
for (const [label, { ms, count }] of profile.slice(0, flag("top", 40))) {
  console.log(`${ms.toFixed(1).padStart(9)} ms ${String(count).padStart(5)}×  ${label}`);
}
