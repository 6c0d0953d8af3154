/**
 * The WebGPU buffer pool stays flat over repeated steps: after warm-up, a step that allocates,
 * computes and releases the same storages leaves the live-storage count and the pooled bytes
 * unchanged (buffers come back to the pool after their submit and are reused).
 */
import type { Conv2dGeometry, Storage } from "../../engine/backend.ts";
import type { WebGpuBackend } from "../../engine/webgpu/backend.ts";
import type { GpuStorage } from "../../engine/webgpu/runtime.ts";
import { BindGroupCache } from "../../engine/webgpu/bind_groups.ts";
import { gpuTest } from "./webgpu_test_util.ts";

/** One simulated training step: forward, backward-like kernels, an Adam update, a loss read. */
async function step(g: WebGpuBackend, params: Storage[], readLoss: boolean): Promise<void> {
  const [w, mv] = params;
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
  g.adam([{ p: w, g: dw, mv }], {
    lr: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0,
    biasCorrection1: 0.1,
    biasCorrection2: 0.001,
    emaDecay: 0,
  });
  if (readLoss) await g.read(loss);
  for (const s of [x, y, a, pooled, up, c, loss, ones, dy, dw, dx]) g.release(s);
  g.flush();
}

gpuTest("50 steps: live storages and pooled bytes are the same after step 10 and 50", async (g) => {
  const params = [g.fill(4 * 3 * 9, 0.1), g.fill(2 * 4 * 3 * 9, 0)];
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

gpuTest(
  "free buffers unused across two readbacks are destroyed; reused ones are kept",
  async (g) => {
    const probe = g.fill(4, 1);
    const idle = async (reads: number) => {
      for (let k = 0; k < reads; k++) await g.read(probe);
    };
    await idle(3);
    const base = g.memory().pooledBytes;
    // A phase with its own sizes: 4 MiB of buffers, released to the pool.
    const big = [1, 2, 3, 4].map((k) => g.fill(2 ** 18 + 64 * k, 0));
    for (const s of big) g.release(s);
    g.flush();
    const held = g.memory().pooledBytes;
    if (held < base + 4 * 2 ** 20) throw new Error(`released buffers not pooled: ${held}`);
    // A steady loop reusing one buffer per readback keeps it (and does not grow the pool) …
    let steady = -1;
    for (let k = 0; k < 4; k++) {
      g.release(g.fill(2 ** 16, 0));
      g.flush();
      await idle(1);
      if (k === 1) steady = g.memory().pooledBytes;
    }
    const after = g.memory().pooledBytes;
    // … while the other phase's buffers, unused for more than two readbacks, are gone.
    if (after >= held) throw new Error(`pool not trimmed: ${after} bytes, was ${held}`);
    if (after !== base + 2 ** 18) throw new Error(`steady buffer not kept: ${after}, base ${base}`);
    if (steady < after) throw new Error(`pool grew in the steady loop: ${steady} → ${after}`);
    g.release(probe);
  },
);

gpuTest(
  "cached bind groups: repeated dispatches reuse them, and stay right when buffers die",
  async (g) => {
    // Same shapes each round: the pool hands back the same buffers, so the bind groups are reused;
    // between phases another size is used and idle points destroy the first phase's buffers.
    const round = async (n: number, k: number) => {
      const x = g.upload(Float32Array.from({ length: n }, (_, i) => i + k));
      const y = g.unary(x, "affine", 2, 1);
      const got = await g.read(y);
      for (const s of [x, y]) g.release(s);
      got.forEach((v, i) => {
        if (v !== 2 * (i + k) + 1) throw new Error(`n ${n} round ${k}: at ${i} got ${v}`);
      });
    };
    for (let k = 0; k < 3; k++) await round(1000, k);
    for (let k = 0; k < 4; k++) await round(5000, k);
    for (let k = 0; k < 3; k++) await round(1000, k + 10);
  },
);

gpuTest("bind group cache: a destroyed buffer drops only the groups that name it", async (g) => {
  const device = g.rt.device;
  const cache = new BindGroupCache(device);
  const created = () => cache.created;
  const layout = device.createBindGroupLayout({
    entries: [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" } },
      { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: "read-only-storage" } },
    ],
  });
  const uniform = device.createBuffer({ size: 256, usage: GPUBufferUsage.UNIFORM });
  const block = { buffer: uniform, offset: 0, size: 256 };
  const [a, b] = [0, 1].map(() =>
    device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE })
  );
  const ga = cache.get("k", layout, block, [{ buffer: a }]);
  const gb = cache.get("k", layout, block, [{ buffer: b }]);
  if (created() !== 2) throw new Error(`${created()} groups created, not 2`);
  if (cache.get("k", layout, block, [{ buffer: a }]) !== ga) throw new Error("no cache hit");
  cache.forget(a);
  a.destroy();
  if (cache.get("k", layout, block, [{ buffer: b }]) !== gb) throw new Error("b's group dropped");
  const a2 = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
  cache.get("k", layout, block, [{ buffer: a2 }]);
  if (created() !== 3) throw new Error(`${created()} groups created, not 3`);
  // Forgetting the uniform buffer drops every group that names it.
  cache.forget(uniform);
  cache.get("k", layout, block, [{ buffer: b }]);
  if (created() !== 4) throw new Error("the group naming a forgotten uniform buffer was kept");
  for (const buf of [b, a2, uniform]) buf.destroy();
  // A readback reports any validation error.
  const probe = g.upload(new Float32Array(4));
  await g.read(probe);
  g.release(probe);
});

