import { assert, assertAlmostEquals, assertEquals } from "../assert.ts";
import { runCli } from "./cli_run.ts";
import { type Tensor, tensor as tensorOf } from "../../engine/mod.ts";
import { encodeBundle } from "../../io/bundle.ts";
import { loadDataset, type PtychoDataset } from "../../io/dataset.ts";
import { writeFileAtomic } from "../../io/files.ts";
import { readNpzFile } from "../../io/npz.ts";
import { memorySource, ZipReader } from "../../io/zip.ts";
import { encodeZip } from "../../io/zip_write.ts";
import {
  countHoles,
  firstPatterns,
  groupForInference,
  predictObjects,
  PROBE_WEIGHT_FLOOR,
  probeStitchWeights,
  reconstruct,
} from "../../model/infer/infer.ts";
import { PatchStitcher, stitchLayout, stitchPatches } from "../../model/infer/stitch.ts";
import { MODEL_KIND } from "../../model/model_bundle.ts";
import type { PtychoPinn } from "../../model/pinn.ts";
import { smallModel, writeModel } from "./small_model.ts";

const DATA = new URL("../../fixtures/sim_lines_n32_test.npz", import.meta.url).pathname;

/** `infer --model_path model --test_data DATA --output_dir out ...extra`, in process. */
function runInfer(model: string, out: string, ...extra: string[]) {
  return runCli([
    "infer",
    "--model_path",
    model,
    "--test_data",
    DATA,
    "--output_dir",
    out,
    ...extra,
  ]);
}

/** The first `count` groups of `dataset` as the model groups them at inference: [x, offsets]. */
function batchOf(model: PtychoPinn, dataset: PtychoDataset, count: number): [Tensor, Tensor] {
  const grouped = groupForInference(model, firstPatterns(dataset, count));
  const batch = grouped.batch([...Array(count).keys()]);
  return [batch.x, batch.offsets];
}

