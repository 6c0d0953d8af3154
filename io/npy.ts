/**
 * NumPy `.npy` arrays: decode (versions 1.0–3.0, either byte order, C or Fortran order) and
 * encode (little-endian, C order).
 *
 * Data always comes back in C order and host (little-endian) byte order. Complex arrays are
 * interleaved (re, im) pairs of f32 (`c8`) or f64 (`c16`); `i8`/`u8` are bigint arrays; `b1` is a
 * Uint8Array of 0/1; `U` is a string per element. A decoded array may share memory with the bytes
 * it was decoded from (no copy when the data is little-endian, aligned and C order).
 */
import { PtychoInputError } from "./errors.ts";
import { formatNpyHeader, type NpyDtype, parseNpyHeader, shapeSize } from "./npy_header.ts";
import { joinParts, readFileOrFail, writeFileAtomic } from "./files.ts";

export type { NpyDtype } from "./npy_header.ts";

/** The element storage of an array, by dtype (see the module comment). */
export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[];

/** An n-dimensional array in C order; complex data holds 2 values per element. */
export interface NpyArray {
  /** Element type. */
  dtype: NpyDtype;
  /** Dimensions; [] for a 0-d array. */
  shape: number[];
  /** Elements in C order (complex: interleaved re, im). */
  data: NpyData;
}

type NumericCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Exclude<
  NpyData,
  string[]
>;

/** Storage class and values per element (2 for complex) of each numeric dtype. */
const STORAGE: Record<Exclude<NpyDtype, "U">, { ctor: NumericCtor; lanes: number }> = {
  f4: { ctor: Float32Array, lanes: 1 },
  f8: { ctor: Float64Array, lanes: 1 },
  c8: { ctor: Float32Array, lanes: 2 },
  c16: { ctor: Float64Array, lanes: 2 },
  i1: { ctor: Int8Array, lanes: 1 },
  i2: { ctor: Int16Array, lanes: 1 },
  i4: { ctor: Int32Array, lanes: 1 },
  i8: { ctor: BigInt64Array, lanes: 1 },
  u1: { ctor: Uint8Array, lanes: 1 },
  u2: { ctor: Uint16Array, lanes: 1 },
  u4: { ctor: Uint32Array, lanes: 1 },
  u8: { ctor: BigUint64Array, lanes: 1 },
  b1: { ctor: Uint8Array, lanes: 1 },
};

/** Values stored per element: 2 for complex dtypes, else 1. */
export function lanesOf(dtype: NpyDtype): number {
  return dtype === "U" ? 1 : STORAGE[dtype].lanes;
}

