/** farFieldResiduals on the CPU: values against the unfused formulas, gradient, shape errors. */
import { assertAlmostEquals, assertEquals, assertThrows } from "../assert.ts";
import { farFieldResiduals, mul, Rng, sum, tensor, tidy } from "../../engine/mod.ts";
import { gradCheck, randomArray } from "./gradcheck.ts";

const rng = new Rng(5);
const EPS = { amplitude: 1e-3, poisson: 1e-2 };

Deno.test("farFieldResiduals: amplitude and Poisson terms of every pixel, in f64", () => {
  const psi = randomArray(rng, 3 * 4 * 2, -3, 3);
  // Amplitudes above and below 1 count, and a zero (I = 0: no logarithm term).
  const amp = randomArray(rng, 3 * 4, 0.2, 4);
  amp[5] = 0;
  const out = tidy(() =>
    farFieldResiduals(tensor(psi, [3, 4, 2]), tensor(amp, [3, 4]), EPS).dataSync()
  );
  for (let k = 0; k < 12; k++) {
    const lambda = psi[2 * k] ** 2 + psi[2 * k + 1] ** 2, a = amp[k], c = a * a;
    assertAlmostEquals(out[2 * k], (Math.sqrt(lambda + EPS.amplitude) - a) ** 2, 1e-5);
    const poisson = lambda - c - c * Math.log((lambda + EPS.poisson) / Math.max(c, 1));
    assertAlmostEquals(out[2 * k + 1], poisson, 1e-4 * Math.max(1, Math.abs(poisson)));
  }
});

Deno.test("farFieldResiduals: gradient w.r.t. psi matches finite differences (both terms)", () => {
  const amp = randomArray(rng, 2 * 5, 0.5, 2);
  for (const weights of [[1, 0], [0, 1], [0.7, -1.3]]) {
    const w = tensor(Float32Array.from({ length: 20 }, (_, i) => weights[i % 2]), [2, 5, 2]);
    const problem = gradCheck(
      (xs) => sum(mul(farFieldResiduals(xs[0], tensor(amp, [2, 5]), EPS), w)),
      [randomArray(rng, 2 * 5 * 2, -2, 2)],
      [[2, 5, 2]],
      { step: 2e-3 },
    );
    assertEquals(problem, null, `weights ${weights}`);
  }
});

Deno.test("farFieldResiduals: shapes must be psi [..., 2] and amplitude [...]", () => {
  tidy(() => {
    assertThrows(
      () => farFieldResiduals(tensor(new Float32Array(8), [4, 2]), tensor([1, 2, 3], [3]), EPS),
      Error,
      "farFieldResiduals: expected psi",
    );
    assertThrows(
      () => farFieldResiduals(tensor(new Float32Array(8), [2, 4]), tensor([1, 2], [2]), EPS),
      Error,
      "expected psi [..., 2]",
    );
  });
});
