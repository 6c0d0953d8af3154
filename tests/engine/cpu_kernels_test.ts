/** CPU backend: storage rules and the elementwise, reduce, layout, pool, adam kernels. */

import type { BinaryOp, UnaryOp } from "../../engine/backend.ts";
import { cpuBackend } from "../../engine/cpu/backend.ts";
import { lgamma } from "../../engine/cpu/elementwise.ts";
import {
  assertClose,
  assertNear,
  randomArray,
  ravel,
  rng,
  sizeOf,
  unravel,
} from "./cpu_test_util.ts";

const be = cpuBackend();
const run = (s: ReturnType<typeof be.upload>) => be.readSync(s);

Deno.test("cpu storage: counts live storages, rejects use after release", () => {
  const before = be.memory();
  const s = be.upload(new Float32Array([1, 2, 3]));
  const f = be.fill(5, 2.5);
  const after = be.memory();
  if (after.liveStorages !== before.liveStorages + 2) throw new Error("live count");
  if (after.liveBytes !== before.liveBytes + 32) throw new Error("live bytes");
  if (after.pooledBytes !== 0) throw new Error("pooled bytes");
  assertClose(run(f), [2.5, 2.5, 2.5, 2.5, 2.5], 0, 0, "fill");
  be.release(s);
  be.release(f);
  const end = be.memory();
  if (end.liveStorages !== before.liveStorages || end.liveBytes !== before.liveBytes) {
    throw new Error("release did not return the counts");
  }
  let threw = 0;
  for (const use of [() => be.readSync(s), () => be.unary(s, "neg", 0, 0), () => be.release(s)]) {
    try {
      use();
    } catch {
      threw++;
    }
  }
  if (threw !== 3) throw new Error("a released storage was usable");
});

Deno.test("cpu storage: upload copies its input and read returns a copy", async () => {
  const host = new Float32Array([1, 2]);
  const s = be.upload(host);
  host[0] = 9;
  const r = await be.read(s);
  assertClose(r, [1, 2], 0, 0, "upload copy");
  r[1] = 7;
  assertClose(run(s), [1, 2], 0, 0, "read copy");
  be.release(s);
});

const unaryCases: [UnaryOp, number, number, number, number, (x: number) => number][] = [
  // op, a, b, input lo, input hi, reference
  ["neg", 0, 0, -3, 3, (x) => -x],
  ["exp", 0, 0, -3, 3, (x) => Math.E ** x],
  ["log", 0, 0, 0.01, 5, (x) => Math.log(x)],
  ["sqrt", 0, 0, 0, 5, (x) => x ** 0.5],
  ["square", 0, 0, -3, 3, (x) => x * x],
  ["abs", 0, 0, -3, 3, (x) => (x < 0 ? -x : x)],
  ["sign", 0, 0, -3, 3, (x) => (x > 0 ? 1 : x < 0 ? -1 : 0)],
  ["relu", 0, 0, -3, 3, (x) => (x > 0 ? x : 0)],
  ["step", 0, 0, -3, 3, (x) => (x > 0 ? 1 : 0)],
  ["sigmoid", 0, 0, -30, 30, (x) => 1 / (1 + Math.E ** -x)],
  ["tanh", 0, 0, -5, 5, (x) => (Math.E ** (2 * x) - 1) / (Math.E ** (2 * x) + 1)],
  ["silu", 0, 0, -5, 5, (x) => x / (1 + Math.E ** -x)],
  ["cos", 0, 0, -7, 7, (x) => Math.cos(x)],
  ["sin", 0, 0, -7, 7, (x) => Math.sin(x)],
  ["clamp", -0.5, 0.25, -2, 2, (x) => (x < -0.5 ? -0.5 : x > 0.25 ? 0.25 : x)],
  ["inRange", -0.5, 0.25, -2, 2, (x) => (x >= -0.5 && x <= 0.25 ? 1 : 0)],
  ["pow", 1.5, 0, 0, 4, (x) => Math.exp(1.5 * Math.log(x))],
  ["pow", 3, 0, -2, 2, (x) => x * x * x],
  ["affine", 2.5, -1, -3, 3, (x) => 2.5 * x - 1],
];

Deno.test("cpu unary: every op against a direct formula", () => {
  const rand = rng(1);
  for (const [op, a, b, lo, hi, ref] of unaryCases) {
    const x = randomArray(rand, 37, lo, hi);
    x[0] = lo;
    x[1] = 0 >= lo && 0 <= hi ? 0 : hi;
    const s = be.upload(x);
    const out = be.unary(s, op, a, b);
    assertClose(run(out), Array.from(x, ref), 1e-6, 2e-6, `unary ${op}`);
    be.release(s);
    be.release(out);
  }
});

