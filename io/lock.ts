/**
 * One run per output: a lock file beside what a command writes, held with an exclusive OS file
 * lock (`flock`) for the whole run and holding the owner's pid, host, command and start time.
 *
 * A second run on the same output finds the file locked and refuses in one line naming the
 * holder. The kernel drops the file lock when its process ends in any way (`kill -9` included),
 * so a lock file that is present but not locked was left by a dead process: it is taken over with
 * a one-line note, and the temporary files of atomic writes that process was killed in are removed. (Liveness by file lock rather than by pid: Deno reads /proc only with
 * --allow-all, and a file lock also survives pid reuse and pid namespaces.) The file is removed
 * when the lock's scope ends (`using`, so on errors too) and on `Deno.exit` (the `unload` event,
 * which train's Ctrl-C path ends with).
 */
import { PtychoInputError } from "./errors.ts";
import { removeLeftoverTemps } from "./files.ts";

/** Name of the lock file inside a locked output folder. */
export const LOCK_FILE = ".ptycho.lock";

/** What a lock file records about its holder. */
export interface LockOwner {
  /** Process id. */
  pid: number;
  /** Host name (/etc/hostname, or "unknown"). */
  host: string;
  /** The command that holds it ("train", "infer", ...). */
  command: string;
  /** ISO time the lock was taken. */
  started: string;
}

/** A held lock; `release` (or the end of a `using` scope) removes it. */
export interface OutputLock extends Disposable {
  /** The lock file. */
  readonly path: string;
  /** Removes the lock file and drops the file lock; idempotent. */
  release(): void;
}

/** Options of {@link lockOutputDir} and {@link lockOutputFile}. */
export interface LockOptions {
  /** Where the takeover note goes (default: stderr). */
  onNote?: (line: string) => void;
}

/**
 * Locks the output folder `dir` for `command`, creating the folder if needed; a folder created
 * here is removed again on release if the run left it empty.
 */
export function lockOutputDir(dir: string, command: string, options: LockOptions = {}): OutputLock {
  let created = false;
  try {
    Deno.statSync(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    try {
      Deno.mkdirSync(dir, { recursive: true });
    } catch (e2) {
      throw new PtychoInputError(dir, `cannot create the output directory (${reason(e2)})`);
    }
    created = true;
  }
  const lockPath = `${dir}/${LOCK_FILE}`;
  return acquire(
    lockPath,
    dir,
    command,
    options,
    created ? dir : null,
    () => removeLeftoverTemps(dir),
  );
}

/** Locks the single output file `path` for `command` (the lock sits beside it). */
export function lockOutputFile(
  path: string,
  command: string,
  options: LockOptions = {},
): OutputLock {
  const slash = path.lastIndexOf("/");
  const [dir, base] = [path.slice(0, slash + 1), path.slice(slash + 1)];
  const sweep = () => removeLeftoverTemps(dir === "" ? "." : dir.slice(0, -1) || "/", base);
  return acquire(`${dir}.${base}${LOCK_FILE}`, path, command, options, null, sweep);
}

function acquire(
  lockPath: string,
  target: string,
  command: string,
  options: LockOptions,
  createdDir: string | null,
  sweep: () => number,
): OutputLock {
  const fail = (what: string, e: unknown): never => {
    throw new PtychoInputError(target, `cannot ${what} the lock ${lockPath} (${reason(e)})`);
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(lockPath, { read: true, write: true, create: true });
    } catch (e) {
      return fail("create", e);
    }
    let locked: boolean;
    try {
      locked = file.tryLockSync(true);
    } catch (e) {
      file.close();
      return fail("take", e);
    }
    if (!locked) {
      const holder = readOwner(file);
      file.close();
      const who = holder === null
        ? "another run"
        : `'${holder.command}' (pid ${holder.pid} on ${holder.host}, started ${holder.started})`;
      throw new PtychoInputError(
        target,
        `in use by ${who}; wait for it to end or choose another output`,
      );
    }
    // Locked, but maybe an inode a finishing run has just unlinked: then try the new file.
    if (!sameFile(file, lockPath)) {
      file.close();
      continue;
    }
    const stale = readOwner(file);
    if (stale !== null) {
      const temps = sweep();
      (options.onNote ?? ((line: string) => console.error(line)))(
        `note: ${target}: taking over the lock of '${stale.command}' (pid ${stale.pid} on ` +
          `${stale.host}, started ${stale.started}), which is no longer running` +
          (temps > 0 ? `; removed ${temps} unfinished temporary file${temps > 1 ? "s" : ""}` : ""),
      );
    }
    const owner: LockOwner = {
      pid: Deno.pid,
      host: hostname(),
      command,
      started: new Date().toISOString(),
    };
    try {
      const bytes = new TextEncoder().encode(JSON.stringify(owner) + "\n");
      file.truncateSync(0);
      file.seekSync(0, Deno.SeekMode.Start);
      let written = 0;
      while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    } catch (e) {
      file.close();
      return fail("write", e);
    }
    return held(lockPath, file, createdDir);
  }
  throw new PtychoInputError(target, `cannot take the lock ${lockPath} (it keeps changing)`);
}

/** The owner recorded in an open lock file, or null if it is empty or not a record. */
function readOwner(file: Deno.FsFile): LockOwner | null {
  try {
    const size = file.statSync().size;
    const bytes = new Uint8Array(Math.min(size, 4096));
    file.seekSync(0, Deno.SeekMode.Start);
    let done = 0;
    while (done < bytes.length) {
      const n = file.readSync(bytes.subarray(done));
      if (n === null || n === 0) break;
      done += n;
    }
    const o = JSON.parse(new TextDecoder().decode(bytes.subarray(0, done)));
    const ok = typeof o === "object" && o !== null && Number.isInteger(o.pid) &&
      typeof o.host === "string" && typeof o.command === "string" &&
      typeof o.started === "string";
    return ok ? o as LockOwner : null;
  } catch {
    return null;
  }
}

/** Whether `path` still names the open `file` (same device and inode where the OS says). */
function sameFile(file: Deno.FsFile, path: string): boolean {
  try {
    const a = file.statSync(), b = Deno.statSync(path);
    return a.ino === null || (a.ino === b.ino && a.dev === b.dev);
  } catch {
    return false;
  }
}

function held(lockPath: string, file: Deno.FsFile, createdDir: string | null): OutputLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    globalThis.removeEventListener("unload", release);
    // Unlink while still locked, so no other run can lock this inode and then lose it.
    try {
      Deno.removeSync(lockPath);
    } catch {
      // removed by hand (or with its folder) meanwhile
    }
    file.close();
    if (createdDir !== null) {
      try {
        Deno.removeSync(createdDir);
      } catch {
        // not empty: the run wrote its outputs there
      }
    }
  };
  globalThis.addEventListener("unload", release);
  return { path: lockPath, release, [Symbol.dispose]: release };
}

function hostname(): string {
  try {
    return Deno.readTextFileSync("/etc/hostname").trim() || "unknown";
  } catch {
    return "unknown";
  }
}

function reason(e: unknown): string {
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.NotFound) return "no such directory";
  return e instanceof Error ? e.message.split("\n")[0] : String(e);
}
