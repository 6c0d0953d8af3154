/**
 * Small HDF5 files (groups, datasets, attributes) built in h5wasm's memory, for
 * `reconstruction.h5`.
 */
import { File as H5File, type Group } from "h5wasm";
import { h5Module } from "./hdf5.ts";

let counter = 0;

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
