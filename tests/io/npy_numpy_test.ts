/**
 * Files written by the project, checked by real NumPy (np.load, allow_pickle=False): every dtype,
 * all three format versions, savez and savez_compressed.
 */
import { strictEqual } from "node:assert";
import { type NpyArray, writeNpyFile } from "../../io/npy.ts";
import { writeNpzFile } from "../../io/npz.ts";
import { hasNumpy, runPython, testRequiring } from "./env.ts";

/** One array per dtype, with values that exercise signs, extremes and non-ASCII text. */
function sampleArrays(): Record<string, NpyArray> {
  const ramp = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
  return {
    f4: { dtype: "f4", shape: [2, 3], data: new Float32Array(ramp(6, (i) => i * 0.5 - 1)) },
    f8: { dtype: "f8", shape: [3], data: new Float64Array([Math.PI, -0, 1e-300]) },
    c8: { dtype: "c8", shape: [2], data: new Float32Array([1, -2, 0.5, 3]) },
    c16: { dtype: "c16", shape: [1, 2], data: new Float64Array([1e10, -2, Math.E, 3]) },
    i1: { dtype: "i1", shape: [3], data: new Int8Array([-128, 0, 127]) },
    i2: { dtype: "i2", shape: [2], data: new Int16Array([-32768, 32767]) },
    i4: { dtype: "i4", shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
    i8: { dtype: "i8", shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    u1: { dtype: "u1", shape: [2], data: new Uint8Array([0, 255]) },
    u2: { dtype: "u2", shape: [2], data: new Uint16Array([0, 65535]) },
    u4: { dtype: "u4", shape: [2], data: new Uint32Array([0, 2 ** 32 - 1]) },
    u8: { dtype: "u8", shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
    b1: { dtype: "b1", shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
    scalar: { dtype: "f8", shape: [], data: new Float64Array([7.25]) },
    empty: { dtype: "f4", shape: [0, 4], data: new Float32Array(0) },
    text: { dtype: "U", shape: [], data: [JSON.stringify({ nphotons: 1e9, unit: "µm ☃" })] },
    texts: { dtype: "U", shape: [2], data: ["a", "αβγ"] },
  };
}

/** The values as NumPy's `tolist()` would give them, in JSON-safe strings. */
function describe(array: NpyArray): { dtype: string; shape: number[]; values: string[] } {
  const values = [...array.data].map((v) => (typeof v === "number" ? repr(v) : String(v)));
  return { dtype: array.dtype, shape: array.shape, values };
}

function repr(v: number): string {
  return Object.is(v, -0) ? "-0.0" : String(v);
}

const CHECKER = `
import json, sys, numpy as np
spec = json.load(open(sys.argv[1]))
checked = 0
def flat(a):
    out = []
    for v in np.ascontiguousarray(a).reshape(-1):
        if a.dtype.kind == "c": out += [v.real, v.imag]
        else: out.append(v)
    return out
def same(v, s, kind):
    if kind in "iu": return int(v) == int(s)
    if kind == "b": return bool(v) == (s == "1")
    if kind == "U": return str(v) == s
    return np.float64(v) == float(s) and np.signbit(np.float64(v)) == s.startswith("-")
for path, arrays in spec.items():
    loaded = np.load(path, allow_pickle=False)
    items = arrays.items() if path.endswith(".npz") else [(None, arrays)]
    for key, want in items:
        a = loaded[key] if key else loaded
        code = "U" if a.dtype.kind == "U" else "b1" if a.dtype.kind == "b" else a.dtype.kind + str(a.dtype.itemsize)
        assert code == want["dtype"], (path, key, code, want["dtype"])
        assert list(a.shape) == want["shape"], (path, key, a.shape)
        got = flat(a)
        assert len(got) == len(want["values"]), (path, key)
        for v, s in zip(got, want["values"]):
            assert same(v, s, a.dtype.kind), (path, key, v, s)
        checked += 1
print(checked)
`;

testRequiring(
  { available: hasNumpy, what: "/usr/bin/python3 with numpy" },
  "NumPy reads what the project writes (.npy v1/v2/v3, savez, savez_compressed)",
  () => {
    const dir = Deno.makeTempDirSync({ prefix: "ptycho_npy_" });
    try {
      const arrays = sampleArrays();
      const spec: Record<string, unknown> = {};
      let count = 0;
      for (const [name, array] of Object.entries(arrays)) {
        for (const version of [1, 2, 3] as const) {
          const path = `${dir}/${name}_v${version}.npy`;
          writeNpyFile(path, array, { version });
          spec[path] = describe(array);
          count++;
        }
      }
      for (const compress of [false, true]) {
        const path = `${dir}/all_${compress ? "compressed" : "stored"}.npz`;
        writeNpzFile(path, arrays, { compress });
        spec[path] = Object.fromEntries(Object.entries(arrays).map(([k, a]) => [k, describe(a)]));
        count += Object.keys(arrays).length;
      }
      Deno.writeTextFileSync(`${dir}/spec.json`, JSON.stringify(spec));
      strictEqual(runPython(CHECKER, [`${dir}/spec.json`]).trim(), String(count));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
