/** Every engine op: forward against a plain reference, gradient against finite differences. */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../assert.ts";
import * as E from "../../engine/mod.ts";
import { type Tensor, tensor, tidy } from "../../engine/mod.ts";
import { gradCheck, randomArray } from "./gradcheck.ts";

const rng = new E.Rng(1234);

function expectGrad(
  f: (xs: Tensor[]) => Tensor,
  shapes: number[][],
  opts: { lo?: number; hi?: number; values?: Float32Array[]; check?: boolean[]; rtol?: number } =
    {},
): void {
  const values = opts.values ??
    shapes.map((s) => randomArray(rng, E.shapeSize(s), opts.lo ?? -1, opts.hi ?? 1));
  const problem = gradCheck(f, values, shapes, { check: opts.check, rtol: opts.rtol });
  assertEquals(problem, null);
}

/** Values whose magnitude stays above `gap` (away from kinks at 0). */
function awayFromZero(n: number, gap = 0.1): Float32Array {
  const v = randomArray(rng, n, gap, 1);
  for (let i = 0; i < n; i++) if (rng.uniform() < 0.5) v[i] = -v[i];
  return v;
}

/** Distinct values spaced by 0.05, shuffled (no near-ties for max). */
function distinct(n: number): Float32Array {
  return Float32Array.from(rng.shuffle([...Array(n).keys()]).map((i) => i * 0.05 - n * 0.025));
}

function host(t: Tensor): Float32Array {
  return t.dataSync();
}

Deno.test("gradCheck catches a wrong gradient (self-test)", () => {
  const wrong = (xs: Tensor[]) => {
    const x = xs[0];
    // forward x², but a gradient rule of x (missing the factor 2)
    return E.attachGrad(E.square(E.noGrad(() => x)), "wrongSquare", [x], (g) => [E.mul(g, x)]);
  };
  assert(gradCheck(wrong, [randomArray(rng, 6, 0.5, 1)], [[6]]) !== null);
  assertEquals(gradCheck((xs) => E.square(xs[0]), [randomArray(rng, 6, 0.5, 1)], [[6]]), null);
});

Deno.test("unary ops: forward matches Math and gradients match finite differences", () => {
  const cases: [string, (x: Tensor) => Tensor, (v: number) => number, number, number][] = [
    ["neg", E.neg, (v) => -v, -1, 1],
    ["exp", E.exp, Math.exp, -1, 1],
    ["log", E.log, Math.log, 0.3, 2],
    ["sqrt", E.sqrt, Math.sqrt, 0.3, 2],
    ["square", E.square, (v) => v * v, -1, 1],
    ["sigmoid", E.sigmoid, (v) => 1 / (1 + Math.exp(-v)), -3, 3],
    ["tanh", E.tanh, Math.tanh, -2, 2],
    ["silu", E.silu, (v) => v / (1 + Math.exp(-v)), -3, 3],
    ["cos", E.cos, Math.cos, -3, 3],
    ["sin", E.sin, Math.sin, -3, 3],
    ["pow 3", (x) => E.pow(x, 3), (v) => v ** 3, -1, 1],
    ["pow 0.5", (x) => E.pow(x, 0.5), (v) => v ** 0.5, 0.3, 2],
    ["affine", (x) => E.affine(x, -2, 0.5), (v) => -2 * v + 0.5, -1, 1],
  ];
  for (const [name, f, ref, lo, hi] of cases) {
    const v = randomArray(rng, 7 * 3, lo, hi);
    const y = tidy(() => host(f(tensor(v, [7, 3]))));
    for (let i = 0; i < v.length; i++) {
      assertAlmostEquals(y[i], ref(v[i]), 1e-5 * (1 + Math.abs(ref(v[i]))), name);
    }
    expectGrad((xs) => f(xs[0]), [[7, 3]], { values: [v] });
  }
});

