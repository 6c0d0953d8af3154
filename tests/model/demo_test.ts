/** `deno task demo`: one short epoch end to end, and its argument errors. */
import { assert, assertEquals } from "../assert.ts";
import { main } from "../../cli.ts";

Deno.test("demo trains on the bundled scan and writes the images and metrics", async () => {
  const out = await Deno.makeTempDir({ prefix: "ptycho-demo-" });
  try {
    const code = await main([
      "demo",
      `--output_dir=${out}`,
      "--max_epochs=1",
      "--accelerator=cpu",
      "--quiet",
    ]);
    assertEquals(code, 0);
    for (const f of ["reconstructed_amplitude.png", "reconstructed_phase.png", "comparison.png"]) {
      assert((await Deno.stat(`${out}/${f}`)).size > 100, f);
    }
    const metrics = JSON.parse(await Deno.readTextFile(`${out}/metrics.json`));
    assert(Number.isFinite(metrics.amplitude.ssim) && Number.isFinite(metrics.phase.mae));
    assert((await Deno.stat(`${out}/model/model.zip`)).isFile);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("demo refuses a bad epoch count and unknown flags with exit code 2", async () => {
  assertEquals(await main(["demo", "--max_epochs=0", "--quiet"]), 2);
  assertEquals(await main(["demo", "--epochs=3"]), 2);
});