Deno.test("cpu unary: sigmoid and silu stay finite at large |x|", () => {
  const s = be.upload(new Float32Array([-200, 200, -1e30]));
  assertClose(run(be.unary(s, "sigmoid", 0, 0)), [0, 1, 0], 1e-30, 0, "sigmoid tails");
  assertClose(run(be.unary(s, "silu", 0, 0)), [-0, 200, -0], 1e-30, 0, "silu tails");
});

Deno.test("cpu lgamma: known values", () => {
  // ln Γ(100.5) = ln √π + Σ_{k=0}^{99} ln(k + 1/2), from Γ(x+1) = x Γ(x).
  let lg1005 = 0.5 * Math.log(Math.PI);
  for (let k = 0; k < 100; k++) lg1005 += Math.log(k + 0.5);
  const known: [number, number][] = [
    [1, 0],
    [2, 0],
    [3, Math.log(2)],
    [0.5, 0.5 * Math.log(Math.PI)],
    [1.5, Math.log(0.5 * Math.sqrt(Math.PI))],
    [10, Math.log(362880)],
    [100.5, lg1005],
    [0.1, 2.252712651734206],
    [1e-3, 6.907178885383853],
  ];
  for (const [x, expected] of known) {
    assertNear(lgamma(x), expected, 1e-10 + 1e-9 * Math.abs(expected), `lgamma(${x})`);
  }
  const xs = new Float32Array([1, 0.5, 10, 100.5, 2.5]);
  const s = be.upload(xs);
  const expected = [0, 0.5 * Math.log(Math.PI), Math.log(362880), lg1005, Math.log(1.329340388)];
  assertClose(run(be.unary(s, "lgamma", 0, 0)), expected, 1e-7, 1e-6, "lgamma kernel");
});

/** out = a op b by decoding each output coordinate (independent of the kernel's odometer). */
function naiveBinary(
  a: Float32Array,
  aShape: number[],
  b: Float32Array,
  bShape: number[],
  outShape: number[],
  f: (x: number, y: number) => number,
): Float32Array {
  const out = new Float32Array(sizeOf(outShape));
  for (let i = 0; i < out.length; i++) {
    const c = unravel(i, outShape);
    const ac = c.map((v, d) => (aShape[d] === 1 ? 0 : v));
    const bc = c.map((v, d) => (bShape[d] === 1 ? 0 : v));
    out[i] = f(a[ravel(ac, aShape)], b[ravel(bc, bShape)]);
  }
  return out;
}

const binaryRefs: [BinaryOp, (x: number, y: number) => number][] = [
  ["add", (x, y) => x + y],
  ["sub", (x, y) => x - y],
  ["mul", (x, y) => x * y],
  ["div", (x, y) => x / y],
  ["eq", (x, y) => (x === y ? 1 : 0)],
  ["gt", (x, y) => (x > y ? 1 : 0)],
  ["reluGrad", (x, y) => (y > 0 ? x : 0)],
  ["sigmoidGrad", (x, y) => x * y * (1 - y)],
  ["tanhGrad", (x, y) => x * (1 - y * y)],
  ["siluGrad", (x, y) => x * (1 + Math.exp(-y) * (1 + y)) / (1 + Math.exp(-y)) ** 2],
  ["expand", (x) => x],
];

const broadcastCases: [number[], number[], number[]][] = [
  [[2, 3, 5], [2, 3, 5], [2, 3, 5]],
  [[2, 3, 5], [1, 1, 1], [2, 3, 5]],
  [[1, 1, 1], [2, 3, 5], [2, 3, 5]],
  [[2, 1, 5], [1, 3, 1], [2, 3, 5]],
  [[2, 3, 1], [2, 1, 5], [2, 3, 5]],
  [[1, 7], [3, 1], [3, 7]],
  [[4], [1], [4]],
];

Deno.test("cpu binary: every op with broadcasting against coordinate decoding", () => {
  const rand = rng(2);
  for (const [aShape, bShape, outShape] of broadcastCases) {
    // Quantised values so eq and gt see ties.
    const a = randomArray(rand, sizeOf(aShape)).map((v) => Math.round(v * 3) / 2);
    const b = randomArray(rand, sizeOf(bShape)).map((v) => Math.round(v * 3) / 2 + 0.25);
    b[0] = a[0];
    const sa = be.upload(a), sb = be.upload(b);
    for (const [op, f] of binaryRefs) {
      const out = run(be.binary(sa, aShape, sb, bShape, outShape, op));
      const expected = naiveBinary(a, aShape, b, bShape, outShape, f);
      // The activation gradients round each step of their chain to f32 (a few ulps).
      const rtol = op.endsWith("Grad") && op !== "reluGrad" ? 1e-6 : 1e-7;
      assertClose(out, expected, 1e-7, rtol, `binary ${op} ${aShape}·${bShape}`);
    }
  }
});

