/**
 * Writing zip archives: deflated ones through fflate, stored ones (npz files, model bundles,
 * checkpoints) by this module in one pass, as parts that leave the members' bytes uncopied.
 */
import { zipSync } from "fflate";
import { type ByteParts, joinParts, partsLength } from "./files.ts";
import { crc32 } from "./crc32.ts";

/**
 * Builds a zip archive; `compress` deflates the members (level 6), otherwise they are stored,
 * by {@link encodeStoredZip}.
 */
export function encodeZip(members: Map<string, Uint8Array>, compress: boolean): Uint8Array {
  if (!compress) return encodeStoredZip(members);
  const options = { level: 6, mtime: new Date(2000, 0, 1) } as const;
  const files: Record<string, [Uint8Array, typeof options]> = {};
  for (const [name, bytes] of members) files[name] = [bytes, options];
  return zipSync(files);
}

/** MS-DOS date of every member's modification time: 2000-01-01 (time 00:00). */
const DOS_DATE = ((2000 - 1980) << 9) | (1 << 5) | 1;

/** Largest size or offset a zip without zip64 records can hold. */
const ZIP32_LIMIT = 0xfffffffe;

/** A zip archive of stored members, in one buffer ({@link storedZipParts}). */
export function encodeStoredZip(members: Map<string, Uint8Array | ByteParts>): Uint8Array {
  return joinParts(storedZipParts(members));
}

/**
 * A zip archive of stored (uncompressed) members as {@link ByteParts}: a local header and the
 * member's own parts (not copied) per member, then the central directory; the CRCs are the
 * slice-by-8 {@link crc32}. Names that are not ASCII are flagged UTF-8. Archives past 4 GiB
 * (which would need zip64) are refused.
 */
export function storedZipParts(members: Map<string, Uint8Array | ByteParts>): Uint8Array[] {
  const entries = [...members].map(([name, data]) => {
    const parts = data instanceof Uint8Array ? [data] : data;
    const nameBytes = new TextEncoder().encode(name);
    const flags = nameBytes.some((b) => b > 0x7f) ? 0x0800 : 0;
    const crc = parts.reduce((c, part) => crc32(part, c), 0);
    return { nameBytes, flags, parts, size: partsLength(parts), crc, offset: 0 };
  });
  let local = 0, directorySize = 0;
  for (const e of entries) {
    e.offset = local;
    local += 30 + e.nameBytes.length + e.size;
    directorySize += 46 + e.nameBytes.length;
  }
  const size = local + directorySize + 22;
  if (size > ZIP32_LIMIT || entries.length > 0xffff) {
    throw new RangeError(`a stored zip of ${size} bytes in ${entries.length} members needs zip64`);
  }
  const common = (v: DataView, e: (typeof entries)[number], at: number) => {
    v.setUint16(at, 20, true);
    v.setUint16(at + 2, e.flags, true);
    v.setUint16(at + 4, 0, true);
    v.setUint16(at + 6, 0, true);
    v.setUint16(at + 8, DOS_DATE, true);
    v.setUint32(at + 10, e.crc, true);
    v.setUint32(at + 14, e.size, true);
    v.setUint32(at + 18, e.size, true);
    v.setUint16(at + 22, e.nameBytes.length, true);
  };
  const out: Uint8Array[] = [];
  for (const e of entries) {
    const header = new Uint8Array(30 + e.nameBytes.length);
    const v = new DataView(header.buffer);
    v.setUint32(0, 0x04034b50, true);
    common(v, e, 4);
    header.set(e.nameBytes, 30);
    out.push(header, ...e.parts);
  }
  const tail = new Uint8Array(directorySize + 22);
  const v = new DataView(tail.buffer);
  let p = 0;
  for (const e of entries) {
    v.setUint32(p, 0x02014b50, true);
    v.setUint16(p + 4, 20, true);
    common(v, e, p + 6);
    v.setUint32(p + 42, e.offset, true);
    tail.set(e.nameBytes, p + 46);
    p += 46 + e.nameBytes.length;
  }
  v.setUint32(p, 0x06054b50, true);
  v.setUint16(p + 8, entries.length, true);
  v.setUint16(p + 10, entries.length, true);
  v.setUint32(p + 12, directorySize, true);
  v.setUint32(p + 16, local, true);
  out.push(tail);
  return out;
}
