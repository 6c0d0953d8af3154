/**
 * The trained model as a bundle (docs/physics.md#model-bundle, io/bundle.ts): what model.zip's
 * manifest holds for PtychoPINN, writing it from a live model, and rebuilding a model from it.
 *
 * weights.npz holds every generator parameter by its stable name plus `log_scale` [1];
 * probe.npy is the probe actually used (after normalisation).
 */
import type { Tensor } from "../engine/mod.ts";
import {
  type BundleContents,
  type BundleParameter,
  decodeBundle,
  encodeBundle,
  type ModelBundle,
} from "../io/bundle.ts";
import { readFileOrFail } from "../io/files.ts";
import { PtychoInputError } from "../io/errors.ts";
import { SUPPORTED_N } from "./network.ts";
import type { GroupOrder, SeedMember } from "./grouping.ts";
import type { MergeWindow } from "./physics.ts";
import { modelParameterShapes, type PinnConfig, PtychoPinn } from "./pinn.ts";

/** Identifies a PtychoPINN bundle in `manifest.model`. */
export const MODEL_KIND = "ptychopinn-cnn";

/** PtychoPINN fields of `manifest.json` (the bundle adds formatVersion, parameters, probeShape). */
export interface PinnManifest {
  /** Always {@link MODEL_KIND}. */
  model: string;
  /** Pattern side. */
  n: number;
  /** Group side (C = gridsize² channels). */
  gridsize: number;
  /** Filter multiplier. */
  nFiltersScale: number;
  /** object_big: one patch per member, merged and re-extracted (default: gridsize > 1). */
  objectBig: boolean;
  /** The network reads each member's offset as two input planes (absent: false). */
  offsetPlanes?: boolean;
  /** What the merge keeps of each patch (absent: "central"). */
  mergeWindow?: MergeWindow;
  /** Member order within a group (absent: "random"). */
  groupOrder?: GroupOrder;
  /** Whether a group's seed is a member (absent: "exclude"). */
  groupSeed?: SeedMember;
  /** probe_big: the decoders' border path is on. */
  probeBig: boolean;
  /** pad_object: the central N/2 window is zero-padded to N. */
  padObject: boolean;
  /** Amplitude head activation (docs/physics.md#network). */
  amplitudeActivation: "sigmoid";
  /** Trained intensity scale s = exp(log_scale). */
  intensityScale: number;
  /** Initial intensity scale s0 = sqrt(nphotons)/(N/2); network input = s0·X/s. */
  intensityScaleInitial: number;
  /** Photon count used for s0. */
  nphotons: number;
  /**
   * Amplitude normalisation factor of the training data (docs/physics.md#amplitude-normalisation).
   */
  normalizationFactor: number;
  /** probe_scale used to normalise the probe (docs/physics.md#probe-normalisation). */
  probeScale: number;
  /** Training data: file, sha256 of its bytes, pattern count. */
  trainingData: { file: string; sha256: string; patterns: number };
  /** Every resolved training setting. */
  config: Record<string, unknown>;
}

/**
 * The model configuration a manifest describes; an option a bundle lacks (one written before
 * it existed) means the behaviour of that time.
 */
export function networkConfigOf(manifest: PinnManifest): PinnConfig {
  return {
    n: manifest.n,
    gridsize: manifest.gridsize,
    nFiltersScale: manifest.nFiltersScale,
    objectBig: manifest.objectBig ?? manifest.gridsize > 1,
    offsetPlanes: manifest.offsetPlanes ?? false,
    mergeWindow: manifest.mergeWindow ?? "central",
    groupOrder: manifest.groupOrder ?? "random",
    groupSeed: manifest.groupSeed ?? "exclude",
  };
}

/** The manifest's optional fields and the values each may take. */
const OPTION_VALUES: Record<string, readonly unknown[]> = {
  objectBig: [true, false],
  offsetPlanes: [true, false],
  mergeWindow: ["central", "full"],
  groupOrder: ["random", "angle"],
  groupSeed: ["exclude", "include"],
};

function checkOptions(m: PinnManifest, file: string): void {
  for (const [key, allowed] of Object.entries(OPTION_VALUES)) {
    const v = (m as unknown as Record<string, unknown>)[key];
    if (v !== undefined && !allowed.includes(v)) {
      throw new PtychoInputError(file, `manifest.json has an unknown ${key} ${JSON.stringify(v)}`);
    }
  }
}

/**
 * Host copies of every model parameter, named as in the bundle. The readbacks are all issued
 * before the first is awaited, so they share one device round trip instead of one each.
 */
export async function readParameters(model: PtychoPinn): Promise<Map<string, BundleParameter>> {
  const params = [...model.parameters()];
  const host = await Promise.all(params.map(([, t]) => hostParameter(t)));
  return new Map(params.map(([name], i) => [name, host[i]]));
}

async function hostParameter(t: Tensor): Promise<BundleParameter> {
  return { shape: [...t.shape], data: await t.data() };
}

/**
 * What a bundle of `model` holds: manifest `fields` with intensityScale filled in, host weights,
 * probe.
 */
export async function modelBundleContents(
  model: PtychoPinn,
  fields: Omit<PinnManifest, "intensityScale">,
  probe: Float32Array,
): Promise<BundleContents & { parameters: Map<string, BundleParameter> }> {
  const parameters = await readParameters(model);
  const logScale = parameters.get("log_scale")!.data[0];
  const manifest: PinnManifest = { ...fields, intensityScale: Math.exp(logScale) };
  return { manifest: { ...manifest }, parameters, probe };
}

/** The bundle bytes of `model` with manifest `fields` (intensityScale is filled in here). */
export async function encodeModelBundle(
  model: PtychoPinn,
  fields: Omit<PinnManifest, "intensityScale">,
  probe: Float32Array,
): Promise<{ bytes: Uint8Array; parameters: Map<string, BundleParameter> }> {
  const contents = await modelBundleContents(model, fields, probe);
  return { bytes: encodeBundle(contents), parameters: contents.parameters };
}

/** Loads model.zip (or a checkpoint) and checks it is a PtychoPINN bundle of a known shape. */
export function loadModelBundle(path: string): { bundle: ModelBundle; manifest: PinnManifest } {
  return decodeModelBundle(readFileOrFail(path), path);
}

/** {@link loadModelBundle} on bytes already read (`file` names them in errors). */
export function decodeModelBundle(
  bytes: Uint8Array,
  file: string,
): { bundle: ModelBundle; manifest: PinnManifest } {
  const peek = decodeBundle(bytes, file);
  const m = peek.manifest as unknown as PinnManifest;
  if (m.model !== MODEL_KIND) {
    throw new PtychoInputError(file, `not a PtychoPINN model bundle (model '${m.model}')`);
  }
  const ok = SUPPORTED_N.includes(m.n) && Number.isInteger(m.gridsize) && m.gridsize >= 1 &&
    m.nFiltersScale > 0;
  if (!ok) throw new PtychoInputError(file, "manifest.json has an unsupported N/gridsize");
  checkOptions(m, file);
  const expectedShapes = modelParameterShapes(networkConfigOf(m));
  return { bundle: decodeBundle(bytes, file, { expectedShapes }), manifest: m };
}

/** Rebuilds the model held by a loaded bundle on the current backend. */
export function modelFromBundle(bundle: ModelBundle, manifest: PinnManifest): PtychoPinn {
  const values = new Map([...bundle.parameters].map(([k, p]) => [k, p.data]));
  return new PtychoPinn(
    networkConfigOf(manifest),
    values,
    bundle.probe,
    manifest.intensityScaleInitial,
  );
}