Deno.test("cpu cmul: broadcasting and conjugation against a direct product", () => {
  const rand = rng(3);
  const cases: [number[], number[], number[]][] = [
    [[3, 4, 2], [3, 4, 2], [3, 4, 2]],
    [[3, 4, 2], [1, 4, 2], [3, 4, 2]],
    [[1, 5, 2], [3, 1, 2], [3, 5, 2]],
  ];
  for (const [aShape, bShape, outShape] of cases) {
    const a = randomArray(rand, sizeOf(aShape)), b = randomArray(rand, sizeOf(bShape));
    const cShape = (s: number[]) => s.slice(0, -1);
    for (const conj of [false, true]) {
      const out = run(be.cmul(be.upload(a), aShape, be.upload(b), bShape, outShape, conj));
      const expected = new Float32Array(sizeOf(outShape));
      for (let i = 0; i < expected.length / 2; i++) {
        const c = unravel(i, cShape(outShape));
        const ia = ravel(c.map((v, d) => (aShape[d] === 1 ? 0 : v)), cShape(aShape));
        const ib = ravel(c.map((v, d) => (bShape[d] === 1 ? 0 : v)), cShape(bShape));
        const [ar, ai, br] = [a[2 * ia], a[2 * ia + 1], b[2 * ib]];
        const bi = conj ? -b[2 * ib + 1] : b[2 * ib + 1];
        expected[2 * i] = ar * br - ai * bi;
        expected[2 * i + 1] = ar * bi + ai * br;
      }
      assertClose(out, expected, 1e-6, 1e-6, `cmul ${aShape}·${bShape} conj=${conj}`);
    }
  }
});

Deno.test("cpu polar: amplitude and phase to interleaved pairs", () => {
  const out = run(
    be.polar(
      be.upload(new Float32Array([2, 1])),
      be.upload(new Float32Array([Math.PI / 2, Math.PI])),
    ),
  );
  assertClose(out, [0, 2, -1, 0], 1e-6, 0, "polar");
});

Deno.test("cpu reduce: sum (f64) and max over the middle axis", () => {
  const rand = rng(4);
  for (const [outer, mid, inner] of [[1, 1, 1], [3, 5, 7], [1, 1000, 1], [4, 1, 3], [2, 9, 1]]) {
    const x = randomArray(rand, outer * mid * inner);
    const sum = new Float32Array(outer * inner), max = new Float32Array(outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let s = 0, m = -Infinity;
        for (let k = 0; k < mid; k++) {
          const v = x[(o * mid + k) * inner + i];
          s += v;
          m = Math.max(m, v);
        }
        sum[o * inner + i] = s;
        max[o * inner + i] = m;
      }
    }
    const sx = be.upload(x);
    assertClose(run(be.reduce(sx, outer, mid, inner, "sum")), sum, 1e-6, 1e-6, "reduce sum");
    assertClose(run(be.reduce(sx, outer, mid, inner, "max")), max, 0, 0, "reduce max");
  }
  // f64 accumulation: in f32, 2^24 + 1 rounds back to 2^24 and this sum would come out 0.
  const x = new Float32Array([2 ** 24, 1, 1, 1, 1, -(2 ** 24)]);
  assertClose(run(be.reduce(be.upload(x), 1, x.length, 1, "sum")), [4], 0, 0, "f64 sum");
});

Deno.test("cpu permute: against coordinate decoding", () => {
  const rand = rng(5);
  const cases: [number[], number[]][] = [
    [[3, 4], [1, 0]],
    [[2, 3, 5], [2, 0, 1]],
    [[2, 3, 5], [0, 2, 1]],
    [[2, 1, 3, 4], [3, 1, 0, 2]],
    [[1, 1], [1, 0]],
    [[5], [0]],
  ];
  for (const [shape, perm] of cases) {
    const x = randomArray(rand, sizeOf(shape));
    const outShape = perm.map((p) => shape[p]);
    const expected = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const c = unravel(i, shape);
      expected[ravel(perm.map((p) => c[p]), outShape)] = x[i];
    }
    assertClose(run(be.permute(be.upload(x), shape, perm)), expected, 0, 0, `permute ${perm}`);
  }
});

