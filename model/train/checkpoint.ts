/**
 * Training checkpoints: a model bundle (manifest.json, weights.npz, probe.npy — so a checkpoint
 * also loads as a model) plus `optimizer.npz` (Adam moments by parameter name) and
 * `training_state.json` (epoch, position in the epoch, history, best-k, early stopping).
 * With a moving average of the weights (`--ema_decay`), the bundle holds the averaged weights
 * (what inference uses) and `optimizer.npz` the training weights as `raw.<param>`.
 * Written atomically by the run directory (run_dir.ts); `--resume` reads them back, once.
 */
import { type Adam, tensor } from "../../engine/mod.ts";
import { PtychoInputError } from "../../io/errors.ts";
import { type ByteParts, readFileOrFail } from "../../io/files.ts";
import { bundleMembers, type ModelBundle } from "../../io/bundle.ts";
import { encodeNpzParts, NpzReader } from "../../io/npz.ts";
import { memorySource, ZipReader } from "../../io/zip.ts";
import { storedZipParts } from "../../io/zip_write.ts";
import { decodeModelBundle, modelBundleContents, type PinnManifest } from "../model_bundle.ts";
import type { PtychoPinn } from "../pinn.ts";

/** One finished epoch in the history. */
export interface EpochRecord {
  /** Epoch number (1-based). */
  epoch: number;
  /** Mean reported training loss of the epoch. */
  trainLoss: number;
  /** Mean reported validation loss (null without validation data). */
  valLoss: number | null;
  /** Learning rate used in the epoch. */
  lr: number;
  /** Wall time of the epoch in seconds. */
  seconds: number;
}

/** A kept best checkpoint. */
export interface BestCheckpoint {
  /** File name inside checkpoints/. */
  file: string;
  /** Epoch number (1-based). */
  epoch: number;
  /** Monitored loss of that epoch. */
  value: number;
}

/** Everything besides weights and moments that a resumed run needs. */
export interface TrainingState {
  /** Epoch to run next (0-based). */
  epoch: number;
  /** Batch of that epoch to run next (0 at an epoch boundary). */
  batchInEpoch: number;
  /** Σ (batch loss · batch groups) over the batches of the epoch already run. */
  partialLossSum: number;
  /** Seconds spent in the epoch so far. */
  partialSeconds: number;
  /** Adam steps taken. */
  optimizerSteps: number;
  /** Finished epochs. */
  history: EpochRecord[];
  /** Best checkpoints kept, best first. */
  best: BestCheckpoint[];
  /** Early stopping: best monitored value and epochs since it improved. */
  earlyStop: { best: number | null; bad: number };
  /** Settings that must match for a resume (seed, sizes). */
  fingerprint: Record<string, unknown>;
}

const STATE = "training_state.json";
const OPTIMIZER = "optimizer.npz";

/** A checkpoint's bytes and the model bundle members inside it. */
export interface EncodedCheckpoint {
  /** The checkpoint zip, in parts (write them atomically). */
  parts: ByteParts;
  /** Its model bundle members (manifest.json, weights.npz, probe.npy), e.g. for model.zip. */
  bundle: Map<string, ByteParts>;
}

/**
 * A checkpoint of `model`, `optimizer` and `state`, as parts that hold the host copies of the
 * weights and moments (not copied again). Every parameter and moment is read back in one batch:
 * the readbacks are all issued before the first is awaited. With moving averages, the model's
 * weights and the averages trade places for the readbacks (no copy) and back after them.
 */
export async function encodeCheckpoint(
  model: PtychoPinn,
  optimizer: Adam,
  state: TrainingState,
  fields: Omit<PinnManifest, "intensityScale">,
  probe: Float32Array,
): Promise<EncodedCheckpoint> {
  const names = [...model.parameters().keys()];
  const moments = optimizer.state();
  const averaged = optimizer.averages() !== null;
  // Swapped, the model computes with the averages and `e.<i>` holds the training weights.
  const sources = names.flatMap((_, i) => [
    moments.get(`mv.${i}`)!,
    ...(averaged ? [moments.get(`e.${i}`)!] : []),
  ]);
  const [contents, host] = await optimizer.withAverages(() =>
    Promise.all([
      modelBundleContents(model, fields, probe),
      Promise.all(sources.map((t) => t.data())),
    ])
  );
  const bundle = bundleMembers(contents);
  // The file keeps m and v apart (`m.<param>`, `v.<param>`): the optimizer's [m | v] buffer split.
  const arrays = new Map<string, { dtype: "f4"; shape: number[]; data: Float32Array }>();
  let k = 0;
  names.forEach((name) => {
    const mv = host[k++], half = mv.length / 2;
    const pshape = [...model.parameters().get(name)!.shape];
    arrays.set(`m.${name}`, { dtype: "f4", shape: pshape, data: mv.subarray(0, half) });
    arrays.set(`v.${name}`, { dtype: "f4", shape: pshape, data: mv.subarray(half) });
    if (averaged) arrays.set(`raw.${name}`, { dtype: "f4", shape: pshape, data: host[k++] });
  });
  const members = new Map(bundle);
  members.set(OPTIMIZER, encodeNpzParts(arrays));
  members.set(STATE, [new TextEncoder().encode(JSON.stringify(state, null, 2) + "\n")]);
  return { parts: storedZipParts(members), bundle };
}

