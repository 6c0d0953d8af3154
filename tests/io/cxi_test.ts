/**
 * CXI and contract-HDF5 scans (io/scan_file.ts, io/cxi.ts, io/hdf5.ts) against the `.npz` they
 * were written from by fixtures/make_cxi.py (h5py): chunked, gzip+shuffle, with and without
 * probe and mask, in other units, in FFT order; and every broken file as one error line.
 */
import { assert, assertAlmostEquals, assertEquals } from "../assert.ts";
import { loadDataset, type PtychoDataset } from "../../io/dataset.ts";
import { PtychoInputError } from "../../io/errors.ts";
import { kindOfBytes } from "../../io/file_kind.ts";
import { loadScan, type LoadScanOptions } from "../../io/scan_file.ts";
import { hasH5py, testRequiring } from "./env.ts";
import { cxiFixtures, h5python } from "./cxi_fixtures.ts";

const NPZ = new URL("../../fixtures/sim_lines_n32_test.npz", import.meta.url).pathname;
const H5PY = { available: hasH5py, what: "/usr/bin/python3 with h5py (apt: python3-h5py)" };
const quiet: LoadScanOptions = { onWarning: () => {} };

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEquals(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function assertSameScan(got: PtychoDataset, ref: PtychoDataset, what: string): void {
  assertEquals([got.patternCount, got.n], [ref.patternCount, ref.n], what);
  assertEquals(maxDiff(got.diffraction, ref.diffraction), 0, `${what}: diffraction`);
  assertEquals(maxDiff(got.probe, ref.probe), 0, `${what}: probe`);
  // metres and back: x → −x·Δx → x, within a few ulps of positions ~100 px
  assert(maxDiff(got.xcoords, ref.xcoords) < 1e-12, `${what}: xcoords`);
  assert(maxDiff(got.ycoords, ref.ycoords) < 1e-12, `${what}: ycoords`);
}

/** Awaits `p`, expecting a PtychoInputError whose one-line message has every `parts`. */
async function rejects(p: Promise<unknown>, ...parts: string[]): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert(e instanceof PtychoInputError, `expected PtychoInputError, got ${e}`);
    assert(!e.message.includes("\n"), `not one line: ${e.message}`);
    for (const part of parts) assert(e.message.includes(part), `'${part}' not in: ${e.message}`);
    return e.message;
  }
  throw new Error(`expected a rejection with ${parts}`);
}

testRequiring(
  H5PY,
  "cxi: scan.cxi (gzip+shuffle chunks, probe, SI units) loads to the npz's arrays",
  async () => {
    const dir = cxiFixtures(NPZ);
    const ref = loadDataset(NPZ, quiet);
    const got = await loadScan(`${dir}/scan.cxi`, quiet);
    assertSameScan(got, ref, "scan.cxi");
    const geometry = JSON.parse(Deno.readTextFileSync(`${dir}/geometry.json`));
    const c = got.source!.conversions;
    assertEquals(got.source!.format, "cxi");
    assertAlmostEquals((c.object_pixel_size_m as number[])[0], geometry.object_pixel_m, 1e-22);
    assertAlmostEquals(c.photon_energy_eV as number, 8000, 1e-9);
    assertEquals(c.probe, "entry_1/instrument_1/source_1/illumination");
    assertEquals((c.fftshift as { applied: boolean }).applied, false);
    // nphotons = mean summed counts, recomputed here from the npz amplitudes
    let total = 0;
    for (const a of ref.diffraction) total += a * a;
    assertAlmostEquals(got.nphotons, total / ref.patternCount, 1e-6 * got.nphotons);
  },
);

testRequiring(
  H5PY,
  "cxi: other units (um, mm, eV), data_1 paths and --probe_file (.npy/.npz/.cxi)",
  async () => {
    const dir = cxiFixtures(NPZ);
    const ref = loadDataset(NPZ, quiet);
    for (const probeFile of [`${dir}/probe.npy`, NPZ, `${dir}/scan.cxi`]) {
      const got = await loadScan(`${dir}/noprobe.cxi`, { ...quiet, probeFile });
      assertSameScan(got, ref, `noprobe.cxi + ${probeFile}`);
      assertEquals(got.source!.conversions.translation_to_metres, 1e-6);
    }
    await rejects(loadScan(`${dir}/noprobe.cxi`, quiet), "noprobe.cxi", "--probe_file");
    const small = `${dir}/probe16.npy`;
    h5python("np.save(sys.argv[1], np.ones((16, 16), np.complex64))", small);
    await rejects(
      loadScan(`${dir}/noprobe.cxi`, { ...quiet, probeFile: small }),
      `${small}: N mismatch: patterns are 32×32 but the probe is 16×16 (the probe for`,
    );
  },
);

