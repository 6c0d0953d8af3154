/**
 * The `.npy` header: magic, version, and the Python-literal dict
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
 *
 * The dict is read by a small literal parser that understands only strings, booleans, integers and
 * tuples/lists of those; nothing is ever evaluated. Object (pickled) arrays are refused.
 */
import { PtychoInputError } from "./errors.ts";

/** Element types this project reads and writes (`U` = fixed-width unicode string). */
export type NpyDtype =
  | "f4"
  | "f8"
  | "c8"
  | "c16"
  | "i1"
  | "i2"
  | "i4"
  | "i8"
  | "u1"
  | "u2"
  | "u4"
  | "u8"
  | "b1"
  | "U";

/** A parsed header: element type, byte order, layout and where the data starts. */
export interface NpyHeader {
  /** Format major version (1, 2 or 3). */
  version: number;
  /** Element type. */
  dtype: NpyDtype;
  /** Bytes per element (for `U`, 4 × the character count). */
  itemSize: number;
  /** Byte order of the stored data. */
  littleEndian: boolean;
  /** Whether the stored data is in Fortran (column-major) order. */
  fortranOrder: boolean;
  /** Dimensions; [] for a 0-d array. */
  shape: number[];
  /** Number of elements (product of the shape). */
  size: number;
  /** Byte offset of the data from the start of the file. */
  dataOffset: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const MAX_HEADER_BYTES = 1 << 20;
const MAX_NESTING = 4;

const FIXED_SIZES: Record<string, number> = {
  f4: 4,
  f8: 8,
  c8: 8,
  c16: 16,
  i1: 1,
  i2: 2,
  i4: 4,
  i8: 8,
  u1: 1,
  u2: 2,
  u4: 4,
  u8: 8,
  b1: 1,
};

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

/** Recursive-descent parser for the Python literals that appear in a `.npy` header. */
class LiteralParser {
  pos = 0;
  constructor(readonly text: string, readonly fail: (problem: string) => never) {}

  parse(): PyValue {
    const value = this.value(0);
    this.skipSpace();
    if (this.pos !== this.text.length) this.fail("unexpected text after the header dict");
    return value;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  private value(depth: number): PyValue {
    if (depth > MAX_NESTING) this.fail("header nests too deeply");
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === "{") return this.dict(depth);
    if (c === "(" || c === "[") return this.sequence(depth, c === "(" ? ")" : "]");
    if (c === "'" || c === '"') return this.string();
    const word = /^(True|False|None|-?\d+L?)/.exec(this.text.slice(this.pos, this.pos + 32));
    if (!word) {
      this.fail(`cannot parse the header near '${this.text.slice(this.pos, this.pos + 12)}'`);
    }
    this.pos += word[0].length;
    if (word[0] === "True") return true;
    if (word[0] === "False") return false;
    if (word[0] === "None") return null;
    return Number(word[0].replace("L", ""));
  }

  private string(): string {
    const quote = this.text[this.pos++];
    const end = this.text.indexOf(quote, this.pos);
    if (end < 0) this.fail("unterminated string in the header");
    const s = this.text.slice(this.pos, end);
    if (s.includes("\\")) this.fail("escaped characters in a header string are not supported");
    this.pos = end + 1;
    return s;
  }

  private sequence(depth: number, close: string): PyValue[] {
    this.pos++;
    const items: PyValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) break;
      items.push(this.value(depth + 1));
      this.skipSpace();
      if (this.text[this.pos] === ",") this.pos++;
      else if (this.text[this.pos] !== close) this.fail(`expected ',' or '${close}' in the header`);
    }
    this.pos++;
    return items;
  }

  private dict(depth: number): Map<string, PyValue> {
    this.pos++;
    const entries = new Map<string, PyValue>();
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === "}") break;
      const key = this.value(depth + 1);
      if (typeof key !== "string") this.fail("header dict keys must be strings");
      this.skipSpace();
      if (this.text[this.pos++] !== ":") this.fail("expected ':' in the header dict");
      entries.set(key, this.value(depth + 1));
      this.skipSpace();
      if (this.text[this.pos] === ",") this.pos++;
      else if (this.text[this.pos] !== "}") this.fail("expected ',' or '}' in the header dict");
    }
    this.pos++;
    return entries;
  }
}

