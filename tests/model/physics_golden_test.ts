/**
 * The forward model reproduces the upstream golden fixtures (docs/physics.md#golden-fixtures) to
 * 1e-5.
 */
import { add, lgamma, mul, sum, tensor, tidy } from "../../engine/mod.ts";
import { diffractIntensity, overlapConstraint } from "../../model/physics.ts";
import { poissonNll, poissonNllReported } from "../../model/losses.ts";
import { assert } from "../assert.ts";
import { f32, interleave, loadGolden } from "./golden.ts";

function checkCase(name: string, gridsize: number): void {
  const g = loadGolden(name);
  if (g === null) return;
  const [, c, n] = g.get("x_real")!.shape;
  const x = interleave(f32(g.get("x_real")!), f32(g.get("x_imag")!));
  const probe = interleave(f32(g.get("probe_real")!), f32(g.get("probe_imag")!));
  const positions = f32(g.get("positions")!); // (1, C, 1, 2) = (x, y) relative offsets
  const scale = f32(g.get("scale")!)[0];
  const counts = f32(g.get("I_raw")!);
  const expected = f32(g.get("expected_forward")!);
  const expectedLoss = f32(g.get("expected_poisson_loss")!)[0];
  const { intensity, loss, direct } = tidy(() => {
    let patches = tensor(x, [1, c, n, n, 2]);
    if (gridsize > 1) patches = overlapConstraint(patches, tensor(positions, [1, c, 2]), gridsize);
    const i = diffractIntensity(patches, tensor(probe, [n, n, 2]));
    const k = tensor(counts, [1, c, n, n]);
    const s = tensor([scale], [1]);
    const total = mul(poissonNllReported(i, s, k), counts.length);
    const direct = add(mul(poissonNll(i, s, k), counts.length), sum(lgamma(add(k, 1))));
    return {
      intensity: mul(i, scale * scale).dataSync(),
      loss: total.dataSync()[0],
      direct: direct.dataSync()[0],
    };
  });
  let maxRef = 0, maxErr = 0;
  for (let i = 0; i < expected.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
    maxErr = Math.max(maxErr, Math.abs(intensity[i] - expected[i]));
  }
  const relLoss = Math.abs(loss - expectedLoss) / Math.abs(expectedLoss);
  console.log(
    `${name}: forward max err ${(maxErr / maxRef).toExponential(2)} of max; ` +
      `NLL ${loss} vs ${expectedLoss} (rel ${relLoss.toExponential(2)})`,
  );
  assert(maxErr <= 1e-5 * maxRef, `${name}: forward error ${maxErr} > 1e-5 · ${maxRef}`);
  assert(relLoss <= 1e-5, `${name}: Poisson loss ${loss} vs ${expectedLoss}`);
  const relDirect = Math.abs(direct - expectedLoss) / Math.abs(expectedLoss);
  assert(relDirect <= 1e-5, `${name}: λ − k ln λ + lnΓ(k+1) summed directly: ${direct}`);
}

Deno.test("forward model reproduces c1_bigF (no merge)", () => checkCase("c1_bigF", 1));
Deno.test("forward model reproduces c4_bigT_uniform (merge, M = 78)", () =>
  checkCase("c4_bigT_uniform", 2));
