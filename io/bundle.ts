/**
 * The model bundle (docs/physics.md#model-bundle): `model.zip` holding `manifest.json`,
 * `weights.npz` (one f32 array per parameter, readable by `numpy.load`) and `probe.npy` (the
 * complex64 probe actually used).
 *
 * Saving is atomic (temp file, fsync, rename). Loading executes nothing: it checks the format
 * version, that the manifest, the weights and (optionally) the model agree on every parameter's
 * name and shape, and reports all mismatches in one line.
 */
import { PtychoInputError } from "./errors.ts";
import { type ByteParts, joinParts, readFileOrFail, writeFileAtomic } from "./files.ts";
import { decodeNpy, encodeNpyParts } from "./npy.ts";
import { encodeNpzParts, NpzReader } from "./npz.ts";
import { memorySource, ZipReader } from "./zip.ts";
import { storedZipParts } from "./zip_write.ts";

/** The bundle layout version this program writes and reads. */
export const BUNDLE_FORMAT_VERSION = 1;

/** One trainable parameter: its shape and f32 values in C order. */
export interface BundleParameter {
  /** Dimensions; [] for a scalar. */
  shape: number[];
  /** Values, C order. */
  data: Float32Array;
}

/** Parameters by stable name, as a Map or a plain record. */
export type BundleParameters = Map<string, BundleParameter> | Record<string, BundleParameter>;

/** Parameter shapes by name, as a Map or a plain record. */
export type ParameterShapes = Map<string, readonly number[]> | Record<string, readonly number[]>;

/**
 * `manifest.json`: the caller's fields (model and data config, trained intensity scale, training
 * data fingerprint, engine version, ...) plus the three fields the bundle itself maintains.
 */
export interface BundleManifest {
  /** {@link BUNDLE_FORMAT_VERSION} at the time of writing. */
  formatVersion: number;
  /** Every parameter's name and shape, in the order saved. */
  parameters: { name: string; shape: number[] }[];
  /** [N, N] of `probe.npy`. */
  probeShape: [number, number];
  /** The caller's fields. */
  [field: string]: unknown;
}

/** A bundle's contents. The probe is (N, N) complex, interleaved (re, im). */
export interface ModelBundle {
  /** The parsed `manifest.json`. */
  manifest: BundleManifest;
  /** Parameters by name, in manifest order. */
  parameters: Map<string, BundleParameter>;
  /** Probe (N, N) complex64, interleaved (re, im). */
  probe: Float32Array;
}

/**
 * What {@link saveBundle} takes: the manifest fields (without the maintained ones), parameters and
 * probe.
 */
export interface BundleContents {
  /** Config, intensity scale, data fingerprint, engine version, ... (JSON-serialisable). */
  manifest: Record<string, unknown>;
  /** Every trainable parameter by stable name. */
  parameters: BundleParameters;
  /** Probe (N, N) complex, interleaved (re, im). */
  probe: Float32Array;
}

function entriesOf<T>(m: Map<string, T> | Record<string, T>): [string, T][] {
  return m instanceof Map ? [...m] : Object.entries(m);
}

const shapeText = (shape: readonly number[]) => `(${shape.join(", ")})`;
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * The bundle's members by name (manifest.json, weights.npz, probe.npy), before zipping: a
 * training checkpoint adds its own members to these. They are {@link ByteParts} holding views of
 * the parameters' and the probe's data (not copies), so those must not change until written.
 */
