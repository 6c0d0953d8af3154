/**
 * The CXI/HDF5 layouts of fixtures/make_cxi_variants.py (data types, 4-D and rectangular frames,
 * every compression h5py writes, units, transposed or offset translations, masks, soft and
 * external links, several entries, probe layouts, the contract in .h5, broken files), each
 * checked against what variants.json says the reader must do with it: load to base.npz's arrays
 * (as is, or after --cxi_crop), or stop with one line naming the file and the problem.
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

function assertSame(got: PtychoDataset, ref: PtychoDataset, what: string): void {
  assertEquals([got.patternCount, got.n], [ref.patternCount, ref.n], what);
  assertEquals(maxDiff(got.diffraction, ref.diffraction), 0, `${what}: diffraction`);
  assertEquals(maxDiff(got.probe, ref.probe), 0, `${what}: probe`);
  assert(maxDiff(got.xcoords, ref.xcoords) < 1e-9, `${what}: xcoords`);
  assert(maxDiff(got.ycoords, ref.ycoords) < 1e-9, `${what}: ycoords`);
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