Deno.test("kinked unary ops (abs, relu, clamp) away from their kinks", () => {
  const v = awayFromZero(15);
  const cases: [(x: Tensor) => Tensor, (v: number) => number][] = [
    [E.abs, Math.abs],
    [E.relu, (a) => Math.max(a, 0)],
    [(x) => E.clamp(x, -0.5, 0.55), (a) => Math.min(Math.max(a, -0.5), 0.55)],
  ];
  for (const [f, ref] of cases) {
    const y = tidy(() => host(f(tensor(v, [3, 5]))));
    v.forEach((a, i) => assertAlmostEquals(y[i], ref(a), 1e-6));
    expectGrad((xs) => f(xs[0]), [[3, 5]], { values: [v] });
  }
  const s = tidy(() => host(E.sign(tensor([-2, 0, 3]))));
  assertEquals([...s], [-1, 0, 1]);
});

Deno.test("lgamma forward matches known values and refuses a gradient", () => {
  const y = tidy(() => host(E.lgamma(tensor([1, 0.5, 10, 100.5]))));
  const expected = [0, Math.log(Math.sqrt(Math.PI)), Math.log(362880), 361.4355404677776];
  expected.forEach((e, i) => assertAlmostEquals(y[i], e, 1e-6 * (1 + Math.abs(e))));
  assertThrows(
    () =>
      tidy(() => {
        const x = tensor([2, 3], [2], { requiresGrad: true });
        E.backward(E.sum(E.lgamma(x)));
      }),
    Error,
    "no gradient",
  );
});

Deno.test("broadcasting binary ops: forward and gradients", () => {
  const pairs: [number[], number[]][] = [[[4, 3], [4, 3]], [[4, 3], [3]], [[2, 1, 5], [3, 1]], [
    [1],
    [2, 3],
  ]];
  const ops: [string, (a: Tensor, b: Tensor) => Tensor, (a: number, b: number) => number][] = [
    ["add", E.add, (a, b) => a + b],
    ["sub", E.sub, (a, b) => a - b],
    ["mul", E.mul, (a, b) => a * b],
    ["div", E.div, (a, b) => a / b],
  ];
  for (const [as, bs] of pairs) {
    const out = E.broadcastShapes(as, bs);
    const av = randomArray(rng, E.shapeSize(as), 0.5, 1.5),
      bv = randomArray(rng, E.shapeSize(bs), 0.5, 1.5);
    for (const [name, f, ref] of ops) {
      const y = tidy(() => host(f(tensor(av, as), tensor(bv, bs))));
      // reference by explicit index arithmetic
      const ap = E.padShape(as, out.length), bp = E.padShape(bs, out.length);
      for (let flat = 0; flat < y.length; flat++) {
        let rem = flat, ai = 0, bi = 0, aStride = 1, bStride = 1;
        for (let ax = out.length - 1; ax >= 0; ax--) {
          const c = rem % out[ax];
          rem = Math.floor(rem / out[ax]);
          ai += (ap[ax] === 1 ? 0 : c) * aStride;
          bi += (bp[ax] === 1 ? 0 : c) * bStride;
          aStride *= ap[ax];
          bStride *= bp[ax];
        }
        assertAlmostEquals(y[flat], ref(av[ai], bv[bi]), 1e-5, `${name} [${as}] [${bs}]`);
      }
      expectGrad((xs) => f(xs[0], xs[1]), [as, bs], { values: [av, bv] });
    }
  }
  assertThrows(() => E.add(E.zeros([2, 3]), E.zeros([4])), Error, "do not broadcast");
  const s = tidy(() => host(E.sub(2, tensor([1, 5]))));
  assertEquals([...s], [1, -3]);
  const d = tidy(() => host(E.div(2, tensor([4, 0.5]))));
  assertEquals([...d], [0.5, 4]);
});

