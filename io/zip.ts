/**
 * Zip archives (what `.npz` files and model bundles are): a reader that loads one entry at a time
 * from a file or from memory (the writer is io/zip_write.ts).
 *
 * The reader parses the central directory itself (zip64 included, as NumPy writes it), refuses
 * sizes the archive cannot hold or the memory budget (io/memory.ts) cannot afford before
 * allocating, inflates with `fflate` in small steps that stop as soon as the output passes the
 * declared size (so a lying header costs nothing), can inflate just an entry's first bytes, and
 * checks every entry's CRC-32. Only stored and deflated entries exist in NumPy files; others are
 * refused. Where a native decoder is installed ({@link setNativeInflate}: the command line's Node
 * zlib), it inflates the prefixes and the entries up to 64 MiB compressed and 2 GiB inflated (in
 * one call), with the same size limits and the same errors.
 */
import { Inflate } from "fflate";
import { crc32 } from "./crc32.ts";
import { PtychoInputError } from "./errors.ts";
import { checkMemory } from "./memory.ts";

/** Random-access bytes: a file on disk or an array in memory. */
export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /** Returns `length` bytes starting at `offset` (a fresh, aligned buffer for file sources). */
  read(offset: number, length: number): Uint8Array;
}

/** A {@link ByteSource} over bytes already in memory. */
export function memorySource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

/** A {@link ByteSource} over an open file (read with positioned, synchronous reads). */
export function fileSource(file: Deno.FsFile): ByteSource {
  const size = file.statSync().size;
  return {
    size,
    read(offset, length) {
      const out = new Uint8Array(length);
      file.seekSync(offset, Deno.SeekMode.Start);
      let done = 0;
      while (done < length) {
        const n = file.readSync(out.subarray(done));
        if (n === null || n === 0) throw new RangeError("unexpected end of file");
        done += n;
      }
      return out;
    },
  };
}

/** One archive member as listed in the central directory. */
export interface ZipEntry {
  /** Path inside the archive. */
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  /** CRC-32 of the uncompressed bytes. */
  crc32: number;
  /** Bytes stored in the archive. */
  compressedSize: number;
  /** Bytes after decompression. */
  size: number;
  /** Where the member's local header starts. */
  localHeaderOffset: number;
}

/** Most bytes deflate can expand one compressed byte into (1032:1), plus slack for headers. */
const MAX_DEFLATE_RATIO = 1032;

/** Compressed bytes inflated per step: one step outputs at most ~1032× this (16 MiB). */
const INFLATE_STEP = 16 * 1024;

/** Compressed bytes per step when only a prefix is wanted (at most ~0.5 MiB of output). */
const PREFIX_STEP = 512;

/** Most bytes one native prefix inflation may produce (unless more are wanted). */
const NATIVE_PREFIX_LIMIT = 512 * 1024;

/**
 * A native raw-deflate decoder, faster than fflate's stepwise inflation (the command line
 * installs Node's zlib, io/zlib_inflate.ts).
 */
export interface NativeInflate {
  /**
   * Inflates a whole stream and returns its bytes, or null as soon as they would exceed `size`
   * (never holding much more than `size` bytes); throws on corrupt data.
   */
  whole(compressed: Uint8Array, size: number): Uint8Array | null;
  /**
   * Inflates what the first bytes of a stream give (`compressed` may end mid-stream), or null as
   * soon as that is more than `limit` bytes; throws on corrupt data.
   */
  partial(compressed: Uint8Array, limit: number): Uint8Array | null;
}

let native: NativeInflate | null = null;

/**
 * Compressed bytes up to which an entry is inflated in one call of a native decoder, and its
 * inflated bytes below which (zlib counts its output buffer in 32 bits).
 */
const WHOLE_INFLATE_MAX = 64 * 1024 * 1024;
const WHOLE_INFLATE_MAX_SIZE = 2 ** 31;

/**
 * Installs the native decoder {@link ZipReader} uses for prefixes and for entries of up to 64 MiB
 * compressed and under 2 GiB inflated (it reads their compressed bytes at once; larger ones keep
 * streaming through fflate in small steps), with the same size limits and errors; null goes back
 * to fflate for all.
 */
export function setNativeInflate(inflate: NativeInflate | null): void {
  native = inflate;
}

/** Reads the central directory of a zip archive and then any entry on demand. */
export class ZipReader {
  /** Every member, in central-directory order. */
  readonly entries: ZipEntry[];

  /** Parses the directory; `file` names the archive in error messages. */
  constructor(
    /** Where the archive bytes come from. */
    readonly source: ByteSource,
    /** The archive's name in error messages. */
    readonly file: string,
  ) {
    this.entries = this.readDirectory();
  }

  /** Throws a {@link PtychoInputError} naming the archive. */
  private fail(problem: string): never {
    throw new PtychoInputError(this.file, problem);
  }