gpuTest(
  "a step that releases in another order than it allocates gets the same buffers every step",
  async (g) => {
    // Three storages of one size class, released middle, last, first: handed out in return order,
    // the next step would bind them permuted and create its bind groups again.
    const buffersOf = (ss: Storage[]) => ss.map((s) => (s as GpuStorage).buffer);
    const created: number[] = [];
    let first: GPUBuffer[] = [];
    for (let k = 0; k < 6; k++) {
      const before = g.rt.bindGroupsCreated;
      const ins = [1, 2, 3].map((v) => g.fill(1000, v + k));
      const outs = ins.map((s) => g.unary(s, "affine", 2, 1));
      if (k === 2) first = buffersOf([...ins, ...outs]);
      if (k === 5) {
        const now = buffersOf([...ins, ...outs]);
        if (now.some((b, i) => b !== first[i])) throw new Error("step 6 got other buffers");
        const got = await g.read(outs[2]);
        if (got[0] !== 2 * (3 + k) + 1) throw new Error(`got ${got[0]}`);
      }
      for (const i of [1, 2, 0]) g.release(outs[i]);
      for (const i of [1, 2, 0]) g.release(ins[i]);
      g.flush();
      created.push(g.rt.bindGroupsCreated - before);
    }
    if (created[0] === 0) throw new Error("the first step created no bind groups");
    if (created.slice(2).some((n) => n !== 0)) throw new Error(`bind groups per step ${created}`);
  },
);

gpuTest(
  "releasePooled empties the pools; weights survive and later steps allocate again",
  async (g) => {
    const params = [g.fill(4 * 3 * 9, 0.1), g.fill(2 * 4 * 3 * 9, 0)];
    for (let k = 0; k < 3; k++) await step(g, params, true);
    if (g.memory().pooledBytes === 0) throw new Error("the steps left nothing pooled");
    const before = await g.read(params[0]);
    const live = g.memory().liveStorages;
    g.releasePooled();
    if (g.memory().pooledBytes !== 0) throw new Error(`${g.memory().pooledBytes} bytes pooled`);
    if (g.memory().liveStorages !== live) throw new Error("live storages were touched");
    // The weights survive, and the next step runs (validation errors throw on its read) and pools again.
    const after = await g.read(params[0]);
    if (after.some((v, i) => v !== before[i])) throw new Error("the weights changed");
    await step(g, params, true);
    if (g.memory().pooledBytes === 0) throw new Error("the next step pooled nothing");
    for (const s of params) g.release(s);
  },
);
