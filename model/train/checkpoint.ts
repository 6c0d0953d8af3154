/**
 * Training checkpoints: a model bundle (manifest.json, weights.npz, probe.npy — so a checkpoint
 * also loads as a model) plus `optimizer.npz` (Adam moments by parameter name) and
 * `training_state.json` (epoch, position in the epoch, history, best-k, early stopping).
 * Written atomically; `--resume` reads them back.
 */
import { type Adam, tensor } from "../../engine/mod.ts";
import { PtychoInputError } from "../../io/errors.ts";
import { readFileOrFail } from "../../io/files.ts";
import { encodeNpz, NpzReader } from "../../io/npz.ts";
import { encodeZip, memorySource, ZipReader } from "../../io/zip.ts";
import { encodeModelBundle, type PinnManifest } from "../model_bundle.ts";
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

/** The bytes of a checkpoint of `model`, `optimizer` and `state` (write them atomically). */
export async function encodeCheckpoint(
  model: PtychoPinn,
  optimizer: Adam,
  state: TrainingState,
  fields: Omit<PinnManifest, "intensityScale">,
  probe: Float32Array,
): Promise<Uint8Array> {
  const { bytes } = await encodeModelBundle(model, fields, probe);
  const names = [...model.parameters().keys()];
  const moments = optimizer.state();
  const arrays = new Map<string, { dtype: "f4"; shape: number[]; data: Float32Array }>();
  for (let i = 0; i < names.length; i++) {
    for (const kind of ["m", "v"]) {
      const t = moments.get(`${kind}.${i}`)!;
      arrays.set(`${kind}.${names[i]}`, { dtype: "f4", shape: [...t.shape], data: await t.data() });
    }
  }
  const zip = new ZipReader(memorySource(bytes), "<checkpoint>");
  const members = new Map(zip.entries.map((e) => [e.name, zip.read(e)]));
  members.set(OPTIMIZER, encodeNpz(arrays));
  members.set(STATE, new TextEncoder().encode(JSON.stringify(state, null, 2) + "\n"));
  return encodeZip(members, false);
}

/** The training state of a checkpoint (a one-line PtychoInputError when it is not one). */
export function readCheckpointState(path: string): TrainingState {
  return JSON.parse(new TextDecoder().decode(checkpointMember(path, STATE)));
}

/** Reads one member of a checkpoint zip (JSON members are checked to parse). */
function checkpointMember(path: string, name: string): Uint8Array {
  const zip = new ZipReader(memorySource(readFileOrFail(path)), path);
  const e = zip.find(name);
  if (!e) throw new PtychoInputError(path, `not a training checkpoint (no ${name})`);
  const bytes = zip.read(e);
  if (name.endsWith(".json")) {
    try {
      JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new PtychoInputError(path, `${name} is not valid JSON`);
    }
  }
  return bytes;
}

/** Throws unless the checkpoint was made with the same run-defining settings. */
export function checkResumable(
  path: string,
  state: TrainingState,
  fingerprint: Record<string, unknown>,
): void {
  const want = JSON.stringify(fingerprint), have = JSON.stringify(state.fingerprint);
  if (want !== have) {
    throw new PtychoInputError(
      path,
      `cannot resume: the checkpoint was made with other settings (${have}; now ${want})`,
    );
  }
}

/** Reads the training state of a checkpoint and restores its Adam moments into `optimizer`. */
export function restoreCheckpoint(
  path: string,
  model: PtychoPinn,
  optimizer: Adam,
): TrainingState {
  const state = readCheckpointState(path);
  const npz = NpzReader.fromBytes(checkpointMember(path, OPTIMIZER), `${path} (${OPTIMIZER})`);
  const moments = optimizer.state();
  const names = [...model.parameters().keys()];
  names.forEach((name, i) => {
    for (const kind of ["m", "v"]) {
      const target = moments.get(`${kind}.${i}`)!;
      const a = npz.get(`${kind}.${name}`);
      if (a.dtype !== "f4" || a.shape.join() !== target.shape.join()) {
        throw new PtychoInputError(path, `optimizer moment '${kind}.${name}' has the wrong shape`);
      }
      target.assign(tensor(a.data as Float32Array, target.shape, { backend: target.backend }));
    }
  });
  optimizer.t = state.optimizerSteps;
  return state;
}