Deno.test("sum, mean and max over axes", () => {
  const shape = [3, 4, 5];
  const v = distinct(60);
  for (const axes of [[0], [1], [2], [0, 2], [1, 2], [0, 1, 2]]) {
    const y = tidy(() => host(E.sum(tensor(v, shape), axes)));
    const m = tidy(() => host(E.max(tensor(v, shape), axes)));
    const keep = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const refSum = new Float64Array(E.shapeSize(keep)),
      refMax = new Float64Array(refSum.length).fill(-Infinity);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        for (let k = 0; k < 5; k++) {
          const idx = [i, j, k].map((c, ax) => (axes.includes(ax) ? 0 : c));
          const o = (idx[0] * keep[1] + idx[1]) * keep[2] + idx[2];
          refSum[o] += v[(i * 4 + j) * 5 + k];
          refMax[o] = Math.max(refMax[o], v[(i * 4 + j) * 5 + k]);
        }
      }
    }
    refSum.forEach((r, i) => assertAlmostEquals(y[i], r, 1e-5));
    refMax.forEach((r, i) => assertAlmostEquals(m[i], r, 1e-6));
    expectGrad((xs) => E.sum(xs[0], axes), [shape], { values: [v] });
    expectGrad((xs) => E.mean(xs[0], axes, true), [shape], { values: [v] });
    expectGrad((xs) => E.max(xs[0], axes), [shape], { values: [v] });
  }
  const shapeKeep = tidy(() => E.sum(tensor(v, shape), [-1], true).shape);
  assertEquals(shapeKeep, [3, 4, 1]);
});

Deno.test("shape ops: reshape, permute, transpose, slice, pad, concat, stack, expand", () => {
  const v = randomArray(rng, 24);
  const p = tidy(() => host(E.permute(tensor(v, [2, 3, 4]), [2, 0, 1])));
  for (let a = 0; a < 2; a++) {
    for (let b = 0; b < 3; b++) {
      for (let c = 0; c < 4; c++) assertEquals(p[(c * 2 + a) * 3 + b], v[(a * 3 + b) * 4 + c]);
    }
  }
  const sl = tidy(() => host(E.slice(tensor(v, [2, 3, 4]), [1, 1, 2], [1, 2, -1])));
  assertEquals([...sl], [v[18], v[19], v[22], v[23]]);
  const pd = tidy(() => host(E.pad(tensor([1, 2, 3, 4], [2, 2]), [1, 0], [0, 2])));
  assertEquals([...pd], [0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0]);
  const cc = tidy(() => host(E.concat([tensor([1, 2], [2, 1]), tensor([3, 4, 5, 6], [2, 2])], 1)));
  assertEquals([...cc], [1, 3, 4, 2, 5, 6]);
  const st = tidy(() => host(E.stack([tensor([1, 2]), tensor([3, 4])], -1)));
  assertEquals([...st], [1, 3, 2, 4]);
  assertThrows(() => E.reshape(tensor(v, [24]), [5, -1]), Error, "cannot view");
  assertEquals(tidy(() => E.reshape(tensor(v, [24]), [2, -1, 3]).shape), [2, 4, 3]);
  expectGrad((xs) => E.mul(E.reshape(xs[0], [4, 6]), E.reshape(xs[0], [4, 6])), [[2, 3, 4]]);
  expectGrad((xs) => E.permute(xs[0], [1, 2, 0]), [[2, 3, 4]]);
  expectGrad((xs) => E.transpose(xs[0]), [[3, 5]]);
  expectGrad((xs) => E.slice(xs[0], [0, 1, 1], [2, 2, 3]), [[2, 3, 5]]);
  expectGrad((xs) => E.pad(xs[0], [1, 2], [3, 0]), [[3, 2]]);
  expectGrad((xs) => E.pad(xs[0], [-1, 1], [1, -2]), [[4, 5]]);
  expectGrad((xs) => E.concat([xs[0], xs[1], xs[0]], 0), [[2, 3], [1, 3]]);
  expectGrad((xs) => E.stack([xs[0], xs[1]], 1), [[2, 3], [2, 3]]);
  expectGrad((xs) => E.expand(xs[0], [3, 2, 4]), [[2, 1]]);
});

