/**
 * File reading and atomic writing shared by the io modules.
 */
import { PtychoInputError } from "./errors.ts";

/**
 * Bytes given as consecutive pieces: an encoder can hand large arrays over as they are, and a
 * writer writes the pieces in order, without first joining them into one buffer.
 */
export type ByteParts = readonly Uint8Array[];

/** Total length of `parts`. */
export function partsLength(parts: ByteParts): number {
  return parts.reduce((n, p) => n + p.length, 0);
}

/** Joins `parts` into one buffer (no copy when there is one part). */
export function joinParts(parts: ByteParts): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(partsLength(parts));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reads a whole file; a missing or unreadable file is a {@link PtychoInputError}. */
export function readFileOrFail(path: string): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (e) {
    throw new PtychoInputError(path, `cannot read: ${describeFsError(e)}`, { cause: e });
  }
}

/** Opens a file for reading; a missing or unreadable file is a {@link PtychoInputError}. */
export function openFileOrFail(path: string): Deno.FsFile {
  try {
    return Deno.openSync(path, { read: true });
  } catch (e) {
    throw new PtychoInputError(path, `cannot open: ${describeFsError(e)}`, { cause: e });
  }
}

/** Removes a file; one that is already gone is fine. */
export function removeIfPresent(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** A short reason for a file-system error ("not found", "permission denied", ...). */
function describeFsError(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  return e instanceof Error ? e.message.split("\n")[0] : String(e);
}

/** Names of writeFileAtomic's temporary files: `.<name>.<8 hex>.tmp`. */
const TEMP_NAME = /^\.(.+)\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes the temporary files that atomic writes killed midway left in `dir` and its immediate
 * subfolders (for a file `only`, just its own); returns how many. Call it only while holding the
 * folder's lock (io/lock.ts), so that no live write's temporary file is taken for a leftover.
 */
export function removeLeftoverTemps(dir: string, only?: string): number {
  let removed = 0;
  const sweep = (folder: string, depth: number) => {
    for (const entry of Deno.readDirSync(folder)) {
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory && depth > 0) sweep(path, depth - 1);
      const m = TEMP_NAME.exec(entry.name);
      if (entry.isFile && m !== null && (only === undefined || m[1] === only)) {
        removeIfPresent(path);
        removed++;
      }
    }
  };
  sweep(dir, only === undefined ? 1 : 0);
  return removed;
}

/** Error codes of a folder fsync the platform or file system does not support (ignored). */
const UNSUPPORTED_SYNC = new Set(["EINVAL", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

/**
 * Flushes a folder's entries to disk (fsync on the folder), so a rename in it survives a power
 * loss. Where folders cannot be synced (Windows, file systems answering EINVAL/ENOTSUP) it does
 * nothing; any other failure is thrown.
 */
export function syncDir(dir: string): void {
  if (Deno.build.os === "windows") return;
  const handle = Deno.openSync(dir === "" ? "." : dir, { read: true });
  try {
    handle.syncSync();
  } catch (e) {
    if (!UNSUPPORTED_SYNC.has((e as { code?: string }).code ?? "")) throw e;
  } finally {
    handle.close();
  }
}

/**
 * Writes `bytes` (one buffer, or {@link ByteParts} written in order) to `path` atomically: a
 * temporary file in the same folder is written, flushed to disk (fsync) and renamed over the
 * target, and the folder is flushed too, so readers see the old file or the new one, never a
 * partial one, also after a crash. The temporary file is removed if anything fails.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | ByteParts): void {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash + 1) : "";
  const base = path.slice(slash + 1);
  const temp = `${dir}.${base}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync(temp, { write: true, createNew: true });
    for (const part of bytes instanceof Uint8Array ? [bytes] : bytes) {
      let written = 0;
      while (written < part.length) written += file.writeSync(part.subarray(written));
    }
    file.syncSync();
    file.close();
    file = undefined;
    Deno.renameSync(temp, path);
  } catch (e) {
    file?.close();
    try {
      Deno.removeSync(temp);
    } catch {
      // the temporary file was never created or is already gone
    }
    // Every failure here is the file system's (full disk, read-only, permissions): bad output,
    // one line naming the file, exit 2.
    throw new PtychoInputError(path, `cannot write: ${describeFsError(e)}`, { cause: e });
  }
  syncDir(dir);
}