testRequiring(
  H5PY,
  "cxi: uint32 counts in FFT order with a mask: shifted, masked, sqrt",
  async () => {
    const dir = cxiFixtures(NPZ);
    const ref = loadDataset(NPZ, quiet);
    const got = await loadScan(`${dir}/counts_mask.cxi`, quiet);
    const c = got.source!.conversions;
    assertEquals((c.fftshift as { applied: boolean }).applied, true);
    assertEquals((c.mask as { masked_pixels: number }).masked_pixels, 3);
    const n = got.n;
    const masked = new Set(
      (JSON.parse(Deno.readTextFileSync(`${dir}/geometry.json`)).mask_pixels as number[][])
        .map(([r, col]) => r * n + col),
    );
    for (let i = 0; i < got.diffraction.length; i++) {
      const expected = masked.has(i % (n * n))
        ? 0
        : Math.fround(Math.sqrt(Math.round(ref.diffraction[i] ** 2)));
      if (got.diffraction[i] !== expected) {
        throw new Error(`element ${i}: ${got.diffraction[i]} != ${expected}`);
      }
    }
    const flipped = await loadScan(`${dir}/counts_mask.cxi`, { ...quiet, translation: "beam" });
    assertEquals(maxDiff(flipped.xcoords, got.xcoords.map((v) => -v)), 0);
    const unshifted = await loadScan(`${dir}/counts_mask.cxi`, { ...quiet, fftshift: "no" });
    assertEquals(unshifted.diffraction[0], got.diffraction[(n / 2) * n + n / 2]);
  },
);

testRequiring(
  H5PY,
  "cxi: --cxi_crop keeps the central pixels and grows the object pixel",
  async () => {
    const dir = cxiFixtures(NPZ);
    const ref = loadDataset(NPZ, quiet);
    const probeFile = `${dir}/probe16.npy`;
    h5python("np.save(sys.argv[1], np.ones((16, 16), np.complex64))", probeFile);
    const got = await loadScan(`${dir}/scan.cxi`, { ...quiet, crop: 16, probeFile });
    assertEquals(got.n, 16);
    for (let k = 0; k < got.patternCount; k += 37) {
      for (let r = 0; r < 16; r++) {
        for (let c = 0; c < 16; c++) {
          assertEquals(
            got.diffraction[k * 256 + r * 16 + c],
            ref.diffraction[k * 1024 + (r + 8) * 32 + c + 8],
          );
        }
      }
    }
    // Δx = λz/(N·p) doubles when N halves, so positions in object pixels halve
    assert(maxDiff(got.xcoords, ref.xcoords.map((v) => v / 2)) < 1e-12);
    const shifted = await loadScan(`${dir}/counts_mask.cxi`, { ...quiet, crop: 16, probeFile });
    const full = await loadScan(`${dir}/counts_mask.cxi`, quiet);
    assertEquals(shifted.diffraction[5 * 16 + 3], full.diffraction[13 * 32 + 11]);
    await rejects(
      loadScan(`${dir}/scan.cxi`, { ...quiet, crop: 15, probeFile }),
      "cannot crop 32×32",
    );
    await rejects(loadScan(`${dir}/scan.cxi`, { ...quiet, crop: 16 }), "expected a (16, 16) probe");
  },
);

testRequiring(
  H5PY,
  "cxi: LZF-compressed data (an h5wasm-plugins filter) loads like gzip",
  async () => {
    const dir = cxiFixtures(NPZ);
    const path = `${dir}/lzf.cxi`;
    Deno.copyFileSync(`${dir}/scan.cxi`, path);
    h5python(
      "f = h5py.File(sys.argv[1], 'r+'); p = 'entry_1/instrument_1/detector_1/data'; a = f[p][()]; " +
        "del f[p]; f.create_dataset(p, data=a, chunks=(1, 32, 32), compression='lzf'); f.close()",
      path,
    );
    assertSameScan(
      await loadScan(path, quiet),
      await loadScan(`${dir}/scan.cxi`, quiet),
      "lzf.cxi",
    );
  },
);

