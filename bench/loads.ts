/**
 * What one vec4 read costs a WebGPU kernel, by the kind of binding it reads: a storage buffer, a
 * sampled texture (`texture_2d<u32>`, `textureLoad` with a level) and a read-only storage texture
 * (`texture_storage_2d<rgba32uint, read>`, which needs WGSL's
 * `readonly_and_readwrite_storage_textures`). Each of 65 536 invocations sums 64 vec4 at addresses
 * that differ from lane to lane, as a convolution's operand loads do. Each kind's figure is the
 * wall time of 40 dispatches in one submit (median of 9 interleaved runs) less that of the same
 * loop adding its index instead of a read, per read per invocation. On llvmpipe the kinds differ
 * by the code Mesa emits for each (docs/engine.md#storage-loads).
 *
 *   deno run -A bench/loads.ts
 */
import { TEXEL_LANGUAGE_FEATURE, wgslLanguageFeatures } from "../engine/webgpu/adapter_table.ts";

const W = 4096, H = 256, N = 65536, LOADS = 64;

const adapter = await navigator.gpu?.requestAdapter();
if (!adapter) {
  console.error("bench/loads.ts needs a WebGPU adapter");
  Deno.exit(2);
}
const device = await adapter.requestDevice();
/** A texture of the texel copies' format with `usage` (each kind binds its own). */
const texture = (usage: number) =>
  device.createTexture({
    size: [W, H],
    format: "rgba32uint",
    usage: usage | GPUTextureUsage.COPY_DST,
  });
const buffer = device.createBuffer({ size: W * H * 16, usage: GPUBufferUsage.STORAGE });
const out = device.createBuffer({ size: N * 16, usage: GPUBufferUsage.STORAGE });

/** The kernel text: `decl` binds T at 0, `load(idx)` reads the vec4 at flat index idx. */
function kernel(decl: string, load: (idx: string) => string): string {
  return `${decl}
@group(0) @binding(1) var<storage, read_write> O: array<vec4f>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  var acc = vec4f(0.0);
  var base = (i * 7u) % ${W * H - LOADS * 64}u;
  for (var k = 0u; k < ${LOADS}u; k++) {
    let idx = base + k * 61u;
    acc += ${load("idx")};
  }
  O[i] = acc;
}`;
}
const at = (idx: string) => `vec2u((${idx}) % ${W}u, (${idx}) / ${W}u)`;
const kinds: Record<string, { code: string; resource: GPUBindingResource }> = {
  "no read (the loop alone)": {
    code: kernel(
      "@group(0) @binding(0) var<storage, read> T: array<vec4f>;",
      (i) => `vec4f(f32(${i}))`,
    ),
    resource: { buffer },
  },
  "storage buffer": {
    code: kernel("@group(0) @binding(0) var<storage, read> T: array<vec4f>;", (i) => `T[${i}]`),
    resource: { buffer },
  },
  "sampled texture": {
    code: kernel(
      "@group(0) @binding(0) var T: texture_2d<u32>;",
      (i) => `bitcast<vec4f>(textureLoad(T, ${at(i)}, 0))`,
    ),
    resource: texture(GPUTextureUsage.TEXTURE_BINDING).createView(),
  },
};
if (wgslLanguageFeatures().has(TEXEL_LANGUAGE_FEATURE)) {
  kinds["read-only storage texture"] = {
    code: kernel(
      "@group(0) @binding(0) var T: texture_storage_2d<rgba32uint, read>;",
      (i) => `bitcast<vec4f>(textureLoad(T, ${at(i)}))`,
    ),
    resource: texture(GPUTextureUsage.STORAGE_BINDING).createView(),
  };
}

const REPEATS = 40;

/** Milliseconds per dispatch of `pipeline`: REPEATS dispatches in one submit, by wall time. */
async function time(pipeline: GPUComputePipeline, group: GPUBindGroup): Promise<number> {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  for (let r = 0; r < REPEATS; r++) pass.dispatchWorkgroups(N / 64);
  pass.end();
  const t0 = performance.now();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / REPEATS;
}

const runs = Object.entries(kinds).map(([name, { code, resource }]) => {
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
  });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource }, { binding: 1, resource: { buffer: out } }],
  });
  return { name, pipeline, group, ms: [] as number[] };
});
for (let round = 0; round < 10; round++) {
  for (const r of runs) {
    const ms = await time(r.pipeline, r.group);
    if (round > 0) r.ms.push(ms); // the first dispatch compiles on llvmpipe
  }
}
console.log(
  `${adapter.info.description || adapter.info.vendor}: ${N} invocations × ${LOADS} reads`,
);
const median = (ms: number[]) => [...ms].sort((a, b) => a - b)[ms.length >> 1];
const bare = median(runs[0].ms);
for (const r of runs) {
  const m = median(r.ms);
  const ns = r === runs[0] ? "" : `  ${(((m - bare) * 1e6) / (N * LOADS)).toFixed(2)} ns per read`;
  console.log(`${r.name.padEnd(26)} ${m.toFixed(2).padStart(7)} ms per dispatch${ns}`);
}
