/**
 * The training loop in-process (tiny N = 32 nets): best-k checkpoints, gradient accumulation,
 * early stopping, a non-finite loss that stops the run without writing anything, and the
 * weights' moving average.
 */
import { cpuBackend, Rng, setBackend } from "../../../engine/mod.ts";
import { loadDataset } from "../../../io/dataset.ts";
import { PtychoInputError } from "../../../io/errors.ts";
import { memorySource, ZipReader } from "../../../io/zip.ts";
import { loadModelBundle, MODEL_KIND, modelFromBundle } from "../../../model/model_bundle.ts";
import { readCheckpoint } from "../../../model/train/checkpoint.ts";
import { RunDirectory } from "../../../model/train/run_dir.ts";
import { initialParameters, type NetworkConfig } from "../../../model/network.ts";
import { initialIntensityScale, normalizeProbe } from "../../../model/normalize.ts";
import { LOG_SCALE, PtychoPinn } from "../../../model/pinn.ts";
import { type LoopSettings, runTraining } from "../../../model/train/loop.ts";
import { type GroupedPatterns, prepareDataset } from "../../../model/batches.ts";
import { assert, assertEquals } from "../../assert.ts";
import { writeTinyDataset } from "../tiny_dataset.ts";

setBackend(cpuBackend());
const work = Deno.makeTempDirSync({ prefix: "ptycho-loop-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
writeTinyDataset(`${work}/d.npz`, { side: 4 });
const dataset = loadDataset(`${work}/d.npz`, { gridsize: 1 });
const net: NetworkConfig = { n: 32, gridsize: 1, nFiltersScale: 0.25 };
const s0 = initialIntensityScale(dataset.nphotons, 32);
const probe = normalizeProbe(dataset.probe, 32);
const trainData = prepareDataset(dataset, { nGroups: 8, gridsize: 1, neighbours: 4, seed: 1 });

function settings(_dir: string, extra: Partial<LoopSettings> = {}): LoopSettings {
  return {
    maxEpochs: 3,
    batchSize: 4,
    learningRate: 1e-3,
    loss: "poisson",
    scheduler: "constant",
    earlyStopPatience: 100,
    checkpointSaveTopK: 1,
    monitor: "train_loss",
    accumulateGradBatches: 1,
    logEvery: 1,
    seed: 5,
    emaDecay: 0,
    ...extra,
  };
}

async function run(
  dir: string,
  extra: Partial<LoopSettings> = {},
  logScale = Math.log(s0),
  resume = false,
  data: GroupedPatterns = trainData,
) {
  Deno.mkdirSync(dir, { recursive: true });
  const values = initialParameters(net, new Rng(3));
  values.set(LOG_SCALE, Float32Array.of(logScale));
  const saved = resume ? readCheckpoint(RunDirectory.lastCheckpointOf(dir)) : null;
  const model = saved
    ? modelFromBundle(saved.bundle, saved.manifest)
    : new PtychoPinn(net, values, probe, s0);
  const lines: string[] = [];
  const runDir = new RunDirectory(dir, {
    manifest: {
      model: MODEL_KIND,
      n: 32,
      gridsize: 1,
      nFiltersScale: 0.25,
      objectBig: false,
      probeBig: true,
      padObject: true,
      amplitudeActivation: "sigmoid",
      intensityScaleInitial: s0,
      nphotons: dataset.nphotons,
      normalizationFactor: trainData.factor,
      probeScale: 4,
      trainingData: { file: dataset.file, sha256: "", patterns: dataset.patternCount },
      config: {},
    },
    probe,
    csv: true,
    validated: false,
    lossName: extra.loss ?? "poisson",
  });
  try {
    const result = await runTraining(settings(dir, extra), {
      model,
      train: data,
      val: null,
      dataFile: dataset.file,
      lastCheckpoint: runDir.lastCheckpoint,
      resume: saved,
      fingerprint: {},
      onEpochEnd: (end) => runDir.endEpoch(end),
      log: (l) => lines.push(l),
      progress: () => ({ update() {}, finish() {} }),
      interrupted: () => false,
    });
    const modelPath = result.outcome === "interrupted" ? null : await runDir.saveModel(model);
    const weights = new Map<string, Float32Array>();
    for (const [k, t] of model.parameters()) weights.set(k, t.dataSync().slice());
    return { result, lines, weights, modelPath };
  } finally {
    model.dispose();
  }
}

function state(dir: string) {
  const path = `${dir}/checkpoints/last.zip`;
  const zip = new ZipReader(memorySource(Deno.readFileSync(path)), path);
  return JSON.parse(new TextDecoder().decode(zip.read(zip.find("training_state.json")!)));
}

Deno.test("best-k keeps the k lowest epochs; accumulation matches a larger batch", async () => {
  const a = await run(`${work}/a`, { checkpointSaveTopK: 2 });
  assertEquals(a.result.outcome, "completed");
  assertEquals(a.result.history.length, 3);
  const kept = [...Deno.readDirSync(`${work}/a/checkpoints`)].map((e) => e.name)
    .filter((n) => n !== "last.zip").sort();
  assertEquals(kept.length, 2);
  const ranked = [...a.result.history].sort((p, q) => p.trainLoss - q.trainLoss).slice(0, 2);
  for (const r of ranked) assert(kept.some((n) => n.startsWith(`epoch=00${r.epoch}-`)), `${kept}`);
  assertEquals(state(`${work}/a`).optimizerSteps, 6);

  const b = await run(`${work}/b`, { batchSize: 2, accumulateGradBatches: 2 });
  assertEquals(state(`${work}/b`).optimizerSteps, 6);
  let differing = 0, total = 0;
  for (const [k, w] of a.weights) {
    const v = b.weights.get(k)!;
    for (let i = 0; i < w.length; i++) if (Math.abs(w[i] - v[i]) > 1e-5) differing++;
    total += w.length;
  }
  assert(differing < 0.002 * total, `${differing} of ${total} weights differ`);
});

Deno.test("the loop releases every tensor it creates", async () => {
  const before = cpuBackend().memory().liveStorages;
  await run(`${work}/leak`, { maxEpochs: 2, accumulateGradBatches: 2, batchSize: 2 });
  assertEquals(cpuBackend().memory().liveStorages, before);
  await run(`${work}/leak_ema`, { maxEpochs: 2, emaDecay: 0.9 });
  assertEquals(cpuBackend().memory().liveStorages, before);
});

Deno.test("early stopping after `patience` epochs without improvement", async () => {
  // lr ≈ 0 and one batch per epoch: every epoch reports exactly the same loss.
  const r = await run(`${work}/stop`, {
    learningRate: 1e-30,
    earlyStopPatience: 1,
    maxEpochs: 5,
    batchSize: 8,
  });
  assertEquals(r.result.outcome, "early-stopped");
  assertEquals(r.result.history.length, 2);
  assert(r.lines.some((l) => l.startsWith("early stopping")));
  assert(r.modelPath !== null);
});

Deno.test("a non-finite loss stops the run with a message and writes nothing", async () => {
  const dir = `${work}/nan`;
  let error: unknown = null;
  try {
    await run(dir, {}, 100);
  } catch (e) {
    error = e;
  }
  assert(error instanceof PtychoInputError, String(error));
  assert(error.message.includes("non-finite loss in epoch 1"), error.message);
  assertEquals([...Deno.readDirSync(`${dir}/checkpoints`)].length, 0);
  assert(![...Deno.readDirSync(dir)].some((e) => e.name === "model.zip"));
});

Deno.test("MAE loss with the exponential schedule", async () => {
  const r = await run(`${work}/mae`, { loss: "mae", scheduler: "exponential", maxEpochs: 2 });
  assertEquals(r.result.history.map((h) => h.lr), [1e-3, 1e-3 * 0.95]);
  assert(r.result.history.every((h) => Number.isFinite(h.trainLoss) && h.trainLoss > 0));
});

Deno.test("a resumed plateau schedule halves the rate where the uninterrupted one does", async () => {
  const flat = { scheduler: "plateau" as const, learningRate: 1e-30, maxEpochs: 5, batchSize: 8 };
  const whole = await run(`${work}/plateau`, flat);
  const rates = whole.result.history.map((h) => h.lr);
  // No improvement (lr ≈ 0): the rate stays for epochs 1–4 and the schedule acts at epoch 5.
  assertEquals(rates.slice(0, 4), [1e-30, 1e-30, 1e-30, 1e-30]);
  assert(rates[4] !== 1e-30, `plateau never acted: ${rates}`);
  await run(`${work}/plateau2`, { ...flat, maxEpochs: 3 });
  const resumed = await run(`${work}/plateau2`, flat, Math.log(s0), true);
  assertEquals(resumed.result.history.map((h) => h.lr), rates);
});

Deno.test("augmented training changes the steps, and a resumed run draws the same transforms", async () => {
  // The tiny dataset's probe is radially symmetric about (N − 1)/2: all 8 transforms apply.
  const opts = { nGroups: 8, gridsize: 1, neighbours: 4, seed: 1, augment: "auto" } as const;
  const augmented = prepareDataset(dataset, opts);
  assertEquals(augmented.transforms.length, 8);
  const plain = await run(`${work}/aug_plain`, { maxEpochs: 2 });
  const whole = await run(`${work}/aug_whole`, { maxEpochs: 2 }, Math.log(s0), false, augmented);
  const differs = [...whole.weights].some(([k, w]) =>
    w.some((v, i) => v !== plain.weights.get(k)![i])
  );
  assert(differs, "augmentation left the weights unchanged");
  await run(`${work}/aug_resumed`, { maxEpochs: 1 }, Math.log(s0), false, augmented);
  const resumed = await run(`${work}/aug_resumed`, { maxEpochs: 2 }, Math.log(s0), true, augmented);
  for (const [k, w] of whole.weights) assertEquals([...resumed.weights.get(k)!], [...w], k);
});

function zipMembers(path: string): Map<string, Uint8Array> {
  const zip = new ZipReader(memorySource(Deno.readFileSync(path)), path);
  return new Map(zip.entries.map((e) => [e.name, zip.read(e)]));
}

Deno.test("model.zip holds the final weights, in the same members as last.zip", async () => {
  const dir = `${work}/final`;
  const r = await run(dir, { maxEpochs: 2 });
  const model = zipMembers(r.modelPath!);
  const last = zipMembers(RunDirectory.lastCheckpointOf(dir));
  assertEquals([...model.keys()], ["manifest.json", "weights.npz", "probe.npy"]);
  for (const [name, bytes] of model) assertEquals([...bytes], [...last.get(name)!], name);
  const { bundle } = loadModelBundle(r.modelPath!);
  for (const [k, w] of r.weights) assertEquals([...bundle.parameters.get(k)!.data], [...w], k);
  // Resumed with no epoch left, the weights are read back from the model: the same file.
  const before = Deno.readFileSync(r.modelPath!);
  const again = await run(dir, { maxEpochs: 2 }, Math.log(s0), true);
  assertEquals(again.result.history.length, 2);
  assertEquals([...Deno.readFileSync(again.modelPath!)], [...before]);
});

/** The raw (training) weights a checkpoint keeps beside its averaged bundle. */
function rawWeights(dir: string): Map<string, Float32Array> {
  const ckpt = readCheckpoint(RunDirectory.lastCheckpointOf(dir));
  const out = new Map<string, Float32Array>();
  for (const k of ckpt.bundle.parameters.keys()) {
    out.set(k, ckpt.moments.get(`raw.${k}`).data as Float32Array);
  }
  return out;
}

Deno.test("a moving average of the weights: training unchanged, the bundle averaged, resumable", async () => {
  // One step per epoch (8 groups, batch 8). The bias-corrected average after one step is the
  // first step's weights w1; after two, (d·w1 + w2) / (1 + d).
  const one = { batchSize: 8 };
  const plain1 = await run(`${work}/ema_plain1`, { ...one, maxEpochs: 1 });
  const plain2 = await run(`${work}/ema_plain2`, { ...one, maxEpochs: 2 });
  const avg1 = await run(`${work}/ema_avg1`, { ...one, maxEpochs: 1, emaDecay: 0.5 });
  const avg2 = await run(`${work}/ema_avg2`, { ...one, maxEpochs: 2, emaDecay: 0.5 });
  assertEquals(
    avg2.result.history.map((h) => h.trainLoss),
    plain2.result.history.map((h) => h.trainLoss),
  );
  const raw2 = rawWeights(`${work}/ema_avg2`);
  for (const [k, w2] of plain2.weights) {
    const w1 = plain1.weights.get(k)!;
    assertEquals([...raw2.get(k)!], [...w2], `raw ${k}`);
    assertEquals([...avg1.weights.get(k)!], [...w1], `first average ${k}`);
    const want = w2.map((v, i) => (0.5 * w1[i] + v) / 1.5);
    const got = avg2.weights.get(k)!;
    for (let i = 0; i < want.length; i++) {
      assert(Math.abs(got[i] - want[i]) <= 1e-6 * Math.max(1, Math.abs(want[i])), `${k}[${i}]`);
    }
  }
  assert([...avg2.weights].some(([k, w]) => w.some((v, i) => v !== plain2.weights.get(k)![i])));
  // model.zip holds the averages; a run resumed from its first epoch ends where the whole one does.
  const whole = await run(`${work}/ema_whole`, { maxEpochs: 3, emaDecay: 0.5 });
  const { bundle } = loadModelBundle(whole.modelPath!);
  for (const [k, w] of whole.weights) assertEquals([...bundle.parameters.get(k)!.data], [...w], k);
  await run(`${work}/ema_resumed`, { maxEpochs: 1, emaDecay: 0.5 });
  const resumed = await run(
    `${work}/ema_resumed`,
    { maxEpochs: 3, emaDecay: 0.5 },
    Math.log(s0),
    true,
  );
  for (const [k, w] of whole.weights) assertEquals([...resumed.weights.get(k)!], [...w], k);
  for (const [k, w] of rawWeights(`${work}/ema_whole`)) {
    assertEquals([...rawWeights(`${work}/ema_resumed`).get(k)!], [...w], `raw ${k}`);
  }
});

Deno.test("resuming with a moving average from a checkpoint without one fails with one line", async () => {
  await run(`${work}/ema_none`, { maxEpochs: 1 });
  let error: unknown = null;
  try {
    await run(`${work}/ema_none`, { maxEpochs: 2, emaDecay: 0.5 }, Math.log(s0), true);
  } catch (e) {
    error = e;
  }
  assert(error instanceof PtychoInputError, String(error));
  assert(error.message.includes("keeps no moving average"), error.message);
});
