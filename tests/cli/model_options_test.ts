/**
 * The issue-15 options end to end: bundles written before them (fixtures/old_bundle, made by the
 * code of commit 08297b1) load and reconstruct exactly as that code did; a trained bundle records
 * every option and inference follows them; bad option values are one-line usage errors (exit 2).
 */
import { cpuBackend, setBackend } from "../../engine/mod.ts";
import { writeFileAtomic } from "../../io/files.ts";
import { readNpzFile, writeNpzFile } from "../../io/npz.ts";
import { memorySource, ZipReader } from "../../io/zip.ts";
import { encodeZip } from "../../io/zip_write.ts";
import { loadModelBundle, networkConfigOf } from "../../model/model_bundle.ts";
import { allowedTransforms, transformName } from "../../model/augment.ts";
import { loadDataset } from "../../io/dataset.ts";
import { assert, assertEquals } from "../assert.ts";
import { runCli } from "./cli_run.ts";
import { parseArgs } from "../../cli/args.ts";
import { resolveTrainConfig, TRAIN_FLAGS } from "../../cli/train_flags.ts";

setBackend(cpuBackend());

const fixture = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url).pathname;
const DATA = fixture("sim_lines_n32_test.npz");
const TRAIN = fixture("sim_lines_n32_train.npz");

function infer(model: string, out: string, ...extra: string[]) {
  return runCli([
    "infer",
    "--model_path",
    model,
    "--test_data",
    DATA,
    "--output_dir",
    out,
    "--accelerator",
    "reference",
    "--quiet",
    ...extra,
  ]);
}

/** The zip's members with `manifest.json` edited by `edit`. */
function editedBundle(path: string, edit: (m: Record<string, unknown>) => void): Uint8Array {
  const zip = new ZipReader(memorySource(Deno.readFileSync(path)), "model.zip");
  const members = new Map(zip.entries.map((e) => [e.name, zip.read(e)]));
  const manifest = JSON.parse(new TextDecoder().decode(members.get("manifest.json")!));
  edit(manifest);
  members.set("manifest.json", new TextEncoder().encode(JSON.stringify(manifest)));
  return encodeZip(members, true);
}

