/**
 * The training loop (docs/physics.md#training): seeded shuffled batches each epoch, Adam, an
 * epoch-wise LR schedule, gradient accumulation, validation, early stopping, best-k ranking, and
 * resumption from a checkpoint. Compute only: each epoch's end goes to the `onEpochEnd` callback
 * (the run directory writes the files), progress to a caller-supplied bar.
 *
 * Every training step runs in one `tidy`; the loss stays on the device (a running sum) and is
 * read back only every `logEvery` steps and at the end of the epoch.
 */
import {
  Adam,
  add,
  backward,
  ConstantLr,
  div,
  ExponentialLr,
  getBackend,
  type LrScheduler,
  mul,
  noGrad,
  ReduceOnPlateauLr,
  type Tensor,
  tensor,
  tidy,
  WarmupCosineLr,
  zeros,
} from "../../engine/mod.ts";
import { PtychoInputError } from "../../io/errors.ts";
import {
  type BestCheckpoint,
  type Checkpoint,
  type EpochRecord,
  restoreOptimizer,
  type TrainingState,
} from "./checkpoint.ts";
import type { LossKind } from "../losses.ts";
import type { PtychoPinn } from "../pinn.ts";
import type { EpochEnd } from "./run_dir.ts";
import { chunk, epochOrder, type GroupedPatterns } from "../batches.ts";

/**
 * Decay of the weights' moving average when `--ema_decay` is not given (and not resuming): the
 * model that is validated, checkpointed and saved averages the weights of about the last
 * 1 / (1 − d) steps. Measured in docs/quality/README.md ("Twelfth session").
 */
export const DEFAULT_EMA_DECAY = 0.99;

/** Learning-rate schedule names (docs/physics.md#training). */
export type SchedulerKind = "constant" | "exponential" | "cosine" | "plateau" | "plateau_tf";

/** The settings the loop uses. */
export interface LoopSettings {
  /** Epochs to run in total. */
  maxEpochs: number;
  /** Groups per batch. */
  batchSize: number;
  /** Initial Adam learning rate. */
  learningRate: number;
  /** Training loss. */
  loss: LossKind;
  /** Learning-rate schedule. */
  scheduler: SchedulerKind;
  /** Epochs without improvement before stopping. */
  earlyStopPatience: number;
  /** Best checkpoints to keep (0 = only last.zip). */
  checkpointSaveTopK: number;
  /** "val_loss" or "train_loss" (already resolved: val_loss needs validation data). */
  monitor: "val_loss" | "train_loss";
  /** Batches per optimizer step. */
  accumulateGradBatches: number;
  /** Steps between loss readbacks. */
  logEvery: number;
  /** Run seed (grouping, init, epoch shuffles). */
  seed: number;
  /**
   * Decay of the weights' moving average (0: none). With one, validation, checkpoints' model
   * bundles and the model after training use the averaged weights (docs/physics.md#training).
   */
  emaDecay: number;
}

/** A progress display for one epoch's steps. */
export interface StepProgress {
  /** After `done` steps; `loss` is the latest value read back (if any). */
  update(done: number, loss: number | null): void;
  /** The epoch's steps are over. */
  finish(): void;
}

/** What the loop trains on and how it reports. */
export interface LoopInputs {
  /** The model to train. */
  model: PtychoPinn;
  /** Training groups. */
  train: GroupedPatterns;
  /** Validation groups, if any. */
  val: GroupedPatterns | null;
  /** Named in a divergence error: the training data file. */
  dataFile: string;
  /** Named in a divergence error: where the last good checkpoint is. */
  lastCheckpoint: string;
  /** Resume from this checkpoint (its weights must already be in `model`). */
  resume: Checkpoint | null;
  /** Settings that must match between a run and its resumption (stored in the state). */
  fingerprint: Record<string, unknown>;
  /** Receives every epoch's end and every mid-epoch stop (the run directory writes them). */
  onEpochEnd: (end: EpochEnd) => Promise<void>;
  /** Prints one line (why the run stopped early). */
  log: (line: string) => void;
  /** A progress display for an epoch of `total` steps labelled `label`. */
  progress: (total: number, label: string) => StepProgress;
  /** Polled between steps: true asks the loop to checkpoint and stop (SIGINT). */
  interrupted: () => boolean;
}

/** How the run ended. */
export interface LoopResult {
  /** Finished epochs. */
  history: EpochRecord[];
  /** "completed", "early-stopped" or "interrupted". */
  outcome: "completed" | "early-stopped" | "interrupted";
  /** Where an interrupted run stopped: "after epoch 2" or "in epoch 3 after 5 of 8 batches". */
  stoppedAt: string | null;
}

/**
 * The schedule of `kind` with the upstream defaults (docs/physics.md#training): `plateau` is
 * PyTorch's ReduceLROnPlateau, `plateau_tf` the TensorFlow model's Keras one.
 */