  /** Reads `length` bytes at `offset`, refusing ranges outside the archive. */
  private bytesAt(offset: number, length: number): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.source.size) {
      this.fail("truncated or corrupt zip archive");
    }
    return this.source.read(offset, length);
  }

  /** Finds the end-of-directory record (zip64 aware) and parses every directory entry. */
  private readDirectory(): ZipEntry[] {
    const size = this.source.size;
    if (size < 22) this.fail("not a zip archive (too short)");
    const tailLength = Math.min(size, 22 + 65535);
    const tail = this.bytesAt(size - tailLength, tailLength);
    const tv = view(tail);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tv.getUint32(i, true) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) this.fail("not a zip archive (no end-of-directory record)");
    let count = tv.getUint16(eocd + 10, true);
    let dirSize = tv.getUint32(eocd + 12, true);
    let dirOffset = tv.getUint32(eocd + 16, true);
    if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
      const locator = eocd - 20;
      if (locator < 0 || tv.getUint32(locator, true) !== 0x07064b50) {
        this.fail("zip64 archive without a zip64 locator");
      }
      const z = view(this.bytesAt(u64(tv, locator + 8, this), 56));
      if (z.getUint32(0, true) !== 0x06064b50) this.fail("corrupt zip64 end-of-directory record");
      count = u64(z, 32, this);
      dirSize = u64(z, 40, this);
      dirOffset = u64(z, 48, this);
    }
    if (count * 46 > dirSize) this.fail("corrupt zip directory (entry count)");
    const dir = this.bytesAt(dirOffset, dirSize);
    const dv = view(dir);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > dir.length || dv.getUint32(p, true) !== 0x02014b50) {
        this.fail("corrupt zip directory entry");
      }
      const flags = dv.getUint16(p + 8, true);
      if (flags & 1) this.fail("encrypted zip entries are not supported");
      const nameLength = dv.getUint16(p + 28, true);
      const extraLength = dv.getUint16(p + 30, true);
      const commentLength = dv.getUint16(p + 32, true);
      const end = p + 46 + nameLength + extraLength + commentLength;
      if (end > dir.length) this.fail("corrupt zip directory entry");
      const entry: ZipEntry = {
        name: new TextDecoder().decode(dir.subarray(p + 46, p + 46 + nameLength)),
        method: dv.getUint16(p + 10, true),
        crc32: dv.getUint32(p + 16, true),
        compressedSize: dv.getUint32(p + 20, true),
        size: dv.getUint32(p + 24, true),
        localHeaderOffset: dv.getUint32(p + 42, true),
      };
      this.applyZip64(entry, dir.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength));
      entries.push(entry);
      p = end;
    }
    return entries;
  }

  /** Replaces 0xFFFFFFFF fields with their values from the zip64 extra field. */
  private applyZip64(entry: ZipEntry, extra: Uint8Array): void {
    const fields = ["size", "compressedSize", "localHeaderOffset"] as const;
    if (!fields.some((f) => entry[f] === 0xffffffff)) return;
    const ev = view(extra);
    for (let q = 0; q + 4 <= extra.length;) {
      const id = ev.getUint16(q, true);
      const length = ev.getUint16(q + 2, true);
      if (id === 0x0001) {
        let r = q + 4;
        for (const f of fields) {
          if (entry[f] !== 0xffffffff) continue;
          if (r + 8 > q + 4 + length || r + 8 > extra.length) this.fail("corrupt zip64 field");
          entry[f] = u64(ev, r, this);
          r += 8;
        }
        return;
      }
      q += 4 + length;
    }
    this.fail("zip entry needs a zip64 field it does not have");
  }

  /** The entry called `name`, if present. */
  find(name: string): ZipEntry | undefined {
    return this.entries.find((e) => e.name === name);
  }

  /** Where `entry`'s data starts, after checking its local header and extent. */
  private dataStart(entry: ZipEntry): number {
    const label = `entry '${entry.name}'`;
    const local = this.bytesAt(entry.localHeaderOffset, 30);
    const lv = view(local);
    if (lv.getUint32(0, true) !== 0x04034b50) this.fail(`${label}: bad local header`);
    const start = entry.localHeaderOffset + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
    if (start + entry.compressedSize > this.source.size) this.fail(`${label}: truncated data`);
    if (entry.method === 0 && entry.compressedSize !== entry.size) {
      this.fail(`${label}: stored sizes disagree`);
    }
    if (entry.method === 8 && entry.size > entry.compressedSize * MAX_DEFLATE_RATIO + 1024) {
      this.fail(`${label}: claims ${entry.size} bytes, more than its compressed data can hold`);
    }
    if (entry.method !== 0 && entry.method !== 8) {
      this.fail(`${label}: compression method ${entry.method} is not supported`);
    }
    return start;
  }

  /**
   * Inflates `entry` `step` compressed bytes at a time, handing each piece of output to `sink`
   * until it returns false; fails as soon as the output passes the declared size. Returns the
   * bytes produced.
   */
  private inflate(
    entry: ZipEntry,
    start: number,
    step: number,
    sink: (piece: Uint8Array) => boolean,
  ): number {
    const label = `entry '${entry.name}'`;
    let produced = 0;
    let more = true;
    const inflater = new Inflate((piece) => {
      if (!more) return;
      produced += piece.length;
      if (produced > entry.size) {
        this.fail(`${label}: decompresses to more than its declared ${entry.size} bytes`);
      }
      more = sink(piece);
    });
    for (let at = 0; at < entry.compressedSize && more; at += step) {
      const length = Math.min(step, entry.compressedSize - at);
      const compressed = this.bytesAt(start + at, length);
      try {
        inflater.push(compressed, at + length === entry.compressedSize);
      } catch (e) {
        if (e instanceof PtychoInputError) throw e;
        this.fail(`${label}: corrupt deflate data (${e instanceof Error ? e.message : e})`);
      }
    }
    return produced;
  }

  /**
   * The first `length` bytes of an entry (fewer if it is shorter), inflating no more than needed;
   * not CRC-checked, as the rest is not read.
   */
  readPrefix(entry: ZipEntry, length: number): Uint8Array {
    const start = this.dataStart(entry);
    const want = Math.min(length, entry.size);
    if (entry.method === 0) return this.bytesAt(start, want);
    const fast = native === null ? null : this.prefixNative(entry, start, want, native);
    if (fast !== null) return fast;
    const out = new Uint8Array(want);
    let at = 0;
    this.inflate(entry, start, PREFIX_STEP, (piece) => {
      out.set(piece.subarray(0, want - at), at);
      at = Math.min(want, at + piece.length);
      return at < want;
    });
    return out.subarray(0, at);
  }

  /** Runs a native decoder on `entry`'s data, failing as the stepwise inflation does. */
  private nativeInflate<T>(entry: ZipEntry, inflate: () => T): T {
    try {
      return inflate();
    } catch (e) {
      this.fail(
        `entry '${entry.name}': corrupt deflate data (${e instanceof Error ? e.message : e})`,
      );
    }
  }

  /** Inflates a whole entry in one call of the native decoder. */
  private inflateWhole(entry: ZipEntry, start: number, decoder: NativeInflate): Uint8Array {
    const label = `entry '${entry.name}'`;
    const compressed = this.bytesAt(start, entry.compressedSize);
    const data = this.nativeInflate(entry, () => decoder.whole(compressed, entry.size));
    if (data === null) {
      this.fail(`${label}: decompresses to more than its declared ${entry.size} bytes`);
    }
    if (data.length !== entry.size) this.fail(`${label}: decompressed size is wrong`);
    return data;
  }

  /**
   * The first `want` bytes of a deflated entry by the native decoder, from compressed prefixes
   * growing 8× at a time, each inflating to at most max(`want`, 512 KiB) bytes; null when one
   * would inflate to more (only a crafted stream does that: it is left to the stepwise path).
   */
  private prefixNative(
    entry: ZipEntry,
    start: number,
    want: number,
    decoder: NativeInflate,
  ): Uint8Array | null {
    const limit = Math.max(want, NATIVE_PREFIX_LIMIT);
    for (let k = PREFIX_STEP;; k *= 8) {
      const n = Math.min(k, entry.compressedSize);
      const compressed = this.bytesAt(start, n);
      const out = this.nativeInflate(entry, () => decoder.partial(compressed, limit));
      if (out === null) return null;
      if (out.length > entry.size) {
        this.fail(
          `entry '${entry.name}': decompresses to more than its declared ${entry.size} bytes`,
        );
      }
      if (out.length >= want || n === entry.compressedSize) return out.subarray(0, want);
    }
  }

  /**
   * Reads, decompresses and CRC-checks one entry, after checking its size against the memory
   * budget; the output buffer is the declared size, and inflation stops once it would overflow.
   */
  read(entry: ZipEntry): Uint8Array {
    const label = `entry '${entry.name}'`;
    const start = this.dataStart(entry);
    checkMemory(this.file, label, entry.size, "the archive is too large to read here");
    let data: Uint8Array;
    if (entry.method === 0) {
      data = this.bytesAt(start, entry.size);
    } else if (
      native !== null && entry.compressedSize <= WHOLE_INFLATE_MAX &&
      entry.size < WHOLE_INFLATE_MAX_SIZE
    ) {
      data = this.inflateWhole(entry, start, native);
    } else {
      data = new Uint8Array(entry.size);
      let at = 0;
      const produced = this.inflate(entry, start, INFLATE_STEP, (piece) => {
        data.set(piece, at);
        at += piece.length;
        return true;
      });
      if (produced !== entry.size) this.fail(`${label}: decompressed size is wrong`);
    }
    if (crc32(data) !== entry.crc32) this.fail(`${label}: CRC-32 mismatch (corrupt data)`);
    return data;
  }
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads a little-endian u64 that must fit a safe integer. */
function u64(v: DataView, offset: number, reader: { file: string }): number {
  const value = v.getUint32(offset, true) + v.getUint32(offset + 4, true) * 2 ** 32;
  if (!Number.isSafeInteger(value)) throw new PtychoInputError(reader.file, "corrupt zip64 size");
  return value;
}
