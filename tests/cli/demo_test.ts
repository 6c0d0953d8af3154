/** `deno task demo`: three short epochs end to end, what they learn, and its argument errors. */
import { assert, assertEquals } from "../assert.ts";
import { main } from "../../cli.ts";

Deno.test("demo: three epochs on the TypeScript kernels write every output and already beat a flat object", async () => {
  const out = await Deno.makeTempDir({ prefix: "ptycho-demo-" });
  try {
    const code = await main([
      "demo",
      `--output_dir=${out}`,
      "--max_epochs=3",
      "--accelerator=reference",
      "--quiet",
    ]);
    assertEquals(code, 0);
    for (const f of ["reconstructed_amplitude.png", "reconstructed_phase.png", "comparison.png"]) {
      assert((await Deno.stat(`${out}/${f}`)).size > 100, f);
    }
    const metrics = JSON.parse(await Deno.readTextFile(`${out}/metrics.json`));
    // A flat object (amplitude 1, phase 0) scores amplitude SSIM 0.128 / MAE 0.102 and phase
    // SSIM 0.817 here; three epochs give 0.36 / 0.084 and 0.85 on the TypeScript kernels (deterministic).
    // A mirrored or transposed geometry anywhere from simulation to stitching scores as flat.
    const { amplitude, phase } = metrics;
    const got = `amplitude SSIM ${amplitude.ssim} MAE ${amplitude.mae}, phase SSIM ${phase.ssim}`;
    assert(amplitude.ssim > 0.25 && amplitude.mae < 0.095 && phase.ssim > 0.83, got);
    assertEquals(metrics.stitch_weights, "probe");
    assert((await Deno.stat(`${out}/model/model.zip`)).isFile);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("demo refuses a bad epoch count and unknown flags with exit code 2", async () => {
  assertEquals(await main(["demo", "--max_epochs=0", "--quiet"]), 2);
  assertEquals(await main(["demo", "--epochs=3"]), 2);
});
