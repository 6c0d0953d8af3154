/**
 * `deno task train`: validate the inputs, pick the backend, prepare the data and the model, and
 * run the training loop (model/train.ts). Every bad input is detected before the first file is
 * written, so a failed start leaves no partial outputs.
 */
import { Rng, setBackend } from "../engine/mod.ts";
import type { Command, ParsedArgs } from "../io/args.ts";
import { loadDataset, type PtychoDataset } from "../io/dataset.ts";
import { PtychoInputError } from "../io/errors.ts";
import { writeFileAtomic } from "../io/files.ts";
import { lockOutputDir } from "../io/lock.ts";
import { chooseBackend } from "./accelerator.ts";
import { checkResumable, readCheckpointState } from "./checkpoint.ts";
import { loadModelBundle, MODEL_KIND, modelFromBundle, type PinnManifest } from "./model_bundle.ts";
import { initialParameters, type NetworkConfig, parameterCount, SUPPORTED_N } from "./network.ts";
import { initialIntensityScale, normalizeProbe, PROBE_SCALE } from "./normalize.ts";
import { LOG_SCALE, PtychoPinn } from "./pinn.ts";
import { runTraining } from "./train.ts";
import { resolveTrainConfig, TRAIN_FLAGS, type TrainConfig } from "./train_config.ts";
import { prepareDataset } from "./train_data.ts";

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
function loadInputs(cfg: TrainConfig, warn: (m: string) => void) {
  const opts = { gridsize: cfg.gridsize, neighbours: cfg.neighborCount, onWarning: warn };
  const train = loadDataset(cfg.trainDataFile, opts);
  checkN(train);
  const test = cfg.testDataFile === null ? null : loadDataset(cfg.testDataFile, opts);
  if (test !== null && test.n !== train.n) {
    throw new PtychoInputError(
      test.file,
      `N mismatch: test patterns are ${test.n}×${test.n} but training patterns ${train.n}×${train.n}`,
    );
  }
  const lastPath = `${cfg.outputDir}/checkpoints/last.zip`;
  if (cfg.resume) {
    try {
      Deno.statSync(lastPath);
    } catch {
      throw new PtychoInputError(lastPath, "--resume needs this checkpoint, and it does not exist");
    }
  }
  return { train, test, lastPath };
}

/**
 * The model to train: the checkpoint's weights and probe with --resume, else seeded Glorot
 * weights, log_scale = ln s0 and the dataset's probe after normalisation (SPEC A1).
 */
function buildModel(
  cfg: TrainConfig,
  train: PtychoDataset,
  net: NetworkConfig,
  s0: number,
  lastPath: string,
): { model: PtychoPinn; probe: Float32Array } {
  if (cfg.resume) {
    const { bundle, manifest } = loadModelBundle(lastPath);
    return { model: modelFromBundle(bundle, manifest), probe: bundle.probe };
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
  const cfg = resolveTrainConfig(args.flags);
  const say = (line: string) => {
    if (!cfg.quiet) console.log(line);
  };
  const { train, test, lastPath } = loadInputs(cfg, (m) => console.error(`warning: ${m}`));
  const backend = await chooseBackend(cfg.accelerator);
  ensureWritableDir(cfg.outputDir);
  using _lock = lockOutputDir(cfg.outputDir, "train");
  setBackend(backend);

  const n = train.n;
  const net: NetworkConfig = { n, gridsize: cfg.gridsize, nFiltersScale: cfg.nFiltersScale };
  const s0 = initialIntensityScale(train.nphotons, n);
  const trainData = prepareDataset(train, {
    nGroups: cfg.nImages,
    gridsize: cfg.gridsize,
    neighbours: cfg.neighborCount,
    seed: cfg.seed,
  });
  const valData = test === null ? null : prepareDataset(test, {
    nGroups: cfg.nImages,
    gridsize: cfg.gridsize,
    neighbours: cfg.neighborCount,
    seed: cfg.seed + 1,
  });
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
  };
  if (cfg.resume) checkResumable(lastPath, readCheckpointState(lastPath), fingerprint);
  const { model, probe } = buildModel(cfg, train, net, s0, lastPath);
  const monitor = cfg.checkpointMonitor === "val_loss" && valData === null
    ? "train_loss"
    : cfg.checkpointMonitor;
  const config = {
    ...cfg,
    n,
    monitor,
    backend: backend.name,
    backendDescription: backend.description,
  };
  const manifest: Omit<PinnManifest, "intensityScale"> = {
    model: MODEL_KIND,
    n,
    gridsize: cfg.gridsize,
    nFiltersScale: cfg.nFiltersScale,
    objectBig: cfg.gridsize > 1,
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
      ` nphotons=${train.nphotons} seed=${cfg.seed} backend=${backend.name} (${backend.description})` +
      ` monitor=${monitor}` + (cfg.resume ? ` resume=${lastPath}` : ""),
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
      csv: cfg.logger === "csv",
      outputDir: cfg.outputDir,
    }, {
      model,
      train: trainData,
      val: valData,
      manifest,
      probe,
      resumeFrom: cfg.resume ? lastPath : null,
      fingerprint,
      log: say,
      progress: !cfg.quiet && Deno.stderr.isTerminal(),
      interrupted: () => interrupted,
    });
    if (result.outcome === "interrupted") {
      console.error(
        `interrupted ${result.stoppedAt}: checkpoint written to ${result.lastCheckpoint}; ` +
          "continue with --resume",
      );
      Deno.exit(INTERRUPTED_EXIT_CODE);
    }
    const outputs = [result.modelPath!, result.lastCheckpoint, `${cfg.outputDir}/config.json`];
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
  summary: "Train PtychoPINN (physics-informed CNN for ptychography) on a dataset .npz; writes " +
    "model.zip, checkpoints/ (last.zip and the best-k), metrics.csv, loss_curve.svg and " +
    "config.json to --output_dir.",
  flags: TRAIN_FLAGS,
  run,
};
