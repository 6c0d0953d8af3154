/**
 * Truncated and bit-flipped checkpoints (`train --resume`) and model bundles (`infer`): each is
 * refused with exit 2 and one line naming the file, and nothing is written.
 */
import { LOCK_FILE } from "../../io/lock.ts";
import { assert, assertEquals } from "../assert.ts";
import { errorLines, exists, runCli, scratch, tinyData, trainFlags } from "./harness.ts";

const work = scratch("corrupt");
const data = tinyData(work);

/** The damage done to a copy of a file, by name. */
const DAMAGE: [string, (b: Uint8Array) => Uint8Array][] = [
  ["cut in half", (b) => b.slice(0, b.length >> 1)],
  ["last byte cut", (b) => b.slice(0, b.length - 1)],
  ["cut to 40 bytes", (b) => b.slice(0, 40)],
  ["bit flipped at 1/3", (b) => flip(b, Math.floor(b.length / 3))],
  ["bit flipped at 2/3", (b) => flip(b, Math.floor((2 * b.length) / 3))],
];

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at] ^= 0x10;
  return out;
}

let trained: string | null = null;

/** A finished one-epoch training folder (made once). */
async function trainedDir(): Promise<string> {
  if (trained === null) {
    const dir = `${work}/trained`;
    const r = await runCli(trainFlags(data, dir, ["--max_epochs", "1"]));
    assertEquals(r.code, 0, r.stderr);
    trained = dir;
  }
  return trained;
}

function assertOneLineRefusal(r: { code: number; stderr: string }, file: string, what: string) {
  assertEquals(r.code, 2, `${what}: ${r.stderr}`);
  const lines = errorLines(r.stderr);
  assertEquals(lines.length, 1, `${what}: ${r.stderr}`);
  assert(lines[0].startsWith(`error: ${file}`), `${what}: ${lines[0]}`);
}

Deno.test("damaged checkpoints: --resume exits 2 in one line naming last.zip", async () => {
  const source = await trainedDir();
  const good = Deno.readFileSync(`${source}/checkpoints/last.zip`);
  for (const [what, damage] of DAMAGE) {
    const dir = `${work}/ckpt-${what.replaceAll(" ", "-").replace("/", "of")}`;
    Deno.mkdirSync(`${dir}/checkpoints`, { recursive: true });
    const bad = damage(good);
    const last = `${dir}/checkpoints/last.zip`;
    Deno.writeFileSync(last, bad);
    const r = await runCli(trainFlags(data, dir, ["--max_epochs", "2", "--resume"]));
    assertOneLineRefusal(r, last, what);
    assertEquals(Deno.readFileSync(last), bad, `${what}: the checkpoint was rewritten`);
    assert(!exists(`${dir}/model.zip`) && !exists(`${dir}/${LOCK_FILE}`), what);
  }
});

Deno.test("damaged model bundles: infer exits 2 in one line naming model.zip", async () => {
  const source = await trainedDir();
  const good = Deno.readFileSync(`${source}/model.zip`);
  for (const [what, damage] of DAMAGE) {
    const model = `${work}/model-${what.replaceAll(" ", "-").replace("/", "of")}.zip`;
    Deno.writeFileSync(model, damage(good));
    const out = `${work}/infer-out`;
    const r = await runCli([
      "infer",
      "--model_path",
      model,
      "--test_data",
      data,
      "--output_dir",
      out,
      "--accelerator",
      "reference",
    ]);
    assertOneLineRefusal(r, model, what);
    assert(!exists(out), `${what}: infer created its output folder`);
  }
});