Deno.test("matmul: all transpose combinations, batch broadcasting, gradients", () => {
  const m = 3, k = 5, n = 4;
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const [ba, bb] of [[1, 1], [2, 2], [1, 3], [3, 1]]) {
        const aShape = ba === 1 && bb !== 1
          ? (transA ? [k, m] : [m, k])
          : [ba, ...(transA ? [k, m] : [m, k])];
        const bShape = bb === 1 && ba !== 1
          ? (transB ? [n, k] : [k, n])
          : [bb, ...(transB ? [n, k] : [k, n])];
        const av = randomArray(rng, E.shapeSize(aShape)),
          bv = randomArray(rng, E.shapeSize(bShape));
        const y = tidy(() =>
          host(E.matmul(tensor(av, aShape), tensor(bv, bShape), { transA, transB }))
        );
        const batch = Math.max(ba, bb);
        for (let q = 0; q < batch; q++) {
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let s = 0;
              for (let l = 0; l < k; l++) {
                const aOff = (ba === 1 ? 0 : q) * m * k, bOff = (bb === 1 ? 0 : q) * k * n;
                s += av[aOff + (transA ? l * m + i : i * k + l)] *
                  bv[bOff + (transB ? j * k + l : l * n + j)];
              }
              assertAlmostEquals(y[(q * m + i) * n + j], s, 1e-5);
            }
          }
        }
        expectGrad((xs) => E.matmul(xs[0], xs[1], { transA, transB }), [aShape, bShape], {
          values: [av, bv],
        });
      }
    }
  }
  assertThrows(() => E.matmul(E.zeros([2, 3]), E.zeros([4, 2])), Error, "do not multiply");
});

Deno.test("conv2d: same and valid padding, odd and even kernels, bias; gradients for x, w, b", () => {
  const cases: [number[], number[], E.Padding][] = [
    [[2, 3, 5, 6], [4, 3, 3, 3], "same"],
    [[1, 2, 7, 5], [3, 2, 2, 2], "same"],
    [[2, 2, 6, 7], [2, 2, 3, 2], "valid"],
    [[1, 1, 4, 4], [2, 1, 1, 1], "same"],
  ];
  for (const [xs, ws, padding] of cases) {
    const xv = randomArray(rng, E.shapeSize(xs)),
      wv = randomArray(rng, E.shapeSize(ws)),
      bv = randomArray(rng, ws[0]);
    const y = tidy(() => E.conv2d(tensor(xv, xs), tensor(wv, ws), tensor(bv, [ws[0]]), padding));
    const [n, c, h, w] = xs, [o, , kh, kw] = ws;
    const pt = padding === "same" ? Math.floor((kh - 1) / 2) : 0,
      pl = padding === "same" ? Math.floor((kw - 1) / 2) : 0;
    const [oh, ow] = y.shape.slice(2);
    assertEquals(y.shape, [
      n,
      o,
      padding === "same" ? h : h - kh + 1,
      padding === "same" ? w : w - kw + 1,
    ]);
    const yv = host(y);
    for (let b = 0; b < n; b++) {
      for (let oc = 0; oc < o; oc++) {
        for (let r = 0; r < oh; r++) {
          for (let col = 0; col < ow; col++) {
            let s = bv[oc];
            for (let ic = 0; ic < c; ic++) {
              for (let i = 0; i < kh; i++) {
                for (let j = 0; j < kw; j++) {
                  const yy = r + i - pt, xx = col + j - pl;
                  if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
                    s += xv[((b * c + ic) * h + yy) * w + xx] *
                      wv[((oc * c + ic) * kh + i) * kw + j];
                  }
                }
              }
            }
            assertAlmostEquals(yv[((b * o + oc) * oh + r) * ow + col], s, 1e-5);
          }
        }
      }
    }
    y.dispose();
    expectGrad((t) => E.conv2d(t[0], t[1], t[2], padding), [xs, ws, [ws[0]]], {
      values: [xv, wv, bv],
    });
  }
});

