/**
 * One run per output: a lock file created atomically (`createNew`, i.e. O_EXCL) beside what a
 * command writes, holding the owner's pid, host, command and start time.
 *
 * A second run on the same output refuses in one line naming the holder. A lock whose process is
 * gone (same host, no `/proc/<pid>` or a different process under that pid) is taken over with a
 * one-line note. The lock is released when its scope ends (`using`, so on errors too) and on
 * `Deno.exit` (the `unload` event, which train's Ctrl-C path ends with). A process killed by a
 * signal it does not handle (`kill -9`, Ctrl-C during infer or simulate) leaves the lock behind
 * for the next run to take over.
 */
import { PtychoInputError } from "./errors.ts";

/** Name of the lock file inside a locked output folder. */
export const LOCK_FILE = ".ptycho.lock";

/** An unreadable lock younger than this is taken to be one being written right now. */
const FRESH_MS = 10_000;

/** What a lock file records about its holder. */
export interface LockOwner {
  /** Process id. */
  pid: number;
  /** Host name (`/proc/sys/kernel/hostname`, else "unknown"). */
  host: string;
  /** The command that holds it ("train", "infer", ...). */
  command: string;
  /** ISO time the lock was taken. */
  started: string;
  /** The process's start time in clock ticks (`/proc/<pid>/stat` field 22), to detect pid reuse. */
  procStart: string | null;
  /** Random id of this lock, so a release never removes another process's lock. */
  token: string;
}

/** A held lock; `release` (or the end of a `using` scope) removes it. */
export interface OutputLock extends Disposable {
  /** The lock file. */
  readonly path: string;
  /** Removes the lock file if it is still this one; idempotent. */
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
  return acquire(`${dir}/${LOCK_FILE}`, dir, command, options, created ? dir : null);
}

/** Locks the single output file `path` for `command` (the lock sits beside it). */
export function lockOutputFile(
  path: string,
  command: string,
  options: LockOptions = {},
): OutputLock {
  const slash = path.lastIndexOf("/");
  const lockPath = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}${LOCK_FILE}`;
  return acquire(lockPath, path, command, options, null);
}

function acquire(
  lockPath: string,
  target: string,
  command: string,
  options: LockOptions,
  createdDir: string | null,
): OutputLock {
  const owner: LockOwner = {
    pid: Deno.pid,
    host: hostname(),
    command,
    started: new Date().toISOString(),
    procStart: processStart(Deno.pid),
    token: crypto.randomUUID(),
  };
  const note = options.onNote ?? ((line: string) => console.error(line));
  for (let attempt = 0;; attempt++) {
    if (tryCreate(lockPath, owner, target)) break;
    const holder = readOwner(lockPath);
    if (holder === "gone") continue;
    if (holder === "unreadable") {
      if (ageMs(lockPath) < FRESH_MS) {
        throw new PtychoInputError(target, `is locked by a run starting right now (${lockPath})`);
      }
    } else if (isAlive(holder, owner.host)) {
      throw new PtychoInputError(
        target,
        `in use by '${holder.command}' (pid ${holder.pid} on ${holder.host}, started ` +
          `${holder.started}); wait for it to end or choose another output` +
          (holder.host === owner.host ? "" : ` (if that process is gone, remove ${lockPath})`),
      );
    }
    if (attempt >= 3) throw new PtychoInputError(target, `cannot take over the lock ${lockPath}`);
    if (takeOver(lockPath, holder)) {
      note(
        holder === "unreadable"
          ? `note: ${target}: removed an unreadable stale lock ${lockPath}`
          : `note: ${target}: taking over the lock of '${holder.command}' (pid ${holder.pid}, ` +
            `started ${holder.started}), which is no longer running`,
      );
    }
  }
  return held(lockPath, owner.token, createdDir);
}

/** Creates the lock file with `owner`'s record; false if it already exists. */
function tryCreate(lockPath: string, owner: LockOwner, target: string): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(lockPath, { write: true, createNew: true });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw new PtychoInputError(target, `cannot create the lock ${lockPath} (${reason(e)})`);
  }
  try {
    const bytes = new TextEncoder().encode(JSON.stringify(owner) + "\n");
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
  } catch (e) {
    file.close();
    Deno.removeSync(lockPath);
    throw new PtychoInputError(target, `cannot write the lock ${lockPath} (${reason(e)})`);
  }
  file.close();
  return true;
}

/** The recorded owner, "gone" if the file vanished meanwhile, "unreadable" if not a record. */
function readOwner(lockPath: string): LockOwner | "gone" | "unreadable" {
  let text: string;
  try {
    text = Deno.readTextFileSync(lockPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "gone";
    throw e;
  }
  try {
    const o = JSON.parse(text);
    const ok = typeof o === "object" && o !== null && Number.isInteger(o.pid) &&
      typeof o.host === "string" && typeof o.command === "string" && typeof o.token === "string";
    return ok ? o as LockOwner : "unreadable";
  } catch {
    return "unreadable";
  }
}

/**
 * Whether the holder may still run: always when on another host or where /proc is missing;
 * otherwise when /proc/<pid> exists with the recorded start time.
 */
function isAlive(holder: LockOwner, host: string): boolean {
  if (holder.host !== host || processStart(Deno.pid) === null) return true;
  const start = processStart(holder.pid);
  return start !== null && (holder.procStart === null || start === holder.procStart);
}

/**
 * Moves the stale lock aside and checks it was the one judged stale; if another run replaced it
 * meanwhile, its lock is put back (a hard link, which never overwrites). True if taken over.
 */
function takeOver(lockPath: string, stale: LockOwner | "unreadable"): boolean {
  const aside = `${lockPath}.${crypto.randomUUID().slice(0, 8)}.stale`;
  try {
    Deno.renameSync(lockPath, aside);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  const moved = readOwner(aside);
  const same = stale === "unreadable"
    ? moved === "unreadable"
    : typeof moved === "object" && moved.token === stale.token;
  if (!same) {
    try {
      Deno.linkSync(aside, lockPath);
    } catch {
      // a third run already holds the lock; ours is refused on the next attempt either way
    }
  }
  Deno.removeSync(aside);
  return same;
}

function held(lockPath: string, token: string, createdDir: string | null): OutputLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    globalThis.removeEventListener("unload", release);
    const current = readOwner(lockPath);
    if (typeof current === "object" && current.token === token) Deno.removeSync(lockPath);
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

/**
 * Field 22 of /proc/<pid>/stat (start time in clock ticks); null where unavailable or for a zombie
 * (a killed process its parent has not reaped yet).
 */
function processStart(pid: number): string | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" ? null : fields[19] ?? null;
  } catch {
    return null;
  }
}

function hostname(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/hostname").trim() || "unknown";
  } catch {
    return "unknown";
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - (Deno.statSync(path).mtime?.getTime() ?? 0);
  } catch {
    return 0;
  }
}

function reason(e: unknown): string {
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.NotFound) return "no such directory";
  return e instanceof Error ? e.message.split("\n")[0] : String(e);
}
