/** WebGPU against the CPU reference: matmul (all variants) and the three conv2d passes. */
import type { Conv2dGeometry } from "../../engine/backend.ts";
import { TEXEL_LANGUAGE_FEATURE, wgslLanguageFeatures } from "../../engine/webgpu/adapter_table.ts";
import { FINISH_QUEUE_BYTES } from "../../engine/webgpu/linalg.ts";
import type { WebGpuBackend } from "../../engine/webgpu/backend.ts";
import type { GpuStorage } from "../../engine/webgpu/runtime.ts";
import { TexturePool } from "../../engine/webgpu/texels.ts";
import { texelTag } from "../../shaders/common.ts";
import { cpu, expectClose, gpuTest, Inputs } from "./webgpu_test_util.ts";

gpuTest("matmul variants match the CPU", async (g) => {
  const inp = new Inputs(11);
  // [batchA, batchB, m, k, n]: odd sizes, n % 4 == 0 (vec4 path) and not, batch broadcasting.
  const shapes = [
    [1, 1, 1, 1, 1],
    [1, 1, 13, 7, 9],
    [2, 2, 16, 33, 24],
    [3, 1, 9, 20, 12],
    [1, 4, 17, 5, 8],
    [2, 2, 40, 64, 36],
  ];
  for (const [batchA, batchB, m, k, n] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const dims = { batchA, batchB, m, k, n, transA, transB };
        const [ag, ac] = inp.pair(g, batchA * m * k);
        const [bg, bc] = inp.pair(g, batchB * k * n);
        const what = `matmul ${JSON.stringify(dims)}`;
        const tol = { atol: 1e-6, rtol: 1e-5, scaleTol: 2e-7 * Math.sqrt(k) };
        await expectClose(g, g.matmul(ag, bg, dims), cpu.matmul(ac, bc, dims), what, tol);
        for (const s of [ag, bg]) g.release(s);
      }
    }
  }
});

/** Geometries with "same" and "valid" padding, odd and non-square sizes, batch 1. */
function geometries(): Conv2dGeometry[] {
  const list: Conv2dGeometry[] = [];
  const add = (
    n: number,
    c: number,
    h: number,
    w: number,
    o: number,
    kh: number,
    kw: number,
    padTop: number,
    padLeft: number,
    padBottom: number,
    padRight: number,
  ) =>
    list.push({
      n,
      c,
      h,
      w,
      o,
      kh,
      kw,
      padTop,
      padLeft,
      outH: h + padTop + padBottom - kh + 1,
      outW: w + padLeft + padRight - kw + 1,
    });
  add(1, 1, 5, 5, 1, 3, 3, 1, 1, 1, 1);
  add(2, 3, 9, 13, 5, 3, 3, 1, 1, 1, 1);
  add(1, 8, 16, 16, 16, 3, 3, 1, 1, 1, 1);
  add(3, 10, 7, 11, 9, 3, 3, 0, 0, 0, 0);
  add(2, 4, 12, 6, 3, 1, 1, 0, 0, 0, 0);
  add(1, 2, 10, 9, 17, 4, 2, 1, 0, 2, 1);
  add(2, 16, 20, 24, 12, 5, 5, 2, 2, 2, 2);
  add(1, 3, 6, 40, 20, 3, 3, 1, 1, 1, 1);
  add(2, 5, 3, 70, 4, 1, 3, 0, 2, 0, 0);
  // Rows a multiple of 4 long take the vec4 kernels; with asymmetric or no padding the forward,
  // input-gradient and weight-gradient passes each pick a different variant.
  add(2, 5, 6, 16, 6, 3, 3, 0, 0, 0, 0);
  add(1, 3, 5, 18, 7, 3, 3, 1, 0, 1, 0);
  add(2, 4, 4, 12, 5, 3, 3, 1, 2, 1, 2);
  add(1, 2, 9, 8, 3, 3, 3, 1, 1, 1, 1);
  // Output rows below the input (padding above kh − 1): the bias gradient takes reductions.
  add(1, 2, 5, 8, 3, 3, 3, 2, 1, 2, 1);
  return list;
}

