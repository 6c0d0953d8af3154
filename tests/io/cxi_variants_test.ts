/**
 * The CXI/HDF5 layouts of fixtures/make_cxi_variants.py (data types, 4-D and rectangular frames,
 * every compression h5py writes, units, transposed or offset translations, masks, soft and
 * external links, several entries, probe layouts, the contract in .h5, broken files), each
 * checked against what variants.json says the reader must do with it: load to base.npz's arrays
 * (as is, after --cxi_crop, or with float32 positions), or stop with one line naming the file
 * and the problem.
 */
import { assert, assertEquals } from "../assert.ts";
import { loadDataset, type PtychoDataset } from "../../io/dataset.ts";
import { PtychoInputError } from "../../io/errors.ts";
import { loadScan, type LoadScanOptions } from "../../io/scan_file.ts";
import { hasH5py, runPython, testRequiring } from "./env.ts";

const NPZ = new URL("../../fixtures/sim_lines_n32_test.npz", import.meta.url).pathname;
const SCRIPT = new URL("../../fixtures/make_cxi_variants.py", import.meta.url).pathname;
const H5PY = { available: hasH5py, what: "/usr/bin/python3 with h5py (apt: python3-h5py)" };

let folder: string | null = null;
globalThis.addEventListener("unload", () => {
  if (folder !== null) Deno.removeSync(folder, { recursive: true });
});

/** The variants folder, written once per test process. */
function variants(): string {
  if (folder === null) {
    folder = Deno.makeTempDirSync({ prefix: "ptycho-cxi-variants-" });
    runPython(
      "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
      [SCRIPT, NPZ, folder, "24"],
    );
  }
  return folder;
}

interface Loaded {
  dataset: PtychoDataset;
  warnings: string[];
}

