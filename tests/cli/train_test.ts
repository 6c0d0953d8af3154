/**
 * `deno task train` end to end on a tiny simulated dataset (N = 32, n_filters_scale 0.25): the
 * seed's smoke command, falling loss, bit-identical deterministic runs, SIGINT + --resume
 * equivalence, --help, and every input error path (exit 2, one-line message, no outputs).
 */
import { main } from "../../cli.ts";
import { loadModelBundle } from "../../model/model_bundle.ts";
import { TRAIN_FLAGS } from "../../cli/train_flags.ts";
import { assert, assertEquals } from "../assert.ts";
import { writeTinyDataset } from "../model/tiny_dataset.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PERMS = ["--allow-read", "--allow-write", "--allow-env"];
const work = Deno.makeTempDirSync({ prefix: "ptycho-train-test-" });
const data = `${work}/tiny32.npz`;
writeTinyDataset(data);
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const decoder = new TextDecoder();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function trainArgs(args: string[]): string[] {
  return ["run", ...PERMS, "cli.ts", "train", ...args];
}

async function train(args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: trainArgs(args),
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** metrics.csv rows without the seconds column. */
function losses(dir: string): string[] {
  const rows = Deno.readTextFileSync(`${dir}/metrics.csv`).trim().split("\n").slice(1);
  return rows.map((r) => r.split(",").slice(0, 4).join(","));
}

function weights(dir: string): Map<string, Float32Array> {
  const { bundle } = loadModelBundle(`${dir}/model.zip`);
  return new Map([...bundle.parameters].map(([k, p]) => [k, p.data]));
}

const SMALL = ["--n_filters_scale", "0.25", "--accelerator", "reference"];
const BASE = [
  "--train_data_file",
  data,
  "--test_data_file",
  data,
  "--n_images",
  "8",
  "--batch_size",
  "4",
  "--max_epochs",
  "3",
  "--learning-rate",
  "5e-3",
  "--log-every",
  "1",
  ...SMALL,
];

/** The committed simulated fixture (fixtures/README.md), else the test's own tiny dataset. */
const FIXTURE = new URL("../../fixtures/sim_lines_n32_train.npz", import.meta.url).pathname;
const seedData = exists(FIXTURE) ? FIXTURE : data;

Deno.test("the seed's smoke command runs on a fixture and writes every output", async () => {
  const dir = `${work}/seed`;
  const r = await train([
    "--train_data_file",
    seedData,
    "--test_data_file",
    seedData,
    "--output_dir",
    dir,
    "--max_epochs",
    "1",
    "--n_images",
    "16",
    "--accelerator",
    "cpu",
    "--deterministic",
    "--num-workers",
    "0",
    "--learning-rate",
    "5e-4",
    "--disable_mlflow",
    "--n_filters_scale",
    "0.25",
  ]);
  assertEquals(r.code, 0, r.stderr);
  assert(r.stderr.includes("--disable_mlflow is deprecated"), r.stderr);
  // `cpu` = a CPU WebGPU adapter (llvmpipe and kin) where one exists, else the TypeScript kernels.
  const chosen = /backend=(\S+) \(([^)]*)\)/.exec(r.stdout);
  assert(chosen !== null, r.stdout);
  assert(
    chosen[1] === "cpu" || /llvmpipe|lavapipe|swiftshader/i.test(chosen[2]),
    `--accelerator cpu chose ${chosen[0]}`,
  );
  for (const f of ["model.zip", "checkpoints/last.zip", "metrics.csv", "loss_curve.svg"]) {
    assert(exists(`${dir}/${f}`), `missing ${f}`);
  }
  const config = JSON.parse(Deno.readTextFileSync(`${dir}/config.json`));
  assertEquals([config.seed, config.nImages, config.learningRate], [42, 16, 5e-4]);
  assertEquals(losses(dir).length, 1);
  const { manifest } = loadModelBundle(`${dir}/model.zip`);
  assertEquals([manifest.n, manifest.gridsize], [32, 2]);
  assert(Deno.readTextFileSync(`${dir}/loss_curve.svg`).startsWith("<svg"));
});