Deno.test("old bundles (no option fields) reconstruct exactly as the code that wrote them", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    for (const gs of [1, 2]) {
      const model = fixture(`old_bundle/gs${gs}_model.zip`);
      const { manifest } = loadModelBundle(model);
      for (const key of ["offsetPlanes", "mergeWindow", "groupOrder", "groupSeed"]) {
        assert(!(key in manifest), `the gridsize-${gs} fixture already has ${key}`);
      }
      assertEquals(networkConfigOf(manifest).objectBig, gs > 1);
      // That code left gaps between distant positions at 0; --stitch-fill none still does.
      const r = await infer(model, `${dir}/gs${gs}`, "--n_images", "24", "--stitch-fill", "none");
      assertEquals(r.code, 0, r.err);
      const got = readNpzFile(`${dir}/gs${gs}/reconstruction.npz`);
      const want = readNpzFile(fixture(`old_bundle/gs${gs}_reconstruction.npz`));
      for (const key of ["object", "xcoords", "ycoords", "origin_xy"]) {
        const a = got.get(key)!.data as ArrayLike<number>,
          b = want.get(key)!.data as ArrayLike<number>;
        assertEquals(got.get(key)!.shape, want.get(key)!.shape, key);
        for (let i = 0; i < b.length; i++) {
          assert(Math.abs(a[i] - b[i]) <= 1e-6 * (1 + Math.abs(b[i])), `gs${gs} ${key}[${i}]`);
        }
      }
      // With the default fill, only those gaps change.
      const filled = await infer(model, `${dir}/gs${gs}_fill`, "--n_images", "24");
      assertEquals(filled.code, 0, filled.err);
      const a = readNpzFile(`${dir}/gs${gs}_fill/reconstruction.npz`).get("object")!
        .data as ArrayLike<number>;
      const b = want.get("object")!.data as ArrayLike<number>;
      let gaps = 0;
      for (let i = 0; i < b.length; i += 2) {
        if (b[i] === 0 && b[i + 1] === 0) {
          gaps++;
          assert(a[i] !== 0 || a[i + 1] !== 0, `gs${gs} gap pixel ${i / 2} not filled`);
        } else {
          assert(Math.abs(a[i] - b[i]) <= 1e-6 * (1 + Math.abs(b[i])), `gs${gs} object[${i}]`);
        }
      }
      assert(gaps > 0, `gs${gs}: the old output has no gap to fill`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a trained bundle records its options and inference follows them", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const flags = [
      ["--group_order", "angle"],
      ["--group_seed", "exclude"],
      ["--offset_planes", "true"],
      ["--object_big", "false"],
      ["--merge_window", "full"],
      ["--augment", "auto"],
    ].flat();
    const r = await runCli([
      "train",
      "--train_data_file",
      TRAIN,
      "--output_dir",
      `${dir}/run`,
      ...["--n_images", "8", "--batch_size", "8", "--max_epochs", "1", "--n_filters_scale", "0.25"],
      ...["--accelerator", "cpu", "--quiet", "--logger", "none"],
      ...flags,
    ]);
    assertEquals(r.code, 0, r.err);
    const { manifest } = loadModelBundle(`${dir}/run/model.zip`);
    assertEquals(
      [manifest.groupOrder, manifest.groupSeed, manifest.offsetPlanes, manifest.objectBig],
      ["angle", "exclude", true, false],
    );
    assertEquals(manifest.mergeWindow, "full");
    // The run names the transforms it trained with: those that keep the scan's probe.
    const probe = loadDataset(TRAIN).probe;
    const want = allowedTransforms("auto", probe, manifest.n).slice(1).map(transformName);
    assertEquals((manifest.config as Record<string, unknown>).augmentTransforms, want);
    const out = await infer(`${dir}/run/model.zip`, `${dir}/inf`, "--n_images", "12");
    assertEquals(out.code, 0, out.err);
    // Inference groups the way the bundle says: the same groups make the same reconstruction
    // as long as the rule is kept, and another rule makes another one.
    const recon = (sub: string) => readNpzFile(`${dir}/${sub}/reconstruction.npz`).get("object")!;
    writeFileAtomic(
      `${dir}/random.zip`,
      editedBundle(`${dir}/run/model.zip`, (m) => (m.groupOrder = "random")),
    );
    assertEquals((await infer(`${dir}/random.zip`, `${dir}/inf2`, "--n_images", "12")).code, 0);
    const a = recon("inf").data as Float32Array, b = recon("inf2").data as Float32Array;
    assert(a.some((v, i) => v !== b[i]), "the member order made no difference at inference");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("defaults: angle order, the seed a member and the auto merge window (measured, docs/quality); the other options as before", () => {
  const flags = parseArgs(["--train_data_file", "a.npz", "--output_dir", "o"], TRAIN_FLAGS).flags;
  const c = resolveTrainConfig(flags);
  assertEquals(
    [c.groupOrder, c.groupSeed, c.offsetPlanes, c.objectBig, c.mergeWindow],
    ["angle", "include", false, true, "auto"],
  );
  const gs1 = parseArgs(
    ["--train_data_file", "a", "--output_dir", "o", "--gridsize", "1"],
    TRAIN_FLAGS,
  );
  assertEquals(resolveTrainConfig(gs1.flags).objectBig, false);
});

Deno.test("bad option values: one line, exit 2", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const cases: [string[], string][] = [
      [["--group_order", "spiral"], "--group_order must be one of random, angle"],
      [["--group_seed", "maybe"], "--group_seed must be one of include, exclude"],
      [["--offset_planes=sometimes"], "--offset_planes needs true or false"],
      [["--object_big=2"], "--object_big needs true or false"],
      [["--merge_window", "wide"], "--merge_window must be one of auto, central, full"],
      [["--augment", "flips"], "--augment must be one of none, auto"],
      [["--scheduler", "plateau_keras"], "--scheduler must be one of"],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(
        ["train", "--train_data_file", TRAIN, "--output_dir", `${dir}/out`, ...args],
      );
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.err}`);
      const lines = r.err.split("\n").filter((l) => l !== "" && !l.startsWith("run '"));
      assertEquals(lines.length, 1, r.err);
      assert(lines[0].includes(message), `expected "${message}" in "${lines[0]}"`);
    }
    const model = fixture("old_bundle/gs2_model.zip");
    writeFileAtomic(`${dir}/bad.zip`, editedBundle(model, (m) => (m.groupOrder = "spiral")));
    const r = await infer(`${dir}/bad.zip`, `${dir}/inf`);
    assertEquals(r.code, 2, r.err);
    assertEquals(r.err.split("\n").length, 1, r.err);
    assert(r.err.includes('unknown groupOrder "spiral"'), r.err);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("--merge_window auto records central for a disk probe inside the window, full for a wide probe, the checkpoint's on resume", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    // The fixture with its probe replaced by a wide Gaussian (σ = N/5: a third of |P|² outside).
    const arrays = Object.fromEntries(readNpzFile(TRAIN));
    const n = 32, probe = new Float32Array(2 * n * n);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const d2 = (y - n / 2 + 0.5) ** 2 + (x - n / 2 + 0.5) ** 2;
        probe[2 * (y * n + x)] = Math.exp(-d2 / (4 * (n / 5) ** 2));
      }
    }
    arrays.probeGuess = { dtype: "c8", shape: [n, n], data: probe };
    writeNpzFile(`${dir}/wide.npz`, arrays);
    const train = (data: string, out: string, ...extra: string[]) =>
      runCli([
        "train",
        "--train_data_file",
        data,
        "--output_dir",
        out,
        ...["--n_images", "8", "--batch_size", "8", "--n_filters_scale", "0.25"],
        ...["--accelerator", "reference", "--logger", "none"],
        ...(extra.length > 0 ? extra : ["--max_epochs", "1"]),
      ]);
    const wide = await train(`${dir}/wide.npz`, `${dir}/wide`);
    assertEquals(wide.code, 0, wide.err);
    assertEquals(loadModelBundle(`${dir}/wide/model.zip`).manifest.mergeWindow, "full");
    assert(wide.err.includes("outside the central N/2 window"), wide.err);
    const disk = await train(TRAIN, `${dir}/disk`);
    assertEquals(disk.code, 0, disk.err);
    assertEquals(loadModelBundle(`${dir}/disk/model.zip`).manifest.mergeWindow, "central");
    assert(!disk.err.includes("outside the central"), disk.err);
    // A run started with the central window (or before auto existed) resumes with it under auto.
    const c = await train(
      `${dir}/wide.npz`,
      `${dir}/c`,
      "--max_epochs",
      "1",
      "--merge_window",
      "central",
    );
    assertEquals(c.code, 0, c.err);
    const resumed = await train(`${dir}/wide.npz`, `${dir}/c`, "--max_epochs", "2", "--resume");
    assertEquals(resumed.code, 0, resumed.err);
    assertEquals(loadModelBundle(`${dir}/c/model.zip`).manifest.mergeWindow, "central");
    assert(!resumed.err.includes("outside the central"), resumed.err);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
