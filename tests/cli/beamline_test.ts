/**
 * Beamline files end to end: train → infer from a CXI file equals train → infer from the `.npz`
 * it was written from (tiny config, CPU); infer's reconstruction.h5 (read with h5py) and the
 * float32 TIFFs (read by the independent reader of tests/io/tiff_test.ts) hold the values of
 * reconstruction.npz; a broken CXI stops train and infer with one line, exit 2, nothing written.
 */
import { assert, assertEquals } from "../assert.ts";
import { runCli } from "./cli_run.ts";
import { readNpzFile } from "../../io/npz.ts";
import { hasH5py, testRequiring } from "../io/env.ts";
import { cxiFixtures, h5python } from "../io/cxi_fixtures.ts";

const NPZ = new URL("../../fixtures/sim_lines_n32_test.npz", import.meta.url).pathname;
const H5PY = { available: hasH5py, what: "/usr/bin/python3 with h5py (apt: python3-h5py)" };
const TINY = [
  ...["--n_filters_scale", "0.25", "--accelerator", "reference", "--gridsize", "1"],
  ...["--n_images", "16", "--max_epochs", "1", "--batch_size", "8", "--quiet"],
];

const dirs: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of dirs) Deno.removeSync(dir, { recursive: true });
});

function tempDir(): string {
  const dir = Deno.makeTempDirSync({ prefix: "ptycho-beamline-" });
  dirs.push(dir);
  return dir;
}

async function trainInfer(data: string, out: string): Promise<void> {
  const train = await runCli([
    "train",
    "--train_data_file",
    data,
    "--output_dir",
    `${out}/model`,
    ...TINY,
  ]);
  assertEquals(train.code, 0, train.err);
  const infer = await runCli([
    "infer",
    ...["--model_path", `${out}/model`, "--test_data", data, "--output_dir", `${out}/infer`],
    ...["--accelerator", "reference", "--n_images", "24", "--quiet"],
  ]);
  assertEquals(infer.code, 0, infer.err);
}

testRequiring(
  H5PY,
  "beamline: train → infer from CXI equals train → infer from the npz",
  async () => {
    const dir = cxiFixtures(NPZ);
    const work = tempDir();
    await trainInfer(`${dir}/scan.cxi`, `${work}/cxi`);
    await trainInfer(`${dir}/reference.npz`, `${work}/npz`);
    const a = readNpzFile(`${work}/cxi/infer/reconstruction.npz`).get("object")!;
    const b = readNpzFile(`${work}/npz/infer/reconstruction.npz`).get("object")!;
    assertEquals(a.shape, b.shape);
    let worst = 0, peak = 0;
    for (let i = 0; i < a.data.length; i++) {
      worst = Math.max(worst, Math.abs((a.data[i] as number) - (b.data[i] as number)));
      peak = Math.max(peak, Math.abs(b.data[i] as number));
    }
    // positions agree to ~1e-14 px after the trip through metres; everything else is identical
    assert(worst <= 1e-5 * peak, `objects differ by ${worst} (peak ${peak})`);

    const config = JSON.parse(Deno.readTextFileSync(`${work}/cxi/model/config.json`));
    assertEquals(config.trainDataSource.format, "cxi");
    assert(config.trainDataSource.conversions.object_pixel_size_m[0] > 0);

    const checked = h5python(
      `
import json, struct
out = sys.argv[1]
z = np.load(out + '/reconstruction.npz')
f = h5py.File(out + '/reconstruction.h5', 'r')
d = f['entry_1/image_1/data'][()]
obj = d[..., 0] + 1j * d[..., 1]
assert np.array_equal(obj, z['object']), 'object'
assert np.array_equal(f['entry_1/image_1/amplitude'][()], z['amplitude']), 'amplitude'
assert np.array_equal(f['entry_1/data_1/positions_xy'][()], np.stack([z['xcoords'], z['ycoords']], 1))
assert json.loads(f['entry_1'].attrs['data_source'])['format'] == 'cxi'
assert f['entry_1/image_1'].attrs['x_pixel_size'] > 0
covered = f['entry_1/image_1/coverage'][()] > 0
def tif(path):
    b = open(path, 'rb').read()
    ifd = struct.unpack_from('<I', b, 4)[0]
    tags = {}
    for i in range(struct.unpack_from('<H', b, ifd)[0]):
        tag, typ, n, value = struct.unpack_from('<HHII', b, ifd + 2 + 12 * i)
        tags[tag] = value & 0xFFFF if typ == 3 else value
    assert tags[339] == 3 and tags[258] == 32
    return np.frombuffer(b, '<f4', tags[256] * tags[257], tags[273]).reshape(tags[257], tags[256])
for name in ('amplitude', 'phase'):
    t = tif(out + '/reconstructed_' + name + '.tif')
    assert np.array_equal(t[covered], z[name][covered].astype(np.float32)), name
    assert np.isnan(t[~covered]).all(), name + ' uncovered'
print('ok', int(covered.sum()))
`,
      `${work}/cxi/infer`,
    );
    assert(checked.startsWith("ok"), checked);
  },
);