/** Every pass of conv2d on `g` against the CPU reference, over {@link geometries}. */
async function checkConvPasses(g: WebGpuBackend, inp: Inputs): Promise<void> {
  for (const geo of geometries()) {
    const { n, c, h, w, o, kh, kw, outH, outW } = geo;
    const [xg, xc] = inp.pair(g, n * c * h * w);
    const [wg, wc] = inp.pair(g, o * c * kh * kw);
    const [dyg, dyc] = inp.pair(g, n * o * outH * outW);
    const what = JSON.stringify(geo);
    const terms = c * kh * kw;
    // Absolute error relative to the output scale; an off-by-one tap changes outputs by O(1).
    const tol = { atol: 1e-6, rtol: 1e-5, scaleTol: 3e-7 * Math.sqrt(terms) };
    await expectClose(g, g.conv2d(xg, wg, geo), cpu.conv2d(xc, wc, geo), `conv2d ${what}`, tol);
    // The fused epilogues: bias, ReLU, both (the ReLU zeroes about half the outputs).
    const [bg, bc] = inp.pair(g, o);
    for (const [bias, relu] of [[true, false], [false, true], [true, true]]) {
      await expectClose(
        g,
        g.conv2d(xg, wg, geo, { bias: bias ? bg : null, relu }),
        cpu.conv2d(xc, wc, geo, { bias: bias ? bc : null, relu }),
        `conv2d bias=${bias} relu=${relu} ${what}`,
        tol,
      );
    }
    g.release(bg);
    const tolIn = { ...tol, scaleTol: 3e-7 * Math.sqrt(o * kh * kw) };
    await expectClose(
      g,
      g.conv2dGradInput(dyg, wg, geo),
      cpu.conv2dGradInput(dyc, wc, geo),
      `conv2dGradInput ${what}`,
      tolIn,
    );
    const tolW = { ...tol, scaleTol: 3e-7 * Math.sqrt(n * outH * outW) };
    await expectClose(
      g,
      g.conv2dGradWeight(xg, dyg, geo),
      cpu.conv2dGradWeight(xc, dyc, geo),
      `conv2dGradWeight ${what}`,
      tolW,
    );
    const both = g.conv2dGradWeightBias(xg, dyg, geo), ref = cpu.conv2dGradWeightBias(xc, dyc, geo);
    await expectClose(g, both.weight, ref.weight, `conv2dGradWeightBias weight ${what}`, tolW);
    await expectClose(g, both.bias, ref.bias, `conv2dGradWeightBias bias ${what}`, tolW);
    for (const s of [xg, wg, dyg]) g.release(s);
  }
}

/**
 * `g` when its adapter's variants read conv operands as texels (software adapters, as in CI),
 * else a backend on the same device that does (a GPU's default reads storage buffers).
 */
function texelBackend(g: WebGpuBackend): WebGpuBackend {
  return g.rt.variants.convTextures ? g : g.withVariants({ convTextures: true });
}

gpuTest(
  "conv2d forward, input gradient and weight gradient (texel operands) match the CPU",
  async (gpu) => {
    // Both ways of binding the texels: read-only storage textures where WGSL has them, sampled.
    const kinds = wgslLanguageFeatures().has(TEXEL_LANGUAGE_FEATURE)
      ? ["storage", "sampled"] as const
      : ["sampled"] as const;
    for (const texelKind of kinds) {
      const g = gpu.withVariants({ convTextures: true, texelKind });
      await checkConvPasses(g, new Inputs(12));
      const t = texelTag(texelKind);
      const suffix = `/w${t}/x${t}`;
      if (![...g.rt.kernelKeys()].some((k) => k.endsWith(suffix))) {
        throw new Error(`the ${texelKind} texel kernels did not run`);
      }
    }
  },
);

