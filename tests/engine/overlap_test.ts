/**
 * The fused merge onto a group's canvas and the probe-illuminated re-extraction: the CPU
 * reference against the op chains they replace (values and gradients bit for bit), gradients
 * against finite differences, and WebGPU against the CPU on random shapes, odd sizes included,
 * with fractional, negative and out-of-canvas shifts.
 */
import {
  backward,
  cmul,
  expand,
  extractIlluminate,
  mergeCanvas,
  mul,
  pad,
  reshape,
  slice,
  sum,
  type Tensor,
  tensor,
  tidy,
  translate,
} from "../../engine/mod.ts";
import { assertClose } from "./cpu_test_util.ts";
import { gradCheck } from "./gradcheck.ts";
import { cpu, expectClose, gpuTest, Inputs } from "./webgpu_test_util.ts";

/** Groups, members, patch side, canvas side: even and odd sides, odd margins. */
const SHAPES = [[2, 4, 8, 18], [3, 3, 5, 12], [1, 2, 7, 7]] as const;

/** Random inputs of one shape: patches, shifts (some beyond the canvas), masks, weights, probe. */
function inputs(seed: number, [b, c, n, m]: readonly number[]) {
  const inp = new Inputs(seed);
  const shift = inp.pair(cpu, 2 * b * c, -3, 3)[2];
  shift[1] = m + 1.5;
  return {
    patches: inp.pair(cpu, b * c * n * n * 2)[2],
    shift,
    masks: inp.pair(cpu, b * c * m * m, 0, 1)[2],
    inverse: inp.pair(cpu, b * m * m, 0, 1)[2],
    canvas: inp.pair(cpu, b * m * m * 2)[2],
    probe: inp.pair(cpu, n * n * 2)[2],
  };
}

/** The merge as model/physics.ts composed it before the fusion. */
function mergeChain(p: Tensor, shift: Tensor, masks: Tensor, inverse: Tensor): Tensor {
  const [b, c, n] = p.shape, m = inverse.shape[1];
  const lo = (m - n) >> 1, hi = m - n - lo;
  const padded = pad(reshape(p, [b * c, n, n, 2]), [lo, lo, 0], [hi, hi, 0]);
  const moved = mul(translate(padded, shift), reshape(masks, [b * c, m, m, 1]));
  return mul(sum(reshape(moved, [b, c, m, m, 2]), 1), reshape(inverse, [b, m, m, 1]));
}

/** Extraction times the probe as model/physics.ts composed it before the fusion. */
function extractChain(canvas: Tensor, shift: Tensor, probe: Tensor, c: number): Tensor {
  const [b, m] = canvas.shape, n = probe.shape[0], lo = (m - n) >> 1;
  const copies = expand(reshape(canvas, [b, 1, m, m, 2]), [b, c, m, m, 2]);
  const moved = translate(reshape(copies, [b * c, m, m, 2]), shift);
  const cropped = slice(moved, [0, lo, lo, 0], [b * c, n, n, 2]);
  return cmul(reshape(cropped, [b, c, n, n, 2]), probe);
}

/** Output and gradient of Σ f(x)·r w.r.t. x, on the CPU. */
function valueAndGrad(f: (x: Tensor) => Tensor, x: Float32Array, shape: number[], seed: number) {
  return tidy(() => {
    const xt = tensor(x, shape, { requiresGrad: true });
    const y = f(xt);
    const r = new Inputs(seed).pair(cpu, y.size)[2];
    backward(sum(mul(y, tensor(r, y.shape))));
    return [y.dataSync(), xt.grad!.dataSync()];
  });
}

Deno.test("mergeCanvas and extractIlluminate equal the chains they replace (CPU, bit for bit)", () => {
  SHAPES.forEach(([b, c, n, m], k) => {
    const v = inputs(40 + k, [b, c, n, m]);
    const sh = tensor(v.shift, [b * c, 2]), mk = tensor(v.masks, [b * c, m, m]);
    const inv = tensor(v.inverse, [b, m, m]), probe = tensor(v.probe, [n, n, 2]);
    const pShape = [b, c, n, n, 2], cShape = [b, m, m, 2];
    const merged = valueAndGrad((p) => mergeCanvas(p, sh, mk, inv), v.patches, pShape, k);
    const chain = valueAndGrad((p) => mergeChain(p, sh, mk, inv), v.patches, pShape, k);
    assertClose(merged[0], chain[0], 0, 0, `merge ${[b, c, n, m]}`);
    assertClose(merged[1], chain[1], 0, 0, `merge gradient ${[b, c, n, m]}`);
    const fused = valueAndGrad((x) => extractIlluminate(x, sh, probe, c), v.canvas, cShape, k);
    const old = valueAndGrad((x) => extractChain(x, sh, probe, c), v.canvas, cShape, k);
    assertClose(fused[0], old[0], 0, 0, `extract ${[b, c, n, m]}`);
    assertClose(fused[1], old[1], 0, 0, `extract gradient ${[b, c, n, m]}`);
    if (!fused[1].some((x) => x !== 0) || !merged[1].some((x) => x !== 0)) {
      throw new Error("expected nonzero gradients");
    }
  });
});

