/** io/files.ts: atomic writes flush the file and then its folder; failures leave no temp file. */
import {
  joinParts,
  partsLength,
  removeIfPresent,
  syncDir,
  writeFileAtomic,
} from "../../io/files.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";

/** Runs `fn` with Deno.openSync recording each opened path and which handles were fsynced. */
function recordingSyncs(fn: () => void): { opened: string[]; synced: string[] } {
  const deno = Deno as unknown as Record<string, unknown>;
  const openSync = Deno.openSync;
  const opened: string[] = [], synced: string[] = [];
  deno.openSync = (path: string, options?: Deno.OpenOptions) => {
    const file = openSync(path, options);
    opened.push(path);
    const sync = file.syncSync.bind(file);
    file.syncSync = () => {
      synced.push(path);
      sync();
    };
    return file;
  };
  try {
    fn();
  } finally {
    deno.openSync = openSync;
  }
  return { opened, synced };
}

Deno.test("writeFileAtomic fsyncs the temporary file, then the folder after the rename", () => {
  const dir = Deno.makeTempDirSync();
  const { synced } = recordingSyncs(() => writeFileAtomic(`${dir}/a.bin`, Uint8Array.of(1, 2)));
  assertEquals(synced.length, 2, synced.join(", "));
  assert(/\/\.a\.bin\.[0-9a-f]{8}\.tmp$/.test(synced[0]), synced[0]);
  assertEquals(synced[1], `${dir}/`);
  assertEquals([...Deno.readFileSync(`${dir}/a.bin`)], [1, 2]);
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["a.bin"]);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("syncDir works on a folder and fails on a missing one", () => {
  const dir = Deno.makeTempDirSync();
  syncDir(dir);
  assertThrows(() => syncDir(`${dir}/missing`), Deno.errors.NotFound);
  Deno.removeSync(dir);
});

Deno.test("a failed atomic write leaves no temporary file; removeIfPresent ignores a missing file", () => {
  const dir = Deno.makeTempDirSync();
  Deno.mkdirSync(`${dir}/target`);
  Deno.writeTextFileSync(`${dir}/target/x`, "");
  // Renaming a file over a non-empty folder fails after the temporary file is written.
  assertThrows(() => writeFileAtomic(`${dir}/target`, Uint8Array.of(1)));
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["target"]);
  removeIfPresent(`${dir}/target/x`);
  removeIfPresent(`${dir}/target/x`);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("writeFileAtomic writes parts in order, as their concatenation", () => {
  const dir = Deno.makeTempDirSync();
  const big = Uint8Array.from({ length: 100000 }, (_, i) => i % 251);
  const parts = [Uint8Array.of(9), new Uint8Array(0), big, Uint8Array.of(7, 8)];
  writeFileAtomic(`${dir}/p.bin`, parts);
  assertEquals([...Deno.readFileSync(`${dir}/p.bin`)], [...joinParts(parts)]);
  assertEquals(joinParts(parts).length, partsLength(parts));
  assertEquals([...joinParts(parts).subarray(0, 3)], [9, 0, 1]);
  Deno.removeSync(dir, { recursive: true });
});