/** Reads a NumPy type string such as `<f4`, `>c16`, `|b1` or `<U12`. */
function parseDescr(
  descr: PyValue,
  fail: (problem: string) => never,
): { dtype: NpyDtype; itemSize: number; littleEndian: boolean } {
  if (typeof descr !== "string") fail("structured (record) dtypes are not supported");
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)$/.exec(descr);
  if (!m) fail(`unsupported dtype '${descr}'`);
  const [, order, kind, digits] = m;
  if (kind === "O") fail("object arrays need pickle, which is refused (never executed)");
  const littleEndian = order !== ">";
  if (kind === "U") {
    const chars = Number(digits || "0");
    if (!Number.isSafeInteger(chars) || chars < 1) fail(`bad string dtype '${descr}'`);
    return { dtype: "U", itemSize: 4 * chars, littleEndian };
  }
  const code = kind === "?" ? "b1" : kind + digits;
  const itemSize = FIXED_SIZES[code];
  if (itemSize === undefined) fail(`unsupported dtype '${descr}'`);
  return { dtype: code as NpyDtype, itemSize, littleEndian };
}

/** Multiplies the dimensions, refusing negative, fractional or overflowing sizes. */
export function shapeSize(shape: readonly number[], fail: (problem: string) => never): number {
  let size = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) fail(`bad dimension ${d} in shape (${shape})`);
    size *= d;
    if (!Number.isSafeInteger(size)) fail(`shape (${shape}) is too large`);
  }
  return size;
}

/**
 * Where the data of a `.npy` file starts (magic + header length), from its first 12 bytes; null
 * if they are not a `.npy` preamble (then {@link parseNpyHeader} says what is wrong).
 */
export function npyDataOffset(prefix: Uint8Array): number | null {
  if (prefix.length < 12 || MAGIC.some((b, i) => prefix[i] !== b)) return null;
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (prefix[6] === 1) return 10 + view.getUint16(8, true);
  if (prefix[6] === 2 || prefix[6] === 3) return 12 + view.getUint32(8, true);
  return null;
}

/** Parses the magic, version and header dict at the start of `bytes`. */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  const fail: (problem: string) => never = (problem) => {
    throw new PtychoInputError(file, problem);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    fail("not a .npy file (bad magic)");
  }
  const version = bytes[6];
  if (version < 1 || version > 3 || bytes[7] !== 0) {
    fail(`unsupported .npy format version ${bytes[6]}.${bytes[7]}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = version === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) fail("truncated .npy header");
  const headerLength = version === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes;
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} is implausibly large`);
  if (start + headerLength > bytes.length) fail("truncated .npy header");
  const raw = bytes.subarray(start, start + headerLength);
  const text = new TextDecoder(version === 3 ? "utf-8" : "latin1").decode(raw);

  const dict = new LiteralParser(text, fail).parse();
  if (!(dict instanceof Map)) fail("header is not a dict");
  const keys = [...dict.keys()].sort().join(",");
  if (keys !== "descr,fortran_order,shape") fail(`header has keys {${keys}}`);
  const { dtype, itemSize, littleEndian } = parseDescr(dict.get("descr")!, fail);
  const fortranOrder = dict.get("fortran_order");
  if (typeof fortranOrder !== "boolean") fail("header 'fortran_order' is not a bool");
  const shapeValue = dict.get("shape");
  if (!Array.isArray(shapeValue) || shapeValue.some((d) => typeof d !== "number")) {
    fail("header 'shape' is not a tuple of integers");
  }
  const shape = shapeValue as number[];
  const size = shapeSize(shape, fail);
  if (!Number.isSafeInteger(size * itemSize)) fail(`shape (${shape}) is too large`);
  return {
    version,
    dtype,
    itemSize,
    littleEndian,
    fortranOrder,
    shape,
    size,
    dataOffset: start + headerLength,
  };
}

/** Formats a shape as a Python tuple: `()`, `(3,)`, `(2, 3)`. */
function pyTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

/**
 * Builds the magic, version and padded header for a little-endian C-order array.
 * Version 0 picks 1.0 when the header fits, else 2.0 (as NumPy does).
 */
export function formatNpyHeader(descr: string, shape: readonly number[], version = 0): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${pyTuple(shape)}, }`;
  const chosen = version || (dict.length + 11 < 65536 ? 1 : 2);
  if (chosen < 1 || chosen > 3) throw new RangeError(`npy format version ${version} unknown`);
  const prefix = chosen === 1 ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const headerLength = total - prefix;
  if (chosen === 1 && headerLength > 65535) throw new RangeError("header too long for npy 1.0");
  const out = new Uint8Array(total);
  out.set(MAGIC);
  out[6] = chosen;
  const view = new DataView(out.buffer);
  if (chosen === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  const padded = dict.padEnd(headerLength - 1, " ") + "\n";
  for (let i = 0; i < padded.length; i++) out[prefix + i] = padded.charCodeAt(i);
  return out;
}