Deno.test("mergeCanvas and extractIlluminate gradients match finite differences", () => {
  const [b, c, n, m] = SHAPES[1];
  const v = inputs(50, [b, c, n, m]);
  const sh = tensor(v.shift, [b * c, 2]), mk = tensor(v.masks, [b * c, m, m]);
  const inv = tensor(v.inverse, [b, m, m]), probe = tensor(v.probe, [n, n, 2]);
  const merge = gradCheck(([p]) => mergeCanvas(p, sh, mk, inv), [v.patches], [[b, c, n, n, 2]], {
    samples: 40,
  });
  if (merge !== null) throw new Error(`mergeCanvas: ${merge}`);
  const extract = gradCheck(([x]) => extractIlluminate(x, sh, probe, c), [v.canvas], [
    [b, m, m, 2],
  ], { samples: 40 });
  if (extract !== null) throw new Error(`extractIlluminate: ${extract}`);
});

Deno.test("mergeCanvas and extractIlluminate refuse mismatched shapes and other gradients", () => {
  const [b, c, n, m] = SHAPES[0];
  const v = inputs(60, [b, c, n, m]);
  const sh = tensor(v.shift, [b * c, 2]);
  const shortShift = tensor(v.shift.slice(2), [b * c - 1, 2]);
  const probe = tensor(v.probe, [n, n, 2]);
  const canvas = tensor(v.canvas, [b, m, m, 2]);
  const bad = [
    () => extractIlluminate(canvas, shortShift, probe, c),
    () =>
      extractIlluminate(
        tensor(v.patches, [b * c, n, n, 2]),
        sh,
        tensor(v.canvas, [m, m * b, 2]),
        c,
      ),
    () => {
      const p = tensor(v.probe, [n, n, 2], { requiresGrad: true });
      backward(sum(extractIlluminate(canvas, sh, p, c)));
    },
  ];
  bad.forEach((f, k) => {
    let threw = false;
    try {
      tidy(f);
    } catch {
      threw = true;
    }
    if (!threw) throw new Error(`case ${k} did not throw`);
  });
});

gpuTest("mergeCanvas, extractIlluminate and their adjoints match the CPU", async (g) => {
  for (const [k, [b, c, n, m]] of SHAPES.entries()) {
    const v = inputs(70 + k, [b, c, n, m]);
    const geo = { batch: b, c, n, m };
    const up = (x: Float32Array) => [g.upload(x), cpu.upload(x)];
    const [sh, mk, inv, pr] = [v.shift, v.masks, v.inverse, v.probe].map(up);
    const [pg, pc] = up(v.patches), [cg, cc] = up(v.canvas);
    const tol = { atol: 1e-5, rtol: 1e-4 };
    const what = `[${b}, ${c}, ${n}, ${m}]`;
    await expectClose(
      g,
      g.mergeCanvas(pg, sh[0], mk[0], inv[0], geo),
      cpu.mergeCanvas(pc, sh[1], mk[1], inv[1], geo),
      `merge ${what}`,
      tol,
    );
    await expectClose(
      g,
      g.mergeCanvasAdjoint(cg, sh[0], mk[0], inv[0], geo),
      cpu.mergeCanvasAdjoint(cc, sh[1], mk[1], inv[1], geo),
      `merge adjoint ${what}`,
      tol,
    );
    await expectClose(
      g,
      g.extractIlluminate(cg, sh[0], pr[0], geo),
      cpu.extractIlluminate(cc, sh[1], pr[1], geo),
      `extract ${what}`,
      tol,
    );
    await expectClose(
      g,
      g.extractIlluminateAdjoint(pg, sh[0], pr[0], geo),
      cpu.extractIlluminateAdjoint(pc, sh[1], pr[1], geo),
      `extract adjoint ${what}`,
      tol,
    );
    for (const s of [sh, mk, inv, pr, [pg, pc], [cg, cc]]) {
      g.release(s[0]);
      cpu.release(s[1]);
    }
  }
});
