/**
 * HDF5 files through h5wasm (the HDF5 C library compiled to WebAssembly): read datasets as
 * {@link NpyArray}s, and build small files (groups, datasets, attributes) in memory.
 *
 * h5wasm works on files in its own in-memory file system, so a file is read whole into
 * WebAssembly memory first; with the dataset read out of it, a file needs about its size plus the
 * decompressed size of the largest dataset read, and WebAssembly memory stops at 2 GiB: scans
 * whose detector data is larger than about 1 GiB must be split (or converted to our `.npz`).
 *
 * Links: soft links are followed, and so are external links and virtual datasets over other files
 * (an Eiger master file's data in files beside it): the file named is looked for relative to the
 * naming file's folder (an absolute name first as is, then by its base name there) and read on
 * first use.
 *
 * Compression: HDF5's built-in filters (gzip/deflate, shuffle, szip, fletcher32, scale-offset,
 * n-bit), and the plugin filters of h5wasm-plugins listed in `PLUGINS` (LZF, Blosc, LZ4,
 * bitshuffle as Eiger detectors write, Zstandard, bzip2), installed when a dataset first needs
 * one. Any other filter is one error naming the dataset and the filter, because h5wasm would
 * otherwise hand back garbage.
 */
import {
  BrokenSoftLink,
  Dataset,
  type Entity,
  ExternalLink,
  File as H5File,
  Group,
  ready,
} from "h5wasm";
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
export function h5Module(): Promise<H5Module> {
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

/** Links followed in a row before a path is taken for a loop. */
const MAX_LINKS = 16;

/** An open HDF5 file, held in h5wasm's memory until {@link Hdf5Reader.close}. */
export class Hdf5Reader {
  readonly #module: H5Module;
  readonly #file: H5File;
  readonly #memPath: string;
  /** Files reached through external links, by their path on disk. */
  readonly #linked = new Map<string, Hdf5Reader>();
  /** Source files of virtual datasets copied into h5wasm's memory: name in the file → copy. */
  readonly #staged = new Map<string, string>();

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

  /** Opens `bytes` (an HDF5 file, else an error) with the loaded WebAssembly module. */
  static #open(module: H5Module, bytes: Uint8Array, file: string): Hdf5Reader {
    if (kindOfBytes(bytes) !== "hdf5") {
      throw new PtychoInputError(file, "not an HDF5 file (no HDF5 signature)");
    }
    // A folder of its own, where HDF5 looks for a virtual dataset's source files by name.
    const folder = `/ptycho-${++counter}`;
    module.FS.mkdirTree(folder);
    const memPath = `${folder}/scan.h5`;
    module.FS.writeFile(memPath, bytes);
    return new Hdf5Reader(file, module, memPath);
  }

  /** Opens an HDF5 file held in memory; `file` names it in error messages. */
  static async fromBytes(bytes: Uint8Array, file: string): Promise<Hdf5Reader> {
    return Hdf5Reader.#open(await h5Module(), bytes, file);
  }

  /** Reads the file at `path` whole and opens it. */
  static open(path: string): Promise<Hdf5Reader> {
    return Hdf5Reader.fromBytes(readFileOrFail(path), path);
  }

  /** The object at `path` with soft and external links followed, or null when absent. */
  #entity(path: string, hops = 0): Entity | null {
    if (hops > MAX_LINKS) {
      throw new PtychoInputError(this.file, `'${path}': more than ${MAX_LINKS} links in a row`);
    }
    let e: Entity | null;
    try {
      e = this.#file.get(path) ?? null;
    } catch (err) {
      const via = this.#throughLink(path, hops);
      if (via !== undefined) return via;
      e = this.#softLink(path) ?? null;
      if (e === null) throw new PtychoInputError(this.file, `'${path}': ${hdf5Reason(err)}`);
    }
    if (e === null) return this.#throughLink(path, hops) ?? null;
    if (e instanceof ExternalLink) return this.#external(path, e).#entity(e.obj_path, hops + 1);
    if (e instanceof BrokenSoftLink) {
      const target = this.#entity(e.target, hops + 1);
      if (target === null) {
        throw new PtychoInputError(
          this.file,
          `'${path}' is a soft link to '${e.target}', which does not exist`,
        );
      }
      return target;
    }
    return e;
  }

  /** The soft link at `path` as a BrokenSoftLink (its target unreachable), or undefined. */
  #softLink(path: string): BrokenSoftLink | undefined {
    try {
      const target = this.#file.get_link(path);
      return typeof target === "string" ? new BrokenSoftLink(target) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The object at `path` when a group on the way is a link (HDF5 cannot follow an external
   * link in memory), null when a group on the way is absent, undefined when no group is a link.
   */
  #throughLink(path: string, hops: number): Entity | null | undefined {
    const parts = path.split("/").filter((p) => p !== "");
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      const rest = parts.slice(i).join("/");
      let e: Entity | null;
      try {
        e = this.#file.get(prefix) ?? null;
      } catch {
        return undefined;
      }
      if (e === null) return null;
      if (e instanceof ExternalLink) {
        return this.#external(prefix, e).#entity(`${e.obj_path}/${rest}`, hops + 1);
      }
      if (e instanceof BrokenSoftLink) return this.#entity(`${e.target}/${rest}`, hops + 1);
    }
    return undefined;
  }

  /**
   * Where a file named `name` in this file (by an external link or a virtual dataset) is on
   * disk: relative to this file's folder (an absolute name as is, then by its base name there).
   */
  #locate(name: string): { found: string | undefined; candidates: string[] } {
    const slash = this.file.lastIndexOf("/");
    const folder = slash >= 0 ? this.file.slice(0, slash + 1) : "";
    const base = name.slice(name.lastIndexOf("/") + 1);
    const candidates = name.startsWith("/") ? [name, folder + base] : [folder + name];
    const found = candidates.find((c) => {
      try {
        return Deno.statSync(c).isFile;
      } catch {
        return false;
      }
    });
    return { found, candidates };
  }

  /** The file an external link at `where` points to, opened on first use. */
  #external(where: string, link: ExternalLink): Hdf5Reader {
    const { found, candidates } = this.#locate(link.filename);
    if (found === undefined) {
      throw new PtychoInputError(
        this.file,
        `'${where}' is an external link to '${link.obj_path}' in '${link.filename}', which is ` +
          `not at ${candidates.join(" nor ")}: put that file beside this one`,
      );
    }
    let reader = this.#linked.get(found);
    if (reader === undefined) {
      reader = Hdf5Reader.#open(this.#module, readFileOrFail(found), found);
      this.#linked.set(found, reader);
    }
    return reader;
  }

  /**
   * Copies the source files of the virtual dataset `d` (at `path`) where HDF5 looks for them,
   * beside this file in h5wasm's memory: HDF5 reads a missing source as fill values, silently.
   */
  #stageSources(path: string, d: Dataset): void {
    const sources: { file_name: string }[] = d.metadata.virtual_sources ?? [];
    for (const { file_name: name } of sources) {
      if (name === "." || this.#staged.has(name)) continue;
      const { found, candidates } = this.#locate(name);
      if (found === undefined || name.includes("%")) {
        throw new PtychoInputError(
          this.file,
          `'${path}' is a virtual dataset over '${name}', which is not at ` +
            `${candidates.join(" nor ")}: put that file beside this one`,
        );
      }
      const copy = name.startsWith("/") ? name : `${this.#memPath.replace(/[^/]*$/, "")}${name}`;
      this.#module.FS.mkdirTree(copy.replace(/\/[^/]*$/, "") || "/");
      this.#module.FS.writeFile(copy, readFileOrFail(found));
      this.#staged.set(name, copy);
    }
  }

  /** This file or one its external links reached, by HDF5 file id. */
  #owner(fileId: bigint): Hdf5Reader | null {
    if (this.#file.file_id === fileId) return this;
    for (const linked of this.#linked.values()) {
      const owner = linked.#owner(fileId);
      if (owner !== null) return owner;
    }
    return null;
  }

  /** Whether `path` names a dataset. */
  has(path: string): boolean {
    return this.#entity(path) instanceof Dataset;
  }

  /** The first of `paths` that names a dataset, or null. */
  first(paths: readonly string[]): string | null {
    return paths.find((p) => this.has(p)) ?? null;
  }

  /** The names in the group at `path` ("" for the root), or [] when it is not a group. */
  names(path: string): string[] {
    const g = path === "" || path === "/" ? this.#file : this.#entity(path);
    return g instanceof Group ? g.keys() : [];
  }

  #dataset(path: string): Dataset {
    const d = this.#entity(path);
    if (!(d instanceof Dataset)) {
      throw new PtychoInputError(this.file, `missing dataset '${path}'`);
    }
    (this.#owner(d.file_id) ?? this).#stageSources(path, d);
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
    const { type, size, signed, compound_type: compound } = numericMeta(
      this.#dataset(path).metadata,
    );
    if (type === 0) return `${signed ? "i" : "u"}${size}`;
    if (type === 1) return `f${size}`;
    if (type === 6 && compound?.nmembers === 2) return `c${size}`;
    return type === 3 ? "string" : `HDF5 class ${type}`;
  }

  /** The shape of the dataset at `path`. */
  shape(path: string): number[] {
    return this.#dataset(path).shape ?? [];
  }

  /**
   * Reads the dataset at `path` in C order (complex = a compound of two floats; an enum, as h5py
   * writes booleans, as its integer values).
   */
  get(path: string): NpyArray {
    const d = this.#dataset(path);
    const meta = numericMeta(d.metadata);
    if (meta.type === 1 && meta.size !== 4 && meta.size !== 8) {
      throw new PtychoInputError(
        this.file,
        `'${path}': ${8 * meta.size}-bit floats, which this reader cannot decode; store it as ` +
          "float32 (h5py: data.astype('f4'))",
      );
    }
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

  /** Frees the file's memory (and that of the files its external links reached). */
  close(): void {
    try {
      for (const linked of this.#linked.values()) linked.close();
      this.#file.close();
    } finally {
      for (const copy of [this.#memPath, ...this.#staged.values()]) this.#module.FS.unlink(copy);
    }
  }
}

/** A dataset's type description, an enum (h5py's booleans) described as its integer base type. */
// deno-lint-ignore no-explicit-any
function numericMeta(meta: any): any {
  return meta.type === 8 && meta.enum_type?.type === 0 ? { ...meta, type: 0 } : meta;
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