Deno.test("cpu pad: zero padding and cropping against coordinate decoding", () => {
  const rand = rng(6);
  const cases: [number[], number[], number[]][] = [
    [[3, 4], [1, 2], [0, 1]],
    [[2, 5, 3], [0, -1, 1], [1, -2, -1]],
    [[1, 3, 3], [0, 1, 1], [0, 1, 1]],
    [[6], [-2], [3]],
  ];
  for (const [shape, before, after] of cases) {
    const x = randomArray(rand, sizeOf(shape));
    const outShape = shape.map((d, i) => d + before[i] + after[i]);
    const expected = new Float32Array(sizeOf(outShape));
    for (let j = 0; j < expected.length; j++) {
      const src = unravel(j, outShape).map((v, d) => v - before[d]);
      if (src.every((v, d) => v >= 0 && v < shape[d])) expected[j] = x[ravel(src, shape)];
    }
    assertClose(run(be.pad(be.upload(x), shape, before, after)), expected, 0, 0, `pad ${shape}`);
  }
});

Deno.test("cpu roll2d: fftshift and ifftshift on odd and even sizes", () => {
  // numpy: fftshift([0..4]) = [3 4 0 1 2], ifftshift([0..4]) = [2 3 4 0 1].
  const line = be.upload(new Float32Array([0, 1, 2, 3, 4]));
  assertClose(run(be.roll2d(line, 1, 1, 5, 1, 0, 2)), [3, 4, 0, 1, 2], 0, 0, "fftshift 5");
  assertClose(run(be.roll2d(line, 1, 1, 5, 1, 0, -2)), [2, 3, 4, 0, 1], 0, 0, "ifftshift 5");
  const col = be.upload(new Float32Array([0, 1, 2, 3]));
  assertClose(run(be.roll2d(col, 1, 4, 1, 1, 2, 0)), [2, 3, 0, 1], 0, 0, "fftshift 4 rows");
  // A 2-batch (3, 5, 2) image: shift then unshift is the identity; one entry checked directly.
  const rand = rng(7);
  const [batch, h, w, inner] = [2, 3, 5, 2];
  const x = randomArray(rand, batch * h * w * inner);
  const sx = be.upload(x);
  const shifted = be.roll2d(sx, batch, h, w, inner, 1, 2);
  const back = be.roll2d(shifted, batch, h, w, inner, -1, -2);
  assertClose(run(back), x, 0, 0, "ifftshift∘fftshift");
  const s = run(shifted);
  // out[(y+1)%3, (x+2)%5] = x[y, x] for b=1, y=2, x=4, i=1 → out[0, 1].
  assertNear(
    s[((1 * h + 0) * w + 1) * inner + 1],
    x[((1 * h + 2) * w + 4) * inner + 1],
    0,
    "roll entry",
  );
});

/** 2×2 stride-2 TF-"same" max pool of one plane, with the index of the first maximum. */
function naivePool(x: Float32Array, h: number, w: number) {
  const oh = Math.ceil(h / 2), ow = Math.ceil(w / 2);
  const out: number[] = [], argmax: number[] = [];
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      const window = [[0, 0], [0, 1], [1, 0], [1, 1]]
        .map(([i, j]) => [2 * oy + i, 2 * ox + j])
        .filter(([y, xx]) => y < h && xx < w)
        .map(([y, xx]) => y * w + xx);
      let best = window[0];
      for (const k of window) if (x[k] > x[best]) best = k;
      out.push(x[best]);
      argmax.push(best);
    }
  }
  return { out, argmax };
}