gpuTest(
  "texel copies: every conv operand's copy goes back to the pool once its kernel is recorded",
  async (gpu) => {
    const g = texelBackend(gpu);
    const inp = new Inputs(15);
    const geo = geometries()[2];
    const textures = g.rt.live.textures;
    const [xg] = inp.pair(g, geo.n * geo.c * geo.h * geo.w);
    const [wg] = inp.pair(g, geo.o * geo.c * geo.kh * geo.kw);
    const [dyg] = inp.pair(g, geo.n * geo.o * geo.outH * geo.outW);
    const outs = [g.conv2d(xg, wg, geo), g.conv2dGradInput(dyg, wg, geo)];
    outs.push(g.conv2dGradWeight(xg, dyg, geo));
    // x and dy (rows of 16 are read as vec4) and the re-laid weights (the forward's, the flipped
    // one of the input gradient) had copies only while their kernels were recorded.
    if (g.rt.live.textures !== textures) throw new Error(`${g.rt.live.textures - textures}`);
    const layouts = (wg as GpuStorage).layouts ?? [];
    if (layouts.length !== 2) throw new Error(`${layouts.length} weight layouts`);
    if ([xg, dyg, ...layouts.map((l) => l.s)].some((s) => (s as GpuStorage).texels !== null)) {
      throw new Error("a storage kept its copy");
    }
    const keys = [...g.rt.kernelKeys()];
    const t = texelTag(g.rt.variants.texelKind);
    if (!keys.some((k) => k.endsWith(`/w${t}/x${t}`)) || !keys.some((k) => k.endsWith(`/${t}`))) {
      throw new Error("the texel kernels did not run");
    }
    for (const s of [xg, wg, dyg, ...outs]) g.release(s);
    // A readback reports any validation error of the recorded copies.
    const probe = g.upload(new Float32Array(4));
    await g.read(probe);
    g.release(probe);
  },
);

gpuTest("texture pool: scratch requests share larger textures, exact ones do not", async (g) => {
  let calls = 0;
  const pool = new TexturePool(g.rt.device, () => calls++);
  const destroyCalls = () => calls;
  const a = pool.acquireScratch(10);
  pool.release(a);
  const b = pool.acquireScratch(4);
  if (b !== a || b.rows !== 10) throw new Error("a smaller scratch request did not reuse rows 10");
  const c = pool.acquireScratch(6);
  if (c === a || c.rows !== 6) throw new Error("a texture in use was handed out again");
  pool.release(b);
  pool.release(c);
  // Nothing free is large enough: a new texture, and the smaller free ones are retired.
  const d = pool.acquireScratch(20);
  if (d === a || d === c || d.rows !== 20) throw new Error("no new texture for rows 20");
  if (destroyCalls() !== 0 || pool.pooledBytes !== a.bytes + c.bytes) {
    throw new Error("the retired textures were not kept until the idle point");
  }
  pool.trim();
  if (destroyCalls() !== 2 || pool.pooledBytes !== 0) {
    throw new Error("the retired textures were not destroyed at the idle point");
  }
  pool.release(d);
  if (pool.acquireScratch(3) !== d) throw new Error("the large texture was not reused");
  // Exact requests: same row count only.
  const e = pool.acquire(5);
  pool.release(e);
  const f = pool.acquire(4);
  if (f === e || f.rows !== 4) throw new Error("an exact request took another size");
  pool.release(f);
  if (pool.acquire(5) !== e) throw new Error("an exact request did not reuse its size");
  pool.release(e);
  pool.release(d);
  pool.releaseFree();
  if (pool.pooledBytes !== 0) throw new Error(`${pool.pooledBytes} bytes left in the pool`);
  // A readback reports any device error from creating and destroying the textures.
  const probe = g.upload(new Float32Array(4));
  await g.read(probe);
  g.release(probe);
});

