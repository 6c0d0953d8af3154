/**
 * NumPy `.npz` archives (`np.savez`, `np.savez_compressed`): read one array at a time, or write a
 * set of arrays.
 *
 * Reading a file keeps only the central directory in memory; each `get` first inflates just the
 * member's `.npy` header and checks the size it declares against the member and the memory budget
 * (io/memory.ts), then reads and inflates that one member, so peak memory is about one array's
 * decompressed size, and a member that cannot fit is refused before it costs anything.
 */
import { PtychoInputError } from "./errors.ts";
import { type ByteParts, joinParts, openFileOrFail, writeFileAtomic } from "./files.ts";
import { checkMemory, formatBytes } from "./memory.ts";
import { checkNpyArray, decodeNpy, encodeNpyParts, type NpyArray } from "./npy.ts";
import { npyDataOffset, type NpyHeader, parseNpyHeader } from "./npy_header.ts";
import { fileSource, memorySource, type ZipEntry, ZipReader } from "./zip.ts";
import { encodeZip, storedZipParts } from "./zip_write.ts";

/** Arrays by name, as a Map or a plain record. */
export type NamedArrays = Map<string, NpyArray> | Record<string, NpyArray>;

/** An open `.npz` archive. Call {@link NpzReader.close} when done (file-backed readers). */
export class NpzReader {
  readonly #zip: ZipReader;
  readonly #members = new Map<string, ZipEntry>();
  readonly #file: Deno.FsFile | undefined;

  /** Use {@link openNpz} or {@link NpzReader.fromBytes}. */
  private constructor(zip: ZipReader, file?: Deno.FsFile) {
    this.#zip = zip;
    this.#file = file;
    for (const entry of zip.entries) {
      if (entry.name.endsWith("/")) continue;
      this.#members.set(entry.name.replace(/\.npy$/, ""), entry);
    }
  }

  /** Reads an archive held in memory; `file` names it in error messages. */
  static fromBytes(bytes: Uint8Array, file = "<npz>"): NpzReader {
    return new NpzReader(new ZipReader(memorySource(bytes), file));
  }

  /** Opens an archive on disk (reads only its directory now). */
  static open(path: string): NpzReader {
    const file = openFileOrFail(path);
    try {
      return new NpzReader(new ZipReader(fileSource(file), path), file);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** The archive's name in error messages. */
  get file(): string {
    return this.#zip.file;
  }

  /** Array names (member names without `.npy`), in archive order. */
  get keys(): string[] {
    return [...this.#members.keys()];
  }

  /** Whether the archive holds an array called `key`. */
  has(key: string): boolean {
    return this.#members.has(key);
  }

  #entry(key: string): ZipEntry {
    const entry = this.#members.get(key);
    if (!entry) throw new PtychoInputError(this.file, `missing key '${key}'`);
    return entry;
  }

  /**
   * The `.npy` header of array `key` (dtype, shape, ...), inflating only its first bytes; it is
   * refused if the data it declares is larger than the member holds.
   */
  header(key: string): NpyHeader {
    const entry = this.#entry(key);
    const label = `${this.file} (key '${key}')`;
    const preamble = this.#zip.readPrefix(entry, 12);
    const offset = npyDataOffset(preamble);
    const bytes = offset === null
      ? preamble
      : this.#zip.readPrefix(entry, Math.min(offset, 2 ** 21));
    const h = parseNpyHeader(bytes, label);
    const declared = h.dataOffset + h.size * h.itemSize;
    if (declared > entry.size) {
      throw new PtychoInputError(
        label,
        `header declares shape (${h.shape}) ${h.dtype}, ${formatBytes(declared)}, but the ` +
          `archive member holds ${formatBytes(entry.size)}`,
      );
    }
    return h;
  }

  /**
   * Reads and decodes the array `key` once its header has been checked against the member's size
   * and the memory budget; a missing key is a {@link PtychoInputError}.
   */
  get(key: string): NpyArray {
    const entry = this.#entry(key);
    const h = this.header(key);
    const label = `${this.file} (key '${key}')`;
    checkMemory(
      this.file,
      `key '${key}' (shape (${h.shape}) ${h.dtype})`,
      entry.size,
      "the array is too large to load here",
    );
    return decodeNpy(this.#zip.read(entry), label);
  }

  /** Decodes every array. */
  all(): Map<string, NpyArray> {
    return new Map(this.keys.map((k) => [k, this.get(k)]));
  }

  /** Releases the file handle (no-op for in-memory archives). */
  close(): void {
    this.#file?.close();
  }
}

/** Opens a `.npz` file for reading one array at a time. */
export function openNpz(path: string): NpzReader {
  return NpzReader.open(path);
}

/** Reads every array of a `.npz` file. */
export function readNpzFile(path: string): Map<string, NpyArray> {
  const npz = openNpz(path);
  try {
    return npz.all();
  } finally {
    npz.close();
  }
}

/** Encodes arrays as a `.npz` archive (`compress` = savez_compressed, else savez). */
export function encodeNpz(arrays: NamedArrays, options: { compress?: boolean } = {}): Uint8Array {
  if (!options.compress) return joinParts(encodeNpzParts(arrays));
  const members = new Map<string, Uint8Array>();
  for (const [name, parts] of npyMembers(arrays)) members.set(name, joinParts(parts));
  return encodeZip(members, true);
}

/**
 * An uncompressed `.npz` (savez) as {@link ByteParts}: the arrays' data is not copied, so it must
 * not change until the parts are written.
 */
export function encodeNpzParts(arrays: NamedArrays): Uint8Array[] {
  return storedZipParts(npyMembers(arrays));
}

function npyMembers(arrays: NamedArrays): Map<string, ByteParts> {
  const entries = arrays instanceof Map ? [...arrays] : Object.entries(arrays);
  const members = new Map<string, ByteParts>();
  for (const [name, array] of entries) {
    if (name === "" || name.includes("\\")) throw new RangeError(`bad array name '${name}'`);
    checkNpyArray(array, name);
    members.set(`${name}.npy`, encodeNpyParts(array));
  }
  return members;
}

/** Writes a `.npz` file atomically. */
export function writeNpzFile(
  path: string,
  arrays: NamedArrays,
  options: { compress?: boolean } = {},
): void {
  writeFileAtomic(path, encodeNpz(arrays, options));
}