Deno.test("cpu maxPool2d and its gradient on odd sizes, ties to the first maximum", () => {
  const rand = rng(8);
  for (const [n, c, h, w] of [[1, 1, 5, 7], [2, 3, 4, 6], [1, 2, 1, 1], [1, 1, 3, 2]]) {
    const plane = h * w, oplane = Math.ceil(h / 2) * Math.ceil(w / 2);
    const x = randomArray(rand, n * c * plane).map((v) => Math.round(v * 2));
    const dy = randomArray(rand, n * c * oplane);
    const out = run(be.maxPool2d(be.upload(x), n, c, h, w));
    const dx = run(be.maxPool2dGrad(be.upload(x), be.upload(dy), n, c, h, w));
    if (out.length !== n * c * oplane) throw new Error("maxPool2d output size");
    const expDx = new Float32Array(x.length);
    for (let p = 0; p < n * c; p++) {
      const { out: o, argmax } = naivePool(x.subarray(p * plane, (p + 1) * plane), h, w);
      assertClose(out.subarray(p * oplane, (p + 1) * oplane), o, 0, 0, `maxPool ${h}×${w}`);
      argmax.forEach((k, i) => (expDx[p * plane + k] += dy[p * oplane + i]));
    }
    assertClose(dx, expDx, 0, 0, `maxPool2dGrad ${h}×${w}`);
    // Masked (x a ReLU output): the ReLU's gradient applied too, as reluGrad(dx, x) would.
    const masked = run(be.maxPool2dGrad(be.upload(x), be.upload(dy), n, c, h, w, true));
    assertClose(masked, expDx.map((v, i) => (x[i] > 0 ? v : 0)), 0, 0, `masked ${h}×${w}`);
  }
  const ties = run(be.maxPool2dGrad(be.fill(4, 1), be.upload(new Float32Array([5])), 1, 1, 2, 2));
  assertClose(ties, [5, 0, 0, 0], 0, 0, "tie goes to the first maximum");
});

Deno.test("cpu upsample2x and sumPool2x2: values and adjointness", () => {
  const x = be.upload(new Float32Array([1, 2, 3, 4, 5, 6]));
  const up = run(be.upsample2x(x, 1, 2, 3));
  assertClose(
    up,
    [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6],
    0,
    0,
    "up",
  );
  const rand = rng(9);
  const [planes, h, w] = [3, 3, 5];
  const a = randomArray(rand, planes * h * w), b = randomArray(rand, planes * 4 * h * w);
  const ua = run(be.upsample2x(be.upload(a), planes, h, w));
  const pb = run(be.sumPool2x2(be.upload(b), planes, h, w));
  let lhs = 0, rhs = 0;
  for (let i = 0; i < ua.length; i++) lhs += ua[i] * b[i];
  for (let i = 0; i < a.length; i++) rhs += a[i] * pb[i];
  assertNear(lhs, rhs, 1e-5, "<Ua, b> = <a, Uᵀb>");
  assertNear(pb[0], b[0] + b[1] + b[2 * w] + b[2 * w + 1], 1e-6, "sumPool entry");
  const masked = run(be.sumPool2x2(be.upload(b), planes, h, w, be.upload(a)));
  assertClose(masked, pb.map((v, i) => (a[i] > 0 ? v : 0)), 0, 0, "sumPool with a ReLU mask");
});

Deno.test("cpu adam: two steps against a scalar hand computation", () => {
  const h = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, emaDecay: 0.75 };
  const p = be.upload(new Float32Array([1, -2]));
  const mv = be.fill(4, 0), e = be.upload(new Float32Array([1, -2]));
  let ps = [1, -2], ms = [0, 0], vs = [0, 0], es = [1, -2];
  const grads = [[0.5, -3], [0.25, 1]];
  grads.forEach((gs, step) => {
    const t = step + 1;
    const bc1 = 1 - 0.9 ** t, bc2 = 1 - 0.999 ** t;
    be.adam([{ p, g: be.upload(new Float32Array(gs)), mv, e }], {
      ...h,
      biasCorrection1: bc1,
      biasCorrection2: bc2,
    });
    ms = ms.map((mi, i) => 0.9 * mi + 0.1 * gs[i]);
    vs = vs.map((vi, i) => 0.999 * vi + 0.001 * gs[i] * gs[i]);
    ps = ps.map((pi, i) =>
      pi - 0.1 * 0.01 * pi - (0.1 * ms[i] / bc1) / (Math.sqrt(vs[i] / bc2) + 1e-8)
    );
    es = es.map((ei, i) => 0.75 * ei + 0.25 * ps[i]);
  });
  assertClose(run(e), es, 1e-6, 1e-6, "adam moving average");
  const moments = run(mv);
  assertClose(moments.subarray(0, 2), ms, 1e-7, 1e-6, "adam m (first half of mv)");
  assertClose(moments.subarray(2), vs, 1e-9, 1e-6, "adam v (second half of mv)");
  assertClose(run(p), ps, 1e-6, 1e-6, "adam p");
  // The first step of plain Adam moves each parameter by lr against the sign of its gradient.
  const q = be.upload(new Float32Array([0.5, 0.5]));
  const fresh = { ...h, weightDecay: 0, biasCorrection1: 0.1, biasCorrection2: 0.001 };
  const g = be.upload(new Float32Array([3, -0.01]));
  be.adam([{ p: q, g, mv: be.fill(4, 0) }], fresh);
  assertClose(run(q), [0.4, 0.6], 1e-6, 0, "adam first step");
});
