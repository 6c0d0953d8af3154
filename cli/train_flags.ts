/**
 * The `train` command's flags (names and defaults: docs/physics.md#command-line-names) and their
 * resolution into one validated settings object (written to config.json).
 */
import { type FlagSpec, type ParsedFlags, UsageError } from "./args.ts";
import { ACCELERATOR_FLAG, acceleratorFromFlags, type AcceleratorKind } from "./accelerator.ts";
import type { LossKind } from "../model/losses.ts";
import type { SchedulerKind } from "../model/train/loop.ts";
import { SCAN_FLAGS, scanOptionsFromFlags } from "./scan_flags.ts";
import type { GroupOrder, SeedMember } from "../model/grouping.ts";
import { AUGMENT_MODES, type AugmentMode } from "../model/augment.ts";
import type { MergeWindow } from "../model/physics.ts";

/**
 * The CNN filter multiplier when `--n_filters_scale` is not given (and not resuming). Measured in
 * docs/quality/README.md ("Tenth session", "Eleventh session"): at N = 64 the 0.59 M-parameter
 * network scores level with upstream's 2.34 M one (scale 2) at equal epochs on simulated scans,
 * fits the Siemens star best of widths 0.5, 1 and 2, and trains an epoch 2.4–3× faster than 2.
 */
export const DEFAULT_N_FILTERS_SCALE = 1;

/** Every flag of `deno task train`. */
export const TRAIN_FLAGS: readonly FlagSpec[] = [
  {
    name: "train_data_file",
    type: "string",
    required: true,
    help:
      "training dataset (.npz, docs/physics.md#data-contract; or the same keys in .h5, or a CXI file)",
  },
  {
    name: "test_data_file",
    type: "string",
    help: "validation dataset (.npz, .h5 or .cxi); none = no validation",
  },
  ...SCAN_FLAGS,
  {
    name: "output_dir",
    type: "string",
    required: true,
    help: "folder for model.zip, checkpoints and logs",
  },
  { name: "max_epochs", type: "int", default: 100, help: "number of epochs" },
  { name: "n_images", type: "int", default: 512, help: "number of groups to train on (n_groups)" },
  {
    name: "gridsize",
    type: "int",
    default: 2,
    help: "group side: gridsize² neighbouring positions per group (1, 2 or 3)",
  },
  {
    name: "batch_size",
    type: "int",
    default: 4,
    help: "groups per batch (upstream: 16; 4 trains faster per epoch, docs/quality/README.md)",
  },
  { name: "learning-rate", type: "number", default: 1e-3, help: "Adam learning rate" },
  ACCELERATOR_FLAG,
  {
    name: "deterministic",
    type: "boolean",
    default: true,
    help: "seeded, reproducible run (seed 42 unless --seed)",
  },
  {
    name: "seed",
    type: "int",
    help: "random seed (default 42 with --deterministic, else time-based)",
  },
  {
    name: "num-workers",
    type: "int",
    default: 0,
    help: "accepted for compatibility; data preparation runs in-process",
  },
  {
    name: "loss",
    type: "choice",
    default: "poisson",
    choices: ["poisson", "mae"],
    help: "training loss: Poisson NLL or amplitude MAE",
  },
  {
    name: "n_filters_scale",
    type: "number",
    help: "CNN filter multiplier (default 1: 0.59 M parameters at N = 64; 2 is upstream's 2.34 M " +
      "network; with --resume the checkpoint's; fractions such as 0.5 make small test nets)",
  },
  {
    name: "ema_decay",
    type: "number",
    help: "decay d of the weights' moving average that validation, checkpoints and model.zip use " +
      "(default 0.99; 0 = the last step's weights; with --resume the checkpoint's)",
  },
  {
    name: "scheduler",
    type: "choice",
    default: "constant",
    choices: ["constant", "exponential", "cosine", "plateau", "plateau_tf"],
    aliases: {
      Default: "constant",
      Exponential: "exponential",
      CosineAnnealing: "cosine",
      ReduceLROnPlateau: "plateau",
    },
    help:
      "LR schedule per epoch: constant, exponential (×0.95), cosine (to 0.1·lr), plateau (PyTorch: " +
      "×0.5 after 3 epochs without improvement, floor 5e-5), plateau_tf (TensorFlow upstream: ×0.5 " +
      "after 2, floor 1e-4)",
  },
  {
    name: "early-stop-patience",
    type: "int",
    default: 100,
    help: "stop after this many epochs without improvement of the monitored loss",
  },
  {
    name: "checkpoint-save-top-k",
    type: "int",
    default: 1,
    help: "best checkpoints to keep in checkpoints/ (0 = only last.zip)",
  },
  {
    name: "checkpoint-monitor",
    type: "choice",
    default: "val_loss",
    choices: ["val_loss", "train_loss"],
    help: "loss that ranks checkpoints and drives early stopping and the plateau schedule",
  },
  {
    name: "accumulate-grad-batches",
    type: "int",
    default: 1,
    help: "batches per optimizer step (their gradients are averaged)",
  },
  {
    name: "resume",
    type: "boolean",
    default: false,
    help: "continue from <output_dir>/checkpoints/last.zip",
  },
  {
    name: "logger",
    type: "choice",
    default: "csv",
    choices: ["none", "csv"],
    help: "csv writes metrics.csv (epoch, losses, lr, seconds)",
  },
  {
    name: "log-every",
    type: "int",
    default: 10,
    help: "read the loss back from the device every this many steps",
  },
  {
    name: "neighbor_count",
    type: "int",
    default: 4,
    help: "K nearest neighbours searched per group seed",
  },
  {
    name: "group_order",
    type: "choice",
    default: "angle",
    choices: ["random", "angle"],
    help: "members of a group by angle around the group centre (channel c = one place), or in " +
      "the random order of the draw (before issue 15)",
  },
  {
    name: "group_seed",
    type: "choice",
    default: "include",
    choices: ["include", "exclude"],
    help: "a group's seed position is a member (the paper; measured better, docs/quality) or is " +
      "not (upstream code, the default before)",
  },
  {
    name: "augment",
    type: "choice",
    default: "none",
    choices: [...AUGMENT_MODES],
    help: "auto = train on flipped and transposed copies of each group (patterns and offsets), " +
      "drawn from the transforms that leave the probe unchanged (an ideal disk: all 8; a " +
      "measured probe: usually none)",
  },
  {
    name: "offset_planes",
    type: "boolean",
    default: false,
    help: "give the network each member's offset as two constant input planes (x/N, y/N)",
  },
  {
    name: "object_big",
    type: "boolean",
    help: "one patch per member, merged per group (default: gridsize > 1); false = one patch " +
      "per group, re-extracted at each member's offset",
  },
  {
    name: "merge_window",
    type: "choice",
    default: "auto",
    choices: ["auto", "central", "full"],
    help: "what the merge keeps of each patch: its central N/2 window, or all of it; auto = all " +
      "of it when over 1 % of the probe's intensity lies outside the central window",
  },
  { name: "quiet", type: "boolean", default: false, help: "no progress bar or epoch lines" },
  { name: "debug", type: "boolean", default: false, help: "print stack traces on errors" },
  {
    name: "disable_mlflow",
    type: "boolean",
    default: false,
    deprecated: "MLflow is not used; the flag is ignored (--logger chooses the logs)",
    help: "deprecated, ignored",
  },
  {
    name: "device",
    type: "choice",
    choices: ["cpu", "cuda", "gpu", "webgpu"],
    deprecated: "use --accelerator; --device cpu|cuda sets it when --accelerator is auto",
    help: "deprecated alias of --accelerator",
  },
];

