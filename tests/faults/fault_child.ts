/**
 * The CLI with one fault injected at the operating-system boundary, for the fault tests: run as
 * `deno run --allow-all tests/faults/fault_child.ts <cli args>` with `PTYCHO_TEST_FAULT` set to
 * `<action>:<file name>:<n>`, which acts at the n-th atomic write (its temporary file) of a file
 * called <file name> (e.g. `kill-mid-write:last.zip:2`; a trailing `*` matches a prefix):
 * - `kill-mid-write`: half the bytes are written, then the process SIGKILLs itself;
 * - `kill-before-rename`: the temporary file is complete and flushed, then SIGKILL before rename;
 * - `pause-before-rename`: prints `fault: paused` on stderr before the rename and blocks until the
 *   file named by `PTYCHO_TEST_FAULT_GO` exists (then removes it and goes on; signals that
 *   arrived meanwhile are handled after);
 * - `enospc`: the write fails as on a full disk (ENOSPC).
 * Nothing in the project knows about this: the test patches `Deno.openSync`/`Deno.renameSync`.
 */
import { main } from "../../cli.ts";

const spec = Deno.env.get("PTYCHO_TEST_FAULT") ?? "";
const [action, name, nth] = spec.split(":");
const ACTIONS = ["kill-mid-write", "kill-before-rename", "pause-before-rename", "enospc"];
if (!ACTIONS.includes(action) || !name || !(Number(nth) >= 1)) {
  throw new Error(`PTYCHO_TEST_FAULT '${spec}': expected <${ACTIONS.join("|")}>:<file>:<n>`);
}
const deno = Deno as unknown as Record<string, unknown>;
const openSync = Deno.openSync, renameSync = Deno.renameSync;
let seen = 0;
let armed: string | null = null;

/** Whether `path` is the temporary file of an atomic write of `name` (io/files.ts naming). */
function isTempOf(path: string): boolean {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const m = /^\.(.+)\.[0-9a-f]{8}\.tmp$/.exec(base);
  return m !== null && (name.endsWith("*") ? m[1].startsWith(name.slice(0, -1)) : m[1] === name);
}

deno.openSync = (path: string | URL, options?: Deno.OpenOptions): Deno.FsFile => {
  const file = openSync(path, options);
  if (typeof path !== "string" || !options?.createNew || !isTempOf(path)) return file;
  if (++seen !== Number(nth)) return file;
  armed = path;
  if (action === "kill-mid-write" || action === "enospc") {
    const write = file.writeSync.bind(file);
    file.writeSync = (bytes: Uint8Array): number => {
      if (action === "enospc") {
        throw Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
      }
      write(bytes.subarray(0, bytes.length >> 1));
      Deno.kill(Deno.pid, "SIGKILL");
      return 0;
    };
  }
  return file;
};

/** Blocks (synchronously, as the rename would) until the test creates the go file. */
function pause(): void {
  const go = Deno.env.get("PTYCHO_TEST_FAULT_GO");
  if (!go) throw new Error("pause-before-rename needs PTYCHO_TEST_FAULT_GO");
  Deno.stderr.writeSync(new TextEncoder().encode("fault: paused\n"));
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      Deno.removeSync(go);
      return;
    } catch {
      Atomics.wait(sleeper, 0, 0, 20);
    }
  }
}

deno.renameSync = (from: string | URL, to: string | URL): void => {
  if (from === armed && action === "kill-before-rename") Deno.kill(Deno.pid, "SIGKILL");
  if (from === armed && action === "pause-before-rename") pause();
  renameSync(from, to);
};

Deno.exit(await main(Deno.args));
