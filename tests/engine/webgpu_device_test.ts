/** WebGPU backend plumbing: buffer reuse hazards, lazy submission, device loss, identity. */
import {
  kernelVariantsFor,
  TEXEL_LANGUAGE_FEATURE,
  wgslLanguageFeatures,
} from "../../engine/webgpu/adapter_table.ts";
import { WebGpuBackend } from "../../engine/webgpu/backend.ts";
import { BufferPool } from "../../engine/webgpu/buffer_pool.ts";
import type { GpuStorage } from "../../engine/webgpu/runtime.ts";
import { FLAT_WG } from "../../shaders/common.ts";
import { unaryKernel } from "../../shaders/elementwise.ts";
import { gpuTest, Inputs } from "./webgpu_test_util.ts";

gpuTest(
  "a released input is not overwritten before the work that reads it is submitted",
  async (g) => {
    const n = 4096;
    const a = g.upload(new Float32Array(n).fill(3));
    const y = g.unary(a, "square", 0, 0); // recorded, not submitted
    g.release(a);
    // Same size class: must not receive a's buffer while the square is still unsubmitted.
    const b = g.upload(new Float32Array(n).fill(-7));
    if ((b as GpuStorage).buffer === (a as GpuStorage).buffer) {
      throw new Error("a buffer was reused before its submit");
    }
    const out = await g.read(y);
    if (out.some((v) => v !== 9)) throw new Error(`expected 9 everywhere, got ${out[0]}`);
    // After the submit, the buffer is back in the pool and is reused.
    const c = g.fill(n, 1);
    if ((c as GpuStorage).buffer !== (a as GpuStorage).buffer) {
      throw new Error("the released buffer was not reused after its submit");
    }
    for (const s of [y, b, c]) g.release(s);
  },
);

gpuTest("kernels record lazily; using a released storage throws", async (g) => {
  const x = g.fill(10, 2);
  g.release(x);
  const live = g.memory().liveStorages;
  let threw = false;
  try {
    g.unary(x, "neg", 0, 0);
  } catch {
    threw = true;
  }
  if (!threw) throw new Error("expected an error for a released storage");
  if (g.memory().liveStorages !== live) throw new Error("a failed kernel call leaked a storage");
  if (g.readSync(g.fill(1, 0)) !== null) throw new Error("readSync must be null");
  if (!g.description) throw new Error("empty adapter description");
  await Promise.resolve();
});

gpuTest("this WebGPU binds the conv operands' texels as the adapter table says", async (g) => {
  // On llvmpipe the texels are read-only storage textures, which need that WGSL language feature;
  // were this Deno's WebGPU to lose it, they would be sampled textures, correct but slower.
  const wanted = kernelVariantsFor(g.description, new Set([TEXEL_LANGUAGE_FEATURE]));
  if (wanted.convTextures && wanted.texelKind === "storage") {
    if (!wgslLanguageFeatures().has(TEXEL_LANGUAGE_FEATURE)) {
      throw new Error(`this WebGPU lacks the WGSL language feature ${TEXEL_LANGUAGE_FEATURE}`);
    }
  }
  const { convTextures, texelKind } = g.rt.variants;
  if (convTextures !== wanted.convTextures || texelKind !== wanted.texelKind) {
    throw new Error(`${g.description}: convTextures ${convTextures}, texels ${texelKind}`);
  }
  await Promise.resolve();
});

/**
 * The device's loss is simulated: its `lost` promise is replaced and resolved by hand. Deno's
 * `GPUDevice.destroy()` is not used in the test process: after a device has run work, destroying
 * it corrupted the heap at process exit in about one run in four here (glibc "corrupted size vs.
 * prev_size", Deno 2.9.6, Mesa lavapipe).
 */
