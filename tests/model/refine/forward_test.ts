/** The refine forward model: gradients against finite differences, shift convention, geometry. */
import { assert, assertAlmostEquals, assertEquals } from "../../assert.ts";
import { farFieldResiduals, Rng, slice, tensor, tidy } from "../../../engine/mod.ts";
import { gradCheck, randomArray } from "../../engine/gradcheck.ts";
import {
  forwardBatch,
  type FrequencyGrid,
  poissonNllConstant,
  residualSums,
  shiftedProbes,
} from "../../../model/refine/forward.ts";
import {
  canvasLayout,
  fftFrequencies,
  spreadBatches,
  windowsOf,
} from "../../../model/refine/geometry.ts";

const rng = new Rng(21);
const N = 8;

function grid(backend = undefined): FrequencyGrid {
  const k = fftFrequencies(N);
  return { kx: tensor(k, [1, 1, N], { backend }), ky: tensor(k, [1, N, 1], { backend }) };
}

const CORNERS = Float32Array.of(0, 1, 3, 2, 4, 4);
const EPS = { amplitude: 1e-3, poisson: 1e-3 };

for (const loss of ["amplitude", "poisson"] as const) {
  Deno.test(`${loss} loss: object, probe and shift gradients match finite differences`, () => {
    const amplitude = randomArray(rng, 3 * N * N, 0.5, 2);
    const problem = gradCheck(
      (xs) => {
        const f = forwardBatch(xs[0], xs[1], tensor(CORNERS, [3, 2]), xs[2], grid());
        const sums = residualSums(farFieldResiduals(f.farField, tensor(amplitude, [3, N, N]), EPS));
        return slice(sums, [loss === "amplitude" ? 0 : 1], [1]);
      },
      [
        randomArray(rng, 12 * 12 * 2, -1, 1),
        randomArray(rng, N * N * 2, -1, 1),
        Float32Array.of(0.3, -0.2, -0.45, 0.1, 0.05, 0.4),
      ],
      [[12, 12, 2], [N, N, 2], [3, 2]],
      { step: 4e-3, samples: 16 },
    );
    assertEquals(problem, null);
  });
}

Deno.test("a whole-pixel probe shift moves the probe's content by +f (x = column)", () => {
  const probe = new Float32Array(N * N * 2);
  probe[2 * (2 * N + 3)] = 1; // row 2, column 3
  const out = tidy(() =>
    shiftedProbes(tensor(probe, [N, N, 2]), tensor([2, 1], [1, 2]), grid()).dataSync()
  );
  // (fx, fy) = (2, 1): row 3, column 5
  assertAlmostEquals(out[2 * (3 * N + 5)], 1, 1e-5);
  let rest = 0;
  for (let i = 0; i < out.length; i++) if (i !== 2 * (3 * N + 5)) rest += Math.abs(out[i]);
  assert(rest < 1e-4, `energy elsewhere: ${rest}`);
});

Deno.test("canvas windows follow docs/physics.md#coordinates and batches are spread and complete", () => {
  const xs = Float64Array.of(10.4, 20, 30.6, 10, 20.5, 30);
  const ys = Float64Array.of(10, 10, 10, 20.2, 20, 19.5);
  const layout = canvasLayout(xs, ys, N, 2);
  const { corners, shifts } = windowsOf(layout, xs, ys, [0, 2]);
  // Position 0: x = 10.4 → column 10 − N/2 on the object, fx = 0.4.
  assertEquals(layout.originX + corners[1], 10 - N / 2);
  assertEquals(layout.originY + corners[0], 10 - N / 2);
  assertAlmostEquals(shifts[0], 0.4, 1e-6);
  // Position 2: x = 30.6 rounds to 31, fx = −0.4.
  assertEquals(layout.originX + corners[3], 31 - N / 2);
  assertAlmostEquals(shifts[2], -0.4, 1e-6);
  for (let b = 0; b < 2; b++) {
    assert(corners[2 * b] >= 2 && corners[2 * b] + N <= layout.height - 2);
    assert(corners[2 * b + 1] >= 2 && corners[2 * b + 1] + N <= layout.width - 2);
  }
});

Deno.test("spreadBatches: complete, balanced, and spread (raster neighbours mostly apart)", () => {
  const side = 10, step = 4;
  const xs = Float64Array.from({ length: side * side }, (_, i) => step * (i % side));
  const ys = Float64Array.from({ length: side * side }, (_, i) => step * Math.floor(i / side));
  const batches = spreadBatches(xs, ys, 10);
  assertEquals(batches.length, 10);
  assertEquals(batches.flat().sort((a, b) => a - b), [...Array(side * side).keys()]);
  // The smallest distance inside each batch: a compact split (raster rows) would give one step.
  const closest = batches.map((b) => {
    assertEquals(b.length, 10);
    let d = Infinity;
    for (const i of b) {
      for (const j of b) if (i !== j) d = Math.min(d, Math.hypot(xs[i] - xs[j], ys[i] - ys[j]));
    }
    return d;
  }).sort((a, b) => a - b);
  assert(closest[5] >= 2 * step, `median closest pair ${closest[5]} px`);
});

Deno.test("the Poisson NLL (residual + constant) matches f64 at a million counts per pixel", () => {
  // 64 pixels of about 1e6 counts (1e9 per 32 × 32 pattern), 4 of them 0 or below 1;
  // λ within ±2 % of I.
  const amplitude = randomArray(rng, 64, 900, 1100);
  amplitude.set([0, 0.5, 0.9, 0], 0);
  const counts = amplitude.map((a) => a * a);
  const lambda = counts.map((c) => (c + 1) * (1 + 0.04 * (rng.uniform() - 0.5)));
  let expected = 0;
  for (let i = 0; i < 64; i++) {
    const c = counts[i], l = lambda[i];
    // ln Γ(c + 1): Stirling at large c, ln Γ(1) = 0, and ln Γ(1.25), ln Γ(1.81) for the small ones
    const lnFact = c > 100
      ? c * Math.log(c) - c + 0.5 * Math.log(2 * Math.PI * c) + 1 / (12 * c)
      : c === 0
      ? 0
      : c === 0.25
      ? -0.0982718364218127
      : -0.06819719688569537;
    expected += l - c * Math.log(l) + lnFact;
  }
  // Far fields with |Ψ|² = λ.
  const psi = Float32Array.from({ length: 128 }, (_, i) => (i % 2 ? 0 : Math.sqrt(lambda[i / 2])));
  const device = tidy(() =>
    residualSums(
      farFieldResiduals(tensor(psi, [64, 2]), tensor(amplitude, [64]), {
        amplitude: 0,
        poisson: 0,
      }),
    ).dataSync()[1]
  );
  // f32 per-pixel rounding at 1e6 counts is ≈ 0.1; the old λ − I·ln λ form loses ≈ 1 per pixel.
  assertAlmostEquals(device + poissonNllConstant(amplitude), expected, 0.2 * 64);
});