Deno.test("the seed's infer command writes every output of docs/physics.md#outputs (gridsize 1, folder as model_path)", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    await writeModel(`${dir}/train`, 32, 1);
    const out = `${dir}/out`;
    const r = await runInfer(
      `${dir}/train`,
      out,
      "--n_images",
      "16",
      "--accelerator",
      "reference",
      "--quiet",
    );
    assertEquals(r.code, 0, r.err);
    const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    assertEquals(names, [
      "comparison.png",
      "frc_curve.svg",
      "metrics.json",
      "reconstructed_amplitude.png",
      "reconstructed_amplitude.tif",
      "reconstructed_phase.png",
      "reconstructed_phase.tif",
      "reconstruction.h5",
      "reconstruction.npz",
    ]);
    const arrays = readNpzFile(`${out}/reconstruction.npz`);
    assertEquals(arrays.get("object")!.dtype, "c8");
    assertEquals(arrays.get("xcoords")!.shape, [16]);
    const json = JSON.parse(Deno.readTextFileSync(`${out}/metrics.json`));
    assertEquals([json.patterns, json.stitch_weights, json.stitch_fill], [16, "uniform", "wide"]);
    assert(Number.isInteger(json.filled_px) && json.filled_px >= 0, `${json.filled_px}`);
    for (const key of ["mae", "mse", "psnr_255", "psnr_data_range", "ssim", "frc50"]) {
      assert(typeof json.amplitude[key] === "number", key);
      assert(typeof json.phase[key] === "number", key);
    }
    assert(r.out.includes("reconstructed 16 patterns"), r.out);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("numpy reads reconstruction.npz without pickle", async () => {
  const python = "/usr/bin/python3";
  try {
    Deno.statSync(python);
  } catch {
    console.log("skipped: no /usr/bin/python3");
    return;
  }
  const dir = Deno.makeTempDirSync();
  try {
    await writeModel(`${dir}/train`, 32, 1);
    const r = await runInfer(
      `${dir}/train/model.zip`,
      dir,
      "--n_images",
      "9",
      "--accelerator",
      "reference",
      "--quiet",
    );
    assertEquals(r.code, 0, r.err);
    const script = "import numpy as np, sys\n" +
      "d = np.load(sys.argv[1], allow_pickle=False)\n" +
      "o = d['object']\n" +
      "assert o.dtype == np.complex64 and o.shape == d['amplitude'].shape == d['phase'].shape\n" +
      "assert np.allclose(np.abs(o), d['amplitude'], atol=1e-6)\n" +
      "print(sorted(d.files), int(d['stitch_crop']))\n";
    const run = await new Deno.Command(python, {
      args: ["-c", script, `${dir}/reconstruction.npz`],
    }).output();
    const text = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
    if (text.includes("No module named 'numpy'")) {
      console.log("skipped: numpy is not installed");
      return;
    }
    assert(run.success, text);
    assert(text.includes("'object'") && text.trim().endsWith("10"), text);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("batching does not change the reconstruction (gridsize 2 merge path)", async () => {
  const dataset = loadDataset(DATA, { gridsize: 2, onWarning: () => {} });
  const model = smallModel(32, 2, dataset.probe);
  try {
    const a = await reconstruct(model, dataset, { nImages: 20, batchSize: 3 });
    const b = await reconstruct(model, dataset, { nImages: 20, batchSize: 20 });
    assertEquals(a.groups, 20);
    assertEquals([a.stitched.height, a.stitched.width], [b.stitched.height, b.stitched.width]);
    for (let i = 0; i < a.stitched.data.length; i++) {
      assertAlmostEquals(a.stitched.data[i], b.stitched.data[i], 1e-5);
    }
    // Patches sit at the group means, inside the scanned area.
    for (let g = 0; g < a.groups; g++) {
      assert(a.xcoords[g] >= 16 && a.xcoords[g] <= 112 && a.ycoords[g] >= 16, `${a.xcoords[g]}`);
    }
  } finally {
    model.dispose();
  }
});

Deno.test("probe stitch weights: relative probe intensity plus the floor", () => {
  // Intensities 4, 1, 0, 0.25 → 1, 0.25, 0, 0.0625 of the peak.
  const w = probeStitchWeights(Float32Array.of(2, 0, 0, 1, 0, 0, 0.3, 0.4), 2);
  [1, 0.25, 0, 0.0625].forEach((v, k) => assertAlmostEquals(w[k], v + PROBE_WEIGHT_FLOOR, 1e-7));
});

Deno.test("probe-weighted stitching: each pixel is the probe-weighted mean of the patches there", async () => {
  const dataset = loadDataset(DATA, { gridsize: 1, onWarning: () => {} });
  // A probe bright on the left half: the weights vary across the patch.
  const probe = new Float32Array(2 * 32 * 32);
  for (let p = 0; p < 32 * 32; p++) probe[2 * p] = (p % 32) < 16 ? 1 : 0.1;
  const model = smallModel(32, 1, probe);
  try {
    const uniform = await reconstruct(model, dataset, { nImages: 12, stitchCrop: 20 });
    const weighted = await reconstruct(model, dataset, {
      nImages: 12,
      stitchCrop: 20,
      stitchWeights: "probe",
    });
    // By hand: the same patches, placed by the stitcher with |P|²/max + floor per pixel.
    const { objects } = predictObjects(model, ...batchOf(model, dataset, 12));
    const host = await objects.data();
    objects.dispose();
    const w = probeStitchWeights(await model.probe.data(), 32);
    const tiled = new Float32Array(12 * 32 * 32);
    for (let b = 0; b < 12; b++) tiled.set(w, b * 32 * 32);
    const stitcher = new PatchStitcher(stitchLayout(weighted.xcoords, weighted.ycoords, 32, 20));
    stitcher.add(host, weighted.xcoords, weighted.ycoords, tiled);
    const expected = stitcher.result();
    let differs = 0;
    for (let i = 0; i < expected.data.length; i++) {
      assertAlmostEquals(weighted.stitched.data[i], expected.data[i], 1e-5, `value ${i}`);
      if (Math.abs(weighted.stitched.data[i] - uniform.stitched.data[i]) > 1e-3) differs++;
    }
    assert(differs > 100, `weighting changed only ${differs} values`);
  } finally {
    model.dispose();
  }
});

Deno.test("probe-weighted stitching at gridsize 2 keeps the merge's empty pixels empty", async () => {
  const dataset = loadDataset(DATA, { gridsize: 2, onWarning: () => {} });
  const model = smallModel(32, 2, dataset.probe);
  try {
    const [x, offsets] = batchOf(model, dataset, 6);
    const plain = predictObjects(model, x, offsets);
    const w = probeStitchWeights(await model.probe.data(), 32);
    const weighted = predictObjects(model, x, offsets, tensorOf(w, [32, 32]));
    const [a, b] = [await plain.coverage!.data(), await weighted.coverage!.data()];
    assertEquals(await plain.objects.data(), await weighted.objects.data());
    let covered = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === 0) assertEquals(b[i], 0, `pixel ${i} is outside every patch's window`);
      else {
        covered++;
        assert(
          b[i] >= PROBE_WEIGHT_FLOOR - 1e-7 && b[i] <= 1 + PROBE_WEIGHT_FLOOR + 1e-6,
          `${b[i]}`,
        );
      }
    }
    assert(covered > 0 && covered < a.length, `${covered} of ${a.length} covered`);
    for (const t of [plain.objects, plain.coverage!, weighted.objects, weighted.coverage!]) {
      t.dispose();
    }
  } finally {
    model.dispose();
  }
});

Deno.test("a model of another N is refused in one line, exit 2, nothing written", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    await writeModel(`${dir}/m64`, 64, 1);
    const out = `${dir}/out`;
    const r = await runInfer(`${dir}/m64`, out, "--accelerator", "reference");
    assertEquals(r.code, 2);
    assert(r.err.includes("trained at N=64") && r.err.includes("32×32"), r.err);
    assertEquals(r.err.split("\n").length, 1, r.err);
    let exists = true;
    try {
      Deno.statSync(out);
    } catch {
      exists = false;
    }
    assert(!exists, "no output folder on a refused model");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a bundle of an unknown format version is refused in one line, exit 2", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const bytes = encodeBundle({
      manifest: { model: MODEL_KIND },
      parameters: {},
      probe: new Float32Array(2 * 32 * 32),
    });
    // Rewrite the stored manifest's formatVersion, keeping the zip valid.
    const zip = new ZipReader(memorySource(bytes), "model.zip");
    const members = new Map(zip.entries.map((e) => [e.name, zip.read(e)]));
    const manifest = JSON.parse(new TextDecoder().decode(members.get("manifest.json")!));
    manifest.formatVersion = 99;
    members.set("manifest.json", new TextEncoder().encode(JSON.stringify(manifest)));
    writeFileAtomic(`${dir}/model.zip`, encodeZip(members, true));
    const r = await runInfer(`${dir}/model.zip`, `${dir}/out`);
    assertEquals(r.code, 2);
    assert(r.err.includes("format version 99"), r.err);
    assertEquals(r.err.split("\n").length, 1, r.err);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("infer: missing model, wrong gridsize and bad flags are one-line errors", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    let r = await runInfer(`${dir}/nothing`, `${dir}/out`);
    assertEquals(r.code, 2);
    assert(r.err.includes("no such file or folder"), r.err);
    r = await runInfer(dir, `${dir}/out`);
    assertEquals(r.code, 2);
    assert(r.err.includes("holds no model.zip"), r.err);
    await writeModel(`${dir}/m`, 32, 1);
    r = await runInfer(`${dir}/m`, `${dir}/out`, "--stitch-weights", "gaussian");
    assertEquals(r.code, 2);
    assert(r.err.includes("--stitch-weights must be one of"), r.err);
    r = await runInfer(`${dir}/m`, `${dir}/out`, "--gridsize", "2");
    assertEquals(r.code, 2);
    assert(r.err.includes("trained with gridsize 1"), r.err);
    Deno.writeTextFileSync(`${dir}/a_file`, "");
    r = await runInfer(`${dir}/m`, `${dir}/a_file`, "--accelerator", "reference");
    assertEquals(r.code, 2);
    assert(r.err.includes("not a directory"), r.err);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("gaps wider than the stitch crop are holes, unless a wider window fills them", () => {
  const n = 16;
  const patches = new Float32Array(4 * n * n * 2).fill(1);
  const near = stitchPatches(patches, [20, 28, 20, 28], [20, 20, 28, 28], n, 8);
  assertEquals(countHoles(near, [20, 28, 20, 28], [20, 20, 28, 28]), 0);
  const far = stitchPatches(patches, [20, 40, 20, 40], [20, 20, 40, 40], n, 8, false);
  // The 21×21 box between the positions holds a 12 px wide empty cross.
  const holes = countHoles(far, [20, 40, 20, 40], [20, 20, 40, 40]);
  assert(holes > 100, `${holes} holes`);
  // Filled from the whole 16 px patches, a 4 px wide cross is left.
  const filled = stitchPatches(patches, [20, 40, 20, 40], [20, 20, 40, 40], n, 8);
  assertEquals(countHoles(filled, [20, 40, 20, 40], [20, 20, 40, 40]), 2 * 4 * 21 - 4 * 4);
});
