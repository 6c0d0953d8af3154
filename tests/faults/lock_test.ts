/**
 * One run per output folder, with real processes: a second `train` (plain or `--resume`) on a
 * folder whose run is paused mid-training (fault_child.ts's pause-before-rename) refuses in one line naming the holder, and the first
 * run then finishes normally; `infer` and `simulate` refuse the same way.
 */
import { LOCK_FILE } from "../../io/lock.ts";
import { assert, assertEquals } from "../assert.ts";
import {
  errorLines,
  exists,
  runCli,
  scratch,
  spawnCli,
  tinyData,
  trainFlags,
  waitForStderr,
} from "./harness.ts";

const work = scratch("lock");
const data = tinyData(work);

/** Asserts a one-line exit-2 refusal naming `target` and the holder's pid. */
function assertRefused(r: { code: number; stderr: string }, target: string, pid: number): void {
  assertEquals(r.code, 2, r.stderr);
  const lines = errorLines(r.stderr);
  assertEquals(lines.length, 1, r.stderr);
  assert(lines[0].startsWith(`error: ${target}: in use by 'train' (pid ${pid} `), lines[0]);
}

Deno.test("a second train, --resume or infer on a busy folder exits 2 naming the holder", async () => {
  const model = `${work}/model`;
  assertEquals((await runCli(trainFlags(data, model))).code, 0);
  const dir = `${work}/busy`;
  // The first run pauses just before renaming epoch 2's last.zip into place.
  const go = `${work}/go-busy`;
  const first = spawnCli(trainFlags(data, dir), { fault: "pause-before-rename:last.zip:2", go });
  const finishFirst = await waitForStderr(first, "fault: paused");
  assert(exists(`${dir}/${LOCK_FILE}`));
  const checkpoint = Deno.readFileSync(`${dir}/checkpoints/last.zip`);

  assertRefused(await runCli(trainFlags(data, dir)), dir, first.pid);
  assertRefused(await runCli(trainFlags(data, dir, ["--resume"])), dir, first.pid);
  const inferArgs = ["--model_path", model, "--test_data", data, "--accelerator", "reference"];
  assertRefused(await runCli(["infer", ...inferArgs, "--output_dir", dir]), dir, first.pid);
  assertEquals(Deno.readFileSync(`${dir}/checkpoints/last.zip`), checkpoint, "nothing was written");

  Deno.writeTextFileSync(go, "");
  const done = await finishFirst();
  assertEquals(done.code, 0, done.stderr);
  assert(exists(`${dir}/model.zip`));
  assert(!exists(`${dir}/${LOCK_FILE}`), "released at the end");
});

Deno.test("simulate locks its output file; a second simulate on it exits 2", async () => {
  const out = `${work}/sim.npz`;
  const args = ["simulate", "--output", out, "--N", "32", "--n_images", "16", "--quiet"];
  const go = `${work}/go-sim`;
  const first = spawnCli(args, { fault: "pause-before-rename:sim.npz:1", go });
  const finishFirst = await waitForStderr(first, "fault: paused");
  const second = await runCli(args);
  assertEquals(second.code, 2, second.stderr);
  assert(second.stderr.includes(`${out}: in use by 'simulate' (pid ${first.pid} `), second.stderr);
  Deno.writeTextFileSync(go, "");
  assertEquals((await finishFirst()).code, 0);
  assert(exists(out) && !exists(`${work}/.sim.npz${LOCK_FILE}`));
});

Deno.test("Ctrl-C during train releases the lock (exit 130); --resume finds nothing stale", async () => {
  const dir = `${work}/interrupted`;
  const go = `${work}/go-interrupted`;
  const child = spawnCli(trainFlags(data, dir), { fault: "pause-before-rename:last.zip:1", go });
  const finishChild = await waitForStderr(child, "fault: paused");
  child.kill("SIGINT");
  Deno.writeTextFileSync(go, "");
  const r = await finishChild();
  assertEquals(r.code, 130, r.stderr);
  assert(exists(`${dir}/checkpoints/last.zip`) && !exists(`${dir}/${LOCK_FILE}`), r.stderr);
  const resumed = await runCli(trainFlags(data, dir, ["--resume"]));
  assertEquals(resumed.code, 0, resumed.stderr);
  assert(!resumed.stderr.includes("taking over"), resumed.stderr);
});
