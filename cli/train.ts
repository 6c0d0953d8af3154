/**
 * `deno task train`: validate the inputs, pick the backend, prepare the data and the model, and
 * run the training loop (model/train.ts). Every bad input is detected before the first file is
 * written, so a failed start leaves no partial outputs.
 */
import { Rng, setBackend } from "../engine/mod.ts";
import type { Command, ParsedArgs } from "./args.ts";
import type { PtychoDataset } from "../io/dataset.ts";
import { loadScan } from "../io/scan_file.ts";
import { PtychoInputError } from "../io/errors.ts";
import { writeFileAtomic } from "../io/files.ts";
import { lockOutputDir } from "../io/lock.ts";
import { chooseBackend } from "./accelerator.ts";
import { type Checkpoint, checkResumable, readCheckpoint } from "../model/train/checkpoint.ts";
import { RunDirectory } from "../model/train/run_dir.ts";
import { formatDuration, ProgressBar } from "./progress.ts";
import { MODEL_KIND, modelFromBundle, type PinnManifest } from "../model/model_bundle.ts";
import { initialParameters, parameterCount, SUPPORTED_N } from "../model/network.ts";
import { initialIntensityScale, normalizeProbe, PROBE_SCALE } from "../model/normalize.ts";
import { LOG_SCALE, type PinnConfig, PtychoPinn } from "../model/pinn.ts";
import { DEFAULT_EMA_DECAY, runTraining } from "../model/train/loop.ts";
import {
  DEFAULT_N_FILTERS_SCALE,
  resolveTrainConfig,
  TRAIN_FLAGS,
  type TrainConfig,
} from "./train_flags.ts";
import { prepareDataset } from "../model/batches.ts";
import { transformName } from "../model/augment.ts";
import { autoMergeWindow, probeShareOutsideCentre } from "../model/merge_window.ts";
import type { MergeWindow } from "../model/physics.ts";

/** Exit code of a run stopped by SIGINT (or SIGTERM) after writing its checkpoint. */
export const INTERRUPTED_EXIT_CODE = 130;

function checkN(ds: PtychoDataset): void {
  if (!SUPPORTED_N.includes(ds.n)) {
    throw new PtychoInputError(
      ds.file,
      `patterns are ${ds.n}×${ds.n}; PtychoPINN needs N = 64, 128 or 256 (32 for small tests)`,
    );
  }
}

/** Creates `dir` if needed and proves it writable; throws a one-line PtychoInputError if not. */
function ensureWritableDir(dir: string): void {
  let created = false;
  try {
    const info = Deno.statSync(dir);
    if (!info.isDirectory) throw new PtychoInputError(dir, "exists and is not a directory");
  } catch (e) {
    if (e instanceof PtychoInputError) throw e;
    try {
      Deno.mkdirSync(dir, { recursive: true });
      created = true;
    } catch (e2) {
      throw new PtychoInputError(dir, `cannot create the output directory (${reason(e2)})`);
    }
  }
  const probe = `${dir}/.ptycho-write-test-${crypto.randomUUID().slice(0, 8)}`;
  try {
    Deno.writeFileSync(probe, new Uint8Array(0));
    Deno.removeSync(probe);
  } catch (e) {
    if (created) Deno.removeSync(dir);
    throw new PtychoInputError(dir, `the output directory is not writable (${reason(e)})`);
  }
}

