/** CPU backend: matmul, conv2d and its gradients, fft2, translate, against direct references. */

import type { Conv2dGeometry } from "../../engine/backend.ts";
import { cpuBackend } from "../../engine/cpu/backend.ts";
import { assertClose, assertNear, dot, norm, randomArray, rng } from "./cpu_test_util.ts";

const be = cpuBackend();
const up = (x: Float32Array) => be.upload(x);
const run = (s: ReturnType<typeof be.upload>) => be.readSync(s);

Deno.test("cpu matmul: every transpose and batch-broadcast combination against naive f64", () => {
  const rand = rng(11);
  const sizes = [[1, 1, 1], [5, 7, 3], [9, 13, 6], [4, 4, 4], [1, 17, 5], [11, 2, 1]];
  const batches = [[1, 1], [3, 1], [1, 3], [2, 2]];
  for (const [m, k, n] of sizes) {
    for (const [batchA, batchB] of batches) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = randomArray(rand, batchA * m * k), b = randomArray(rand, batchB * k * n);
          const batch = Math.max(batchA, batchB);
          const expected = new Float64Array(batch * m * n);
          for (let t = 0; t < batch; t++) {
            const ao = batchA === 1 ? 0 : t * m * k, bo = batchB === 1 ? 0 : t * k * n;
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < n; j++) {
                let s = 0;
                for (let p = 0; p < k; p++) {
                  const av = transA ? a[ao + p * m + i] : a[ao + i * k + p];
                  const bv = transB ? b[bo + j * k + p] : b[bo + p * n + j];
                  s += av * bv;
                }
                expected[(t * m + i) * n + j] = s;
              }
            }
          }
          const dims = { batchA, batchB, m, k, n, transA, transB };
          const out = run(be.matmul(up(a), up(b), dims));
          assertClose(out, expected, 1e-5, 1e-5, `matmul ${JSON.stringify(dims)}`);
        }
      }
    }
  }
});

/** Direct 7-loop convolution in f64. */
function naiveConv(x: Float32Array, w: Float32Array, g: Conv2dGeometry): Float64Array {
  const out = new Float64Array(g.n * g.o * g.outH * g.outW);
  for (let b = 0; b < g.n; b++) {
    for (let o = 0; o < g.o; o++) {
      for (let y = 0; y < g.outH; y++) {
        for (let xx = 0; xx < g.outW; xx++) {
          let s = 0;
          for (let c = 0; c < g.c; c++) {
            for (let i = 0; i < g.kh; i++) {
              for (let j = 0; j < g.kw; j++) {
                const sy = y + i - g.padTop, sx = xx + j - g.padLeft;
                if (sy < 0 || sy >= g.h || sx < 0 || sx >= g.w) continue;
                s += x[((b * g.c + c) * g.h + sy) * g.w + sx] *
                  w[((o * g.c + c) * g.kh + i) * g.kw + j];
              }
            }
          }
          out[((b * g.o + o) * g.outH + y) * g.outW + xx] = s;
        }
      }
    }
  }
  return out;
}

const geometries: Conv2dGeometry[] = [
  // "same" 3×3 on an odd image, batch 1
  { n: 1, c: 3, h: 5, w: 7, o: 2, kh: 3, kw: 3, padTop: 1, padLeft: 1, outH: 5, outW: 7 },
  // "valid", rectangular kernel
  { n: 2, c: 2, h: 6, w: 4, o: 3, kh: 2, kw: 3, padTop: 0, padLeft: 0, outH: 5, outW: 2 },
  // asymmetric padding (top 1 / bottom 2, left 2 / right 0)
  { n: 3, c: 1, h: 4, w: 5, o: 5, kh: 4, kw: 3, padTop: 1, padLeft: 2, outH: 4, outW: 5 },
  // 1×1 kernel, odd channel counts
  { n: 2, c: 5, h: 3, w: 3, o: 7, kh: 1, kw: 1, padTop: 0, padLeft: 0, outH: 3, outW: 3 },
  // kernel larger than the image
  { n: 1, c: 2, h: 2, w: 3, o: 1, kh: 5, kw: 5, padTop: 2, padLeft: 2, outH: 2, outW: 3 },
];