gpuTest(
  "conv2d weight gradient matches the CPU with one row split and with one per row",
  async (g) => {
    // gradWeightInvocations sets how many row chunks a weight gradient is split into (and how many
    // partials the finish pass sums): 1 gives a single chunk, a million one chunk per output row.
    for (const gradWeightInvocations of [1, 1_000_000]) {
      await checkConvPasses(g.withVariants({ gradWeightInvocations }), new Inputs(12));
    }
  },
);

gpuTest("conv2d with its weights read from storage buffers matches the CPU", async (g) => {
  const buffers = g.withVariants({ convTextures: false });
  const before = buffers.rt.pipelineCount;
  await checkConvPasses(buffers, new Inputs(12));
  // The same cases compiled conv kernels of their own (keys without texel bindings: "/wtex",
  // "/xtex", "/tex", or "smp" for sampled ones).
  if (buffers.rt.pipelineCount === before) throw new Error("no kernels compiled");
  if ([...buffers.rt.kernelKeys()].some((k) => /\/[wx]?(tex|smp)/.test(k))) {
    throw new Error("a texture was read although the variants exclude them");
  }
  if (buffers.rt.live.textures !== 0) throw new Error("texel copies were made");
});

gpuTest("re-laid conv weights stay current through Adam steps without re-laying", async (g) => {
  const inp = new Inputs(13);
  const h = {
    lr: 0.05,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0.01,
    biasCorrection1: 0.1,
    biasCorrection2: 0.001,
    emaDecay: 0,
  };
  // 5·3·9 weights: the one-element Adam items; 16·8·9: vec4 items; 6·5·9 with valid padding.
  for (const geo of [geometries()[1], geometries()[2], geometries()[9]]) {
    const { n, c, h: ih, w, o, kh, kw, outH, outW } = geo;
    const [xg, xc] = inp.pair(g, n * c * ih * w);
    const [wg, wc] = inp.pair(g, o * c * kh * kw);
    const [dyg, dyc] = inp.pair(g, n * o * outH * outW);
    const [mvg, mvc] = inp.pair(g, 2 * wc.size, 0, 0);
    const tol = { atol: 1e-6, rtol: 1e-5, scaleTol: 3e-7 * Math.sqrt(c * kh * kw * o) };
    for (let step = 0; step < 3; step++) {
      const what = `step ${step} ${JSON.stringify(geo)}`;
      const before = g.rt.dispatchCount;
      const y = g.conv2d(xg, wg, geo), dx = g.conv2dGradInput(dyg, wg, geo);
      // The first step re-lays the weights (two layouts); later steps use Adam's copies.
      const used = g.rt.dispatchCount - before;
      if (used !== (step === 0 ? 4 : 2)) throw new Error(`${what}: ${used} dispatches`);
      await expectClose(g, y, cpu.conv2d(xc, wc, geo), `conv2d ${what}`, tol);
      await expectClose(g, dx, cpu.conv2dGradInput(dyc, wc, geo), `gradInput ${what}`, tol);
      const [gg, gc] = inp.pair(g, wc.size);
      g.adam([{ p: wg, g: gg, mv: mvg }], h);
      cpu.adam([{ p: wc, g: gc, mv: mvc }], h);
      g.release(gg);
      cpu.release(gc);
    }
    for (const s of [xg, wg, dyg, mvg]) g.release(s);
  }
});