testRequiring(
  H5PY,
  "beamline: a broken CXI stops train and infer with one line, exit 2, nothing written",
  async () => {
    const dir = cxiFixtures(NPZ);
    const work = tempDir();
    const bad = `${work}/fewer.cxi`;
    Deno.copyFileSync(`${dir}/scan.cxi`, bad);
    const t = "entry_1/sample_1/geometry_1/translation";
    h5python(
      `f = h5py.File(sys.argv[1], 'r+'); a = f['${t}'][()]; del f['${t}']; f['${t}'] = a[:-2]; f.close()`,
      bad,
    );
    const train = await runCli([
      "train",
      "--train_data_file",
      bad,
      "--output_dir",
      `${work}/out`,
      ...TINY,
    ]);
    assertEquals(train.code, 2);
    assertEquals(train.err.split("\n").length, 1, train.err);
    assert(train.err.includes(`${bad}: '${t}': 194 positions`), train.err);
    assertEquals([...Deno.readDirSync(work)].map((e) => e.name), ["fewer.cxi"]);
    const model = `${work}/model`;
    const ok = await runCli(["train", "--train_data_file", NPZ, "--output_dir", model, ...TINY]);
    assertEquals(ok.code, 0, ok.err);
    const infer = await runCli([
      "infer",
      ...["--model_path", model, "--test_data", bad, "--output_dir", `${work}/out`],
    ]);
    assertEquals(infer.code, 2);
    assert(infer.err.includes(`'${t}': 194 positions`), infer.err);
    assertEquals([...Deno.readDirSync(work)].map((e) => e.name).sort(), ["fewer.cxi", "model"]);

    // 64×64 frames with a 32×32 probe: the error names --cxi_crop, which then works
    const big = `${work}/big.cxi`;
    Deno.copyFileSync(`${dir}/scan.cxi`, big);
    h5python(
      "f = h5py.File(sys.argv[1], 'r+'); p = 'entry_1/instrument_1/detector_1/data'; " +
        "a = f[p][()]; del f[p]; f[p] = np.pad(a, ((0, 0), (16, 16), (16, 16))); f.close()",
      big,
    );
    const args = ["--model_path", model, "--test_data", big, "--n_images", "8", "--quiet"];
    const wide = await runCli(["infer", ...args, "--output_dir", `${work}/wide`]);
    assertEquals(wide.code, 2);
    assertEquals(wide.err.split("\n").length, 1, wide.err);
    assert(wide.err.includes("got shape (32,32); --cxi_crop 32 keeps"), wide.err);
    const cropped = await runCli([
      "infer",
      ...[...args, "--output_dir", `${work}/cropped`, "--cxi_crop", "32"],
      ...["--accelerator", "reference"],
    ]);
    assertEquals(cropped.code, 0, cropped.err);
    // a folder or an empty file: one line, exit 2
    Deno.writeFileSync(`${work}/empty.cxi`, new Uint8Array());
    for (const [path, words] of [[work, "is a folder"], [`${work}/empty.cxi`, "is empty"]]) {
      const r = await runCli(["inspect", path]);
      assertEquals(r.code, 2, r.err);
      assertEquals(
        r.err.trim(),
        `error: ${path}: ${words}${words === "is a folder" ? ", not a scan file" : " (0 bytes)"}`,
      );
    }
  },
);