export function makeScheduler(kind: SchedulerKind, lr: number, maxEpochs: number): LrScheduler {
  switch (kind) {
    case "exponential":
      return new ExponentialLr(lr, 0.95);
    case "cosine":
      return new WarmupCosineLr(lr, maxEpochs, 0, 0.1);
    case "plateau":
      // Upstream floor 5e-5; a run that starts near or below it gets 1 % of its own rate.
      return new ReduceOnPlateauLr(lr, 0.5, 2, Math.min(5e-5, lr * 0.01), 0);
    case "plateau_tf":
      // Keras halves after `patience` = 2 epochs without improvement, PyTorch after more than
      // `patience`: so patience 1 here. Floor 1e-4 (a run starting below it is never raised).
      return new ReduceOnPlateauLr(lr, 0.5, 1, 1e-4, 0);
    default:
      return new ConstantLr(lr);
  }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function monitored(r: EpochRecord, monitor: LoopSettings["monitor"]): number {
  return monitor === "val_loss" ? r.valLoss ?? NaN : r.trainLoss;
}

/** Mean reported loss of `data` under the current weights (no gradients), one readback. */
export async function evaluate(
  model: PtychoPinn,
  data: GroupedPatterns,
  batchSize: number,
  kind: LossKind,
): Promise<number> {
  let total: Tensor = zeros([1]);
  for (const groups of chunk([...Array(data.count).keys()], batchSize)) {
    const next: Tensor = noGrad(() =>
      tidy(() => add(total, mul(model.loss(data.batch(groups), kind).reported, groups.length)))
    );
    total.dispose();
    total = next;
  }
  const value = (await total.data())[0] / data.count;
  total.dispose();
  return value;
}

function diverged(file: string, epoch: number, step: number, last: string): PtychoInputError {
  return new PtychoInputError(
    file,
    `training diverged: non-finite loss in epoch ${epoch} (seen at step ${step}); the last good ` +
      `checkpoint is ${last}; try a lower --learning-rate`,
  );
}

/** Best-k bookkeeping (lower is better): the new list, the entry to write, the files to delete. */
function rankBest(
  best: readonly BestCheckpoint[],
  record: EpochRecord,
  value: number,
  s: LoopSettings,
): { best: BestCheckpoint[]; added: BestCheckpoint | null; evicted: string[] } {
  const k = s.checkpointSaveTopK;
  const worst = best.at(-1);
  if (k === 0 || !Number.isFinite(value) || (best.length >= k && value >= worst!.value)) {
    return { best: [...best], added: null, evicted: [] };
  }
  const epoch = String(record.epoch).padStart(3, "0");
  const added = {
    file: `epoch=${epoch}-${s.monitor}=${value.toPrecision(6)}.zip`,
    epoch: record.epoch,
    value,
  };
  const ranked = [...best, added].sort((p, q) => p.value - q.value);
  return { best: ranked.slice(0, k), added, evicted: ranked.slice(k).map((c) => c.file) };
}

/** Where an epoch's steps ended: the device loss sum, the groups seen, the next batch. */
interface EpochSteps {
  lossSum: number;
  groupsDone: number;
  /** Index of the next batch: batches.length when the epoch finished, less when interrupted. */
  next: number;
}

/**
 * Runs the batches of one epoch from `state.batchInEpoch`: each step in one `tidy`, Adam every
 * `accumulateGradBatches` batches, a loss readback every `logEvery` steps, and a stop at an
 * optimizer-step boundary when interrupted.
 */
async function runEpochSteps(
  s: LoopSettings,
  inp: LoopInputs,
  optimizer: Adam,
  state: TrainingState,
  batches: number[][],
  batchCodes: number[][] | null,
  bar: StepProgress,
): Promise<EpochSteps> {
  const { model, train } = inp;
  // The running sum continues from the checkpointed partial sum, so a resumed epoch adds the
  // same f32 values in the same order as an uninterrupted one.
  let lossSum: Tensor = tensor(Float32Array.of(state.partialLossSum), [1]);
  let groupsDone = batches.slice(0, state.batchInEpoch).reduce((n, b) => n + b.length, 0);
  let lastRead: number | null = null;
  let b = state.batchInEpoch;
  try {
    for (; b < batches.length; b++) {
      const groups = batches[b];
      const next = tidy(() => {
        const { loss, reported } = model.loss(train.batch(groups, batchCodes?.[b]), s.loss);
        backward(s.accumulateGradBatches > 1 ? div(loss, s.accumulateGradBatches) : loss);
        return add(lossSum, mul(reported, groups.length));
      });
      lossSum.dispose();
      lossSum = next;
      groupsDone += groups.length;
      const boundary = (b + 1) % s.accumulateGradBatches === 0 || b === batches.length - 1;
      if (boundary) {
        optimizer.step();
        optimizer.zeroGrad();
      }
      getBackend().flush();
      if ((b + 1) % s.logEvery === 0) {
        const sum = (await lossSum.data())[0];
        if (!Number.isFinite(sum)) {
          throw diverged(inp.dataFile, state.epoch + 1, b + 1, inp.lastCheckpoint);
        }
        lastRead = sum / groupsDone;
      }
      bar.update(b + 1, lastRead);
      await yieldToEventLoop();
      if (boundary && inp.interrupted() && b < batches.length - 1) {
        b++;
        break;
      }
    }
    const sum = (await lossSum.data())[0];
    if (!Number.isFinite(sum)) {
      throw diverged(inp.dataFile, state.epoch + 1, b, inp.lastCheckpoint);
    }
    return { lossSum: sum, groupsDone, next: b };
  } finally {
    lossSum.dispose();
    bar.finish();
  }
}

/** Runs (or resumes) training; every epoch's end goes to `inp.onEpochEnd`. */
export async function runTraining(s: LoopSettings, inp: LoopInputs): Promise<LoopResult> {
  const { model } = inp;
  const params = [...model.parameters().values()];
  const optimizer = new Adam(params, {
    lr: s.learningRate,
    beta1: 0.9,
    beta2: 0.999,
    emaDecay: s.emaDecay,
  });
  const scheduler = makeScheduler(s.scheduler, s.learningRate, s.maxEpochs);
  let state: TrainingState = {
    epoch: 0,
    batchInEpoch: 0,
    partialLossSum: 0,
    partialSeconds: 0,
    optimizerSteps: 0,
    history: [],
    best: [],
    earlyStop: { best: null, bad: 0 },
    fingerprint: inp.fingerprint,
  };
  if (inp.resume !== null) {
    restoreOptimizer(inp.resume, model, optimizer);
    state = inp.resume.state;
    // Replay the schedule so a stateful one (plateau) is where the interrupted run left it.
    state.history.forEach((_, e) =>
      scheduler.lrForEpoch(e, e > 0 ? monitored(state.history[e - 1], s.monitor) : undefined)
    );
  }

  const endEpoch = (finished: boolean, added: BestCheckpoint | null, evicted: string[]) =>
    inp.onEpochEnd({ model, optimizer, state, finished, added, evicted });

  let outcome: LoopResult["outcome"] = "completed";
  let stoppedAt: string | null = null;
  for (let epoch = state.epoch; epoch < s.maxEpochs; epoch++) {
    const prev = state.history.at(-1);
    optimizer.lr = scheduler.lrForEpoch(epoch, prev ? monitored(prev, s.monitor) : undefined);
    const batches = chunk(epochOrder(inp.train.count, s.seed, epoch), s.batchSize);
    const codes = inp.train.epochTransforms(s.seed, epoch);
    const batchCodes = codes === null ? null : chunk(codes, s.batchSize);
    const label = `epoch ${epoch + 1}/${s.maxEpochs}`;
    const t0 = performance.now() - state.partialSeconds * 1000;
    state = { ...state, epoch };
    const bar = inp.progress(batches.length, label);
    const steps = await runEpochSteps(s, inp, optimizer, state, batches, batchCodes, bar);
    const seconds = () => (performance.now() - t0) / 1000;
    if (steps.next < batches.length) {
      state = {
        ...state,
        batchInEpoch: steps.next,
        partialLossSum: steps.lossSum,
        partialSeconds: seconds(),
        optimizerSteps: optimizer.t,
      };
      await endEpoch(false, null, []);
      outcome = "interrupted";
      stoppedAt = `in epoch ${epoch + 1} after ${steps.next} of ${batches.length} batches`;
      break;
    }
    const trainLoss = steps.lossSum / steps.groupsDone;
    const val = inp.val;
    const valLoss = val
      ? await optimizer.withAverages(() => evaluate(model, val, s.batchSize, s.loss))
      : null;
    const record: EpochRecord = {
      epoch: epoch + 1,
      trainLoss,
      valLoss,
      lr: optimizer.lr,
      seconds: seconds(),
    };
    const value = monitored(record, s.monitor);
    const { best, added, evicted } = rankBest(state.best, record, value, s);
    const improved = state.earlyStop.best === null || value < state.earlyStop.best;
    const earlyStop = improved
      ? { best: value, bad: 0 }
      : { ...state.earlyStop, bad: state.earlyStop.bad + 1 };
    state = {
      ...state,
      epoch: epoch + 1,
      batchInEpoch: 0,
      partialLossSum: 0,
      partialSeconds: 0,
      optimizerSteps: optimizer.t,
      history: [...state.history, record],
      best,
      earlyStop,
    };
    // The checkpoint's readback and encoding come next: give the step's pooled buffers back to the
    // device first (the next epoch allocates again). On lavapipe this lowers no RSS (wgpu keeps
    // the blocks they came from, docs/engine.md#memory-and-the-buffer-pool); on a GPU it frees
    // device memory for the phase that follows.
    getBackend().releasePooled();
    await endEpoch(true, added, evicted);
    if (inp.interrupted()) {
      outcome = "interrupted";
      stoppedAt = `after epoch ${epoch + 1}`;
      break;
    }
    if (earlyStop.bad >= s.earlyStopPatience) {
      inp.log(`early stopping: ${s.monitor} has not improved for ${earlyStop.bad} epochs`);
      outcome = "early-stopped";
      break;
    }
  }
  optimizer.zeroGrad();
  // The trained model is the averaged one (what the checkpoints' bundles hold).
  optimizer.swapAverages();
  for (const [, t] of optimizer.state()) t.dispose();
  return { history: state.history, outcome, stoppedAt };
}