gpuTest("layers' weight and bias gradients are finished together when first used", async (g) => {
  const inp = new Inputs(14);
  // Geometries with more rows than one split takes (several splits, so a finish is needed).
  const geos = geometries().filter((geo) => geo.n * geo.outH >= 16 && geo.outH <= geo.h);
  const live = g.memory().liveStorages;
  const cases = geos.map((geo) => {
    const [xg, xc] = inp.pair(g, geo.n * geo.c * geo.h * geo.w);
    const [dyg, dyc] = inp.pair(g, geo.n * geo.o * geo.outH * geo.outW);
    return { geo, xg, xc, dyg, dyc };
  });
  const before = g.rt.dispatchCount;
  const results = cases.map((c) => g.conv2dGradWeightBias(c.xg, c.dyg, c.geo));
  const passes = g.rt.dispatchCount - before;
  // Reading the last layer's bias first records every layer's finish, in few dispatches.
  const last = cases.length - 1;
  const tol = { atol: 1e-6, rtol: 1e-5, scaleTol: 1e-5 };
  const refLast = cpu.conv2dGradWeightBias(cases[last].xc, cases[last].dyc, cases[last].geo);
  await expectClose(g, results[last].bias, refLast.bias, "last bias", tol);
  const finishes = g.rt.dispatchCount - before - passes;
  if (passes !== cases.length || finishes >= cases.length) {
    throw new Error(`${cases.length} layers: ${passes} gradient passes, ${finishes} finishes`);
  }
  cpu.release(refLast.weight);
  g.release(results[last].weight);
  for (let k = 0; k < last; k++) {
    const { geo, xc, dyc } = cases[k];
    const ref = cpu.conv2dGradWeightBias(xc, dyc, geo);
    await expectClose(g, results[k].weight, ref.weight, `weight ${JSON.stringify(geo)}`, tol);
    await expectClose(g, results[k].bias, ref.bias, `bias ${JSON.stringify(geo)}`, tol);
  }
  // A pending gradient released unread: its finish runs, its partials are released.
  const c0 = cases[0];
  const orphan = g.conv2dGradWeightBias(c0.xg, c0.dyg, c0.geo);
  g.release(orphan.weight);
  g.release(orphan.bias);
  for (const c of cases) for (const s of [c.xg, c.dyg]) g.release(s);
  if (g.memory().liveStorages !== live) throw new Error("partials or gradients left live");
});

gpuTest(
  "queued weight-gradient partials stay under their byte bound, results unchanged",
  async (g) => {
    // Layers' gradients at 128 → 128 channels (about 8 MB of split partials each) until their
    // partials together pass twice FINISH_QUEUE_BYTES, so the queue must run its finishes before
    // the last is queued.
    const inp = new Inputs(17);
    const geo: Conv2dGeometry = {
      n: 1,
      c: 128,
      h: 32,
      w: 32,
      o: 128,
      kh: 3,
      kw: 3,
      padTop: 1,
      padLeft: 1,
      outH: 32,
      outW: 32,
    };
    const [xg, xc] = inp.pair(g, 128 * 32 * 32);
    const [dyg, dyc] = inp.pair(g, 128 * 32 * 32);
    const before = g.memory().liveBytes;
    const layers = Math.ceil((2 * FINISH_QUEUE_BYTES) / (8 * 2 ** 20)) + 1;
    const grads = Array.from({ length: layers }, () => g.conv2dGradWeightBias(xg, dyg, geo));
    const outputs = layers * 4 * (128 * 128 * 9 + 128);
    const grown = g.memory().liveBytes - before;
    if (grown > FINISH_QUEUE_BYTES + outputs + 4 * 65536) {
      throw new Error(`${grown} bytes live for ${outputs} bytes of gradients`);
    }
    const first = await g.read(grads[0].weight);
    for (const { weight } of grads.slice(1)) {
      if ((await g.read(weight)).some((v, i) => !Object.is(v, first[i]))) {
        throw new Error("a finish run early differs from one run later");
      }
    }
    const ref = cpu.conv2dGradWeightBias(xc, dyc, geo);
    const tol = { atol: 1e-5, rtol: 1e-4, scaleTol: 2e-7 * Math.sqrt(32 * 32) };
    await expectClose(g, grads[0].bias, ref.bias, "bias gradient", tol);
    await expectClose(g, grads[0].weight, ref.weight, "weight gradient", tol);
    for (const { weight, bias } of grads.slice(1)) {
      g.release(weight);
      g.release(bias);
    }
    for (const s of [xg, dyg]) g.release(s);
    for (const s of [xc, dyc]) cpu.release(s);
  },
);
