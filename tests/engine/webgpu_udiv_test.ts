/** The kernels' unsigned division helpers (shaders/common.ts UDIV_FNS) against exact division. */
import { UDIV_FNS } from "../../shaders/common.ts";
import { rng } from "./cpu_test_util.ts";
import { gpuTest } from "./webgpu_test_util.ts";

/** (x, d) pairs: edges of the f32 estimate, and random ones over every magnitude of d. */
function cases(): { x: Uint32Array; d: Uint32Array } {
  const xs: number[] = [], ds: number[] = [];
  const add = (x: number, d: number) => {
    xs.push(x >>> 0);
    ds.push(d);
  };
  const MAX = 2 ** 32 - 1;
  for (const d of [1, 2, 3, 7, 64, 255, 4096, 65_537, 2 ** 24 - 1, 2 ** 24 + 1, 2 ** 31 - 1]) {
    for (const x of [0, 1, d - 1, d, d + 1, 2 ** 24 - 1, 2 ** 24, 2 ** 24 + 1, MAX, MAX - 1]) {
      if (x >= 0 && x <= MAX) add(x, d);
    }
    // Multiples of d and their neighbours, up to the top of the range.
    for (const k of [2, 3, 1000, Math.floor(MAX / d)]) {
      for (const e of [-1, 0, 1]) {
        const x = k * d + e;
        if (x >= 0 && x <= MAX) add(x, d);
      }
    }
  }
  const rand = rng(31);
  for (let i = 0; i < 20_000; i++) {
    const d = Math.max(1, Math.floor(2 ** (rand() * 31)) % 2 ** 31);
    add(Math.floor(rand() * 2 ** 32), Math.min(d, 2 ** 31 - 1));
  }
  return { x: Uint32Array.from(xs), d: Uint32Array.from(ds) };
}

gpuTest("udiv and umod equal exact unsigned division for d below 2^31", async (g) => {
  const { x, d } = cases();
  const n = x.length;
  const device = g.rt.device;
  const code = `${UDIV_FNS}
@group(0) @binding(0) var<storage, read> X: array<u32>;
@group(0) @binding(1) var<storage, read> D: array<u32>;
@group(0) @binding(2) var<storage, read_write> Q: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x;
  if (i >= ${n}u) { return; }
  Q[2u * i] = udiv(X[i], D[i]);
  Q[2u * i + 1u] = umod(X[i], D[i]);
}`;
  const buffer = (data: Uint32Array, usage: number) => {
    const b = device.createBuffer({ size: data.byteLength, usage, mappedAtCreation: true });
    new Uint32Array(b.getMappedRange()).set(data);
    b.unmap();
    return b;
  };
  const xb = buffer(x, GPUBufferUsage.STORAGE), db = buffer(d, GPUBufferUsage.STORAGE);
  const qb = device.createBuffer({
    size: 8 * n,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  });
  const rb = device.createBuffer({
    size: 8 * n,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
  });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [xb, db, qb].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  enc.copyBufferToBuffer(qb, 0, rb, 0, 8 * n);
  device.queue.submit([enc.finish()]);
  await rb.mapAsync(GPUMapMode.READ);
  const out = new Uint32Array(rb.getMappedRange().slice(0));
  rb.unmap();
  for (const b of [xb, db, qb, rb]) b.destroy();
  let bad = 0;
  let first = "";
  for (let i = 0; i < n; i++) {
    const q = Math.floor(x[i] / d[i]), r = x[i] - q * d[i];
    if (out[2 * i] !== q || out[2 * i + 1] !== r) {
      if (bad++ === 0) {
        first = `${x[i]} / ${d[i]}: ${out[2 * i]} rem ${out[2 * i + 1]}, want ${q} rem ${r}`;
      }
    }
  }
  if (bad > 0) throw new Error(`${bad} of ${n} divisions wrong, first ${first}`);
});