Deno.test("conv2d with a fused ReLU equals relu(conv2d + bias); gradients for x, w, b", () => {
  const cases: [number[], number[], E.Padding][] = [
    [[2, 3, 5, 6], [4, 3, 3, 3], "same"],
    [[1, 2, 6, 7], [3, 2, 3, 2], "valid"],
  ];
  for (const [xs, ws, padding] of cases) {
    // Keep every pre-activation off the kink, so central differences never straddle it: x and
    // w are multiples of 1/4 in [-1, 1] and the bias an odd multiple of 1/32, so each output is
    // an odd multiple of 1/32 (|z| ≥ 0.031), and a ±0.01 step of one value moves it by ≤ 0.01.
    const quarter = (n: number) => randomArray(rng, n).map((v) => Math.round(4 * v) / 4);
    const xv = quarter(E.shapeSize(xs)), wv = quarter(E.shapeSize(ws));
    const bv = randomArray(rng, ws[0]).map((v) => Math.round(16 * v) / 16 + 1 / 32);
    const [fused, plain] = tidy(() => {
      const x = tensor(xv, xs), w = tensor(wv, ws), b = tensor(bv, [ws[0]]);
      return [host(E.conv2d(x, w, b, padding, "relu")), host(E.relu(E.conv2d(x, w, b, padding)))];
    });
    assertEquals(fused, plain);
    assert(fused.some((v) => v === 0) && fused.some((v) => v > 0), "ReLU both clips and passes");
    expectGrad((t) => E.conv2d(t[0], t[1], t[2], padding, "relu"), [xs, ws, [ws[0]]], {
      values: [xv, wv, bv],
    });
  }
  assertThrows(
    () => E.conv2d(E.zeros([1, 2, 4, 4]), E.zeros([3, 2, 3, 3]), E.zeros([2])),
    Error,
    "bias [2] does not match",
  );
});

Deno.test("conv + ReLU into max pooling or upsampling: the pool gradients carry the ReLU mask", () => {
  // As above, pre-activations stay off the kink (odd multiples of 1/32), and draws whose 2×2
  // windows hold two equal positive values (a max that a ±0.01 step would move) are redrawn.
  const xs = [1, 2, 6, 8], ws = [3, 2, 3, 3];
  const quarter = (n: number) => randomArray(rng, n).map((v) => Math.round(4 * v) / 4);
  let xv: Float32Array, wv: Float32Array, bv: Float32Array;
  const tied = () => {
    const z = tidy(() => host(E.conv2d(tensor(xv, xs), tensor(wv, ws), tensor(bv, [3]), "same")));
    for (let p = 0; p < 3; p++) {
      for (let y = 0; y < 6; y += 2) {
        for (let x = 0; x < 8; x += 2) {
          const at = (dy: number, dx: number) => z[(p * 6 + y + dy) * 8 + x + dx];
          const win = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)].filter((v) => v > 0);
          if (new Set(win).size < win.length) return true;
        }
      }
    }
    return false;
  };
  do {
    xv = quarter(E.shapeSize(xs));
    wv = quarter(E.shapeSize(ws));
    bv = randomArray(rng, ws[0]).map((v) => Math.round(16 * v) / 16 + 1 / 32);
  } while (tied());
  const weights = tensor(randomArray(rng, 3 * 3 * 4), [1, 3, 3, 4]);
  const weights2 = tensor(randomArray(rng, 3 * 12 * 16), [1, 3, 12, 16]);
  const nets: ((t: Tensor[]) => Tensor)[] = [
    (t) => E.mul(E.maxPool2d(E.conv2d(t[0], t[1], t[2], "same", "relu")), weights),
    (t) => E.mul(E.upsample2x(E.conv2d(t[0], t[1], t[2], "same", "relu")), weights2),
    // Two consumers: the summed gradient is unmasked and takes the separate mask.
    (t) => {
      const z = E.conv2d(t[0], t[1], t[2], "same", "relu");
      return E.add(E.sum(E.mul(E.maxPool2d(z), weights)), E.sum(E.mul(z, z)));
    },
  ];
  for (const net of nets) {
    expectGrad((t) => E.sum(net(t)), [xs, ws, [ws[0]]], { values: [xv, wv, bv] });
  }
  // Against the unfused graph (an explicit relu, whose output the pools do not mask).
  const grads = (fused: boolean) =>
    tidy(() => {
      const x = tensor(xv, xs, { requiresGrad: true });
      const w = tensor(wv, ws, { requiresGrad: true });
      const b = tensor(bv, [ws[0]], { requiresGrad: true });
      const z = fused ? E.conv2d(x, w, b, "same", "relu") : E.relu(E.conv2d(x, w, b, "same"));
      E.backward(E.add(E.sum(E.mul(E.maxPool2d(z), weights)), E.sum(E.upsample2x(z))));
      const out = [x, w, b].map((t) => host(t.grad!));
      for (const t of [x, w, b]) t.grad!.dispose();
      return out;
    });
  const [fused, plain] = [grads(true), grads(false)];
  fused.forEach((g, i) => assertEquals(g, plain[i]));
  for (const t of [weights, weights2]) t.dispose();
});

