/**
 * Resolution of the train flags: defaults (docs/physics.md#training), seeds, deprecated --device,
 * bad values.
 */
import { parseArgs, UsageError } from "../../cli/args.ts";
import { DEFAULT_N_FILTERS_SCALE, resolveTrainConfig, TRAIN_FLAGS } from "../../cli/train_flags.ts";
import { DEFAULT_EMA_DECAY } from "../../model/train/loop.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";

const REQUIRED = ["--train_data_file", "t.npz", "--output_dir", "out"];
const resolve = (...args: string[]) =>
  resolveTrainConfig(parseArgs([...REQUIRED, ...args], TRAIN_FLAGS).flags);

Deno.test("defaults follow docs/physics.md#training", () => {
  const c = resolve();
  assertEquals(
    [c.maxEpochs, c.nImages, c.gridsize, c.batchSize, c.learningRate, c.neighborCount],
    [100, 512, 2, 4, 1e-3, 4],
  );
  assertEquals([c.deterministic, c.seed, c.loss, c.scheduler], [true, 42, "poisson", "constant"]);
  assertEquals([c.accelerator, c.logger, c.checkpointMonitor], ["auto", "csv", "val_loss"]);
  assertEquals(c.testDataFile, null);
  // Not given: train resolves it (the checkpoint's with --resume, else DEFAULT_N_FILTERS_SCALE).
  assertEquals([c.nFiltersScale, DEFAULT_N_FILTERS_SCALE], [null, 1]);
  assertEquals(resolve("--n_filters_scale", "2").nFiltersScale, 2);
  // The same for the weights' moving average (DEFAULT_EMA_DECAY, or the checkpoint's).
  assertEquals([c.emaDecay, DEFAULT_EMA_DECAY], [null, 0.99]);
  assertEquals(resolve("--ema_decay", "0").emaDecay, 0);
});

Deno.test("dash and underscore spellings, aliases and the deprecated --device", () => {
  const c = resolve(
    "--learning_rate",
    "5e-4",
    "--max-epochs",
    "3",
    "--scheduler",
    "ReduceLROnPlateau",
  );
  assertEquals([c.learningRate, c.maxEpochs, c.scheduler], [5e-4, 3, "plateau"]);
  assertEquals(resolve("--accelerator", "cuda").accelerator, "webgpu");
  assertEquals(resolve("--device", "cpu").accelerator, "cpu");
  assertEquals(resolve("--device", "cuda", "--accelerator", "cpu").accelerator, "cpu");
  const notes = parseArgs([...REQUIRED, "--disable_mlflow"], TRAIN_FLAGS).notes;
  assert(notes[0].includes("deprecated"));
});

Deno.test("seeds: 42 when deterministic, --seed wins, otherwise time-based", () => {
  assertEquals(resolve("--seed", "7").seed, 7);
  assert(Number.isInteger(resolve("--no-deterministic").seed));
});

Deno.test("bad values are usage errors", () => {
  assertThrows(() => resolve("--gridsize", "4"), UsageError, "--gridsize must be 1, 2 or 3");
  assertThrows(() => resolve("--batch_size", "0"), UsageError, "--batch_size must be at least 1");
  assertThrows(() => resolve("--n_filters_scale", "0.1"), UsageError, "--n_filters_scale");
  assertThrows(() => resolve("--learning-rate", "0"), UsageError, "must be positive");
  assertThrows(() => resolve("--accumulate-grad-batches", "0"), UsageError, "at least 1");
  assertThrows(() => resolve("--ema_decay", "1"), UsageError, "--ema_decay must lie in [0, 1)");
  assertThrows(() => resolve("--ema_decay", "-0.5"), UsageError, "--ema_decay must lie in [0, 1)");
});
