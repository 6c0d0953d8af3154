/** WebGPU against the CPU reference: elementwise, broadcasting, complex, reductions, layout. */
import type { BinaryOp, UnaryOp } from "../../engine/backend.ts";
import { cpu, expectClose, gpuTest, Inputs, TRIG_ATOL } from "./webgpu_test_util.ts";

const UNARY: [UnaryOp, number, number, number, number][] = [
  // op, a, b, input lo, input hi
  ["neg", 0, 0, -3, 3],
  ["exp", 0, 0, -5, 5],
  ["log", 0, 0, 0.01, 10],
  ["sqrt", 0, 0, 0, 10],
  ["square", 0, 0, -3, 3],
  ["abs", 0, 0, -3, 3],
  ["sign", 0, 0, -3, 3],
  ["relu", 0, 0, -3, 3],
  ["step", 0, 0, -3, 3],
  ["sigmoid", 0, 0, -20, 20],
  ["tanh", 0, 0, -10, 10],
  ["silu", 0, 0, -10, 10],
  ["cos", 0, 0, -6, 6],
  ["sin", 0, 0, -6, 6],
  ["lgamma", 0, 0, 0.05, 30],
  ["clamp", -0.5, 0.7, -2, 2],
  ["inRange", -0.5, 0.7, -2, 2],
  ["pow", 2.5, 0, 0, 4],
  ["pow", 3, 0, -2, 2],
  ["affine", 1.5, -0.25, -2, 2],
];

/** Tolerance of a unary op against the CPU reference. */
function unaryTol(op: UnaryOp): { atol: number; rtol: number } {
  if (op === "cos" || op === "sin") return { atol: TRIG_ATOL, rtol: 0 };
  return op === "lgamma" ? { atol: 2e-5, rtol: 2e-5 } : { atol: 2e-6, rtol: 4e-6 };
}

gpuTest("unary ops match the CPU", async (g) => {
  const inp = new Inputs(1);
  // 1037 elements: one per item; 1036: the vec4 kernels.
  for (const [op, a, b, lo, hi] of UNARY) {
    for (const n of [1037, 1036]) {
      const [xg, xc] = inp.pair(g, n, lo, hi);
      const tol = unaryTol(op);
      const what = `unary ${op} n=${n}`;
      await expectClose(g, g.unary(xg, op, a, b), cpu.unary(xc, op, a, b), what, tol);
      g.release(xg);
    }
  }
});