testRequiring(
  H5PY,
  "hdf5: the contract's keys in an .h5 load like the npz; content, not the name, decides",
  async () => {
    const dir = cxiFixtures(NPZ);
    const ref = loadDataset(NPZ, quiet);
    Deno.copyFileSync(`${dir}/contract.h5`, `${dir}/contract_named.npz`);
    for (const f of ["contract.h5", "contract_named.npz"]) {
      const got = await loadScan(`${dir}/${f}`, quiet);
      assertEquals(got.source!.format, "hdf5");
      assertEquals(maxDiff(got.diffraction, ref.diffraction), 0);
      assertEquals(maxDiff(got.xcoords, ref.xcoords), 0);
      assertEquals(maxDiff(got.objectGuess!.data, ref.objectGuess!.data), 0);
      assertEquals(got.nphotons, ref.nphotons);
    }
    Deno.copyFileSync(NPZ, `${dir}/npz_named.cxi`);
    assertEquals((await loadScan(`${dir}/npz_named.cxi`, quiet)).source, undefined);
    // an HDF5 file behind a 512-byte user block
    h5python(
      "f = h5py.File(sys.argv[1], 'w', userblock_size=512); f['diffraction'] = np.ones((2, 4, 4), 'f4'); f.close()",
      `${dir}/userblock.h5`,
    );
    assertEquals(kindOfBytes(Deno.readFileSync(`${dir}/userblock.h5`)), "hdf5");
  },
);

testRequiring(
  H5PY,
  "cxi: broken files are one line naming the file and the path inside it",
  async () => {
    const dir = cxiFixtures(NPZ);
    const bytes = Deno.readFileSync(`${dir}/scan.cxi`);
    Deno.writeFileSync(`${dir}/truncated.cxi`, bytes.subarray(0, 4000));
    await rejects(loadScan(`${dir}/truncated.cxi`, quiet), "truncated.cxi", "truncated");
    const corrupt = bytes.slice();
    corrupt.fill(0, 800, 2400);
    Deno.writeFileSync(`${dir}/corrupt.cxi`, corrupt);
    await rejects(loadScan(`${dir}/corrupt.cxi`, quiet), "corrupt.cxi");
    Deno.writeFileSync(`${dir}/garbage.h5`, new Uint8Array(1000).fill(7));
    await rejects(loadScan(`${dir}/garbage.h5`, quiet), "garbage.h5", "neither");

    const edit = (name: string, code: string) => {
      Deno.copyFileSync(`${dir}/scan.cxi`, `${dir}/${name}`);
      h5python(`f = h5py.File(sys.argv[1], 'r+')\n${code}\nf.close()`, `${dir}/${name}`);
      return `${dir}/${name}`;
    };
    const t = "entry_1/sample_1/geometry_1/translation";
    const cases: [string, string, string[]][] = [
      ["nodistance.cxi", "del f['entry_1/instrument_1/detector_1/distance']", [
        "'entry_1/instrument_1/detector_1/distance': missing",
      ]],
      ["notranslation.cxi", `del f['${t}']`, [`'${t}': missing`]],
      [
        "nodata.cxi",
        "del f['entry_1/data_1/data']; del f['entry_1/instrument_1/detector_1/data']",
        [
          "'entry_1/data_1/data': missing",
        ],
      ],
      [
        "nan.cxi",
        "d = f['entry_1/instrument_1/detector_1/data']; a = d[5]; a[3, 3] = np.nan; d[5] = a",
        ["'entry_1/data_1/data': contains NaN or Inf (pattern 5)"],
      ],
      ["nantranslation.cxi", `t = f['${t}'][()]; t[2, 0] = np.inf; del f['${t}']; f['${t}'] = t`, [
        `'${t}': contains NaN or Inf`,
      ]],
      ["fewer.cxi", `t = f['${t}'][()]; del f['${t}']; f['${t}'] = t[:-1]`, [
        `'${t}': 195 positions but 'entry_1/data_1/data' has 196 patterns`,
      ]],
      [
        "unknownfilter.cxi",
        "a = f['entry_1/instrument_1/detector_1/data'][()]; del f['entry_1/instrument_1/detector_1/data']; " +
        "f.create_dataset('entry_1/instrument_1/detector_1/data', data=a, chunks=(1, 32, 32), " +
        "compression=32099, allow_unknown_filter=True)",
        ["'entry_1/data_1/data' is compressed with HDF5 filter 32099", "h5repack"],
      ],
      ["badunits.cxi", `f['${t}'].attrs['units'] = 'furlong'`, ["unknown units 'furlong'"]],
    ];
    for (const [name, code, parts] of cases) {
      await rejects(loadScan(edit(name, code), quiet), name, ...parts);
    }
  },
);