/** A checkpoint read once from disk: the model bundle, the training state, the Adam moments. */
export interface Checkpoint {
  /** Where it was read from (named in errors). */
  path: string;
  /** Weights, probe and manifest (a checkpoint is also a model bundle). */
  bundle: ModelBundle;
  /** The bundle's manifest. */
  manifest: PinnManifest;
  /** Where training stood. */
  state: TrainingState;
  /** Adam moments, `m.<param>` and `v.<param>`, and with averages the weights `raw.<param>`. */
  moments: NpzReader;
}

/** Reads `path` once and decodes every part of the checkpoint (one-line errors when it is not one). */
export function readCheckpoint(path: string): Checkpoint {
  const bytes = readFileOrFail(path);
  const { bundle, manifest } = decodeModelBundle(bytes, path);
  const zip = new ZipReader(memorySource(bytes), path);
  const member = (name: string) => {
    const e = zip.find(name);
    if (!e) throw new PtychoInputError(path, `not a training checkpoint (no ${name})`);
    return zip.read(e);
  };
  let state: TrainingState;
  try {
    state = JSON.parse(new TextDecoder().decode(member(STATE)));
  } catch (e) {
    if (e instanceof PtychoInputError) throw e;
    throw new PtychoInputError(path, `${STATE} is not valid JSON`);
  }
  const moments = NpzReader.fromBytes(member(OPTIMIZER), `${path} (${OPTIMIZER})`);
  return { path, bundle, manifest, state, moments };
}

/** Throws unless the checkpoint was made with the same run-defining settings. */
export function checkResumable(ckpt: Checkpoint, fingerprint: Record<string, unknown>): void {
  const want = JSON.stringify(fingerprint), have = JSON.stringify(ckpt.state.fingerprint);
  if (want !== have) {
    throw new PtychoInputError(
      ckpt.path,
      `cannot resume: the checkpoint was made with other settings (${have}; now ${want})`,
    );
  }
}

/**
 * Restores the checkpoint's Adam moments and step count into `optimizer` (built for `model`, which
 * holds the checkpoint's bundle weights). With moving averages those weights are the averages:
 * they move into the optimizer's averages, and the model gets the training weights `raw.<param>`.
 */
export function restoreOptimizer(ckpt: Checkpoint, model: PtychoPinn, optimizer: Adam): void {
  const moments = optimizer.state();
  const names = [...model.parameters().keys()];
  const averaged = optimizer.averages() !== null;
  if (averaged && !ckpt.moments.has(`raw.${names[0]}`)) {
    throw new PtychoInputError(
      ckpt.path,
      "cannot resume with --ema_decay: the checkpoint keeps no moving average (resume without it)",
    );
  }
  // The optimizer's averages started as copies of the model's weights, i.e. the bundle's (the
  // averages); the training weights go into the model.
  const read = (kind: string, name: string, shape: readonly number[]): Float32Array => {
    const a = ckpt.moments.get(`${kind}.${name}`);
    if (a.dtype !== "f4" || a.shape.join() !== shape.join()) {
      throw new PtychoInputError(
        ckpt.path,
        `optimizer array '${kind}.${name}' has the wrong shape`,
      );
    }
    return a.data as Float32Array;
  };
  names.forEach((name, i) => {
    const p = model.parameters().get(name)!, mv = moments.get(`mv.${i}`)!;
    const both = new Float32Array(2 * p.size);
    both.set(read("m", name, p.shape));
    both.set(read("v", name, p.shape), p.size);
    mv.assign(tensor(both, mv.shape, { backend: mv.backend }));
    if (averaged) p.assign(tensor(read("raw", name, p.shape), p.shape, { backend: p.backend }));
  });
  optimizer.t = ckpt.state.optimizerSteps;
}
