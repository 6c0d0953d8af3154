/**
 * The page's work without the DOM: open a backend, read a scan from bytes, train a model or load
 * one from `model.zip` bytes, reconstruct, and encode `reconstruction.npz` and `model.zip`, all
 * through the library's byte-level surface (nothing here touches files or `Deno`).
 */
import { type BackendKind, openBackend } from "../engine/backend_choice.ts";
import { Rng, setBackend } from "../engine/mod.ts";
import type { Backend } from "../engine/backend.ts";
import { type PtychoDataset, readDataset } from "../io/dataset.ts";
import { NpzReader } from "../io/npz.ts";
import { prepareDataset } from "../model/batches.ts";
import { encodeReconstructionNpz } from "../model/evaluate/files.ts";
import { reconstruct, type Reconstruction } from "../model/infer/infer.ts";
import {
  decodeModelBundle,
  encodeModelBundle,
  MODEL_KIND,
  modelFromBundle,
  type PinnManifest,
} from "../model/model_bundle.ts";
import { initialParameters, type NetworkConfig, SUPPORTED_N } from "../model/network.ts";
import { initialIntensityScale, normalizeProbe, PROBE_SCALE } from "../model/normalize.ts";
import { LOG_SCALE, PtychoPinn } from "../model/pinn.ts";
import { runTraining } from "../model/train/loop.ts";

/** Groups per forward pass at inference, the batch size the page trains with. */
export const INFER_BATCH = 16;

/** Training settings the page offers (the rest are the CLI's defaults). */
export interface PageTraining {
  /** Epochs. */
  epochs: number;
  /** Groups to train on. */
  nImages: number;
  /** Groups per batch. */
  batchSize: number;
  /** CNN filter multiplier. */
  nFiltersScale: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Run seed. */
  seed: number;
}

/** What the page shows while training: steps done of the epoch's total, and losses read back. */
export interface TrainingListener {
  /** After `done` of `total` steps of epoch `epoch`; `loss` when one was read back. */
  step(epoch: number, done: number, total: number, loss: number | null): void;
  /** Epoch `epoch` finished with mean training loss `loss`. */
  epoch(epoch: number, loss: number): void;
}

/** A scan read from bytes, with the SHA-256 of those bytes (recorded in model.zip). */
export interface Scan {
  /** The validated dataset. */
  dataset: PtychoDataset;
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
}

/** Reads a scan `.npz` (docs/physics.md#data-contract) from bytes; `name` is used in errors. */
export async function readScan(bytes: Uint8Array, name: string): Promise<Scan> {
  const dataset = readDataset(NpzReader.fromBytes(bytes, name), { gridsize: 1 });
  if (!SUPPORTED_N.includes(dataset.n)) {
    throw new Error(
      `${name}: patterns are ${dataset.n}×${dataset.n}; the model needs N = 32, 64, 128 or 256`,
    );
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  const sha256 = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { dataset, sha256 };
}

/** One page's backend and model. */
export class Session {
  /** The trained or loaded model, once there is one. */
  model: PtychoPinn | null = null;
  /** Its `model.zip` bytes. */
  modelZip: Uint8Array | null = null;

  private constructor(readonly backend: Backend, readonly fallback: string | null) {}

  /** Opens the backend (`auto`: WebGPU, else the CPU with `fallback` saying why) and selects it. */
  static async open(kind: BackendKind = "auto"): Promise<Session> {
    const { backend, fallback } = await openBackend(kind);
    setBackend(backend);
    return new Session(backend, fallback);
  }

  /** Trains a fresh model on `scan` (gridsize 1) and keeps it with its `model.zip` bytes. */
  async train(scan: Scan, s: PageTraining, listen: TrainingListener): Promise<void> {
    const train = scan.dataset;
    const n = train.n;
    const net: NetworkConfig = { n, gridsize: 1, nFiltersScale: s.nFiltersScale };
    const s0 = initialIntensityScale(train.nphotons, n);
    const data = prepareDataset(train, {
      nGroups: s.nImages,
      gridsize: 1,
      neighbours: 4,
      seed: s.seed,
    });
    const probe = normalizeProbe(train.probe, n, PROBE_SCALE);
    const values = initialParameters(net, new Rng(s.seed));
    values.set(LOG_SCALE, Float32Array.of(Math.log(s0)));
    this.replaceModel(new PtychoPinn(net, values, probe, s0));
    const model = this.model!;
    let epoch = 1;
    await runTraining({
      maxEpochs: s.epochs,
      batchSize: s.batchSize,
      learningRate: s.learningRate,
      loss: "poisson",
      scheduler: "constant",
      earlyStopPatience: s.epochs,
      checkpointSaveTopK: 0,
      monitor: "train_loss",
      accumulateGradBatches: 1,
      logEvery: 1,
      seed: s.seed,
      // The page's runs are short, as the demo's: no moving average (cli/demo.ts).
      emaDecay: 0,
    }, {
      model,
      train: data,
      val: null,
      dataFile: train.file,
      lastCheckpoint: "(none in the browser)",
      resume: null,
      fingerprint: {},
      onEpochEnd: (end) => {
        const r = end.state.history.at(-1);
        if (end.finished && r !== undefined) listen.epoch(r.epoch, r.trainLoss);
        epoch = end.state.history.length + 1;
        return Promise.resolve();
      },
      log: () => {},
      progress: (total) => ({
        update: (done, loss) => listen.step(epoch, done, total, loss),
        finish: () => {},
      }),
      interrupted: () => false,
    });
    const manifest: Omit<PinnManifest, "intensityScale"> = {
      model: MODEL_KIND,
      n,
      gridsize: 1,
      nFiltersScale: s.nFiltersScale,
      objectBig: false,
      probeBig: true,
      padObject: true,
      amplitudeActivation: "sigmoid",
      intensityScaleInitial: s0,
      nphotons: train.nphotons,
      normalizationFactor: data.factor,
      probeScale: PROBE_SCALE,
      trainingData: { file: train.file, sha256: scan.sha256, patterns: train.patternCount },
      config: { ...s, backend: this.backend.name, backendDescription: this.backend.description },
    };
    this.modelZip = (await encodeModelBundle(model, manifest, probe)).bytes;
  }

  /** Loads `model.zip` bytes (`name` is used in errors). */
  loadModel(bytes: Uint8Array, name: string): void {
    const { bundle, manifest } = decodeModelBundle(bytes, name);
    this.replaceModel(modelFromBundle(bundle, manifest));
    this.modelZip = bytes;
  }

  /** Reconstructs `scan` with the model; returns the result and `reconstruction.npz` bytes. */
  async reconstruct(
    scan: PtychoDataset,
    onProgress?: (done: number, total: number) => void,
  ): Promise<{ recon: Reconstruction; npz: Uint8Array }> {
    if (this.model === null) throw new Error("train or load a model first");
    // Batches of the training batch size reuse the pipelines training compiled (a software
    // adapter spends seconds on each new conv pipeline).
    const recon = await reconstruct(this.model, scan, { onProgress, batchSize: INFER_BATCH });
    const npz = encodeReconstructionNpz(
      recon.stitched,
      recon.xcoords,
      recon.ycoords,
      recon.stitchCrop,
    );
    return { recon, npz };
  }

  private replaceModel(model: PtychoPinn): void {
    this.model?.dispose();
    this.model = model;
  }
}
