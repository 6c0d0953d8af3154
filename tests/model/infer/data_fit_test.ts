/** The data fit `infer` reports: the model's mean Poisson NLL per pattern on the scan. */
import { assert, assertAlmostEquals } from "../../assert.ts";
import { lgamma } from "../../../engine/cpu/elementwise.ts";
import { loadDataset } from "../../../io/dataset.ts";
import { firstPatterns, groupForInference, reconstruct } from "../../../model/infer/infer.ts";
import { smallModel } from "../../cli/small_model.ts";

const DATA = new URL("../../../fixtures/sim_lines_n32_test.npz", import.meta.url).pathname;

for (const gridsize of [1, 2]) {
  Deno.test(`infer's NLL per pattern is Σ(λ − k ln λ + ln Γ(k+1)) per predicted pattern, computed on the host in f64 (gridsize ${gridsize})`, async () => {
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
        total += rate - k[i] * Math.log(rate) + lgamma(k[i] + 1);
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
