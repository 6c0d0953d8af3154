/**
 * HDF5 files through h5wasm (the HDF5 C library compiled to WebAssembly): read datasets as
 * {@link NpyArray}s, and build small files (groups, datasets, attributes) in memory.
 *
 * h5wasm works on files in its own in-memory file system, so a file is read whole into
 * WebAssembly memory first; with the dataset read out of it, a file needs about its size plus the
 * decompressed size of the largest dataset read, and WebAssembly memory stops at 2 GiB: scans
 * whose detector data is larger than about 1 GiB must be split (or converted to our `.npz`).
 *
 * Compression: HDF5's built-in filters (gzip/deflate, shuffle, szip, fletcher32, scale-offset,
 * n-bit), and the plugin filters of h5wasm-plugins listed in `PLUGINS` (LZF, Blosc, LZ4,
 * bitshuffle as Eiger detectors write, Zstandard, bzip2), installed when a dataset first needs
 * one. Any other filter is one error naming the dataset and the filter, because h5wasm would
 * otherwise hand back garbage.
 */
import { Dataset, type Entity, File as H5File, type Group, ready } from "h5wasm";
import { base_url as pluginsUrl } from "h5wasm-plugins";
import { PtychoInputError } from "./errors.ts";
import { kindOfBytes } from "./file_kind.ts";
import { readFileOrFail } from "./files.ts";
import type { NpyArray, NpyDtype } from "./npy.ts";

/** HDF5 filter ids h5wasm decodes itself: deflate, shuffle, fletcher32, szip, n-bit, scale-offset. */
const BUILT_IN_FILTERS = new Set([1, 2, 3, 4, 5, 6]);

/**
 * Filters decoded by h5wasm-plugins (WebAssembly builds of the HDF Group's filter plugins), by
 * filter id: the compressions detector data arrives with (Eiger/Dectris: bitshuffle + LZ4).
 */
const PLUGINS: Record<number, string> = {
  307: "bz2",
  32000: "lzf",
  32001: "blosc",
  32004: "lz4",
  32008: "bshuf",
  32015: "zstd",
};

// deno-lint-ignore no-explicit-any
type H5Module = any;
let modulePromise: Promise<H5Module> | null = null;

/** Loads the WebAssembly module once; HDF5 errors are turned into JS exceptions. */
function h5Module(): Promise<H5Module> {
  modulePromise ??= ready.then((module: H5Module) => {
    module.activate_throwing_error_handler();
    return module;
  });
  return modulePromise;
}

