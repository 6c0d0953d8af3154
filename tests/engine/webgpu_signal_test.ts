/** WebGPU against the CPU reference: fft2, translate, pooling, resampling and Adam. */
import type { AdamSlot } from "../../engine/backend.ts";
import { cpu, expectClose, gpuTest, Inputs } from "./webgpu_test_util.ts";

gpuTest("fft2 and inverse fft2 match the CPU on square and non-square sizes", async (g) => {
  const inp = new Inputs(21);
  const sizes = [[3, 32, 32], [1, 64, 128], [2, 256, 32], [1, 8, 2], [1, 1, 16]];
  for (const [b, h, w] of sizes) {
    const [xg, xc] = inp.pair(g, b * h * w * 2);
    for (const inverse of [false, true]) {
      const scale = inverse ? 1 / (h * w) : 0.5;
      const what = `fft2 ${[b, h, w]} inverse=${inverse}`;
      // Rounding error grows like log2(hw)·ε·‖x‖; a wrong twiddle or index is O(scale·‖x‖).
      const tol = { atol: 0, rtol: 0, scaleTol: 2e-6 * Math.log2(h * w + 1) };
      await expectClose(
        g,
        g.fft2(xg, b, h, w, inverse, scale),
        cpu.fft2(xc, b, h, w, inverse, scale),
        what,
        tol,
      );
    }
    g.release(xg);
  }
});

gpuTest("translate and its adjoint match the CPU", async (g) => {
  const inp = new Inputs(22);
  for (const [b, h, w, inner] of [[3, 9, 13, 2], [1, 16, 16, 1], [2, 5, 7, 3]]) {
    const [xg, xc] = inp.pair(g, b * h * w * inner);
    const [og, oc] = inp.pair(g, b * 2, -6, 6);
    for (const adjoint of [false, true]) {
      await expectClose(
        g,
        g.translate(xg, og, b, h, w, inner, adjoint),
        cpu.translate(xc, oc, b, h, w, inner, adjoint),
        `translate ${[b, h, w, inner]} adjoint=${adjoint}`,
        { atol: 2e-6, rtol: 1e-5 },
      );
    }
    for (const s of [xg, og]) g.release(s);
  }
});

gpuTest("max pool, its gradient, upsample and sumPool match the CPU", async (g) => {
  const inp = new Inputs(23);
  // Even heights with widths a multiple of 4 (or even, for the resampling) take the vec kernels.
  const shapes = [[2, 3, 8, 8], [1, 2, 7, 9], [1, 1, 1, 1], [3, 4, 5, 6], [1, 2, 6, 12]];
  for (const [n, c, h, w] of shapes) {
    const [xg, xc, xd] = inp.pair(g, n * c * h * w);
    // Quantise half of the values to force ties, which must go to the first maximum.
    for (let i = 0; i < xd.length; i += 2) xd[i] = Math.round(xd[i]);
    const [tg, tc] = [g.upload(xd), cpu.upload(xd)];
    const oh = Math.ceil(h / 2), ow = Math.ceil(w / 2);
    const [dyg, dyc] = inp.pair(g, n * c * oh * ow);
    const what = `${[n, c, h, w]}`;
    await expectClose(
      g,
      g.maxPool2d(tg, n, c, h, w),
      cpu.maxPool2d(tc, n, c, h, w),
      `maxPool ${what}`,
    );
    await expectClose(
      g,
      g.maxPool2dGrad(tg, dyg, n, c, h, w),
      cpu.maxPool2dGrad(tc, dyc, n, c, h, w),
      `maxPoolGrad ${what}`,
    );
    // Masked: x as a ReLU output (rounded values make zeros; negatives are kept here, so the
    // mask meets maxima ≤ 0 too).
    await expectClose(
      g,
      g.maxPool2dGrad(tg, dyg, n, c, h, w, true),
      cpu.maxPool2dGrad(tc, dyc, n, c, h, w, true),
      `maxPoolGrad masked ${what}`,
    );
    await expectClose(
      g,
      g.upsample2x(xg, n * c, h, w),
      cpu.upsample2x(xc, n * c, h, w),
      `up ${what}`,
    );
    const [ug, uc] = inp.pair(g, n * c * 4 * h * w);
    await expectClose(
      g,
      g.sumPool2x2(ug, n * c, h, w),
      cpu.sumPool2x2(uc, n * c, h, w),
      `sum ${what}`,
    );
    await expectClose(
      g,
      g.sumPool2x2(ug, n * c, h, w, tg),
      cpu.sumPool2x2(uc, n * c, h, w, tc),
      `sum masked ${what}`,
    );
    for (const s of [xg, tg, dyg, ug]) g.release(s);
  }
});

gpuTest("fused Adam updates many parameters per dispatch like the CPU", async (g) => {
  const inp = new Inputs(24);
  // Odd sizes take one element per item, multiples of 4 the vec4 kernel; 19 parameters fill
  // several dispatches at any storage-buffer limit; one parameter is listed twice (two steps).
  // Every third parameter keeps a moving average (its own kernel variant and dispatches).
  const sizes = [999, 1000, 1, 4, 17, 256, 36, 3, 8, 1152, 5, 12, 640, 7, 64, 2, 16, 20, 1000];
  const gpuSlots: AdamSlot[] = [], cpuSlots: AdamSlot[] = [];
  sizes.forEach((n, k) => {
    const [pg, pc] = inp.pair(g, n), [gg, gc] = inp.pair(g, n);
    // Moments [m | v]: m in [−0.1, 0.1), v in [0, 0.1) (never negative).
    const both = new Float32Array(2 * n);
    both.set(inp.values(n, -0.1, 0.1));
    both.set(inp.values(n, 0, 0.1), n);
    const [mvg, mvc] = [g.upload(both), cpu.upload(both)];
    const [eg, ec] = inp.pair(g, n);
    gpuSlots.push({ p: pg, g: gg, mv: mvg, ...(k % 3 === 0 ? { e: eg } : {}) });
    cpuSlots.push({ p: pc, g: gc, mv: mvc, ...(k % 3 === 0 ? { e: ec } : {}) });
  });
  gpuSlots.push(gpuSlots[3]);
  cpuSlots.push(cpuSlots[3]);
  for (const weightDecay of [0, 0.01]) {
    const h = {
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay,
      biasCorrection1: 1 - 0.9 ** 3,
      biasCorrection2: 1 - 0.999 ** 3,
      emaDecay: 0.9,
    };
    const before = g.rt.dispatchCount;
    g.adam(gpuSlots, h);
    const used = g.rt.dispatchCount - before;
    if (used >= sizes.length) throw new Error(`${used} dispatches for ${sizes.length} parameters`);
    cpu.adam(cpuSlots, h);
  }
  for (let k = 0; k < sizes.length; k++) {
    for (const name of ["p", "mv", "e"] as const) {
      const [a, b] = [gpuSlots[k][name], cpuSlots[k][name]];
      if (a === undefined || b === undefined) continue;
      const what = `adam ${name} of parameter ${k} (${sizes[k]})`;
      await expectClose(g, a, b, what, { atol: 1e-6, rtol: 1e-5 });
    }
    g.release(gpuSlots[k].g);
  }
});