gpuTest("binary ops broadcast like the CPU", async (g) => {
  const inp = new Inputs(2);
  const cases: [number[], number[], number[]][] = [
    [[5, 7], [5, 7], [5, 7]],
    [[4, 6], [4, 6], [4, 6]],
    [[3, 1, 5], [1, 4, 5], [3, 4, 5]],
    [[1, 1], [2, 9], [2, 9]],
    [[2, 3, 1, 7, 1], [2, 1, 4, 1, 3], [2, 3, 4, 7, 3]],
    [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
    [[4, 3, 5, 6], [1, 3, 1, 1], [4, 3, 5, 6]],
    [[1, 3, 5, 6], [4, 3, 5, 6], [4, 3, 5, 6]],
  ];
  const ops: BinaryOp[] = ["add", "sub", "mul", "div", "eq", "gt", "reluGrad"];
  for (const op of [...ops, "sigmoidGrad", "tanhGrad", "siluGrad", "expand"] as BinaryOp[]) {
    for (const [as, bs, os] of cases) {
      const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
      const [ag, ac, ad] = inp.pair(g, size(as), 0.5, 2);
      const bd = new Float32Array(size(bs)).map((_, i) => op === "eq" ? ad[i % ad.length] : 0);
      // reluGrad's mask and the activations' outputs or inputs need both signs; the others stay
      // away from 0 (div).
      const [bg, bc] = op === "eq"
        ? [g.upload(bd), cpu.upload(bd)]
        : op === "reluGrad" || op.endsWith("Grad")
        ? inp.pair(g, size(bs), -3, 3)
        : inp.pair(g, size(bs), 0.5, 2);
      await expectClose(
        g,
        g.binary(ag, as, bg, bs, os, op),
        cpu.binary(ac, as, bc, bs, os, op),
        `binary ${op} ${as}·${bs}`,
      );
      for (const s of [ag, bg]) g.release(s);
    }
  }
});

gpuTest("cmul and polar match the CPU", async (g) => {
  const inp = new Inputs(3);
  // Same shapes and b repeated over a's leading axes ("tail"), each with an odd (one pair per
  // item) and an even pair count (two per item), and other broadcasting (the strided kernel).
  const cases: [number[], number[], number[]][] = [
    [[3, 5, 2], [3, 5, 2], [3, 5, 2]],
    [[2, 7, 6, 2], [2, 7, 6, 2], [2, 7, 6, 2]],
    [[4, 3, 5, 2], [1, 3, 5, 2], [4, 3, 5, 2]],
    [[4, 3, 6, 2], [1, 1, 6, 2], [4, 3, 6, 2]],
    [[4, 3, 5, 2], [1, 1, 1, 2], [4, 3, 5, 2]],
    [[4, 1, 6, 2], [1, 3, 6, 2], [4, 3, 6, 2]],
    [[4, 3, 6, 2], [1, 3, 1, 2], [4, 3, 6, 2]],
  ];
  for (const conj of [false, true]) {
    for (const [as, bs, os] of cases) {
      const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
      const [ag, ac] = inp.pair(g, size(as));
      const [bg, bc] = inp.pair(g, size(bs));
      const what = `cmul conj=${conj} ${as}·${bs}`;
      await expectClose(
        g,
        g.cmul(ag, as, bg, bs, os, conj),
        cpu.cmul(ac, as, bc, bs, os, conj),
        what,
      );
      for (const s of [ag, bg]) g.release(s);
    }
  }
  const [ampG, ampC] = inp.pair(g, 333, 0, 2);
  const [phG, phC] = inp.pair(g, 333, -4, 4);
  // Amplitudes up to 2 times cos/sin within TRIG_ATOL.
  const polarTol = { atol: 2 * TRIG_ATOL, rtol: 0 };
  await expectClose(g, g.polar(ampG, phG), cpu.polar(ampC, phC), "polar", polarTol);
  for (const s of [ampG, phG]) g.release(s);
});

gpuTest("reductions (short and chunked) match the CPU", async (g) => {
  const inp = new Inputs(4);
  const cases = [[3, 17, 5], [1, 100000, 1], [7, 1, 9], [1, 3001, 3], [2, 513, 1], [1, 1, 1]];
  for (const op of ["sum", "max"] as const) {
    for (const [o, m, i] of cases) {
      const [xg, xc] = inp.pair(g, o * m * i);
      const what = `reduce ${op} (${o}, ${m}, ${i})`;
      const tol = { atol: 1e-6, rtol: 1e-5, scaleTol: op === "sum" ? 3e-7 * Math.sqrt(m) : 0 };
      await expectClose(g, g.reduce(xg, o, m, i, op), cpu.reduce(xc, o, m, i, op), what, tol);
      g.release(xg);
    }
  }
});

gpuTest("permute, pad/crop and roll2d match the CPU", async (g) => {
  const inp = new Inputs(5);
  const perms: [number[], number[]][] = [
    [[3, 4], [1, 0]],
    [[2, 3, 5, 7], [0, 2, 3, 1]],
    [[2, 1, 3, 4, 2], [4, 3, 1, 0, 2]],
    [[2, 3, 4, 5], [0, 1, 3, 2]],
    [[2, 3, 4, 5], [2, 3, 0, 1]],
    [[3, 1, 5], [0, 1, 2]],
  ];
  for (const [shape, perm] of perms) {
    const [xg, xc] = inp.pair(g, shape.reduce((p, q) => p * q, 1));
    await expectClose(
      g,
      g.permute(xg, shape, perm),
      cpu.permute(xc, shape, perm),
      `permute ${perm}`,
    );
    g.release(xg);
  }
  const pads: [number[], number[], number[]][] = [
    [[5, 6], [1, 2], [3, 0]],
    [[2, 3, 7, 9], [0, 0, -1, 2], [0, 1, 3, -2]],
    [[4, 4], [-1, -2], [-1, -1]],
    [[3, 4, 5], [1, 0, 0], [2, 0, 0]],
    [[2, 3, 4, 5], [0, 0, 1, 0], [0, 0, 1, 0]],
    [[2, 3, 4, 5], [0, -1, 0, 0], [0, 1, 0, 0]],
    // Last axis and its padding multiples of 4: the vec4 kernel (crop, pad, both).
    [[3, 5, 8], [-1, 1, 0], [0, 2, 0]],
    [[2, 6, 12], [1, 0, 4], [0, -2, -8]],
    [[4], [8], [-4]],
  ];
  for (const [shape, before, after] of pads) {
    const [xg, xc] = inp.pair(g, shape.reduce((p, q) => p * q, 1));
    const what = `pad ${shape} ${before} ${after}`;
    await expectClose(g, g.pad(xg, shape, before, after), cpu.pad(xc, shape, before, after), what);
    g.release(xg);
  }
  for (
    const [b, h, w, inner, sy, sx] of [[2, 5, 6, 2, 2, 3], [1, 8, 7, 1, -3, 10], [3, 4, 4, 2, 2, 2]]
  ) {
    const [xg, xc] = inp.pair(g, b * h * w * inner);
    const what = `roll2d ${[b, h, w, inner, sy, sx]}`;
    await expectClose(
      g,
      g.roll2d(xg, b, h, w, inner, sy, sx),
      cpu.roll2d(xc, b, h, w, inner, sy, sx),
      what,
    );
    g.release(xg);
  }
});

gpuTest("fill, upload and read round-trip", async (g) => {
  for (const n of [1001, 1000]) {
    const f = g.fill(n, -2.5);
    const got = await g.read(f);
    if (got.length !== n || got.some((v) => v !== -2.5)) throw new Error(`fill ${n} mismatch`);
    g.release(f);
  }
  const data = new Float32Array([1, 2, 3, Math.PI]);
  const u = g.upload(data);
  const back = await g.read(u);
  if (back.join() !== data.join()) throw new Error("upload/read mismatch");
  g.release(u);
  if (g.readSync(g.fill(1, 0)) !== null) throw new Error("readSync must be null on WebGPU");
});