/** The innermost message of an HDF5 error stack, on one line. */
function hdf5Reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const lines = [...text.matchAll(/#\d+: .* in (\w+)\(\): (.*)/g)];
  const last = lines.at(-1);
  return last ? `${last[2].trim()} (${last[1]})` : text.split("\n")[0];
}

let counter = 0;
const installed = new Set<string>();

/**
 * Copies a filter plugin (a WebAssembly side module shipped by h5wasm-plugins) into h5wasm's
 * plugin folder the first time a dataset needs it, so that files without such filters do not
 * pay for loading them.
 */
function installPlugin(module: H5Module, name: string): void {
  if (installed.has(name)) return;
  const folder = module.get_plugin_search_paths()[0];
  module.FS.mkdirTree(folder);
  const file = `libH5Z${name}.so`;
  module.FS.writeFile(
    `${folder}/${file}`,
    Deno.readFileSync(new URL(`${pluginsUrl}/plugins/${file}`)),
  );
  installed.add(name);
}

/** One value read from an attribute. */
export type AttrValue = number | string | number[] | bigint | null;

/** An open HDF5 file, held in h5wasm's memory until {@link Hdf5Reader.close}. */
export class Hdf5Reader {
  readonly #module: H5Module;
  readonly #file: H5File;
  readonly #memPath: string;

  private constructor(readonly file: string, module: H5Module, memPath: string) {
    this.#module = module;
    this.#memPath = memPath;
    try {
      this.#file = new H5File(memPath, "r");
    } catch (e) {
      module.FS.unlink(memPath);
      throw new PtychoInputError(file, `not a readable HDF5 file: ${hdf5Reason(e)}`);
    }
  }

  /** Opens an HDF5 file held in memory; `file` names it in error messages. */
  static async fromBytes(bytes: Uint8Array, file: string): Promise<Hdf5Reader> {
    if (kindOfBytes(bytes) !== "hdf5") {
      throw new PtychoInputError(file, "not an HDF5 file (no HDF5 signature)");
    }
    const module = await h5Module();
    const memPath = `/ptycho-${++counter}.h5`;
    module.FS.writeFile(memPath, bytes);
    return new Hdf5Reader(file, module, memPath);
  }

  /** Reads the file at `path` whole and opens it. */
  static open(path: string): Promise<Hdf5Reader> {
    return Hdf5Reader.fromBytes(readFileOrFail(path), path);
  }

  /** The object at `path`, or null (a broken link or an unreadable header is an error). */
  #entity(path: string): Entity | null {
    try {
      return this.#file.get(path) ?? null;
    } catch (e) {
      throw new PtychoInputError(this.file, `'${path}': ${hdf5Reason(e)}`);
    }
  }

  /** Whether `path` names a dataset. */
  has(path: string): boolean {
    return this.#entity(path) instanceof Dataset;
  }

  /** The first of `paths` that names a dataset, or null. */
  first(paths: readonly string[]): string | null {
    return paths.find((p) => this.has(p)) ?? null;
  }

  #dataset(path: string): Dataset {
    const d = this.#entity(path);
    if (!(d instanceof Dataset)) {
      throw new PtychoInputError(this.file, `missing dataset '${path}'`);
    }
    for (const filter of d.filters) {
      if (filter.id in PLUGINS) installPlugin(this.#module, PLUGINS[filter.id]);
      else if (!BUILT_IN_FILTERS.has(filter.id)) {
        throw new PtychoInputError(
          this.file,
          `'${path}' is compressed with HDF5 filter ${filter.id} (${filter.name || "unknown"}), ` +
            "which this reader lacks; rewrite it with gzip (h5repack -f GZIP=4) or as .npz",
        );
      }
    }
    return d;
  }

  /** The NumPy-style dtype of the dataset at `path` ("u2", "f4", "c8", ...), without reading it. */
  dtypeOf(path: string): string {
    const { type, size, signed, compound_type: compound } = this.#dataset(path).metadata;
    if (type === 0) return `${signed ? "i" : "u"}${size}`;
    if (type === 1) return `f${size}`;
    if (type === 6 && compound?.nmembers === 2) return `c${size}`;
    return type === 3 ? "string" : `HDF5 class ${type}`;
  }

  /** The shape of the dataset at `path`. */
  shape(path: string): number[] {
    return this.#dataset(path).shape ?? [];
  }

  /** Reads the dataset at `path` in C order (complex = a compound of two floats). */
  get(path: string): NpyArray {
    const d = this.#dataset(path);
    const meta = d.metadata;
    const shape = (d.shape ?? []).map(Number);
    let value: unknown;
    try {
      value = d.value;
    } catch (e) {
      throw new PtychoInputError(this.file, `'${path}': ${hdf5Reason(e)}`);
    }
    return toNpyArray(value, meta, shape, () => {
      throw new PtychoInputError(
        this.file,
        `'${path}': unsupported HDF5 type ${JSON.stringify(d.dtype)}`,
      );
    });
  }

  /** The attribute `name` of the object at `path`, or null when absent. */
  attr(path: string, name: string): AttrValue {
    const e = this.#entity(path);
    if (e === null || !("attrs" in e) || !(name in e.attrs)) return null;
    const v = e.attrs[name].value;
    if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
    return v as AttrValue;
  }

  /** Frees the file's memory. */
  close(): void {
    try {
      this.#file.close();
    } finally {
      this.#module.FS.unlink(this.#memPath);
    }
  }
}