/** Reverses the bytes of every `width`-byte word in place. */
function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/** Reorders Fortran-order (first index fastest) data into C order (last index fastest). */
function fortranToC<T extends NpyData>(src: T, shape: readonly number[], lanes: number): T {
  const out =
    (Array.isArray(src)
      ? new Array<string>(src.length)
      : new (src.constructor as new (n: number) => T)(src.length)) as T;
  const from = src as unknown as unknown[];
  const to = out as unknown as unknown[];
  const n = shape.length;
  const strides: number[] = [];
  for (let k = 0, s = 1; k < n; s *= shape[k], k++) strides.push(s);
  const size = src.length / lanes;
  const index = new Array<number>(n).fill(0);
  let f = 0;
  for (let c = 0; c < size; c++) {
    for (let l = 0; l < lanes; l++) to[c * lanes + l] = from[f * lanes + l];
    for (let k = n - 1; k >= 0; k--) {
      index[k]++;
      f += strides[k];
      if (index[k] < shape[k]) break;
      f -= strides[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

/** Decodes fixed-width UTF-32 strings, dropping trailing NULs as NumPy does. */
function decodeStrings(
  bytes: Uint8Array,
  count: number,
  itemSize: number,
  littleEndian: boolean,
  fail: (problem: string) => never,
): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  for (let e = 0; e < count; e++) {
    const codes: number[] = [];
    for (let i = 0; i < itemSize; i += 4) {
      codes.push(view.getUint32(e * itemSize + i, littleEndian));
    }
    while (codes.length > 0 && codes[codes.length - 1] === 0) codes.pop();
    if (codes.some((c) => c > 0x10ffff || (c >= 0xd800 && c < 0xe000))) {
      fail("string array holds invalid unicode code points");
    }
    let s = "";
    for (const c of codes) s += String.fromCodePoint(c);
    out.push(s);
  }
  return out;
}

/** Decodes a whole `.npy` file; `file` names it in error messages. */
export function decodeNpy(bytes: Uint8Array, file = "<npy>"): NpyArray {
  const fail: (problem: string) => never = (problem) => {
    throw new PtychoInputError(file, problem);
  };
  const h = parseNpyHeader(bytes, file);
  const byteCount = h.size * h.itemSize;
  const available = bytes.length - h.dataOffset;
  if (byteCount > available) {
    fail(`header claims ${byteCount} bytes of data (shape (${h.shape})) but ${available} remain`);
  }
  const raw = bytes.subarray(h.dataOffset, h.dataOffset + byteCount);
  let data: NpyData;
  if (h.dtype === "U") {
    data = decodeStrings(raw, h.size, h.itemSize, h.littleEndian, fail);
  } else {
    const { ctor, lanes } = STORAGE[h.dtype];
    const laneBytes = h.itemSize / lanes;
    if (h.littleEndian && raw.byteOffset % laneBytes === 0) {
      data = new ctor(raw.buffer, raw.byteOffset, h.size * lanes);
    } else {
      const copy = raw.slice();
      if (!h.littleEndian) swapBytes(copy, laneBytes);
      data = new ctor(copy.buffer, 0, h.size * lanes);
    }
    if (h.dtype === "b1" && (data as Uint8Array).some((v) => v > 1)) {
      data = (data as Uint8Array).map((v) => (v ? 1 : 0));
    }
  }
  if (h.fortranOrder && h.shape.length > 1) data = fortranToC(data, h.shape, lanesOf(h.dtype));
  return { dtype: h.dtype, shape: h.shape, data };
}

/** Throws a RangeError unless the storage class and length fit the dtype and shape. */
export function checkNpyArray(array: NpyArray, name = "array"): void {
  const size = shapeSize(array.shape, (p) => {
    throw new RangeError(`${name}: ${p}`);
  });
  if (array.dtype === "U") {
    if (!Array.isArray(array.data)) throw new RangeError(`${name}: dtype U needs string[] data`);
  } else {
    const storage = STORAGE[array.dtype];
    if (!storage) throw new RangeError(`${name}: unknown dtype ${array.dtype}`);
    const ok = array.data instanceof (storage.ctor as unknown as typeof Uint8Array);
    if (!ok) throw new RangeError(`${name}: dtype ${array.dtype} needs ${storage.ctor.name} data`);
  }
  const expected = size * lanesOf(array.dtype);
  if (array.data.length !== expected) {
    throw new RangeError(
      `${name}: shape (${array.shape}) needs ${expected} values, got ${array.data.length}`,
    );
  }
}

/** Encodes an array as `.npy` (little-endian, C order; version 0 = smallest that fits). */
export function encodeNpy(array: NpyArray, options: { version?: 1 | 2 | 3 } = {}): Uint8Array {
  return joinParts(encodeNpyParts(array, options));
}

/**
 * {@link encodeNpy} as two parts, the header and the data; a numeric array's data part is a view
 * of `array.data` (not a copy), so it must not change until the parts are written.
 */
export function encodeNpyParts(
  array: NpyArray,
  options: { version?: 1 | 2 | 3 } = {},
): [Uint8Array, Uint8Array] {
  checkNpyArray(array);
  let descr: string;
  let body: Uint8Array;
  if (array.dtype === "U") {
    const strings = array.data as string[];
    const chars = strings.reduce((m, s) => Math.max(m, [...s].length), 1);
    descr = `<U${chars}`;
    body = new Uint8Array(strings.length * chars * 4);
    const view = new DataView(body.buffer);
    strings.forEach((s, e) => {
      [...s].forEach((ch, i) => view.setUint32((e * chars + i) * 4, ch.codePointAt(0)!, true));
    });
  } else {
    const data = array.data as Exclude<NpyData, string[]>;
    const laneBytes = data.BYTES_PER_ELEMENT;
    descr = `${laneBytes === 1 ? "|" : "<"}${array.dtype}`;
    body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return [formatNpyHeader(descr, array.shape, options.version ?? 0), body];
}

/** Reads a `.npy` file. */
export function readNpyFile(path: string): NpyArray {
  return decodeNpy(readFileOrFail(path), path);
}

/** Writes a `.npy` file atomically. */
export function writeNpyFile(
  path: string,
  array: NpyArray,
  options: { version?: 1 | 2 | 3 } = {},
): void {
  writeFileAtomic(path, encodeNpy(array, options));
}