Deno.test("loss falls; two deterministic runs agree bit for bit", async () => {
  const [a, b] = [`${work}/a`, `${work}/b`];
  const ra = await train([...BASE, "--output_dir", a]);
  assertEquals(ra.code, 0, ra.stderr);
  const rb = await train([...BASE, "--output_dir", b]);
  assertEquals(rb.code, 0, rb.stderr);
  const la = losses(a);
  assertEquals(la, losses(b));
  const train0 = Number(la[0].split(",")[1]), train3 = Number(la[2].split(",")[1]);
  const val0 = Number(la[0].split(",")[2]), val3 = Number(la[2].split(",")[2]);
  assert(train3 < 0.9 * train0, `train loss ${train0} → ${train3}`);
  assert(val3 < val0, `val loss ${val0} → ${val3}`);
  const wa = weights(a), wb = weights(b);
  for (const [k, v] of wa) assertEquals(v, wb.get(k), k);
});

Deno.test("SIGINT writes a checkpoint; --resume reaches the uninterrupted result", async () => {
  const full = `${work}/a`;
  if (!exists(`${full}/model.zip`)) {
    assertEquals((await train([...BASE, "--output_dir", full])).code, 0);
  }
  const dir = `${work}/resumed`;
  const child = new Deno.Command(Deno.execPath(), {
    args: trainArgs([...BASE, "--output_dir", dir]),
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let seen = "";
  const reader = child.stdout.getReader();
  while (!seen.includes("epoch 1/3")) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value);
  }
  child.kill("SIGINT");
  reader.releaseLock();
  const [status, errText] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
    child.stdout.cancel(),
  ]);
  assertEquals(status.code, 130, errText);
  assert(errText.includes("--resume"), errText);
  console.log(errText.trim().split("\n").at(-1));
  assert(exists(`${dir}/checkpoints/last.zip`));
  assert(!exists(`${dir}/model.zip`), "an interrupted run must not write model.zip");
  const r = await train([...BASE, "--output_dir", dir, "--resume"]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(losses(dir), losses(full));
  const wf = weights(full), wr = weights(dir);
  for (const [k, v] of wf) assertEquals(v, wr.get(k), k);
});

Deno.test("--help lists every flag with its default", async () => {
  const r = await train(["--help"]);
  assertEquals(r.code, 0);
  for (const f of TRAIN_FLAGS) assert(r.stdout.includes(`--${f.name}`), f.name);
  assert(r.stdout.includes("(default: 100)"));
  assert(r.stdout.includes("--accelerator {auto,cpu,reference,webgpu}"));
});

/** Writes a dataset of N = 16 (unsupported) and one of N = 64 (mismatch) once. */
function oddDatasets(): { n16: string; n64: string } {
  const n16 = `${work}/n16.npz`, n64 = `${work}/n64.npz`;
  if (!exists(n16)) writeTinyDataset(n16, { n: 16, side: 4 });
  if (!exists(n64)) writeTinyDataset(n64, { n: 64, side: 3 });
  return { n16, n64 };
}

/** Runs the CLI in-process (fast: no process start), capturing what it prints. */
async function trainInProcess(args: string[]): Promise<Run> {
  const out: string[] = [], err: string[] = [];
  const { log, error, warn } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = console.warn = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await main(["train", ...args]);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    Object.assign(console, { log, error, warn });
  }
}

Deno.test("input errors: one line, exit 2, no output files", async () => {
  const { n16, n64 } = oddDatasets();
  const blocker = `${work}/a-file`;
  Deno.writeTextFileSync(blocker, "x");
  const cases: [string[], string][] = [
    [["--train_data_file", `${work}/missing.npz`], "missing.npz: cannot open: no such file"],
    [["--train_data_file", data, "--bogus", "1"], "unknown flag --bogus"],
    [["--train_data_file", data, "--max_epochs", "abc"], "--max_epochs needs a whole number"],
    [["--train_data_file", data, "--gridsize", "5"], "--gridsize must be 1, 2 or 3"],
    [["--train_data_file", data, "--accelerator", "tpu"], "--accelerator must be one of"],
    [["--train_data_file", data, "--learning-rate", "-1"], "--learning-rate must be positive"],
    [["--train_data_file", n16], "PtychoPINN needs N = 64, 128 or 256"],
    [["--train_data_file", data, "--test_data_file", n64], "N mismatch"],
    [["--train_data_file", data, "--resume"], "--resume needs this checkpoint"],
    [["--train_data_file", data, "--output_dir", `${blocker}/out`], "cannot create the output"],
  ];
  for (const [args, message] of cases) {
    const dir = `${work}/err-out`;
    const r = await trainInProcess(["--output_dir", dir, ...args, ...SMALL]);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("run '"));
    assertEquals(lines.length, 1, r.stderr);
    assert(lines[0].includes(message), `expected "${message}" in "${lines[0]}"`);
    assert(!exists(dir), `${args.join(" ")} left ${dir} behind`);
  }
  const noOut = await trainInProcess(["--train_data_file", data]);
  assertEquals(noOut.code, 2);
  assert(noOut.stderr.includes("--output_dir is required"), noOut.stderr);
});