/** h5wasm's value of a dataset as an NpyArray. */
function toNpyArray(
  value: unknown,
  // deno-lint-ignore no-explicit-any
  meta: any,
  shape: number[],
  unsupported: () => never,
): NpyArray {
  const { type, size, signed } = meta;
  if (type === 0 || type === 1) {
    if (!ArrayBuffer.isView(value)) {
      // A scalar: a float as f8, an integer as i8 (wide enough for every HDF5 integer but u8).
      return typeof value === "bigint" || type === 0
        ? { dtype: "i8", shape, data: BigInt64Array.of(BigInt(value as number | bigint)) }
        : { dtype: "f8", shape, data: Float64Array.of(Number(value)) };
    }
    const kind = type === 1 ? "f" : signed ? "i" : "u";
    return { dtype: `${kind}${size}` as NpyDtype, shape, data: value as NpyArray["data"] };
  }
  if (type === 3) {
    const strings = Array.isArray(value) ? value.map(String) : [String(value)];
    return { dtype: "U", shape, data: strings };
  }
  const members = meta.compound_type?.members;
  if (
    type === 6 && members?.length === 2 && members.every((m: { type: number }) => m.type === 1) &&
    members[0].size === members[1].size
  ) {
    const pairs = (shape.length === 0 ? [value] : value) as number[][];
    const out = members[0].size === 4
      ? new Float32Array(2 * pairs.length)
      : new Float64Array(2 * pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      out[2 * i] = pairs[i][0];
      out[2 * i + 1] = pairs[i][1];
    }
    return { dtype: members[0].size === 4 ? "c8" : "c16", shape, data: out };
  }
  return unsupported();
}

/** A dataset to write: f32, f64 or i32 values with their shape, or a string. */
export interface Hdf5DatasetSpec {
  /** Values in C order, or one string. */
  data: Float32Array | Float64Array | Int32Array | string;
  /** Dimensions ([] for a scalar or string). */
  shape: number[];
  /** Attributes (numbers or strings). */
  attrs?: Record<string, number | string>;
  /** Compress with gzip in chunks of this shape. */
  chunks?: number[];
}

/** What a file holds: datasets by path ("entry_1/image_1/data"), attributes of groups by path. */
export interface Hdf5Contents {
  /** Datasets by full path; their groups are created as needed. */
  datasets: Record<string, Hdf5DatasetSpec>;
  /** Attributes of groups by group path ("" or "/" for the root). */
  groupAttrs?: Record<string, Record<string, number | string>>;
}

const DTYPES = { Float32Array: "<f", Float64Array: "<d", Int32Array: "<i" } as const;

/** Builds an HDF5 file in memory and returns its bytes. */
export async function encodeHdf5(contents: Hdf5Contents): Promise<Uint8Array> {
  const module = await h5Module();
  const memPath = `/ptycho-out-${++counter}.h5`;
  const f = new H5File(memPath, "w");
  try {
    const group = (path: string): Group => {
      let g: Group = f;
      for (const part of path.split("/").filter((p) => p !== "")) {
        g = (g.get(part) as Group | null) ?? g.create_group(part);
      }
      return g;
    };
    for (const [path, spec] of Object.entries(contents.datasets)) {
      const slash = path.lastIndexOf("/");
      const parent = group(path.slice(0, Math.max(slash, 0)));
      const name = path.slice(slash + 1);
      const isString = typeof spec.data === "string";
      const d = parent.create_dataset({
        name,
        data: spec.data,
        shape: isString ? null : spec.shape,
        dtype: isString ? null : DTYPES[spec.data.constructor.name as keyof typeof DTYPES],
        chunks: spec.chunks ?? null,
        compression: spec.chunks ? "gzip" : undefined,
      });
      for (const [k, v] of Object.entries(spec.attrs ?? {})) d.create_attribute(k, v);
    }
    for (const [path, attrs] of Object.entries(contents.groupAttrs ?? {})) {
      const g = group(path);
      for (const [k, v] of Object.entries(attrs)) g.create_attribute(k, v);
    }
    f.close();
    return module.FS.readFile(memPath) as Uint8Array;
  } finally {
    module.FS.unlink(memPath);
  }
}