function reason(e: unknown): string {
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.NotFound) return "no such directory";
  return e instanceof Error ? e.message.split("\n")[0] : String(e);
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", Deno.readFileSync(path));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Loads and checks every input; nothing is written. */
async function loadInputs(cfg: TrainConfig, warn: (m: string) => void) {
  const opts = {
    ...cfg.scan,
    gridsize: cfg.gridsize,
    neighbours: cfg.neighborCount,
    onWarning: warn,
  };
  const train = await loadScan(cfg.trainDataFile, opts);
  checkN(train);
  // Validating on the training file (as the seed's smoke run does) reads it once.
  const test = cfg.testDataFile === null
    ? null
    : cfg.testDataFile === cfg.trainDataFile
    ? train
    : await loadScan(cfg.testDataFile, opts);
  if (test !== null && test.n !== train.n) {
    throw new PtychoInputError(
      test.file,
      `N mismatch: test patterns are ${test.n}×${test.n} but training patterns ${train.n}×${train.n}`,
    );
  }
  const lastPath = RunDirectory.lastCheckpointOf(cfg.outputDir);
  let resume: Checkpoint | null = null;
  if (cfg.resume) {
    try {
      Deno.statSync(lastPath);
    } catch {
      throw new PtychoInputError(lastPath, "--resume needs this checkpoint, and it does not exist");
    }
    resume = readCheckpoint(lastPath);
  }
  return { train, test, lastPath, resume };
}

/**
 * The issue-15 options that differ from the behaviour before they existed: the resume
 * fingerprint holds only these, so checkpoints written before the options still resume.
 */
function changedOptions(cfg: TrainConfig): Record<string, unknown> {
  const old: Record<string, unknown> = {
    groupOrder: "random",
    groupSeed: "exclude",
    offsetPlanes: false,
    objectBig: cfg.gridsize > 1,
    mergeWindow: "central",
    augment: "none",
    emaDecay: 0,
  };
  const now = cfg as unknown as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(old).filter((k) => now[k] !== old[k]).map((k) => [k, now[k]]),
  );
}

/**
 * The merge window to train with: the flag's, or for `auto` the checkpoint's when resuming (a run
 * keeps the window it started with, also one written before `auto` existed) and else the probe's
 * (model/merge_window.ts).
 */
function mergeWindowFor(
  cfg: TrainConfig,
  train: PtychoDataset,
  resume: Checkpoint | null,
): MergeWindow {
  if (cfg.mergeWindow !== "auto") return cfg.mergeWindow;
  if (resume !== null) return resume.manifest.mergeWindow ?? "central";
  const merges = cfg.gridsize > 1 && cfg.objectBig;
  const window = autoMergeWindow(train.probe, train.n, merges);
  if (window === "full" && !cfg.quiet) {
    const share = (100 * probeShareOutsideCentre(train.probe, train.n)).toFixed(1);
    console.error(
      `note: ${share} % of the probe's intensity lies outside the central N/2 window; the merge ` +
        "keeps whole patches (--merge_window full; --merge_window central overrides)",
    );
  }
  return window;
}

/**
 * The model to train: the checkpoint's weights and probe with --resume, else seeded Glorot weights,
 * log_scale = ln s0 and the dataset's probe after normalisation
 * (docs/physics.md#probe-normalisation).
 */
function buildModel(
  cfg: TrainConfig,
  train: PtychoDataset,
  net: PinnConfig,
  s0: number,
  resume: Checkpoint | null,
): { model: PtychoPinn; probe: Float32Array } {
  if (resume !== null) {
    return { model: modelFromBundle(resume.bundle, resume.manifest), probe: resume.bundle.probe };
  }
  const probe = normalizeProbe(train.probe, net.n, PROBE_SCALE);
  const values = initialParameters(net, new Rng(cfg.seed));
  values.set(LOG_SCALE, Float32Array.of(Math.log(s0)));
  return { model: new PtychoPinn(net, values, probe, s0), probe };
}

