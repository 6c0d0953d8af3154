/**
 * Reads every golden file written by real NumPy (fixtures/make_npy_golden.py) and compares dtype,
 * shape and every value with fixtures/npy/expected.json.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { type NpyArray, readNpyFile } from "../../io/npy.ts";
import { openNpz } from "../../io/npz.ts";

const dir = new URL("../../fixtures/npy/", import.meta.url).pathname;

interface Expected {
  file: string;
  key: string | null;
  dtype: string;
  shape: number[];
  values: (string | string[])[];
}

const expected: Expected[] = JSON.parse(Deno.readTextFileSync(`${dir}expected.json`)).arrays;

function parseFloatRepr(s: string): number {
  return s === "nan" ? NaN : s === "inf" ? Infinity : s === "-inf" ? -Infinity : Number(s);
}

/** The expected values in the storage form the reader returns. */
function expectedValues(e: Expected): unknown[] {
  if (e.dtype === "U") return e.values;
  if (e.dtype === "b1") return e.values.map((v) => (v === "True" ? 1 : 0));
  if (e.dtype === "i8" || e.dtype === "u8") return e.values.map((v) => BigInt(v as string));
  if (e.dtype[0] === "c") return (e.values as string[][]).flat().map(parseFloatRepr);
  if (e.dtype[0] === "f") return (e.values as string[]).map(parseFloatRepr);
  return e.values.map(Number);
}

function check(e: Expected, array: NpyArray): void {
  const label = `${e.file}${e.key ? `:${e.key}` : ""}`;
  strictEqual(array.dtype, e.dtype, label);
  deepStrictEqual(array.shape, e.shape, label);
  const want = expectedValues(e);
  const got = [...array.data];
  strictEqual(got.length, want.length, label);
  for (let i = 0; i < want.length; i++) {
    ok(Object.is(got[i], want[i]), `${label}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

Deno.test("golden .npy files from NumPy: every dtype, endianness, fortran order, version", () => {
  const npy = expected.filter((e) => e.key === null);
  ok(npy.length >= 50);
  for (const e of npy) check(e, readNpyFile(dir + e.file));
});

Deno.test("golden .npz files from np.savez and np.savez_compressed", () => {
  for (const file of ["savez.npz", "savez_compressed.npz"]) {
    const npz = openNpz(dir + file);
    try {
      const records = expected.filter((e) => e.file === file);
      deepStrictEqual(npz.keys.toSorted(), records.map((e) => e.key!).toSorted());
      for (const e of records) check(e, npz.get(e.key!));
    } finally {
      npz.close();
    }
  }
});

Deno.test("0-d unicode metadata string parses as JSON", () => {
  const meta = readNpyFile(`${dir}str_0d.npy`);
  deepStrictEqual(meta.shape, []);
  strictEqual(JSON.parse((meta.data as string[])[0]).unit, "µm");
});