export function bundleMembers(contents: BundleContents): Map<string, ByteParts> {
  const n = Math.round(Math.sqrt(contents.probe.length / 2));
  if (2 * n * n !== contents.probe.length || n === 0) {
    throw new RangeError(`probe has ${contents.probe.length} values, not 2·N² for a square N×N`);
  }
  const params = entriesOf(contents.parameters);
  const manifest: BundleManifest = {
    ...contents.manifest,
    formatVersion: BUNDLE_FORMAT_VERSION,
    parameters: params.map(([name, p]) => ({ name, shape: [...p.shape] })),
    probeShape: [n, n],
  };
  const weights = encodeNpzParts(
    new Map(
      params.map(([name, p]) => [name, { dtype: "f4" as const, shape: p.shape, data: p.data }]),
    ),
  );
  const probe = encodeNpyParts({ dtype: "c8", shape: [n, n], data: contents.probe });
  return new Map([
    ["manifest.json", [new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n")]],
    ["weights.npz", weights],
    ["probe.npy", probe],
  ]);
}

/** Builds the bundle zip in memory. */
export function encodeBundle(contents: BundleContents): Uint8Array {
  return joinParts(encodeBundleMembers(bundleMembers(contents)));
}

/**
 * Zips bundle members ({@link bundleMembers}) into {@link ByteParts} for writing. They are
 * stored, not deflated: float32 weights shrink by under 10 % at several hundred ms per 10 MB, and
 * zip readers (NumPy's included) read stored and deflated members alike, so bundles written
 * either way load.
 */
export function encodeBundleMembers(members: Map<string, ByteParts>): Uint8Array[] {
  return storedZipParts(members);
}

/** Writes `model.zip` atomically (temp file in the same folder, fsync, rename). */
export function saveBundle(path: string, contents: BundleContents): void {
  writeFileAtomic(path, encodeBundle(contents));
}

/** Reads and checks a bundle file; see {@link decodeBundle}. */
export function loadBundle(
  path: string,
  options: { expectedShapes?: ParameterShapes } = {},
): ModelBundle {
  return decodeBundle(readFileOrFail(path), path, options);
}

/**
 * Reads and checks a bundle from bytes. With `expectedShapes` (the model's parameters), every
 * missing, unexpected or differently shaped parameter is listed in one {@link PtychoInputError}.
 */
export function decodeBundle(
  bytes: Uint8Array,
  file: string,
  options: { expectedShapes?: ParameterShapes } = {},
): ModelBundle {
  const fail = (problem: string): never => {
    throw new PtychoInputError(file, problem);
  };
  const zip = new ZipReader(memorySource(bytes), file);
  const member = (name: string) => {
    const entry = zip.find(name);
    if (!entry) fail(`not a model bundle (no ${name})`);
    return zip.read(entry!);
  };
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(member("manifest.json")),
    );
  } catch (e) {
    if (e instanceof PtychoInputError) throw e;
    return fail("manifest.json is not valid JSON");
  }
  if (typeof manifest !== "object" || manifest === null) fail("manifest.json is not an object");
  if (manifest.formatVersion !== BUNDLE_FORMAT_VERSION) {
    fail(
      `bundle format version ${JSON.stringify(manifest.formatVersion)} is not supported ` +
        `(this program reads version ${BUNDLE_FORMAT_VERSION})`,
    );
  }
  const listed = manifest.parameters;
  const validList = Array.isArray(listed) &&
    listed.every((p) =>
      typeof p?.name === "string" && Array.isArray(p.shape) &&
      p.shape.every((d: unknown) => Number.isSafeInteger(d) && (d as number) >= 0)
    );
  if (!validList) fail("manifest.json 'parameters' is not a list of {name, shape}");

  const weights = NpzReader.fromBytes(member("weights.npz"), `${file} (weights.npz)`);
  const parameters = new Map<string, BundleParameter>();
  const problems: string[] = [];
  for (const { name, shape } of listed) {
    if (!weights.has(name)) {
      problems.push(`'${name}' is listed in manifest.json but missing from weights.npz`);
      continue;
    }
    const array = weights.get(name);
    if (array.dtype !== "f4") problems.push(`'${name}' has dtype ${array.dtype}, expected f4`);
    else if (!sameShape(array.shape, shape)) {
      problems.push(
        `'${name}' has shape ${shapeText(array.shape)} in weights.npz but ${
          shapeText(shape)
        } in manifest.json`,
      );
    } else parameters.set(name, { shape: array.shape, data: array.data as Float32Array });
  }
  const unlisted = weights.keys.filter((k) => !listed.some((p) => p.name === k));
  if (unlisted.length > 0) {
    problems.push(`weights.npz holds unlisted ${unlisted.map((k) => `'${k}'`).join(", ")}`);
  }
  if (problems.length > 0) fail(`inconsistent bundle: ${problems.join("; ")}`);

  if (options.expectedShapes) checkAgainstModel(parameters, options.expectedShapes, fail);

  const probe = decodeNpy(member("probe.npy"), `${file} (probe.npy)`);
  const [n] = Array.isArray(manifest.probeShape) ? manifest.probeShape : [NaN];
  if (probe.dtype !== "c8" || !sameShape(probe.shape, [n, n])) {
    fail(`probe.npy is ${probe.dtype} ${shapeText(probe.shape)}, expected c8 ${shapeText([n, n])}`);
  }
  return { manifest, parameters, probe: probe.data as Float32Array };
}

/** Lists every difference between the bundle's parameters and the model's in one error. */
function checkAgainstModel(
  parameters: Map<string, BundleParameter>,
  expected: ParameterShapes,
  fail: (problem: string) => never,
): void {
  const wanted = new Map(entriesOf(expected));
  const problems: string[] = [];
  for (const [name, shape] of wanted) {
    const have = parameters.get(name);
    if (!have) problems.push(`missing '${name}' ${shapeText(shape)}`);
    else if (!sameShape(have.shape, shape)) {
      problems.push(
        `'${name}' has shape ${shapeText(have.shape)} but the model needs ${shapeText(shape)}`,
      );
    }
  }
  for (const name of parameters.keys()) {
    if (!wanted.has(name)) problems.push(`unexpected '${name}'`);
  }
  if (problems.length > 0) fail(`parameters do not match the model: ${problems.join("; ")}`);
}
