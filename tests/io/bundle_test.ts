/**
 * Model bundles: round trip, atomic replacement, NumPy readability, and one-line errors for
 * version, shape and name mismatches and for corrupt or foreign zips.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import {
  BUNDLE_FORMAT_VERSION,
  type BundleContents,
  decodeBundle,
  encodeBundle,
  loadBundle,
  saveBundle,
} from "../../io/bundle.ts";
import { PtychoInputError } from "../../io/errors.ts";
import { memorySource, ZipReader } from "../../io/zip.ts";
import { encodeZip } from "../../io/zip_write.ts";
import { hasNumpy, runPython, testRequiring } from "./env.ts";

const dir = Deno.makeTempDirSync({ prefix: "ptycho_bundle_" });

function contents(): BundleContents {
  return {
    manifest: {
      N: 8,
      gridsize: 2,
      intensityScale: 123.5,
      dataFingerprint: "sha256:abc",
      engineVersion: "0.1.0",
    },
    parameters: new Map([
      ["encoder.conv1.weight", {
        shape: [3, 3, 1, 4],
        data: Float32Array.from({ length: 36 }, (_, i) => i / 7),
      }],
      ["encoder.conv1.bias", { shape: [4], data: new Float32Array([1, -2, 3, -4]) }],
      ["log_scale", { shape: [], data: new Float32Array([2.5]) }],
    ]),
    probe: Float32Array.from({ length: 128 }, (_, i) => Math.sin(i)),
  };
}

const modelShapes = {
  "encoder.conv1.weight": [3, 3, 1, 4],
  "encoder.conv1.bias": [4],
  log_scale: [],
};

function rejects(action: () => unknown, pattern: RegExp): void {
  throws(action, (e: unknown) => {
    ok(e instanceof PtychoInputError, `expected PtychoInputError, got ${e}`);
    ok(!e.message.includes("\n"), "one line");
    ok(pattern.test(e.message), `${e.message} !~ ${pattern}`);
    return true;
  });
}

/** Rebuilds a bundle with some members replaced. */
function rebuild(bytes: Uint8Array, replace: Record<string, Uint8Array | null>): Uint8Array {
  const zip = new ZipReader(memorySource(bytes), "b");
  const members = new Map(zip.entries.map((e) => [e.name, zip.read(e)]));
  for (const [name, data] of Object.entries(replace)) {
    data ? members.set(name, data) : members.delete(name);
  }
  return encodeZip(members, false);
}

Deno.test("bundle round trip keeps manifest, parameters and probe", () => {
  const path = `${dir}/model.zip`;
  saveBundle(path, contents());
  const bundle = loadBundle(path, { expectedShapes: modelShapes });
  strictEqual(bundle.manifest.formatVersion, BUNDLE_FORMAT_VERSION);
  strictEqual(bundle.manifest.intensityScale, 123.5);
  deepStrictEqual(bundle.manifest.probeShape, [8, 8]);
  deepStrictEqual(
    bundle.manifest.parameters.map((p) => p.name),
    [...contents().parameters as Map<string, unknown>].map(([k]) => k),
  );
  for (
    const [name, p] of contents().parameters as Map<string, { shape: number[]; data: Float32Array }>
  ) {
    deepStrictEqual(bundle.parameters.get(name)?.shape, p.shape);
    deepStrictEqual([...bundle.parameters.get(name)!.data], [...p.data]);
  }
  deepStrictEqual([...bundle.probe], [...contents().probe]);
});

Deno.test("saving replaces an existing bundle atomically and leaves no temp files", () => {
  const path = `${dir}/atomic.zip`;
  Deno.writeTextFileSync(path, "old contents");
  saveBundle(path, contents());
  loadBundle(path);
  deepStrictEqual([...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".tmp")), []);
  throws(() => saveBundle(`${dir}/no/such/dir/model.zip`, contents()));
});

Deno.test("parameter mismatches against the model are all reported in one line", () => {
  const bytes = encodeBundle(contents());
  rejects(
    () =>
      decodeBundle(bytes, "model.zip", {
        expectedShapes: {
          "encoder.conv1.weight": [3, 3, 1, 8],
          "decoder.bias": [2],
          log_scale: [],
        },
      }),
    /^model\.zip: parameters do not match the model: 'encoder\.conv1\.weight' has shape \(3, 3, 1, 4\) but the model needs \(3, 3, 1, 8\); missing 'decoder\.bias' \(2\); unexpected 'encoder\.conv1\.bias'$/,
  );
});

