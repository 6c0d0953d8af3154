/**
 * The dataset contract: defaults, legacy names and layout, and one clear error per violation.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { DEFAULT_NPHOTONS, loadDataset, type LoadDatasetOptions } from "../../io/dataset.ts";
import { PtychoInputError } from "../../io/errors.ts";
import type { NpyArray } from "../../io/npy.ts";
import { writeNpzFile } from "../../io/npz.ts";
import { hasSharedData, sharedDataPath, testRequiring } from "./env.ts";
import { sampleDataset } from "./sample_dataset.ts";

const dir = Deno.makeTempDirSync({ prefix: "ptycho_dataset_" });
let counter = 0;

/** Writes `arrays` to a fresh .npz and loads it, collecting warnings. */
function load(arrays: Record<string, NpyArray>, options: LoadDatasetOptions = {}) {
  const path = `${dir}/d${counter++}.npz`;
  writeNpzFile(path, arrays, { compress: counter % 2 === 0 });
  const warnings: string[] = [];
  return {
    dataset: loadDataset(path, { onWarning: (w) => warnings.push(w), ...options }),
    warnings,
    path,
  };
}

/** Asserts that loading `arrays` fails with a one-line PtychoInputError matching `pattern`. */
function rejects(
  arrays: Record<string, NpyArray>,
  pattern: RegExp,
  options: LoadDatasetOptions = {},
) {
  throws(() => load(arrays, options), (e: unknown) => {
    ok(e instanceof PtychoInputError, `expected PtychoInputError, got ${e}`);
    ok(e.message.includes(".npz: "), `names the file: ${e.message}`);
    ok(!e.message.includes("\n"), "one line");
    ok(pattern.test(e.message), `${e.message} !~ ${pattern}`);
    return true;
  });
}

function without(key: string, arrays = sampleDataset()): Record<string, NpyArray> {
  const copy = { ...arrays };
  delete copy[key];
  return copy;
}

Deno.test("a valid dataset loads with its values", () => {
  const { dataset, warnings } = load(sampleDataset());
  strictEqual(dataset.patternCount, 6);
  strictEqual(dataset.n, 8);
  strictEqual(dataset.diffraction.length, 6 * 64);
  strictEqual(dataset.diffraction[5], 5 * 0.25);
  strictEqual(dataset.probe.length, 128);
  strictEqual(dataset.nphotons, 1e6);
  strictEqual(dataset.objectGuess?.width, 24);
  deepStrictEqual([...dataset.xcoordsStart], [...dataset.xcoords]);
  deepStrictEqual(warnings, []);
});

Deno.test("optional keys default; legacy diff3d name accepted", () => {
  let arrays = sampleDataset();
  arrays.diff3d = arrays.diffraction;
  for (const k of ["diffraction", "objectGuess", "scan_index", "_metadata"]) {
    arrays = without(k, arrays);
  }
  const { dataset } = load(arrays);
  strictEqual(dataset.nphotons, DEFAULT_NPHOTONS);
  strictEqual(dataset.objectGuess, null);
  deepStrictEqual([...dataset.scanIndex], [0, 0, 0, 0, 0, 0]);
  deepStrictEqual(dataset.metadata, {});
});

Deno.test("legacy (H, W, M) layout is transposed with a warning", () => {
  const arrays = sampleDataset();
  const [m, n] = [6, 8];
  const canonical = arrays.diffraction.data as Float32Array;
  const legacy = new Float32Array(canonical.length);
  for (let k = 0; k < m; k++) {
    for (let p = 0; p < n * n; p++) legacy[p * m + k] = canonical[k * n * n + p];
  }
  arrays.diffraction = { dtype: "f4", shape: [n, n, m], data: legacy };
  const { dataset, warnings } = load(arrays);
  deepStrictEqual([...dataset.diffraction], [...canonical]);
  strictEqual(warnings.length, 1);
  ok(/legacy layout/.test(warnings[0]));
});

Deno.test("float64 diffraction, complex128 probe and integer coordinates are converted", () => {
  const arrays = sampleDataset();
  arrays.diffraction = {
    dtype: "f8",
    shape: [6, 8, 8],
    data: Float64Array.from(arrays.diffraction.data as Float32Array),
  };
  arrays.probeGuess = {
    dtype: "c16",
    shape: [8, 8],
    data: Float64Array.from(arrays.probeGuess.data as Float32Array),
  };
  arrays.xcoords = { dtype: "i4", shape: [6], data: Int32Array.from([1, 2, 3, 4, 5, 6]) };
  const { dataset } = load(arrays);
  ok(dataset.diffraction instanceof Float32Array && dataset.probe instanceof Float32Array);
  strictEqual(dataset.xcoords[5], 6);
});