/** Every resolved setting of a training run. */
export interface TrainConfig {
  /** Training dataset path. */
  trainDataFile: string;
  /** Validation dataset path, or null. */
  testDataFile: string | null;
  /** Output directory. */
  outputDir: string;
  /** Epochs to run in total. */
  maxEpochs: number;
  /** Number of groups (n_images). */
  nImages: number;
  /** Group side (C = gridsize²). */
  gridsize: number;
  /** Groups per batch. */
  batchSize: number;
  /** Initial Adam learning rate. */
  learningRate: number;
  /** Requested backend. */
  accelerator: AcceleratorKind;
  /** Seeded run. */
  deterministic: boolean;
  /** Run seed (grouping, init, epoch shuffles). */
  seed: number;
  /** Accepted for compatibility (unused). */
  numWorkers: number;
  /** Training loss. */
  loss: LossKind;
  /** CNN filter multiplier; null = not given (the default, or the checkpoint's with --resume). */
  nFiltersScale: number | null;
  /** Decay of the weights' moving average; null = the default, or the checkpoint's on resume. */
  emaDecay: number | null;
  /** Learning-rate schedule. */
  scheduler: SchedulerKind;
  /** Epochs without improvement before stopping. */
  earlyStopPatience: number;
  /** Best checkpoints to keep (0 = only last.zip). */
  checkpointSaveTopK: number;
  /** Loss that ranks checkpoints. */
  checkpointMonitor: "val_loss" | "train_loss";
  /** Batches per optimizer step. */
  accumulateGradBatches: number;
  /** Continue from checkpoints/last.zip. */
  resume: boolean;
  /** csv writes metrics.csv. */
  logger: "none" | "csv";
  /** Steps between loss readbacks. */
  logEvery: number;
  /** K nearest neighbours per seed. */
  neighborCount: number;
  /** Member order within a group. */
  groupOrder: GroupOrder;
  /** Whether a group's seed is a member. */
  groupSeed: SeedMember;
  /** Training augmentation by the probe's symmetries (model/augment.ts). */
  augment: AugmentMode;
  /** Offsets as input planes. */
  offsetPlanes: boolean;
  /** One patch per member, merged (true), or one per group (false). */
  objectBig: boolean;
  /** What the merge keeps of each patch; `auto` is resolved from the probe (model/merge_window.ts). */
  mergeWindow: MergeWindow | "auto";
  /** No progress bar or epoch lines. */
  quiet: boolean;
  /** Print stack traces. */
  debug: boolean;
  /** How CXI/HDF5 scans are read (probe file, translation sign, fftshift). */
  scan: ReturnType<typeof scanOptionsFromFlags>;
}

