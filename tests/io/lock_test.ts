/** io/lock.ts in-process: refusal while held, takeover of a dead owner's file, release. */
import { PtychoInputError } from "../../io/errors.ts";
import { LOCK_FILE, lockOutputDir, lockOutputFile } from "../../io/lock.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("a held folder lock refuses a second taker, naming command and pid", () => {
  const dir = Deno.makeTempDirSync();
  const lock = lockOutputDir(dir, "train");
  const record = JSON.parse(Deno.readTextFileSync(`${dir}/${LOCK_FILE}`));
  assertEquals([record.pid, record.command], [Deno.pid, "train"]);
  const e = assertThrows(() => lockOutputDir(dir, "infer"), PtychoInputError);
  assert(e.message.startsWith(`${dir}: in use by 'train' (pid ${Deno.pid} on `), e.message);
  assert(!e.message.includes("\n"));
  lock.release();
  assert(!exists(`${dir}/${LOCK_FILE}`));
  lockOutputDir(dir, "infer").release();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a lock file nobody holds is taken over with one note", () => {
  const dir = Deno.makeTempDirSync();
  const dead = { pid: 99999999, host: "elsewhere", command: "train", started: "then" };
  Deno.writeTextFileSync(`${dir}/${LOCK_FILE}`, JSON.stringify(dead));
  Deno.mkdirSync(`${dir}/checkpoints`);
  const files = [
    "checkpoints/.last.zip.0123abcd.tmp",
    ".model.zip.89abcdef.tmp",
    "keep.tmp",
    "x.zip",
  ];
  for (const f of files) Deno.writeTextFileSync(`${dir}/${f}`, "");
  const notes: string[] = [];
  const lock = lockOutputDir(dir, "train", { onNote: (l) => notes.push(l) });
  assertEquals(notes.length, 1);
  assert(notes[0].includes("'train' (pid 99999999 on elsewhere, started then)"), notes[0]);
  assert(notes[0].endsWith("no longer running; removed 2 unfinished temporary files"), notes[0]);
  assertEquals(files.map((f) => exists(`${dir}/${f}`)), [false, false, true, true]);
  assertEquals(JSON.parse(Deno.readTextFileSync(lock.path)).pid, Deno.pid);
  lock.release();
  // An empty leftover (killed while writing its record) is taken silently.
  Deno.writeTextFileSync(`${dir}/${LOCK_FILE}`, "");
  lockOutputDir(dir, "train", { onNote: (l) => notes.push(l) }).release();
  assertEquals(notes.length, 1);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a folder the lock created is removed on release if left empty", () => {
  const root = Deno.makeTempDirSync();
  const empty = lockOutputDir(`${root}/a/b`, "infer");
  assert(exists(`${root}/a/b`));
  empty.release();
  assert(!exists(`${root}/a/b`), "an empty folder made for the lock is removed");
  {
    using _used = lockOutputDir(`${root}/c`, "infer");
    Deno.writeTextFileSync(`${root}/c/out.txt`, "x");
  }
  assert(exists(`${root}/c/out.txt`) && !exists(`${root}/c/${LOCK_FILE}`));
  Deno.removeSync(root, { recursive: true });
});

Deno.test("a file lock sits beside the file and is per file", () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(
    `${dir}/.a.npz${LOCK_FILE}`,
    '{"pid":1,"host":"h","command":"simulate","started":"t"}',
  );
  Deno.writeTextFileSync(`${dir}/.a.npz.0123abcd.tmp`, "");
  Deno.writeTextFileSync(`${dir}/.b.npz.0123abcd.tmp`, "");
  lockOutputFile(`${dir}/a.npz`, "simulate", { onNote: () => {} }).release();
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [".b.npz.0123abcd.tmp"]);
  Deno.removeSync(`${dir}/.b.npz.0123abcd.tmp`);
  const a = lockOutputFile(`${dir}/a.npz`, "simulate");
  assertEquals(a.path, `${dir}/.a.npz${LOCK_FILE}`);
  assertThrows(() => lockOutputFile(`${dir}/a.npz`, "simulate"), PtychoInputError, "in use by");
  lockOutputFile(`${dir}/b.npz`, "simulate").release();
  a.release();
  assertEquals([...Deno.readDirSync(dir)].length, 0);
  Deno.removeSync(dir);
});