async function load(path: string, options: LoadScanOptions = {}): Promise<Loaded> {
  const warnings: string[] = [];
  const dataset = await loadScan(path, { ...options, onWarning: (w) => warnings.push(w) });
  return { dataset, warnings };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEquals(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function assertSame(got: PtychoDataset, ref: PtychoDataset, what: string, px = 1e-9): void {
  assertEquals([got.patternCount, got.n], [ref.patternCount, ref.n], what);
  assertEquals(maxDiff(got.diffraction, ref.diffraction), 0, `${what}: diffraction`);
  assertEquals(maxDiff(got.probe, ref.probe), 0, `${what}: probe`);
  assert(maxDiff(got.xcoords, ref.xcoords) < px, `${what}: xcoords`);
  assert(maxDiff(got.ycoords, ref.ycoords) < px, `${what}: ycoords`);
  assert(Math.abs(got.nphotons - ref.nphotons) <= 1e-9 * ref.nphotons, `${what}: nphotons`);
}

testRequiring(
  H5PY,
  "cxi variants: each loads to base.npz or stops with one clear line",
  async () => {
    const dir = variants();
    const ref = loadDataset(`${dir}/base.npz`, { onWarning: () => {} });
    const table: Record<string, { expect: string; what: string }> = JSON.parse(
      Deno.readTextFileSync(`${dir}/variants.json`),
    );
    const failures: string[] = [];
    for (const [name, { expect, what }] of Object.entries(table)) {
      const path = `${dir}/${name}`;
      const [verdict, ...words] = expect.split(" ");
      try {
        if (verdict === "same" || verdict === "crop") {
          const crop = verdict === "crop" ? Number(words[0]) : undefined;
          assertSame((await load(path, { crop })).dataset, ref, `${name} (${what})`);
        } else if (verdict === "close") {
          assertSame((await load(path)).dataset, ref, `${name} (${what})`, 1e-4);
        } else if (verdict === "load") {
          await load(path);
        } else {
          let message: string | null = null;
          try {
            await load(path);
          } catch (e) {
            if (!(e instanceof PtychoInputError)) throw e;
            message = e.message;
          }
          assert(message !== null, `${name} (${what}): loaded, expected an error`);
          assert(!message.includes("\n"), `${name}: not one line: ${message}`);
          assert(message.startsWith(path), `${name}: does not name the file: ${message}`);
          for (const w of words) {
            assert(
              message.toLowerCase().includes(w.toLowerCase()),
              `${name}: '${w}' not in ${message}`,
            );
          }
        }
      } catch (e) {
        failures.push(`${name} (${what}): ${e instanceof Error ? e.message : e}`);
      }
    }
    assertEquals(failures, [], `${failures.length} of ${Object.keys(table).length} variants`);
  },
);

/** Indices (r·N + c) where pattern `k` of `a` and `b` differ. */
function differing(a: PtychoDataset, b: PtychoDataset, k: number): number[] {
  const nn = a.n * a.n;
  const out: number[] = [];
  for (let i = 0; i < nn; i++) {
    if (a.diffraction[k * nn + i] !== b.diffraction[k * nn + i]) out.push(i);
  }
  return out;
}

testRequiring(H5PY, "cxi variants: bad pixels, masks and their flags", async () => {
  const dir = variants();
  const ref = loadDataset(`${dir}/base.npz`, { onWarning: () => {} });
  const n = ref.n;
  // CXI bits 1, 2 and 0x80 mask (12, 20), (15, 17), (16, 16); 0x100 at (18, 14) only informs
  const bad = [12 * n + 20, 15 * n + 17, 16 * n + 16];
  for (let k = 0; k < ref.patternCount; k++) {
    for (const p of [...bad, 18 * n + 14]) assert(ref.diffraction[k * n * n + p] > 0);
  }
  for (const name of ["mask_u4.cxi", "mask_bool.cxi"]) {
    const { dataset } = await load(`${dir}/${name}`);
    assertEquals(differing(dataset, ref, 5), bad, name);
    assertEquals(dataset.diffraction[5 * n * n + bad[0]], 0);
  }
  const good = await load(`${dir}/mask_inverted.cxi`, { mask: "good" });
  assertEquals(differing(good.dataset, ref, 0), [...bad, 18 * n + 14].sort((a, b) => a - b));
  const ignored = await load(`${dir}/mask_inverted.cxi`, { mask: "ignore" });
  assertSame(ignored.dataset, ref, "--cxi_mask ignore");
  // -1 in row 0 of every frame: zeros there, counted, one warning
  const gaps = await load(`${dir}/negative_gaps.cxi`);
  assertEquals(
    differing(gaps.dataset, ref, 7),
    [...Array(n).keys()].filter((c) => ref.diffraction[7 * n * n + c] !== 0),
  );
  assertEquals(gaps.dataset.source!.conversions.negative_counts, {
    pixels: 24 * n,
    rule: "read as 0",
  });
  assert(gaps.warnings.some((w) => w.includes(`${24 * n} negative counts`)), gaps.warnings.join());
  const marks = await load(`${dir}/eiger_marks.cxi`);
  assertEquals(
    differing(marks.dataset, ref, 3),
    [16 * n + 15],
  );
  assert(marks.warnings.some((w) => w.includes("24 pixels at 2^32-1")), marks.warnings.join());
});

testRequiring(H5PY, "cxi variants: offsets, entries, guessed units and lossy data", async () => {
  const dir = variants();
  const ref = loadDataset(`${dir}/base.npz`, { onWarning: () => {} });
  const offset = (await load(`${dir}/trans_offset.cxi`)).dataset;
  const [dx, dy] = offset.source!.conversions.object_pixel_size_m as number[];
  // beam = −translation: a +1.234 mm sample offset moves every position by −1.234 mm / Δx
  assert(maxDiff(offset.xcoords, ref.xcoords.map((v) => v - 1.234e-3 / dx)) < 1e-6);
  assert(maxDiff(offset.ycoords, ref.ycoords.map((v) => v + 2.5e-3 / dy)) < 1e-6);

  const two = await load(`${dir}/two_entries.cxi`);
  assertEquals(two.dataset.source!.conversions.entry, "entry_1");
  assert(two.warnings.some((w) => w.includes("reading entry_1")), two.warnings.join());
  const second = (await load(`${dir}/two_entries.cxi`, { entry: "entry_2" })).dataset;
  assert(maxDiff(second.xcoords, ref.xcoords.map((v) => 2 * v)) < 1e-9);
  try {
    await load(`${dir}/two_entries.cxi`, { entry: "entry_9" });
    throw new Error("entry_9 loaded");
  } catch (e) {
    assert(e instanceof PtychoInputError && e.message.includes("entries are: entry_1, entry_2"));
  }

  for (const [name, unit] of [["energy_ev_bare.cxi", "eV"], ["energy_kev_bare.cxi", "keV"]]) {
    const { dataset, warnings } = await load(`${dir}/${name}`);
    assert(warnings.some((w) => w.includes(`read as ${unit}`)), `${name}: ${warnings}`);
    assert((dataset.source!.conversions.energy_units as string).includes(`read as ${unit}`));
  }
  const { dataset: wl } = await load(`${dir}/wavelength_nm.cxi`);
  assert(Math.abs((wl.source!.conversions.photon_energy_eV as number) - 8000) < 1e-6);

  // scaleoffset=2 keeps counts to ±0.005 (plus float32 rounding of the amplitude)
  const lossy = (await load(`${dir}/scaleoffset_float.cxi`)).dataset;
  let worst = 0, largest = 0;
  for (let i = 0; i < ref.diffraction.length; i++) {
    const counts = ref.diffraction[i] ** 2 + 1 / 3;
    const error = Math.abs(lossy.diffraction[i] ** 2 - counts);
    largest = Math.max(largest, error);
    worst = Math.max(worst, error - 3e-7 * counts);
  }
  assert(worst <= 0.0051 && largest > 1e-3, `scaleoffset error ${worst} (${largest})`);
});