async function run(args: ParsedArgs): Promise<void> {
  if (args.positional.length > 0) {
    throw new PtychoInputError("arguments", `unexpected argument '${args.positional[0]}'`);
  }
  const flagged = resolveTrainConfig(args.flags);
  const say = (line: string) => {
    if (!flagged.quiet) console.log(line);
  };
  const { train, test, lastPath, resume } = await loadInputs(
    flagged,
    (m) => console.error(`warning: ${m}`),
  );
  const cfg = {
    ...flagged,
    mergeWindow: mergeWindowFor(flagged, train, resume),
    // A resumed run keeps its width, also one started before the default changed from 2 to 1.
    nFiltersScale: flagged.nFiltersScale ?? resume?.manifest.nFiltersScale ??
      DEFAULT_N_FILTERS_SCALE,
    // A resumed run keeps its average, none for one started before the option existed.
    emaDecay: flagged.emaDecay ??
      (resume === null ? DEFAULT_EMA_DECAY : Number(resume.state.fingerprint.emaDecay ?? 0)),
  };
  const backend = await chooseBackend(cfg.accelerator);
  ensureWritableDir(cfg.outputDir);
  using _lock = lockOutputDir(cfg.outputDir, "train");
  setBackend(backend);

  const n = train.n;
  const net = {
    n,
    gridsize: cfg.gridsize,
    nFiltersScale: cfg.nFiltersScale,
    objectBig: cfg.objectBig,
    offsetPlanes: cfg.offsetPlanes,
    mergeWindow: cfg.mergeWindow,
    groupOrder: cfg.groupOrder,
    groupSeed: cfg.groupSeed,
  };
  const s0 = initialIntensityScale(train.nphotons, n);
  const grouping = {
    nGroups: cfg.nImages,
    gridsize: cfg.gridsize,
    neighbours: cfg.neighborCount,
    order: cfg.groupOrder,
    seedMember: cfg.groupSeed,
  };
  const trainData = prepareDataset(train, { ...grouping, seed: cfg.seed, augment: cfg.augment });
  const augmentation = trainData.transforms.slice(1).map(transformName);
  const valData = test === null ? null : prepareDataset(test, { ...grouping, seed: cfg.seed + 1 });
  if (trainData.count < cfg.nImages) {
    console.error(
      `note: --n_images ${cfg.nImages} asks for more groups than the ${train.patternCount} ` +
        `positions allow at gridsize 1; training on ${trainData.count}`,
    );
  }
  const fingerprintSha = await sha256(cfg.trainDataFile);
  // Settings a resumed run must share with the run that wrote the checkpoint.
  const fingerprint = {
    n,
    gridsize: cfg.gridsize,
    nFiltersScale: cfg.nFiltersScale,
    nImages: cfg.nImages,
    batchSize: cfg.batchSize,
    seed: cfg.seed,
    loss: cfg.loss,
    scheduler: cfg.scheduler,
    learningRate: cfg.learningRate,
    accumulateGradBatches: cfg.accumulateGradBatches,
    trainData: fingerprintSha,
    ...changedOptions(cfg),
  };
  if (resume !== null) checkResumable(resume, fingerprint);
  const { model, probe } = buildModel(cfg, train, net, s0, resume);
  const monitor = cfg.checkpointMonitor === "val_loss" && valData === null
    ? "train_loss"
    : cfg.checkpointMonitor;
  const config = {
    ...cfg,
    n,
    monitor,
    augmentTransforms: augmentation,
    backend: backend.name,
    backendDescription: backend.description,
    ...(train.source ? { trainDataSource: train.source } : {}),
    ...(test?.source ? { testDataSource: test.source } : {}),
  };
  const manifest: Omit<PinnManifest, "intensityScale"> = {
    model: MODEL_KIND,
    ...net,
    probeBig: true,
    padObject: true,
    amplitudeActivation: "sigmoid",
    intensityScaleInitial: s0,
    nphotons: train.nphotons,
    normalizationFactor: trainData.factor,
    probeScale: PROBE_SCALE,
    trainingData: { file: cfg.trainDataFile, sha256: fingerprintSha, patterns: train.patternCount },
    config,
  };
  writeFileAtomic(
    `${cfg.outputDir}/config.json`,
    new TextEncoder().encode(JSON.stringify(config, null, 2) + "\n"),
  );
  console.log(
    `train: N=${n} gridsize=${cfg.gridsize} groups=${trainData.count}` +
      (valData ? ` val_groups=${valData.count}` : " (no validation)") +
      ` batch=${cfg.batchSize} epochs=${cfg.maxEpochs} lr=${cfg.learningRate} loss=${cfg.loss}` +
      ` n_filters_scale=${cfg.nFiltersScale} params=${parameterCount(net) + 1}` +
      ` ema_decay=${cfg.emaDecay}` +
      ` nphotons=${train.nphotons} seed=${cfg.seed} backend=${backend.name} (${backend.description})` +
      ` monitor=${monitor}` +
      (cfg.augment === "none"
        ? ""
        : ` augment=${augmentation.join(",") || "none (probe not symmetric)"}`) +
      (cfg.resume ? ` resume=${lastPath}` : ""),
  );

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) Deno.exit(INTERRUPTED_EXIT_CODE);
    interrupted = true;
    console.error("\ninterrupt: finishing the current step and writing a checkpoint...");
  };
  // SIGTERM (a scheduler's preemption) is treated like Ctrl-C where the platform has it.
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, onSigint);
  const run = new RunDirectory(cfg.outputDir, {
    manifest,
    probe,
    csv: cfg.logger === "csv",
    validated: valData !== null,
    lossName: cfg.loss,
  });
  const showProgress = !cfg.quiet && Deno.stderr.isTerminal();
  try {
    const result = await runTraining({
      maxEpochs: cfg.maxEpochs,
      batchSize: cfg.batchSize,
      learningRate: cfg.learningRate,
      loss: cfg.loss,
      scheduler: cfg.scheduler,
      earlyStopPatience: cfg.earlyStopPatience,
      checkpointSaveTopK: cfg.checkpointSaveTopK,
      monitor,
      accumulateGradBatches: cfg.accumulateGradBatches,
      logEvery: cfg.logEvery,
      seed: cfg.seed,
      emaDecay: cfg.emaDecay,
    }, {
      model,
      train: trainData,
      val: valData,
      dataFile: cfg.trainDataFile,
      lastCheckpoint: run.lastCheckpoint,
      resume,
      fingerprint,
      onEpochEnd: async (end) => {
        await run.endEpoch(end);
        const r = end.state.history.at(-1);
        if (end.finished && r !== undefined) {
          say(
            `epoch ${r.epoch}/${cfg.maxEpochs}  train_loss ${r.trainLoss.toPrecision(6)}` +
              (r.valLoss === null ? "" : `  val_loss ${r.valLoss.toPrecision(6)}`) +
              `  lr ${r.lr.toExponential(2)}  ${formatDuration(r.seconds)}`,
          );
        }
      },
      log: say,
      progress: (total, label) => new ProgressBar(total, label, showProgress),
      interrupted: () => interrupted,
    });
    if (result.outcome === "interrupted") {
      console.error(
        `interrupted ${result.stoppedAt}: checkpoint written to ${run.lastCheckpoint}; ` +
          "continue with --resume",
      );
      Deno.exit(INTERRUPTED_EXIT_CODE);
    }
    const modelPath = await run.saveModel(model);
    const outputs = [modelPath, run.lastCheckpoint, `${cfg.outputDir}/config.json`];
    if (cfg.logger === "csv") outputs.push(`${cfg.outputDir}/metrics.csv`);
    outputs.push(`${cfg.outputDir}/loss_curve.svg`);
    console.log(`wrote ${outputs.join(", ")}`);
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSigint);
    model.dispose();
  }
}

/** The `train` subcommand. */
export const trainCommand: Command = {
  name: "train",
  usage: "train --train_data_file F --output_dir D [flags]",
  summary: "Train PtychoPINN (physics-informed CNN for ptychography) on a dataset (.npz, .h5 " +
    "or .cxi, told apart by content); writes " +
    "model.zip, checkpoints/ (last.zip and the best-k), metrics.csv, loss_curve.svg and " +
    "config.json to --output_dir.",
  flags: TRAIN_FLAGS,
  run,
};
