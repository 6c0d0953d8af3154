/**
 * Device-time profile of one WebGPU training step, per kernel key (the kernel family and the
 * parameters that change its code, e.g. `conv2d.direct/3x3/px32/ob16/vec4pad1`), or per key and
 * shape with `--detail`: where a step's time goes, for choosing what to optimise next.
 *
 *   deno run -A bench/profile_step.ts [--n=64] [--gs=2] [--nfs=2] [--batch=16] [--detail | --cold] [--top=40] [--buffers]
 *     [--warmup=4] [--steps=3] [--gw-invocations=N]
 *
 * `--cold` also profiles the process's first step and prints, per kernel key, its first-use cost
 * (first step less warm step: on lavapipe, compiling the kernel's machine code when it first
 * runs); run it with MESA_SHADER_CACHE_DISABLE=true for a cold Mesa cache. `--buffers` reads the
 * conv operands from storage buffers, as GPU adapters do, where the adapter would read texels
 * (engine/webgpu/adapter_table.ts). `--gw-invocations` overrides the adapter's weight-gradient
 * split target (`gradWeightInvocations`).
 *
 * Each dispatch runs in its own timestamped pass, so the sum is a little above an unprofiled
 * step; the wall time printed is of the profiled step. First, unprofiled steps give the
 * dispatches per step and the host (JS) time to record one step (up to its submit).
 */
import { createWebGpuBackend } from "../engine/webgpu/backend.ts";
import { setBackend } from "../engine/mod.ts";
import { benchTrainingSteps } from "./train_setup.ts";

const USAGE = "usage: deno run -A bench/profile_step.ts [--n=64] [--gs=2] [--nfs=2] [--batch=16] " +
  "[--detail | --cold] [--top=40] [--buffers] [--warmup=4] [--steps=3] [--gw-invocations=N]";

function flag(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
}

if (Deno.args.includes("--help")) {
  console.log(USAGE);
  Deno.exit(0);
}
const opened = await createWebGpuBackend();
if (opened === null) {
  console.error("profile_step: no WebGPU adapter on this machine");
  Deno.exit(2);
}
const gwInvocations = flag("gw-invocations", 0);
const changes = {
  ...(Deno.args.includes("--buffers") ? { convTextures: false } : {}),
  ...(gwInvocations > 0 ? { gradWeightInvocations: gwInvocations } : {}),
};
// Only a changed variant needs a second backend on the device.
const gpu = Object.keys(changes).length > 0 ? opened.withVariants(changes) : opened;
setBackend(gpu);
// Four warm-up steps: from about the fourth step of one model the pools hand out the same buffers
// every step and the bind groups come from the cache, as in a training loop.
const warmup = flag("warmup", 4);
let done = 0;
const config = { n: flag("n", 64), gridsize: flag("gs", 2), nFiltersScale: flag("nfs", 2) };
// --cold: profile the process's first step too; per kernel key, its time less the warm step's
// is the first-use cost (lavapipe compiles a kernel's machine code when it first runs it).
let cold: Map<string, { ms: number; count: number }> | null = null;
if (Deno.args.includes("--cold")) {
  gpu.rt.startProfile(2048);
  const first = await benchTrainingSteps({
    config,
    batchSize: flag("batch", 16),
    warmupSteps: 0,
    steps: 1,
  });
  cold = new Map(await gpu.rt.stopProfile());
  console.log(
    `first step ${first.secondsPerStep.toFixed(2)} s wall, host ${
      first.hostMsPerStep.toFixed(0)
    } ms (pipeline creation included)`,
  );
}
const unprofiled = await benchTrainingSteps({
  config,
  batchSize: flag("batch", 16),
  warmupSteps: warmup,
  steps: flag("steps", 3),
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
    `step ${unprofiled.hostMsPerStep.toFixed(1)} ms (median of ${flag("steps", 3)}) and its ` +
    `encoder finish ${unprofiled.finishMsPerStep?.toFixed(1)} ms, ` +
    `${unprofiled.secondsPerStep.toFixed(3)} s wall per step`,
);
if (cold === null) {
  for (const [label, { ms, count }] of profile.slice(0, flag("top", 40))) {
    console.log(`${ms.toFixed(1).padStart(9)} ms ${String(count).padStart(5)}×  ${label}`);
  }
} else {
  const warm = new Map(profile);
  const firstUse = [...cold].map(([label, c]) =>
    [label, c.ms - (warm.get(label)?.ms ?? 0)] as const
  )
    .sort((a, b) => b[1] - a[1]);
  const sum = firstUse.reduce((t, [, ms]) => t + ms, 0);
  console.log(
    `first-use cost (cold step − warm step, per kernel key): ${sum.toFixed(0)} ms in all`,
  );
  for (const [label, ms] of firstUse.slice(0, flag("top", 40))) {
    console.log(`${ms.toFixed(1).padStart(9)} ms  ${label}`);
  }
}
