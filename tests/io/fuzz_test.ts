/**
 * Fuzzing the .npz / dataset reader: thousands of mutated archives (truncation, random byte flips,
 * edits of the .npy header text, re-zipped so the CRC is valid). Every outcome must be a loaded
 * dataset or a PtychoInputError; any other exception fails the test with the seed to replay it.
 */
import { fail } from "node:assert";
import { readDataset } from "../../io/dataset.ts";
import { PtychoInputError } from "../../io/errors.ts";
import { encodeNpy } from "../../io/npy.ts";
import { NpzReader } from "../../io/npz.ts";
import { memorySource, ZipReader } from "../../io/zip.ts";
import { encodeZip } from "../../io/zip_write.ts";
import { sampleDataset } from "./sample_dataset.ts";

/** xorshift32: a small seeded generator, so any failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const members = new Map(
  Object.entries(sampleDataset()).map(([k, a]) => [`${k}.npy`, encodeNpy(a)] as const),
);
const archives = [encodeZip(members, false), encodeZip(members, true)];
const HEADER_CHARS = "0123456789(),'<>|=fciubUO?: []{}-LTrueFalse\\\"\n\x00\xff";
const HEADER_WORDS = [
  "99999999999",
  "-1",
  "(",
  ")",
  "'|O'",
  "'>c16'",
  "'<U9'",
  "True",
  "(1, 2, 3)",
  "",
];

/** One mutated archive, by one of three strategies. */
function mutate(random: () => number): Uint8Array {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
  const strategy = random();
  if (strategy < 0.2) {
    const bytes = pick(archives);
    return bytes.subarray(0, Math.floor(random() * bytes.length));
  }
  if (strategy < 0.45) {
    const bytes = pick(archives).slice();
    const flips = 1 + Math.floor(random() * 8);
    for (let i = 0; i < flips; i++) {
      bytes[Math.floor(random() * bytes.length)] ^= 1 + Math.floor(random() * 255);
    }
    return bytes;
  }
  const edited = new Map(members);
  const name = pick([...members.keys()]);
  const npy = members.get(name)!.slice();
  const headerEnd = Math.min(npy.length, 128);
  if (strategy < 0.75) {
    const edits = 1 + Math.floor(random() * 3);
    for (let i = 0; i < edits; i++) {
      npy[Math.floor(random() * headerEnd)] = pick([...HEADER_CHARS]).charCodeAt(0) & 0xff;
    }
    edited.set(name, npy);
  } else if (strategy < 0.9) {
    const text = new TextDecoder("latin1").decode(npy.subarray(10, headerEnd));
    const at = Math.floor(random() * text.length);
    const cut = Math.floor(random() * 6);
    const header = text.slice(0, at) + pick(HEADER_WORDS) + text.slice(at + cut);
    const out = new Uint8Array(npy.length - headerEnd + 10 + header.length);
    out.set(npy.subarray(0, 10));
    out.set(Uint8Array.from(header, (c) => c.charCodeAt(0) & 0xff), 10);
    out.set(npy.subarray(headerEnd), 10 + header.length);
    new DataView(out.buffer).setUint16(8, header.length, true);
    edited.set(name, out);
  } else {
    const data = npy.subarray(headerEnd);
    for (let i = 0; i < 4 && data.length > 0; i++) {
      data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
    }
    edited.set(name, npy);
  }
  return encodeZip(edited, random() < 0.5);
}

Deno.test("fuzz: mutated .npz files load or fail with PtychoInputError, never anything else", () => {
  const seed = Number(Deno.env.get("PTYCHO_FUZZ_SEED") ?? 20240601);
  const random = rng(seed);
  const deadline = Date.now() + 12_000;
  const outcomes = { loaded: 0, refused: 0 };
  let i = 0;
  for (; i < 4000 && Date.now() < deadline; i++) {
    const bytes = mutate(random);
    try {
      readDataset(NpzReader.fromBytes(bytes, "fuzz.npz"), { onWarning: () => {} });
      outcomes.loaded++;
    } catch (e) {
      if (!(e instanceof PtychoInputError)) {
        fail(`iteration ${i} (seed ${seed}): ${e instanceof Error ? e.stack : e}`);
      }
      if (e.message.includes("\n")) fail(`iteration ${i}: multi-line message ${e.message}`);
      outcomes.refused++;
    }
  }
  if (i < 2000) fail(`only ${i} iterations ran in the time budget`);
  if (outcomes.loaded === 0 || outcomes.refused === 0) {
    fail(`degenerate fuzz: ${JSON.stringify(outcomes)}`);
  }
  console.log(`fuzz: ${i} archives, ${outcomes.loaded} loaded, ${outcomes.refused} refused`);
});

Deno.test("fuzz: the zip reader alone survives random truncation of every archive", () => {
  for (const bytes of archives) {
    for (let length = 0; length <= bytes.length; length += 7) {
      try {
        const zip = new ZipReader(memorySource(bytes.subarray(0, length)), "t.npz");
        for (const entry of zip.entries) zip.read(entry);
      } catch (e) {
        if (!(e instanceof PtychoInputError)) fail(`length ${length}: ${e}`);
      }
    }
  }
});
