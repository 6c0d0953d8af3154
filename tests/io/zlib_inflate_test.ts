/**
 * The command line's native zip decoder (Node's zlib, io/zlib_inflate.ts) against the library's
 * stepwise fflate inflation: the same bytes for whole entries and prefixes, the same one-line
 * errors for entries that lie about their size or are cut short, and under random corruption
 * the same outcome for whole entries (a prefix may fail earlier, as corrupt, never otherwise).
 */
import { zipSync } from "fflate";
import { assert, assertEquals } from "../assert.ts";
import { PtychoInputError } from "../../io/errors.ts";
import { memorySource, setNativeInflate, ZipReader } from "../../io/zip.ts";
import { zlibInflate } from "../../io/zlib_inflate.ts";

const noisy = Uint8Array.from({ length: 50000 }, (_, i) => ((i * 2654435761) >>> 27) + (i % 7));
const random = Uint8Array.from({ length: 30000 }, (_, i) => (i * 2654435761 + (i >>> 3)) >>> 24);

function archive(): Uint8Array {
  return zipSync({
    "noisy.npy": [noisy, { level: 6 }],
    "random.bin": [random, { level: 9 }],
    "zeros.bin": [new Uint8Array(200000), { level: 1 }],
    "zeros4m.bin": [new Uint8Array(4_000_000), { level: 6 }],
    "empty": [new Uint8Array(0), { level: 6 }],
  });
}

/** What reading `name` (whole, or its first `prefix` bytes) gives: the bytes or the error. */
function outcome(bytes: Uint8Array, name: string, native: boolean, prefix?: number): string {
  setNativeInflate(native ? zlibInflate : null);
  try {
    const zip = new ZipReader(memorySource(bytes), "t.zip");
    const entry = zip.find(name)!;
    const out = prefix === undefined ? zip.read(entry) : zip.readPrefix(entry, prefix);
    return `${out.length}:${out.reduce((h, b) => (Math.imul(h, 31) + b) >>> 0, 7)}`;
  } catch (e) {
    assert(e instanceof PtychoInputError, `not a PtychoInputError: ${e}`);
    return `error ${e.message.replace(/ \(.*\)$/, "")}`;
  } finally {
    setNativeInflate(null);
  }
}

/** The archive with `name`'s central-directory size fields (compressed, declared) replaced. */
function withSizes(bytes: Uint8Array, name: string, sizes: { packed?: number; size?: number }) {
  const out = bytes.slice();
  const v = new DataView(out.buffer);
  const zip = new ZipReader(memorySource(bytes), "t.zip");
  let p = out.length - 22;
  p = v.getUint32(p + 16, true);
  for (const e of zip.entries) {
    if (e.name === name) {
      if (sizes.packed !== undefined) v.setUint32(p + 20, sizes.packed, true);
      if (sizes.size !== undefined) v.setUint32(p + 24, sizes.size, true);
    }
    p += 46 + v.getUint16(p + 28, true) + v.getUint16(p + 30, true) + v.getUint16(p + 32, true);
  }
  return out;
}

Deno.test("native and stepwise inflation give the same entries and prefixes", () => {
  const bytes = archive();
  for (const name of ["noisy.npy", "random.bin", "zeros.bin", "zeros4m.bin", "empty"]) {
    const stepwise = outcome(bytes, name, false);
    assert(!stepwise.startsWith("error"), stepwise);
    assertEquals(outcome(bytes, name, true), stepwise, name);
    // 600000 bytes of zeros4m.bin: a 4 KiB prefix inflates past the native prefix limit, so the
    // stepwise path takes over.
    for (const prefix of [0, 1, 12, 128, 5000, 600000, 10 ** 6]) {
      assertEquals(outcome(bytes, name, true, prefix), outcome(bytes, name, false, prefix));
    }
  }
});

Deno.test("an entry larger than it declares or cut short fails the same way on both paths", () => {
  const bytes = archive();
  const zip = new ZipReader(memorySource(bytes), "t.zip");
  const packed = zip.find("noisy.npy")!.compressedSize;
  const cases: [Uint8Array, RegExp][] = [
    [withSizes(bytes, "noisy.npy", { size: 1000 }), /decompresses to more than its declared 1000/],
    [withSizes(bytes, "zeros.bin", { size: 70000 }), /decompresses to more than its declared/],
    [withSizes(bytes, "noisy.npy", { packed: packed >> 1 }), /corrupt deflate data$/],
    [withSizes(bytes, "noisy.npy", { size: noisy.length + 10 }), /decompressed size is wrong/],
  ];
  for (const [lying, message] of cases) {
    for (const name of ["noisy.npy", "zeros.bin"]) {
      const stepwise = outcome(lying, name, false);
      assertEquals(outcome(lying, name, true), stepwise);
    }
    const name = lying === cases[1][0] ? "zeros.bin" : "noisy.npy";
    assert(message.test(outcome(lying, name, true)), `${outcome(lying, name, true)} !~ ${message}`);
  }
});

Deno.test("under random corruption whole entries fail or succeed alike on both paths", () => {
  const bytes = archive();
  const start = new ZipReader(memorySource(bytes), "t.zip").find("noisy.npy")!.localHeaderOffset;
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let t = 0; t < 300; t++) {
    const b = bytes.slice();
    for (let f = 0; f < 2; f++) b[start + 40 + Math.floor(rnd() * 2000)] ^= 1 << (t % 8);
    assertEquals(outcome(b, "noisy.npy", true), outcome(b, "noisy.npy", false), `case ${t}`);
    const fast = outcome(b, "noisy.npy", true, 128);
    const slow = outcome(b, "noisy.npy", false, 128);
    assert(fast === slow || /corrupt deflate data$/.test(fast), `${fast} vs ${slow}`);
  }
});