Deno.test("cpu conv2d: forward against direct loops", () => {
  const rand = rng(12);
  for (const g of geometries) {
    const x = randomArray(rand, g.n * g.c * g.h * g.w);
    const w = randomArray(rand, g.o * g.c * g.kh * g.kw);
    const out = run(be.conv2d(up(x), up(w), g));
    const ref = naiveConv(x, w, g);
    assertClose(out, ref, 1e-5, 1e-5, `conv2d ${JSON.stringify(g)}`);
    // Fused epilogue: + bias[o], then max(·, 0).
    const bias = randomArray(rand, g.o);
    const hw = g.outH * g.outW;
    const fused = ref.map((v, i) => Math.max(v + bias[Math.floor(i / hw) % g.o], 0));
    const outFused = run(be.conv2d(up(x), up(w), g, { bias: up(bias), relu: true }));
    assertClose(outFused, fused, 1e-5, 1e-5, `conv2d + bias + relu ${JSON.stringify(g)}`);
  }
});

Deno.test("cpu conv2d gradients: <conv(x,w), dy> = <x, gradInput> = <w, gradWeight>", () => {
  const rand = rng(13);
  for (const g of geometries) {
    const x = randomArray(rand, g.n * g.c * g.h * g.w);
    const w = randomArray(rand, g.o * g.c * g.kh * g.kw);
    const dy = randomArray(rand, g.n * g.o * g.outH * g.outW);
    const lhs = dot(naiveConv(x, w, g), dy);
    const dx = run(be.conv2dGradInput(up(dy), up(w), g));
    const dw = run(be.conv2dGradWeight(up(x), up(dy), g));
    const what = JSON.stringify(g);
    // Tolerance from the sizes of the vectors paired in each inner product.
    assertNear(dot(x, dx), lhs, 1e-5 * norm(x) * norm(dx) + 1e-6, `gradInput ${what}`);
    assertNear(dot(w, dw), lhs, 1e-5 * norm(w) * norm(dw) + 1e-6, `gradWeight ${what}`);
    // Same identity entry by entry: dx at one pixel and dw at one tap.
    const pixel = Math.floor(x.length / 2), tap = w.length - 1;
    const ex = new Float32Array(x.length), ew = new Float32Array(w.length);
    ex[pixel] = 1;
    ew[tap] = 1;
    assertNear(dx[pixel], dot(naiveConv(ex, w, g), dy), 1e-5, `dx entry ${what}`);
    assertNear(dw[tap], dot(naiveConv(x, ew, g), dy), 1e-5, `dw entry ${what}`);
  }
});

Deno.test("cpu conv2dGradWeightBias: the weight gradient and Σ dy per output channel", () => {
  const rand = rng(14);
  for (const g of geometries) {
    const x = randomArray(rand, g.n * g.c * g.h * g.w);
    const dy = randomArray(rand, g.n * g.o * g.outH * g.outW);
    const both = be.conv2dGradWeightBias(up(x), up(dy), g);
    const what = JSON.stringify(g);
    assertClose(run(both.weight), run(be.conv2dGradWeight(up(x), up(dy), g)), 0, 0, what);
    const hw = g.outH * g.outW, expected = new Float64Array(g.o);
    dy.forEach((v, i) => expected[Math.floor(i / hw) % g.o] += v);
    assertClose(run(both.bias), expected, 1e-5, 1e-5, `bias ${what}`);
  }
});

/** Direct O(n²) 2-D DFT of each (h, w, 2) image in f64. */
function naiveDft(
  x: Float32Array,
  batch: number,
  h: number,
  w: number,
  sign: number,
  scale: number,
) {
  const out = new Float64Array(x.length);
  for (let b = 0; b < batch; b++) {
    const base = b * h * w * 2;
    for (let u = 0; u < h; u++) {
      for (let v = 0; v < w; v++) {
        let re = 0, im = 0;
        for (let y = 0; y < h; y++) {
          for (let xx = 0; xx < w; xx++) {
            const angle = sign * 2 * Math.PI * ((u * y) / h + (v * xx) / w);
            const [c, s] = [Math.cos(angle), Math.sin(angle)];
            const [xr, xi] = [x[base + 2 * (y * w + xx)], x[base + 2 * (y * w + xx) + 1]];
            re += xr * c - xi * s;
            im += xr * s + xi * c;
          }
        }
        out[base + 2 * (u * w + v)] = scale * re;
        out[base + 2 * (u * w + v) + 1] = scale * im;
      }
    }
  }
  return out;
}

Deno.test("cpu fft2: forward and inverse against a direct DFT", () => {
  const rand = rng(14);
  for (const [batch, h, w] of [[2, 4, 8], [1, 8, 4], [1, 1, 2], [3, 2, 1], [1, 16, 16]]) {
    const x = randomArray(rand, batch * h * w * 2);
    for (const inverse of [false, true]) {
      const scale = inverse ? 1 / (h * w) : 0.5;
      const out = run(be.fft2(up(x), batch, h, w, inverse, scale));
      const expected = naiveDft(x, batch, h, w, inverse ? 1 : -1, scale);
      assertClose(out, expected, 1e-5, 1e-5, `fft2 ${batch}×${h}×${w} inverse=${inverse}`);
    }
  }
});