gpuTest("a lost device gives a clear error", async (g) => {
  const real = g.rt.device;
  let lose: (info: GPUDeviceLostInfo) => void = () => {};
  const lost = new Promise<GPUDeviceLostInfo>((resolve) => lose = resolve);
  const device = new Proxy(real, {
    get(target, key) {
      if (key === "lost") return lost;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const other = new WebGpuBackend(device, "a device that will be lost", g.rt.gridCap);
  const x = other.fill(4, 1);
  other.unary(x, "neg", 0, 0);
  lose({ reason: "destroyed", message: "simulated" } as GPUDeviceLostInfo);
  await new Promise((r) => setTimeout(r, 0));
  let message = "";
  try {
    other.unary(x, "neg", 0, 0);
  } catch (e) {
    message = (e as Error).message;
  }
  if (!message.includes("WebGPU device lost (destroyed): simulated")) {
    throw new Error(`unexpected: "${message}"`);
  }
});

gpuTest("dispatches beyond 65535 workgroups use a 2-D grid and cover every element", async (g) => {
  const groups = 70000;
  const n = groups * FLAT_WG;
  const x = g.fill(n, 2);
  const y = g.rt.alloc(n);
  g.rt.dispatch(unaryKernel("neg"), new Uint32Array([n, 0, 0, 0]), [x as GpuStorage, y], groups);
  const out = await g.read(y);
  const bad = out.findIndex((v) => v !== -2);
  if (bad >= 0) throw new Error(`element ${bad} is ${out[bad]}`);
  for (const s of [x, y]) g.release(s);
});

gpuTest("reductions and conv gradients are bit-identical across runs", async (g) => {
  const inp = new Inputs(31);
  const geo = {
    n: 2,
    c: 5,
    h: 9,
    w: 11,
    o: 6,
    kh: 3,
    kw: 3,
    padTop: 1,
    padLeft: 1,
    outH: 9,
    outW: 11,
  };
  const [x] = inp.pair(g, 2 * 5 * 9 * 11);
  const [dy] = inp.pair(g, 2 * 6 * 9 * 11);
  const runs: Float32Array[][] = [];
  for (let r = 0; r < 2; r++) {
    const dw = g.conv2dGradWeight(x, dy, geo);
    const sum = g.reduce(x, 1, x.size, 1, "sum");
    runs.push([await g.read(dw), await g.read(sum)]);
    for (const s of [dw, sum]) g.release(s);
  }
  for (let k = 0; k < 2; k++) {
    if (runs[0][k].some((v, i) => !Object.is(v, runs[1][k][i]))) {
      throw new Error(`run ${k} differs`);
    }
  }
  for (const s of [x, dy]) g.release(s);
});

gpuTest("the pool destroys free buffers beyond its byte cap", async (g) => {
  const pool = new BufferPool(g.rt.device, 1024);
  const [a, b] = [pool.acquire(1000), pool.acquire(1000)];
  pool.release(a, false);
  pool.release(b, true);
  pool.submitted();
  if (pool.pooledBytes !== 1024) throw new Error(`pooled ${pool.pooledBytes} bytes, cap 1024`);
  if (pool.acquire(1000) !== a) throw new Error("the kept buffer was not reused");
  await Promise.resolve();
});

gpuTest(
  "a buffer released before its submit serves later dispatches, never an upload",
  async (g) => {
    const pool = new BufferPool(g.rt.device);
    const a = pool.acquire(4096);
    pool.release(a, true);
    if (pool.acquire(4096, true) === a) throw new Error("an upload got a buffer still in use");
    if (pool.acquire(4096) !== a) throw new Error("a dispatch output did not reuse the buffer");
    // Through the backend: chained kernels whose inputs are released as soon as they are recorded
    // reuse one another's buffers within one command buffer and still compute the chain.
    const held = () => g.memory().liveBytes + g.memory().pooledBytes;
    const before = held();
    const x = g.upload(Float32Array.from({ length: 1000 }, (_, i) => i));
    let y = g.unary(x, "neg", 0, 0);
    g.release(x);
    for (let k = 0; k < 9; k++) {
      const next = g.unary(y, "neg", 0, 0);
      g.release(y);
      y = next;
    }
    const grown = held() - before;
    const out = await g.read(y);
    g.release(y);
    if (out.some((v, i) => v !== i)) throw new Error("ten negations did not give the input back");
    if (grown > 2 * 4096) throw new Error(`a chain of 4000-byte storages took ${grown} bytes`);
  },
);

gpuTest(
  "a kernel dispatched at a new shape reuses its pipeline (cached by kernel key)",
  async (g) => {
    const inp = new Inputs(5);
    // conv2d forward + weight gradient and a broadcasting add, at one geometry and then another
    // with the same code-changing parameters (3×3, padLeft 1, rows a multiple of 4, PX 32, OB 16).
    const run = async (n: number, c: number, h: number, w: number, o: number) => {
      const geo = { n, c, h, w, o, kh: 3, kw: 3, padTop: 1, padLeft: 1, outH: h, outW: w };
      const [x] = inp.pair(g, n * c * h * w);
      const [wt] = inp.pair(g, o * c * 9);
      const [bias] = inp.pair(g, o);
      const y = g.conv2d(x, wt, geo, { bias, relu: true });
      const dw = g.conv2dGradWeight(x, y, geo);
      const sum = g.binary(y, [n, o, h, w], bias, [1, o, 1, 1], [n, o, h, w], "add");
      await g.read(sum);
      for (const s of [x, wt, bias, y, dw, sum]) g.release(s);
    };
    await run(1, 3, 32, 32, 16);
    const compiled = g.rt.pipelineCount;
    await run(2, 5, 40, 36, 24);
    if (g.rt.pipelineCount !== compiled) {
      throw new Error(`a new shape compiled ${g.rt.pipelineCount - compiled} more pipelines`);
    }
    // A parameter that changes the code (another unary op) does compile a new pipeline.
    const x = g.fill(8, 1);
    const before = g.rt.pipelineCount;
    const y = g.unary(x, "sigmoid", 0, 0);
    const z = g.unary(y, "sigmoid", 0, 0);
    if (g.rt.pipelineCount !== before + 1) throw new Error("sigmoid was not compiled exactly once");
    for (const s of [x, y, z]) g.release(s);
  },
);
