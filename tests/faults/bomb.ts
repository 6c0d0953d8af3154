/**
 * Deflate bombs for the memory tests: a dataset `.npz` whose `diffraction` member is a `.npy`
 * header followed by gigabytes of zeros, deflated to a few tens of MB. The deflate stream is
 * written directly (fixed Huffman codes, each 258-byte run of zeros one 13-bit match), so making
 * a 3 GB bomb takes a fraction of a second and no memory beyond the compressed bytes.
 */
import { formatNpyHeader } from "../../io/npy_header.ts";
import { crc32 } from "../../io/crc32.ts";

/** Packs bits least-significant first, as deflate does. */
class BitWriter {
  bytes: Uint8Array;
  length = 0;
  #acc = 0;
  #bits = 0;
  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }
  bits(value: number, count: number): void {
    this.#acc |= value << this.#bits;
    this.#bits += count;
    while (this.#bits >= 8) {
      this.bytes[this.length++] = this.#acc & 0xff;
      this.#acc >>>= 8;
      this.#bits -= 8;
    }
  }
  /** A Huffman code: most significant bit first. */
  code(value: number, count: number): void {
    let reversed = 0;
    for (let i = 0; i < count; i++) reversed |= ((value >> i) & 1) << (count - 1 - i);
    this.bits(reversed, count);
  }
  finish(): Uint8Array {
    if (this.#bits > 0) this.bits(0, 8 - this.#bits);
    return this.bytes.subarray(0, this.length);
  }
}

/** A fixed-Huffman literal (RFC 1951 §3.2.6). */
function literal(w: BitWriter, byte: number): void {
  if (byte < 144) w.code(0x30 + byte, 8);
  else w.code(0x190 + byte - 144, 9);
}

/** Raw deflate of `prefix` followed by `zeros` zero bytes. */
export function deflateZeros(prefix: Uint8Array, zeros: number): Uint8Array {
  const matches = Math.floor(Math.max(0, zeros - 1) / 258);
  const w = new BitWriter(prefix.length * 2 + Math.ceil((matches * 13) / 8) + 600);
  w.bits(1, 1); // final block
  w.bits(1, 2); // fixed Huffman codes
  for (const b of prefix) literal(w, b);
  if (zeros > 0) literal(w, 0);
  // Length code 285 (258 bytes, 8 bits 11000101) then distance code 0 (1 byte back, 5 bits 0),
  // bit-reversed as written: one 13-bit unit.
  for (let i = 0; i < matches; i++) w.bits(0b10100011, 13);
  for (let i = 1 + matches * 258; i < zeros; i++) literal(w, 0);
  w.code(0, 7); // end of block
  return w.finish();
}

/** One zip member: its name, stored or raw-deflated data, and what the directory declares. */
interface Member {
  name: string;
  data: Uint8Array;
  deflated: boolean;
  size: number;
  crc: number;
}

function stored(name: string, bytes: Uint8Array): Member {
  return { name, data: bytes, deflated: false, size: bytes.length, crc: crc32(bytes) };
}

/** A zip archive of the members (no zip64: every size must stay under 4 GiB). */
function zipArchive(members: Member[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const name = new TextEncoder().encode(m.name);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, m.deflated ? 8 : 0, true);
    lv.setUint32(14, m.crc, true);
    lv.setUint32(18, m.data.length, true);
    lv.setUint32(22, m.size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const entry = new Uint8Array(46 + name.length);
    const cv = new DataView(entry.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, m.deflated ? 8 : 0, true);
    cv.setUint32(16, m.crc, true);
    cv.setUint32(20, m.data.length, true);
    cv.setUint32(24, m.size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    entry.set(name, 46);
    parts.push(local, m.data);
    central.push(entry);
    offset += local.length + m.data.length;
  }
  const dirSize = central.reduce((s, c) => s + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, members.length, true);
  ev.setUint16(10, members.length, true);
  ev.setUint32(12, dirSize, true);
  ev.setUint32(16, offset, true);
  const all = [...parts, ...central, end];
  const out = new Uint8Array(all.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of all) out.set(p, at), at += p.length;
  return out;
}

function npy(descr: string, shape: number[], data: Uint8Array): Uint8Array {
  const header = formatNpyHeader(descr, shape);
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

/** How the bomb is built. */
export interface BombOptions {
  /** Shape the diffraction header declares (patterns, N, N), f4. */
  declared: [number, number, number];
  /** Zero bytes the deflate stream really holds after the header. */
  zeros: number;
  /** Uncompressed size the zip directory declares (default: header + zeros, the honest one). */
  zipSize?: number;
  /** Length of xcoords/ycoords (default: the declared pattern count). */
  positions?: number;
}

/** Writes a bomb dataset to `path`; returns its size on disk. */
export function writeBomb(path: string, o: BombOptions): number {
  const [count, n] = o.declared;
  const header = formatNpyHeader("<f4", o.declared);
  const positions = o.positions ?? count;
  const coords = npy("<f8", [positions], new Uint8Array(positions * 8));
  const probe = new Float32Array(2 * n * n).fill(1);
  const bytes = zipArchive([
    stored("xcoords.npy", coords),
    stored("ycoords.npy", coords),
    stored("probeGuess.npy", npy("<c8", [n, n], new Uint8Array(probe.buffer))),
    {
      name: "diffraction.npy",
      data: deflateZeros(header, o.zeros),
      deflated: true,
      size: o.zipSize ?? header.length + o.zeros,
      crc: 0, // never reached: the reader must refuse the member before inflating all of it
    },
  ]);
  Deno.writeFileSync(path, bytes);
  return bytes.length;
}