Deno.test("reluGrad: g where y > 0, and linear in g", () => {
  const g = [1, -2, 3, 4, 5], y = [0.5, 0, -1, 2, 1e-30];
  assertEquals([...tidy(() => host(E.reluGrad(tensor(g), tensor(y))))], [1, 0, 0, 4, 5]);
  expectGrad((t) => E.reluGrad(t[0], tensor(y)), [[5]], { values: [Float32Array.from(g)] });
});

Deno.test("maxPool2d (odd sizes), upsample2x, sumPool2x2: forward and gradients", () => {
  const v = distinct(2 * 5 * 7);
  const y = tidy(() => E.maxPool2d(tensor(v, [1, 2, 5, 7])));
  assertEquals(y.shape, [1, 2, 3, 4]);
  const yv = host(y);
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        let m = -Infinity;
        for (let a = 2 * i; a < Math.min(2 * i + 2, 5); a++) {
          for (let b = 2 * j; b < Math.min(2 * j + 2, 7); b++) {
            m = Math.max(m, v[(c * 5 + a) * 7 + b]);
          }
        }
        assertEquals(yv[(c * 3 + i) * 4 + j], m);
      }
    }
  }
  y.dispose();
  expectGrad((xs) => E.maxPool2d(xs[0]), [[1, 2, 5, 7]], { values: [v] });
  const up = tidy(() => host(E.upsample2x(tensor([1, 2, 3, 4], [1, 1, 2, 2]))));
  assertEquals([...up], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  expectGrad((xs) => E.upsample2x(xs[0]), [[2, 1, 3, 2]]);
  expectGrad((xs) => E.sumPool2x2(xs[0]), [[1, 2, 4, 6]]);
});