function atLeast(flags: ParsedFlags, key: string, min: number): number {
  const v = flags[key] as number;
  if (v < min) throw new UsageError(`--${key} must be at least ${min}, got ${v}`);
  return v;
}

/** Validates flag values and fills in derived defaults (seed, accelerator from --device). */
export function resolveTrainConfig(flags: ParsedFlags): TrainConfig {
  const gridsize = atLeast(flags, "gridsize", 1);
  if (gridsize > 3) throw new UsageError(`--gridsize must be 1, 2 or 3, got ${gridsize}`);
  const lr = flags.learning_rate as number;
  if (!(lr > 0)) throw new UsageError(`--learning-rate must be positive, got ${lr}`);
  const nfs = (flags.n_filters_scale as number | undefined) ?? null;
  if (nfs !== null && (!(nfs > 0) || !Number.isInteger(nfs * 32) || nfs * 32 <= 4)) {
    throw new UsageError(
      `--n_filters_scale must be a positive multiple of 1/32 above 1/8, got ${nfs}`,
    );
  }
  const emaDecay = (flags.ema_decay as number | undefined) ?? null;
  if (emaDecay !== null && !(emaDecay >= 0 && emaDecay < 1)) {
    throw new UsageError(`--ema_decay must lie in [0, 1), got ${emaDecay}`);
  }
  const deterministic = flags.deterministic as boolean;
  const seed = flags.seed === undefined
    ? (deterministic ? 42 : Date.now() % 2 ** 31)
    : atLeast(flags, "seed", 0);
  const accelerator = acceleratorFromFlags(flags);
  return {
    trainDataFile: flags.train_data_file as string,
    testDataFile: (flags.test_data_file as string | undefined) ?? null,
    outputDir: flags.output_dir as string,
    maxEpochs: atLeast(flags, "max_epochs", 1),
    nImages: atLeast(flags, "n_images", 1),
    gridsize,
    batchSize: atLeast(flags, "batch_size", 1),
    learningRate: lr,
    accelerator,
    deterministic,
    seed,
    numWorkers: atLeast(flags, "num_workers", 0),
    loss: flags.loss as LossKind,
    nFiltersScale: nfs,
    emaDecay,
    scheduler: flags.scheduler as SchedulerKind,
    earlyStopPatience: atLeast(flags, "early_stop_patience", 1),
    checkpointSaveTopK: atLeast(flags, "checkpoint_save_top_k", 0),
    checkpointMonitor: flags.checkpoint_monitor as "val_loss" | "train_loss",
    accumulateGradBatches: atLeast(flags, "accumulate_grad_batches", 1),
    resume: flags.resume as boolean,
    logger: flags.logger as "none" | "csv",
    logEvery: atLeast(flags, "log_every", 1),
    neighborCount: atLeast(flags, "neighbor_count", 1),
    groupOrder: flags.group_order as GroupOrder,
    groupSeed: flags.group_seed as SeedMember,
    augment: flags.augment as AugmentMode,
    offsetPlanes: flags.offset_planes as boolean,
    objectBig: (flags.object_big as boolean | undefined) ?? gridsize > 1,
    mergeWindow: flags.merge_window as MergeWindow | "auto",
    quiet: flags.quiet as boolean,
    debug: flags.debug as boolean,
    scan: scanOptionsFromFlags(flags),
  };
}