Deno.test("format version, manifest and member problems are clear errors", () => {
  const bytes = encodeBundle(contents());
  const manifest = JSON.parse(
    new TextDecoder().decode(
      new ZipReader(memorySource(bytes), "b").read(
        new ZipReader(memorySource(bytes), "b").find("manifest.json")!,
      ),
    ),
  );
  const withManifest = (m: unknown) =>
    rebuild(bytes, { "manifest.json": new TextEncoder().encode(JSON.stringify(m)) });
  rejects(
    () => decodeBundle(withManifest({ ...manifest, formatVersion: 2 }), "m.zip"),
    /format version 2 is not supported \(this program reads version 1\)/,
  );
  rejects(
    () =>
      decodeBundle(
        withManifest({
          ...manifest,
          parameters: [...manifest.parameters, { name: "extra", shape: [1] }],
        }),
        "m.zip",
      ),
    /'extra' is listed in manifest\.json but missing from weights\.npz/,
  );
  rejects(
    () =>
      decodeBundle(
        withManifest({ ...manifest, parameters: manifest.parameters.slice(1) }),
        "m.zip",
      ),
    /weights\.npz holds unlisted 'encoder\.conv1\.weight'/,
  );
  rejects(
    () =>
      decodeBundle(rebuild(bytes, { "manifest.json": new TextEncoder().encode("{oops") }), "m.zip"),
    /not valid JSON/,
  );
  rejects(
    () => decodeBundle(rebuild(bytes, { "probe.npy": null }), "m.zip"),
    /not a model bundle \(no probe\.npy\)/,
  );
  rejects(
    () =>
      decodeBundle(encodeZip(new Map([["readme.txt", new Uint8Array(3)]]), true), "foreign.zip"),
    /not a model bundle \(no manifest\.json\)/,
  );
  rejects(
    () => decodeBundle(new TextEncoder().encode("PK but not really a zip file at all"), "junk.zip"),
    /^junk\.zip: not a zip archive/,
  );
  rejects(() => decodeBundle(bytes.subarray(0, bytes.length >> 1), "half.zip"), /^half\.zip: /);
  rejects(() => loadBundle(`${dir}/missing.zip`), /missing\.zip: cannot read: no such file/);
});

testRequiring(
  { available: hasNumpy, what: "/usr/bin/python3 with numpy" },
  "NumPy opens the bundle's weights.npz and probe.npy without pickle",
  () => {
    const path = `${dir}/numpy.zip`;
    saveBundle(path, contents());
    const out = runPython(
      `import io, json, sys, zipfile, numpy as np
z = zipfile.ZipFile(sys.argv[1])
m = json.loads(z.read("manifest.json"))
w = np.load(io.BytesIO(z.read("weights.npz")), allow_pickle=False)
p = np.load(io.BytesIO(z.read("probe.npy")), allow_pickle=False)
print(m["formatVersion"], sorted(w.files), w["encoder.conv1.weight"].shape, w["encoder.conv1.bias"].tolist(), p.dtype, p.shape, float(w["log_scale"]))`,
      [path],
    );
    strictEqual(
      out.trim(),
      "1 ['encoder.conv1.bias', 'encoder.conv1.weight', 'log_scale'] (3, 3, 1, 4) [1.0, -2.0, 3.0, -4.0] complex64 (8, 8) 2.5",
    );
  },
);

Deno.test("corrupted bundles (flips, truncation) only ever raise PtychoInputError", () => {
  const bytes = encodeBundle(contents());
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 500; i++) {
    const mutated = random() < 0.3
      ? bytes.slice(0, Math.floor(random() * bytes.length))
      : bytes.slice();
    if (mutated.length === bytes.length) {
      mutated[Math.floor(random() * bytes.length)] ^= 1 + Math.floor(random() * 255);
    }
    try {
      decodeBundle(mutated, "fuzz.zip", { expectedShapes: modelShapes });
    } catch (e) {
      ok(e instanceof PtychoInputError, `iteration ${i}: ${e}`);
    }
  }
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

Deno.test("bundles are stored; a deflated one (as written before) loads the same", () => {
  const stored = encodeBundle(contents());
  const zip = new ZipReader(memorySource(stored), "b");
  deepStrictEqual(zip.entries.map((e) => e.method), [0, 0, 0]);
  const members = new Map(zip.entries.map((e) => [e.name, zip.read(e)]));
  const deflated = encodeZip(members, true);
  deepStrictEqual(new ZipReader(memorySource(deflated), "b").entries.map((e) => e.method), [
    8,
    8,
    8,
  ]);
  const a = decodeBundle(stored, "s.zip", { expectedShapes: modelShapes });
  const b = decodeBundle(deflated, "d.zip", { expectedShapes: modelShapes });
  deepStrictEqual(a.manifest, b.manifest);
  deepStrictEqual([...a.parameters.keys()], [...b.parameters.keys()]);
  for (const [name, p] of a.parameters) {
    deepStrictEqual([...p.data], [...b.parameters.get(name)!.data]);
  }
  deepStrictEqual([...a.probe], [...b.probe]);
});