Deno.test("a process that fails on input exits with code 2", async () => {
  const r = await train(["--train_data_file", `${work}/missing.npz`, "--output_dir", `${work}/x`]);
  assertEquals(r.code, 2);
  assert(r.stderr.startsWith("error: "), r.stderr);
});

Deno.test("--resume with other settings is refused before anything is written", async () => {
  const dir = `${work}/a`;
  if (!exists(`${dir}/model.zip`)) {
    assertEquals((await train([...BASE, "--output_dir", dir])).code, 0);
  }
  const config = Deno.readTextFileSync(`${dir}/config.json`);
  const changed = BASE.map((a) => (a === "5e-3" ? "1e-3" : a));
  const r = await trainInProcess([...changed, "--output_dir", dir, "--resume"]);
  assertEquals(r.code, 2, r.stderr);
  assert(r.stderr.includes("cannot resume: the checkpoint was made with other settings"), r.stderr);
  assertEquals(Deno.readTextFileSync(`${dir}/config.json`), config);
});

Deno.test("--resume without --n_filters_scale keeps the checkpoint's width", async () => {
  const from = `${work}/a`;
  if (!exists(`${from}/model.zip`)) {
    assertEquals((await train([...BASE, "--output_dir", from])).code, 0);
  }
  const dir = `${work}/keep-width`;
  Deno.mkdirSync(`${dir}/checkpoints`, { recursive: true });
  Deno.copyFileSync(`${from}/checkpoints/last.zip`, `${dir}/checkpoints/last.zip`);
  // BASE without "--n_filters_scale 0.25": the default (1) would not match the checkpoint.
  const i = BASE.indexOf("--n_filters_scale");
  const args = [...BASE.slice(0, i), ...BASE.slice(i + 2)].map((a) => (a === "3" ? "4" : a));
  const r = await trainInProcess([...args, "--output_dir", dir, "--resume", "--quiet"]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(loadModelBundle(`${dir}/model.zip`).manifest.nFiltersScale, 0.25);
  assertEquals(JSON.parse(Deno.readTextFileSync(`${dir}/config.json`)).nFiltersScale, 0.25);
  assertEquals(losses(dir).length, 4);
  assertEquals(losses(dir).slice(0, 3), losses(from));
});

Deno.test("--resume without --ema_decay keeps the checkpoint's moving average, or none", async () => {
  const from = `${work}/a`;
  if (!exists(`${from}/model.zip`)) {
    assertEquals((await train([...BASE, "--output_dir", from])).code, 0);
  }
  const plain = `${work}/no-ema`;
  const r0 = await trainInProcess([...BASE, "--output_dir", plain, "--ema_decay", "0", "--quiet"]);
  assertEquals(r0.code, 0, r0.stderr);
  const more = BASE.map((a) => (a === "3" ? "4" : a));
  for (const [src, want] of [[from, 0.99], [plain, 0]] as const) {
    const dir = `${work}/keep-ema-${want}`;
    Deno.mkdirSync(`${dir}/checkpoints`, { recursive: true });
    Deno.copyFileSync(`${src}/checkpoints/last.zip`, `${dir}/checkpoints/last.zip`);
    const r = await trainInProcess([...more, "--output_dir", dir, "--resume", "--quiet"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(Deno.readTextFileSync(`${dir}/config.json`)).emaDecay, want);
    assertEquals(losses(dir).slice(0, 3), losses(src));
  }
  // The average changes the validated and saved model, not the training: the same training
  // losses, other validation losses and weights.
  const column = (dir: string, k: number) => losses(dir).map((r) => r.split(",")[k]);
  assertEquals(column(plain, 1), column(from, 1));
  assert(column(plain, 2).every((v, e) => v !== column(from, 2)[e]), "same validation losses");
  const a = weights(from), b = weights(plain);
  assert([...a].some(([k, w]) => w.some((v, i) => v !== b.get(k)![i])), "same weights");
  const bad = await trainInProcess([
    ...BASE,
    "--output_dir",
    `${work}/bad-ema`,
    "--ema_decay",
    "1",
  ]);
  assertEquals(bad.code, 2);
  const lines = bad.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("run '"));
  assertEquals(lines, ["train: --ema_decay must lie in [0, 1), got 1"]);
});
