/**
 * kill -9 at several points of training and of a checkpoint write, then `--resume`: the final
 * weights equal an uninterrupted `--deterministic` run's bit for bit, the dead run's lock is
 * taken over with a note, and the temporary file of the interrupted write never replaces a
 * checkpoint.
 */
import { LOCK_FILE } from "../../io/lock.ts";
import { assert, assertEquals } from "../assert.ts";
import {
  errorLines,
  exists,
  findFiles,
  runCli,
  scratch,
  spawnCli,
  tinyData,
  trainFlags,
  waitFor,
  weights,
} from "./harness.ts";

const work = scratch("kill");
const data = tinyData(work);
let reference: Map<string, Float32Array> | null = null;

/** The uninterrupted run's weights (trained once). */
async function referenceWeights(): Promise<Map<string, Float32Array>> {
  if (reference === null) {
    const r = await runCli(trainFlags(data, `${work}/reference`));
    assertEquals(r.code, 0, r.stderr);
    reference = weights(`${work}/reference`);
  }
  return reference;
}

/** Resumes `dir` after a kill and checks the result against the reference. */
async function resumeAndCompare(dir: string, leftTemps: number): Promise<void> {
  assert(exists(`${dir}/${LOCK_FILE}`), "a killed run leaves its lock behind");
  assert(!exists(`${dir}/model.zip`), "the killed run must not have finished");
  const r = await runCli(trainFlags(data, dir, ["--resume"]));
  assertEquals(r.code, 0, r.stderr);
  const notes = errorLines(r.stderr).filter((l) => l.includes("taking over the lock"));
  assertEquals(notes.length, 1, r.stderr);
  assert(notes[0].includes("which is no longer running"), notes[0]);
  assertEquals(findFiles(dir, /\.tmp$/), [], "the takeover removes the killed write's temp file");
  const temps = Number(/removed (\d+) unfinished temporary file/.exec(notes[0])?.[1] ?? 0);
  assertEquals(temps, leftTemps, notes[0]);
  assert(!exists(`${dir}/${LOCK_FILE}`), "the lock is released at the end");
  const ref = await referenceWeights(), got = weights(dir);
  assertEquals([...got.keys()], [...ref.keys()]);
  for (const [k, v] of ref) assertEquals(got.get(k), v, k);
}

Deno.test("kill -9 between epochs (time-based), then --resume: identical weights", async () => {
  const dir = `${work}/between`;
  const child = spawnCli(trainFlags(data, dir));
  let ended = false;
  child.status.then(() => ended = true);
  await waitFor(() => ended || exists(`${dir}/checkpoints/last.zip`), "the first checkpoint");
  assert(!ended, "the run ended before its first checkpoint");
  child.kill("SIGKILL");
  const status = await child.status;
  await Promise.all([child.stdout.cancel(), child.stderr.cancel()]);
  assertEquals(status.signal, "SIGKILL");
  await resumeAndCompare(dir, findFiles(dir, /\.tmp$/).length);
});

for (
  const [fault, what] of [
    ["kill-mid-write:last.zip:2", "half-way through writing epoch 2's last.zip"],
    ["kill-before-rename:last.zip:2", "after writing epoch 2's last.zip, before its rename"],
    ["kill-before-rename:epoch=002*:1", "before epoch 2's best-k checkpoint is renamed"],
    ["kill-mid-write:model.zip:1", "half-way through writing model.zip"],
  ]
) {
  Deno.test(`kill -9 ${what}, then --resume: identical weights`, async () => {
    const dir = `${work}/${fault.replace(/[:*=]/g, "_")}`;
    const r = await runCli(trainFlags(data, dir), { fault });
    assertEquals(r.code, 137, `expected a SIGKILL death: ${r.stderr}`);
    assertEquals(findFiles(dir, /\.tmp$/).length, 1, "the interrupted write left its temp file");
    await resumeAndCompare(dir, 1);
  });
}