Deno.test("each contract violation gives one clear error naming the key", () => {
  const bad = (mutate: (a: Record<string, NpyArray>) => void) => {
    const arrays = sampleDataset();
    mutate(arrays);
    return arrays;
  };
  rejects(without("probeGuess"), /missing key 'probeGuess'/);
  rejects(
    without("xcoords", without("diffraction")),
    /missing keys 'diffraction' \(or legacy 'diff3d'\), 'xcoords'/,
  );
  rejects(bad((a) => (a.diffraction.shape = [6, 64])), /'diffraction': expected 3 dimensions/);
  rejects(bad((a) => (a.probeGuess.shape = [64])), /'probeGuess': expected 2 dimensions/);
  rejects(bad((a) => (a.xcoords.shape = [2, 3])), /'xcoords': expected 1 dimension/);
  rejects(
    bad((a) => (a.probeGuess = { dtype: "c8", shape: [4, 4], data: new Float32Array(32) })),
    /'probeGuess': N mismatch: patterns are 8×8 but the probe is 4×4/,
  );
  rejects(
    bad((a) => (a.diffraction = { dtype: "u2", shape: [6, 8, 8], data: new Uint16Array(384) })),
    /'diffraction': expected float amplitudes, got dtype u2 \(raw counts/,
  );
  rejects(
    bad((a) => ((a.diffraction.data as Float32Array)[100] = NaN)),
    /'diffraction': contains NaN or Inf \(element 100\)/,
  );
  rejects(
    bad((a) => ((a.probeGuess.data as Float32Array)[7] = Infinity)),
    /'probeGuess': contains NaN or Inf/,
  );
  rejects(
    bad((a) => ((a.ycoords.data as Float64Array)[2] = NaN)),
    /'ycoords': contains NaN or Inf/,
  );
  rejects(
    bad((a) => ((a.objectGuess.data as Float32Array)[0] = NaN)),
    /'objectGuess': contains NaN/,
  );
  rejects(
    bad((a) => ((a.diffraction.data as Float32Array)[3] = -0.5)),
    /'diffraction': contains negative amplitudes/,
  );
  rejects(
    bad((a) => (a.ycoords = { dtype: "f8", shape: [5], data: new Float64Array(5) })),
    /'ycoords': coordinate length mismatch: 5 positions, xcoords has 6/,
  );
  rejects(
    bad((a) => (a.xcoords_start = { dtype: "f8", shape: [7], data: new Float64Array(7) })),
    /'xcoords_start': coordinate length mismatch/,
  );
  rejects(
    bad((a) => (a.diffraction = { dtype: "f4", shape: [5, 8, 8], data: new Float32Array(320) })),
    /'diffraction': coordinate length mismatch: 5 patterns but xcoords has 6/,
  );
  rejects(bad((a) => (a.diffraction.shape = [6, 4, 16])), /must be square/);
  rejects(bad((a) => (a._metadata.data = ["{nphotons: 1"])), /'_metadata': is not valid JSON/);
  rejects(
    bad((a) => (a.scan_index = { dtype: "f8", shape: [6], data: new Float64Array(6) })),
    /'scan_index': expected integers/,
  );
  rejects(sampleDataset(4), /only 4 scan positions; one group of gridsize 2 needs 5/, {
    gridsize: 2,
  });
  throws(() => loadDataset(`${dir}/absent.npz`), /absent\.npz: cannot open: no such file/);
});

const star = "siemens_star_64.npz";
testRequiring(
  { available: hasSharedData(star), what: `../shared/data/${star}` },
  "the shared Siemens star dataset loads through loadDataset",
  () => {
    const dataset = loadDataset(sharedDataPath(star), { gridsize: 2 });
    strictEqual(dataset.n, 64);
    strictEqual(dataset.patternCount, 516);
    strictEqual(dataset.diffraction.length, 516 * 64 * 64);
    ok(Math.abs(dataset.nphotons - 440557.118) < 1);
    ok(Math.min(...dataset.xcoords) >= 19.99);
    deepStrictEqual(dataset.warnings, []);
  },
);

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
