/**
 * `deno task demo`: train a small PtychoPINN on the bundled simulated scan, reconstruct the
 * held-out scan of the same object, and print where the images and metrics are.
 *
 * It is the train and infer commands run back to back with settings chosen to finish well under
 * two minutes on a 2-core machine; every flag of theirs stays available for real work.
 */
import { fileURLToPath } from "node:url";
import { type Command, type FlagSpec, parseArgs, type ParsedArgs } from "./args.ts";
import { PtychoInputError } from "../io/errors.ts";
import { inferCommand } from "./infer.ts";
import { trainCommand } from "./train.ts";
import { ACCELERATOR_FLAG } from "./accelerator.ts";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/** The demo's scan pair: simulated with a curved-wavefront disk probe (fixtures/README.md). */
const TRAIN_FILE = "sim_lines_n32_curved_train.npz", TEST_FILE = "sim_lines_n32_curved_test.npz";

/**
 * The demo's training settings (also printed, so the run can be repeated by hand). Gridsize 1
 * with the curved probe: in the demo's time budget, gridsize 2 on the flat disk probe's scan
 * learned the coarse amplitude and only a trace of the phase (SSIM 0.39 / 0.84), gridsize 1 on
 * this scan both (0.73 / 0.92; the demo section of README.md). No moving average of the weights:
 * over the demo's 320 steps the default's window (about 100 steps) reaches back to weights that
 * fit much worse, and it scored 0.710 / 0.913 instead of 0.734 / 0.925 (docs/quality/README.md,
 * "Twelfth session").
 */
export const DEMO_TRAINING: Readonly<Record<string, string>> = {
  gridsize: "1",
  n_filters_scale: "0.25",
  n_images: "256",
  batch_size: "16",
  "learning-rate": "0.003",
  scheduler: "cosine",
  "log-every": "4",
  ema_decay: "0",
};

const flags: readonly FlagSpec[] = [
  { name: "output_dir", type: "string", default: "demo_out", help: "folder for every output" },
  {
    name: "max_epochs",
    type: "int",
    default: 20,
    help: "training epochs (more = sharper images; about 3 s each on 2 cores)",
  },
  ACCELERATOR_FLAG,
  { name: "quiet", type: "boolean", default: false, help: "print only the summary" },
  { name: "debug", type: "boolean", default: false, help: "print stack traces on errors" },
];

async function run(args: ParsedArgs): Promise<void> {
  const out = String(args.flags.output_dir);
  const epochs = Number(args.flags.max_epochs);
  if (epochs < 1) throw new PtychoInputError("--max_epochs", "must be at least 1");
  const common = [`--accelerator=${args.flags.accelerator}`];
  if (args.flags.quiet) common.push("--quiet");
  if (args.flags.debug) common.push("--debug");
  const trainArgs = [
    `--train_data_file=${fixture(TRAIN_FILE)}`,
    `--output_dir=${out}/model`,
    `--max_epochs=${epochs}`,
    ...Object.entries(DEMO_TRAINING).map(([k, v]) => `--${k}=${v}`),
    "--checkpoint-save-top-k=0",
    ...common,
  ];
  const started = performance.now();
  console.log(`demo: training on fixtures/${TRAIN_FILE} (256 simulated patterns, N=32)`);
  await trainCommand.run(parseArgs(trainArgs, trainCommand.flags));
  console.log(`demo: reconstructing the held-out scan fixtures/${TEST_FILE}`);
  const inferArgs = [
    `--model_path=${out}/model`,
    `--test_data=${fixture(TEST_FILE)}`,
    `--output_dir=${out}`,
    // 12 px of each 32 px patch, weighted by the probe's intensity: the probe (11 px across)
    // lights the middle of each patch, and the held-out scan's step is 6 px ± 30 % jitter.
    "--stitch-crop=12",
    "--stitch-weights=probe",
    ...common,
  ];
  await inferCommand.run(parseArgs(inferArgs, inferCommand.flags));
  const metrics = JSON.parse(await Deno.readTextFile(`${out}/metrics.json`));
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `\ndemo finished in ${seconds.toFixed(0)} s. Look at:\n` +
      `  ${out}/reconstructed_amplitude.png, ${out}/reconstructed_phase.png\n` +
      `  ${out}/comparison.png (truth | reconstruction | error)\n` +
      `  ${out}/metrics.json, ${out}/model/loss_curve.svg\n` +
      `headline: amplitude SSIM ${metrics.amplitude.ssim.toFixed(3)}, ` +
      `phase SSIM ${metrics.phase.ssim.toFixed(3)}, ` +
      `amplitude PSNR ${metrics.amplitude.psnr_data_range.toFixed(1)} dB (data-range peak)`,
  );
}

/** The `demo` subcommand. */
export const demoCommand: Command = {
  name: "demo",
  usage: "demo [--output_dir demo_out] [--max_epochs 20] [--accelerator auto|cpu|reference|webgpu]",
  summary:
    "Train a small PtychoPINN on the bundled simulated scan (fixtures/sim_lines_n32_curved_*.npz), " +
    "reconstruct the held-out scan of the same object and write the amplitude/phase images, " +
    "comparison.png and metrics.json to --output_dir (default demo_out/).",
  flags,
  run,
};
