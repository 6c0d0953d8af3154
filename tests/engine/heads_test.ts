/**
 * The decoder heads' fused epilogue: the CPU reference against the op chain it replaces (value
 * and all four gradients bit for bit), gradients against finite differences, and WebGPU against
 * the CPU on random shapes, odd sides included.
 */
import {
  add,
  backward,
  mul,
  objectFromHeads,
  pad,
  polar,
  sigmoid,
  silu,
  sum,
  tanh,
  type Tensor,
  tensor,
  tidy,
} from "../../engine/mod.ts";
import { assertClose } from "./cpu_test_util.ts";
import { gradCheck } from "./gradcheck.ts";
import { cpu, expectClose, gpuTest, Inputs, TRIG_ATOL } from "./webgpu_test_util.ts";

/** Batch, channels, output side, central side. */
const SHAPES = [[2, 4, 16, 8], [3, 1, 9, 3], [1, 3, 6, 6]] as const;

/** Random central and border outputs of both heads, of order 1 (both signs). */
function heads(seed: number, [b, c, n, s]: readonly number[]) {
  const inp = new Inputs(seed);
  const central = [b, c, s, s], border = [b, c, n, n];
  const shapes = [central, border, central, border];
  return {
    values: shapes.map((sh) => inp.pair(cpu, sh.reduce((p, d) => p * d), -3, 3)[2]),
    shapes,
  };
}

/** The chain model/network.ts applied before the fusion. */
function chain(ac: Tensor, ab: Tensor, pc: Tensor, pb: Tensor): Tensor {
  const n = ab.shape[2], lo = (n - ac.shape[2]) / 2;
  const maskValues = new Float32Array(n * n).fill(1);
  for (let y = lo; y < n - lo; y++) maskValues.fill(0, y * n + lo, y * n + n - lo);
  const mask = tensor(maskValues, [1, 1, n, n]);
  const head = (central: Tensor, border: Tensor) =>
    add(pad(central, [lo, lo], [lo, lo]), mul(silu(border), mask));
  return polar(head(sigmoid(ac), ab), head(mul(tanh(pc), Math.PI), pb));
}

/** Output and all four gradients of Σ f(...)·r on the CPU. */
function run(
  f: (xs: Tensor[]) => Tensor,
  values: Float32Array[],
  shapes: number[][],
  seed: number,
) {
  return tidy(() => {
    const xs = values.map((v, i) => tensor(v, shapes[i], { requiresGrad: true }));
    const y = f(xs);
    backward(sum(mul(y, tensor(new Inputs(seed).pair(cpu, y.size)[2], y.shape))));
    return [y.dataSync(), ...xs.map((x) => x.grad!.dataSync())];
  });
}

Deno.test("objectFromHeads equals the chain it replaces (CPU, bit for bit)", () => {
  SHAPES.forEach((shape, k) => {
    const { values, shapes } = heads(80 + k, shape);
    const fused = run(([a, b, c, d]) => objectFromHeads(a, b, c, d), values, shapes, k);
    const old = run(([a, b, c, d]) => chain(a, b, c, d), values, shapes, k);
    ["object", "d ampCentral", "d ampBorder", "d phaseCentral", "d phaseBorder"].forEach((w, i) => {
      assertClose(fused[i], old[i], 0, 0, `${w} ${shape}`);
      // With no border (S = N) the border gradients are 0; otherwise every output is nonzero.
      const none = shape[3] === shape[2] && (i === 2 || i === 4);
      if (fused[i].some((v) => v !== 0) === none) throw new Error(`${w} ${shape}: zeros`);
    });
  });
});

Deno.test("objectFromHeads gradients match finite differences; bad shapes are refused", () => {
  const { values, shapes } = heads(90, SHAPES[1]);
  const err = gradCheck(([a, b, c, d]) => objectFromHeads(a, b, c, d), values, shapes, {
    samples: 30,
  });
  if (err !== null) throw new Error(err);
  const t = values.map((v, i) => tensor(v, shapes[i]));
  let threw = false;
  try {
    objectFromHeads(t[1], t[0], t[2], t[3]);
  } catch {
    threw = true;
  }
  if (!threw) throw new Error("swapped central and border were accepted");
});

gpuTest("objectFromHeads and its gradients match the CPU", async (g) => {
  for (const [k, [b, c, n, s]] of SHAPES.entries()) {
    const { values } = heads(100 + k, [b, c, n, s]);
    const gy = new Inputs(110 + k).pair(cpu, 2 * b * c * n * n)[2];
    const gs = values.map((v) => g.upload(v)), cs = values.map((v) => cpu.upload(v));
    const geo = { planes: b * c, n, side: s };
    const what = `[${b}, ${c}, ${n}, ${s}]`;
    await expectClose(
      g,
      g.objectFromHeads(gs[0], gs[1], gs[2], gs[3], geo),
      cpu.objectFromHeads(cs[0], cs[1], cs[2], cs[3], geo),
      `object ${what}`,
      // Amplitudes below 3 times cos/sin: WGSL's trig precision.
      { atol: 3 * TRIG_ATOL, rtol: 1e-4 },
    );
    const [gg, cg] = [g.upload(gy), cpu.upload(gy)];
    for (const phase of [false, true]) {
      const four = (x: typeof gs) => [x[0], x[1], x[2], x[3]] as const;
      const dg = g.objectFromHeadsGrad(gg, four(gs), geo, phase);
      const dc = cpu.objectFromHeadsGrad(cg, four(cs), geo, phase);
      // Upstream gradients below √2 in modulus, amplitudes below 3, π·tanh' ≤ π, times WGSL's
      // trig precision.
      const tol = { atol: 14 * TRIG_ATOL, rtol: 1e-4 };
      await expectClose(g, dg.central, dc.central, `central ${phase} ${what}`, tol);
      await expectClose(g, dg.border, dc.border, `border ${phase} ${what}`, tol);
    }
    for (const s of [...gs, gg]) g.release(s);
  }
});
