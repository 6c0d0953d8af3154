/**
 * The stored-zip writer: byte for byte what fflate's zipSync writes at level 0 (the writer it
 * replaced, so checkpoints keep their exact layout), read back identically by our reader and by
 * Python's zipfile, and a bundle deflated as before the change still loads to the same contents.
 */
import { zipSync } from "fflate";
import { assert, assertEquals } from "../assert.ts";
import { crc32 } from "../../io/crc32.ts";
import { memorySource, ZipReader } from "../../io/zip.ts";
import { encodeStoredZip, encodeZip, storedZipParts } from "../../io/zip_write.ts";
import { hasNumpy, runPython, testRequiring } from "./env.ts";

function members(): Map<string, Uint8Array> {
  const big = Uint8Array.from({ length: 70001 }, (_, i) => (i * 2654435761) >>> 24);
  return new Map([
    ["weights.npz", big],
    ["dir/ünïcode.json", new TextEncoder().encode('{"a": 1}\n')],
    ["empty", new Uint8Array(0)],
  ]);
}

function readAll(bytes: Uint8Array): Map<string, Uint8Array> {
  const zip = new ZipReader(memorySource(bytes), "t.zip");
  return new Map(zip.entries.map((e) => [e.name, zip.read(e)]));
}

Deno.test("a stored zip is byte for byte fflate's level-0 zip and reads back identically", () => {
  const m = members();
  const options = { level: 0, mtime: new Date(2000, 0, 1) } as const;
  const fflate = zipSync(Object.fromEntries([...m].map(([k, v]) => [k, [v, options]])));
  const ours = encodeStoredZip(m);
  assertEquals(ours.length, fflate.length);
  assert(ours.every((b, i) => b === fflate[i]), "bytes differ from fflate's");
  const back = readAll(ours);
  assertEquals([...back.keys()], [...m.keys()]);
  for (const [name, data] of m) assertEquals([...back.get(name)!], [...data]);
  assertEquals(
    new ZipReader(memorySource(ours), "t.zip").entries.map((e) => e.method),
    [0, 0, 0],
  );
});

Deno.test("crc32 of the stored members matches the directory's", () => {
  const zip = new ZipReader(memorySource(encodeStoredZip(members())), "t.zip");
  for (const e of zip.entries) assertEquals(e.crc32, crc32(members().get(e.name)!));
});

testRequiring(
  { available: hasNumpy, what: "/usr/bin/python3 with numpy" },
  "Python's zipfile reads a stored zip (testzip passes, same bytes)",
  () => {
    const dir = Deno.makeTempDirSync({ prefix: "ptycho_zip_" });
    const m = members();
    Deno.writeFileSync(`${dir}/t.zip`, encodeStoredZip(m));
    const out = runPython(
      "import zipfile, json, sys\n" +
        "z = zipfile.ZipFile(sys.argv[1])\n" +
        "assert z.testzip() is None\n" +
        "print(json.dumps({i.filename: z.read(i).hex() for i in z.infolist()}))\n",
      [`${dir}/t.zip`],
    );
    const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    assertEquals(JSON.parse(out), Object.fromEntries([...m].map(([k, v]) => [k, hex(v)])));
    Deno.removeSync(dir, { recursive: true });
  },
);

Deno.test("deflated and stored archives of the same members read back the same", () => {
  const m = members();
  const deflated = readAll(encodeZip(m, true));
  const stored = readAll(encodeZip(m, false));
  for (const [name, data] of m) {
    assertEquals([...deflated.get(name)!], [...data]);
    assertEquals([...stored.get(name)!], [...data]);
  }
});

Deno.test("a member given in parts zips as its joined bytes (CRC continued across parts)", () => {
  const m = members();
  const big = m.get("weights.npz")!;
  const parts = [
    big.subarray(0, 3),
    big.subarray(3, 40000),
    new Uint8Array(0),
    big.subarray(40000),
  ];
  const split = new Map<string, Uint8Array | Uint8Array[]>([...m]);
  split.set("weights.npz", parts);
  const joined = encodeStoredZip(m);
  const fromParts = storedZipParts(split);
  assert(fromParts.length > 1, "the parts are handed over, not joined");
  const bytes = encodeStoredZip(split);
  assertEquals(bytes.length, joined.length);
  assert(bytes.every((b, i) => b === joined[i]), "bytes differ");
  assertEquals(crc32(big.subarray(5), crc32(big.subarray(0, 5))), crc32(big));
});