Deno.test("complex ops: complex/real/imag/conj/abs2/cmul/polar forward and gradients", () => {
  const a = randomArray(rng, 3 * 4 * 2), b = randomArray(rng, 4 * 2);
  const prod = tidy(() => host(E.cmul(tensor(a, [3, 4, 2]), tensor(b, [4, 2]))));
  const prodConj = tidy(() => host(E.cmul(tensor(a, [3, 4, 2]), tensor(b, [4, 2]), true)));
  for (let i = 0; i < 12; i++) {
    const [ar, ai, br, bi] = [a[2 * i], a[2 * i + 1], b[2 * (i % 4)], b[2 * (i % 4) + 1]];
    assertAlmostEquals(prod[2 * i], ar * br - ai * bi, 1e-6);
    assertAlmostEquals(prod[2 * i + 1], ar * bi + ai * br, 1e-6);
    assertAlmostEquals(prodConj[2 * i], ar * br + ai * bi, 1e-6);
    assertAlmostEquals(prodConj[2 * i + 1], ai * br - ar * bi, 1e-6);
  }
  const amp = randomArray(rng, 6, 0.2, 2), ph = randomArray(rng, 6, -3, 3);
  const z = tidy(() => host(E.polar(tensor(amp, [2, 3]), tensor(ph, [2, 3]))));
  for (let i = 0; i < 6; i++) {
    assertAlmostEquals(z[2 * i], amp[i] * Math.cos(ph[i]), 1e-6);
    assertAlmostEquals(z[2 * i + 1], amp[i] * Math.sin(ph[i]), 1e-6);
  }
  const a2 = tidy(() => host(E.abs2(tensor(a, [3, 4, 2]))));
  for (let i = 0; i < 12; i++) assertAlmostEquals(a2[i], a[2 * i] ** 2 + a[2 * i + 1] ** 2, 1e-6);
  expectGrad((xs) => E.cmul(xs[0], xs[1]), [[3, 4, 2], [4, 2]], { values: [a, b] });
  expectGrad((xs) => E.cmul(xs[0], xs[1], true), [[3, 4, 2], [4, 2]], { values: [a, b] });
  expectGrad((xs) => E.cmul(xs[0], xs[1], true), [[4, 2], [3, 4, 2]], { values: [b, a] });
  expectGrad((xs) => E.polar(xs[0], xs[1]), [[2, 3], [2, 3]], { values: [amp, ph] });
  expectGrad((xs) => E.abs2(xs[0]), [[3, 4, 2]]);
  expectGrad((xs) => E.conj(xs[0]), [[3, 2]]);
  expectGrad((xs) => E.complex(E.imag(xs[0]), E.real(xs[0])), [[5, 2]]);
});

function directDft(
  x: Float32Array,
  h: number,
  w: number,
  sign: number,
  scale: number,
): Float64Array {
  const out = new Float64Array(x.length);
  for (let u = 0; u < h; u++) {
    for (let v = 0; v < w; v++) {
      let re = 0, im = 0;
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          const t = sign * 2 * Math.PI * (u * y / h + v * xx / w);
          const [a, b] = [x[2 * (y * w + xx)], x[2 * (y * w + xx) + 1]];
          re += a * Math.cos(t) - b * Math.sin(t);
          im += a * Math.sin(t) + b * Math.cos(t);
        }
      }
      out[2 * (u * w + v)] = scale * re;
      out[2 * (u * w + v) + 1] = scale * im;
    }
  }
  return out;
}

Deno.test("fft2/ifft2 equal a direct DFT (ortho and backward norms) and have exact adjoint gradients", () => {
  const [h, w] = [8, 4];
  const x = randomArray(rng, 2 * h * w * 2);
  for (const norm of ["ortho", "backward"] as const) {
    const fw = tidy(() => host(E.fft2(tensor(x, [2, h, w, 2]), norm)));
    const iv = tidy(() => host(E.ifft2(tensor(x, [2, h, w, 2]), norm)));
    for (let b = 0; b < 2; b++) {
      const img = x.subarray(b * h * w * 2, (b + 1) * h * w * 2);
      const f = directDft(img, h, w, -1, norm === "ortho" ? 1 / Math.sqrt(h * w) : 1);
      const g = directDft(img, h, w, 1, 1 / (norm === "ortho" ? Math.sqrt(h * w) : h * w));
      f.forEach((val, i) =>
        assertAlmostEquals(fw[b * h * w * 2 + i], val, 1e-5 * (norm === "ortho" ? 1 : 8))
      );
      g.forEach((val, i) => assertAlmostEquals(iv[b * h * w * 2 + i], val, 1e-5));
    }
    expectGrad((xs) => E.fft2(xs[0], norm), [[2, h, w, 2]], { values: [x] });
    expectGrad((xs) => E.ifft2(xs[0], norm), [[2, h, w, 2]], { values: [x] });
  }
  const round = tidy(() => host(E.ifft2(E.fft2(tensor(x, [2, h, w, 2])))));
  x.forEach((v, i) => assertAlmostEquals(round[i], v, 1e-5));
  assertThrows(() => E.fft2(E.zeros([6, 4, 2])), Error, "powers of two");
});

