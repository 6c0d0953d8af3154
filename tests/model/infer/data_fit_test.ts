/** The data fit `infer` reports: the model's mean Poisson NLL per pattern on the scan. */
import { assert, assertAlmostEquals } from "../../assert.ts";
import { loadDataset } from "../../../io/dataset.ts";
import { firstPatterns, groupForInference, reconstruct } from "../../../model/infer/infer.ts";
import { smallModel } from "../../cli/small_model.ts";

const DATA = new URL("../../../fixtures/sim_lines_n32_test.npz", import.meta.url).pathname;

/** ln Γ(z) for z > 0 (Lanczos, g = 7, 9 terms; relative error ~1e−15). */
function lnGamma(z: number): number {
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  z -= 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

for (const gridsize of [1, 2]) {
  Deno.test(`infer's NLL per pattern is Σ(λ − k ln λ + ln Γ(k+1)) per predicted pattern, computed on the host (gridsize ${gridsize})`, async () => {
    const dataset = loadDataset(DATA, { gridsize, onWarning: () => {} });
    const model = smallModel(32, gridsize, dataset.probe);
    try {
      const count = 12;
      const recon = await reconstruct(model, dataset, { nImages: count, batchSize: 5 });
      // The same groups, every pattern's predicted rate and target read back to the host.
      const grouped = groupForInference(model, firstPatterns(dataset, count));
      const batch = grouped.batch([...Array(count).keys()]);
      const intensity = model.intensity(batch), counts = model.counts(batch.x);
      const s = Math.exp((await model.logScale.data())[0]);
      const lam = await intensity.data(), k = await counts.data();
      intensity.dispose(), counts.dispose(), batch.x.dispose(), batch.offsets.dispose();
      let total = 0;
      for (let i = 0; i < lam.length; i++) {
        const rate = Math.max(s * s * lam[i], 1e-8);
        total += rate - k[i] * Math.log(rate) + lnGamma(k[i] + 1);
      }
      const patterns = count * gridsize * gridsize;
      const expected = total / patterns;
      assert(Number.isFinite(recon.nllPerPattern), `${recon.nllPerPattern}`);
      assertAlmostEquals(recon.nllPerPattern, expected, 1e-4 * Math.abs(expected));
    } finally {
      model.dispose();
    }
  });
}

Deno.test("infer's NLL per pattern does not depend on the batch size", async () => {
  const dataset = loadDataset(DATA, { gridsize: 2, onWarning: () => {} });
  const model = smallModel(32, 2, dataset.probe);
  try {
    const a = await reconstruct(model, dataset, { nImages: 20, batchSize: 3 });
    const b = await reconstruct(model, dataset, { nImages: 20, batchSize: 20 });
    assertAlmostEquals(a.nllPerPattern, b.nllPerPattern, 1e-5 * Math.abs(b.nllPerPattern));
  } finally {
    model.dispose();
  }
});