Deno.test("cpu fft2: inverse(forward(x)) with scale 1/(h·w) is the identity", () => {
  const rand = rng(15);
  const [batch, h, w] = [3, 32, 16];
  const x = randomArray(rand, batch * h * w * 2);
  const f = be.fft2(up(x), batch, h, w, false, 1);
  assertClose(run(be.fft2(f, batch, h, w, true, 1 / (h * w))), x, 2e-6, 0, "ifft2∘fft2");
});

/** Hand bilinear sample of one (h, w, inner) image at (sy, sx), zero outside. */
function bilinear(img: Float32Array, h: number, w: number, inner: number, sy: number, sx: number) {
  const y0 = Math.floor(sy), x0 = Math.floor(sx);
  const fy = sy - y0, fx = sx - x0;
  const at = (y: number, x: number, i: number) =>
    y >= 0 && y < h && x >= 0 && x < w ? img[(y * w + x) * inner + i] : 0;
  return Array.from(
    { length: inner },
    (_, i) =>
      (1 - fy) * (1 - fx) * at(y0, x0, i) + (1 - fy) * fx * at(y0, x0 + 1, i) +
      fy * (1 - fx) * at(y0 + 1, x0, i) + fy * fx * at(y0 + 1, x0 + 1, i),
  );
}

Deno.test("cpu translate: integer offsets are a zero-filled shift", () => {
  const rand = rng(16);
  const [h, w, inner] = [5, 6, 2];
  const offsets = [[2, 1], [-3, 0], [0, -4], [7, 0], [0, 0]];
  const x = randomArray(rand, offsets.length * h * w * inner);
  const out = run(
    be.translate(up(x), up(new Float32Array(offsets.flat())), offsets.length, h, w, inner, false),
  );
  offsets.forEach(([tx, ty], b) => {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        for (let i = 0; i < inner; i++) {
          const [sy, sx] = [y - ty, xx - tx];
          const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
          const expected = inside ? x[((b * h + sy) * w + sx) * inner + i] : 0;
          assertNear(out[((b * h + y) * w + xx) * inner + i], expected, 0, `shift ${tx},${ty}`);
        }
      }
    }
  });
});

Deno.test("cpu translate: a single bright pixel moves by +t (x = column, y = row)", () => {
  const [h, w] = [5, 6];
  const img = new Float32Array(h * w);
  img[1 * w + 2] = 1; // row 1, column 2
  const out = run(be.translate(up(img), up(new Float32Array([2, 1])), 1, h, w, 1, false));
  const expected = new Float32Array(h * w);
  expected[2 * w + 4] = 1; // row 2, column 4
  assertClose(out, expected, 0, 0, "pixel moved to (row 2, column 4)");
  const half = run(be.translate(up(img), up(new Float32Array([0.5, 0])), 1, h, w, 1, false));
  assertClose([half[1 * w + 2], half[1 * w + 3]], [0.5, 0.5], 1e-7, 0, "half-pixel split along x");
});

Deno.test("cpu translate: fractional offsets match a hand bilinear, and the adjoint is exact", () => {
  const rand = rng(17);
  const [h, w, inner] = [7, 5, 2];
  const offsets = [0.3, -1.7, -2.25, 0.5, 4.9, 3.1, -0.01, 0.99];
  const batch = offsets.length / 2;
  const x = randomArray(rand, batch * h * w * inner);
  const y = randomArray(rand, batch * h * w * inner);
  const off = up(new Float32Array(offsets));
  const out = run(be.translate(up(x), off, batch, h, w, inner, false));
  for (let b = 0; b < batch; b++) {
    const [tx, ty] = [Math.fround(offsets[2 * b]), Math.fround(offsets[2 * b + 1])];
    const img = x.subarray(b * h * w * inner, (b + 1) * h * w * inner);
    for (let yy = 0; yy < h; yy++) {
      for (let xx = 0; xx < w; xx++) {
        const expected = bilinear(img, h, w, inner, yy - ty, xx - tx);
        const at = ((b * h + yy) * w + xx) * inner;
        assertClose(out.subarray(at, at + inner), expected, 1e-6, 1e-6, `bilinear b=${b}`);
      }
    }
  }
  const adj = run(be.translate(up(y), off, batch, h, w, inner, true));
  assertNear(dot(out, y), dot(x, adj), 1e-5 * norm(x) * norm(adj), "<Tx, y> = <x, Tᵀy>");
});
