/**
 * A training run's output folder: `checkpoints/` (last.zip and the best-k), `metrics.csv`,
 * `loss_curve.svg` and finally `model.zip`. The loop hands it each finished (or interrupted)
 * epoch through one callback and never touches files itself. Every write is atomic.
 */
import type { Adam } from "../../engine/mod.ts";
import { bundleMembers, encodeBundleMembers } from "../../io/bundle.ts";
import { type ByteParts, removeIfPresent, writeFileAtomic } from "../../io/files.ts";
import { lossCurveSvg } from "../../io/loss_plot.ts";
import { modelBundleContents, type PinnManifest } from "../model_bundle.ts";
import type { PtychoPinn } from "../pinn.ts";
import {
  type BestCheckpoint,
  encodeCheckpoint,
  type EpochRecord,
  type TrainingState,
} from "./checkpoint.ts";

/** What the loop reports at the end of an epoch, or where an interrupted epoch stopped. */
export interface EpochEnd {
  /** The model after the epoch's last step. */
  model: PtychoPinn;
  /** Its optimizer (moments go into the checkpoint). */
  optimizer: Adam;
  /** The training state to checkpoint (history includes this epoch when it finished). */
  state: TrainingState;
  /** True when the epoch finished; false for a checkpoint in the middle of one. */
  finished: boolean;
  /** A new best-k checkpoint to write besides last.zip, if any. */
  added: BestCheckpoint | null;
  /** Best-k checkpoint files that dropped out of the ranking. */
  evicted: readonly string[];
}

/** How a run folder writes its files. */
export interface RunDirectoryOptions {
  /** Manifest fields of the bundle and checkpoints (intensityScale is filled in per write). */
  manifest: Omit<PinnManifest, "intensityScale">;
  /** The probe stored in bundles. */
  probe: Float32Array;
  /** Write metrics.csv. */
  csv: boolean;
  /** Draw the validation curve in loss_curve.svg. */
  validated: boolean;
  /** The training loss's name, for the plot's title. */
  lossName: string;
}

/** The output folder of one training run. */
export class RunDirectory {
  /** `<dir>/checkpoints`. */
  readonly checkpointDir: string;
  /** `<dir>/checkpoints/last.zip`, rewritten at every epoch end. */
  readonly lastCheckpoint: string;
  /** The model and bundle members of the last finished epoch's checkpoint (for model.zip). */
  #latest: { model: PtychoPinn; bundle: Map<string, ByteParts> } | null = null;

  /** `dir` must exist and be writable (the command checks it first); checkpoints/ is created. */
  constructor(readonly dir: string, readonly options: RunDirectoryOptions) {
    this.checkpointDir = RunDirectory.checkpointDirOf(dir);
    this.lastCheckpoint = RunDirectory.lastCheckpointOf(dir);
    Deno.mkdirSync(this.checkpointDir, { recursive: true });
  }

  /** The checkpoints folder of a run folder. */
  static checkpointDirOf(dir: string): string {
    return `${dir}/checkpoints`;
  }

  /** The last.zip of a run folder (what `--resume` reads). */
  static lastCheckpointOf(dir: string): string {
    return `${RunDirectory.checkpointDirOf(dir)}/last.zip`;
  }

  /** The loop's end-of-epoch callback: checkpoint, then (finished epochs) metrics and plot. */
  async endEpoch(e: EpochEnd): Promise<void> {
    const { manifest, probe } = this.options;
    const { parts, bundle } = await encodeCheckpoint(
      e.model,
      e.optimizer,
      e.state,
      manifest,
      probe,
    );
    this.#latest = e.finished ? { model: e.model, bundle } : null;
    // The best-k file before last.zip, which lists it: a kill in between never leaves a list
    // naming a file that was not written (and a file already gone is no reason to stop).
    if (e.added !== null) writeFileAtomic(`${this.checkpointDir}/${e.added.file}`, parts);
    writeFileAtomic(this.lastCheckpoint, parts);
    for (const f of e.evicted) removeIfPresent(`${this.checkpointDir}/${f}`);
    if (e.finished) this.#writeEpochLogs(e.state.history);
  }

  /**
   * Writes model.zip; returns its path. Called after training, when the model still holds the
   * weights of the last finished epoch, it reuses that checkpoint's bundle members instead of
   * reading the weights back and encoding them again.
   */
  async saveModel(model: PtychoPinn): Promise<string> {
    const path = `${this.dir}/model.zip`;
    const { manifest, probe } = this.options;
    const bundle = this.#latest?.model === model
      ? this.#latest.bundle
      : bundleMembers(await modelBundleContents(model, manifest, probe));
    writeFileAtomic(path, encodeBundleMembers(bundle));
    return path;
  }

  /** metrics.csv (csv logger) and loss_curve.svg. */
  #writeEpochLogs(history: readonly EpochRecord[]): void {
    const encode = (text: string) => new TextEncoder().encode(text);
    if (this.options.csv) writeFileAtomic(`${this.dir}/metrics.csv`, encode(metricsCsv(history)));
    const svg = lossCurveSvg({
      train: history.map((r) => r.trainLoss),
      validation: this.options.validated ? history.map((r) => r.valLoss ?? NaN) : undefined,
    }, { title: `PtychoPINN training loss (${this.options.lossName})` });
    writeFileAtomic(`${this.dir}/loss_curve.svg`, encode(svg));
  }
}

function metricsCsv(history: readonly EpochRecord[]): string {
  const rows = history.map((r) =>
    [r.epoch, r.trainLoss, r.valLoss ?? "", r.lr, r.seconds.toFixed(3)].join(",")
  );
  return ["epoch,train_loss,val_loss,lr,seconds", ...rows].join("\n") + "\n";
}