Deno.test("fftshift/ifftshift on odd and even sizes, real and complex", () => {
  const v = Float32Array.from([...Array(15).keys()]);
  const s = tidy(() => host(E.fftshift(tensor(v, [3, 5]), false)));
  // numpy.fft.fftshift(np.arange(15).reshape(3,5))
  assertEquals([...s], [13, 14, 10, 11, 12, 3, 4, 0, 1, 2, 8, 9, 5, 6, 7]);
  const back = tidy(() => host(E.ifftshift(E.fftshift(tensor(v, [3, 5]), false), false)));
  assertEquals([...back], [...v]);
  const c = randomArray(rng, 4 * 3 * 2);
  const cs = tidy(() => host(E.fftshift(tensor(c, [4, 3, 2]))));
  for (let y = 0; y < 4; y++) {
    for (let x = 0; x < 3; x++) {
      const dst = ((y + 2) % 4) * 3 + ((x + 1) % 3);
      assertEquals([cs[2 * dst], cs[2 * dst + 1]], [c[2 * (y * 3 + x)], c[2 * (y * 3 + x) + 1]]);
    }
  }
  expectGrad((xs) => E.fftshift(xs[0]), [[2, 3, 5, 2]]);
  expectGrad((xs) => E.ifftshift(xs[0], false), [[3, 5]]);
});

Deno.test("translate: integer offsets shift with zero fill, content moves by +t, adjoint identity", () => {
  const img = Float32Array.from([...Array(20).keys()].map((i) => i + 1));
  const y = tidy(() => host(E.translate(tensor(img, [1, 4, 5]), tensor([2, -1], [1, 2]))));
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 5; c++) {
      const sr = r + 1, sc = c - 2;
      const expected = sr >= 0 && sr < 4 && sc >= 0 && sc < 5 ? img[sr * 5 + sc] : 0;
      assertEquals(y[r * 5 + c], expected);
    }
  }
  // an asymmetric one-pixel image at (row 1, col 1) moved by (tx, ty) = (2, 1) lands at (2, 3)
  const dot = new Float32Array(20);
  dot[1 * 5 + 1] = 1;
  const moved = tidy(() => host(E.translate(tensor(dot, [1, 4, 5]), tensor([2, 1], [1, 2]))));
  assertEquals(moved.indexOf(1), 2 * 5 + 3);
  // adjoint identity <T x, y> = <x, Tᵀ y> for fractional offsets, complex channels
  const x = randomArray(rng, 3 * 6 * 7 * 2), yv = randomArray(rng, 3 * 6 * 7 * 2);
  const off = Float32Array.from([0.3, -1.7, 2.5, 0.25, -0.6, 3.9]);
  const [tx, tty] = tidy(() => {
    const offsets = tensor(off, [3, 2]);
    const xt = tensor(x, [3, 6, 7, 2], { requiresGrad: true });
    const tx = E.translate(xt, offsets);
    E.backward(E.sum(E.mul(tx, tensor(yv, [3, 6, 7, 2]))));
    return [host(tx), xt.grad!.dataSync()];
  });
  let lhs = 0, rhs = 0;
  for (let i = 0; i < x.length; i++) {
    lhs += tx[i] * yv[i];
    rhs += x[i] * tty[i];
  }
  assertAlmostEquals(lhs, rhs, 1e-4 * Math.abs(lhs) + 1e-5);
  expectGrad((xs) => E.translate(xs[0], xs[1]), [[2, 5, 6], [2, 2]], {
    values: [randomArray(rng, 60), Float32Array.from([0.4, -1.3, 1.2, 0.6])],
    check: [true, false],
  });
});
