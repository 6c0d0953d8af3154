/**
 * A full disk and a read-only output folder. The disk is a tiny tmpfs where the test may mount one
 * (root on Linux), else the write fails through fault_child.ts's injected ENOSPC; the read-only
 * folder is a tmpfs remounted read-only, else a folder without write permission (non-root).
 */
import { LOCK_FILE } from "../../io/lock.ts";
import { assert, assertEquals } from "../assert.ts";
import {
  errorLines,
  exists,
  findFiles,
  runCli,
  scratch,
  tinyData,
  trainFlags,
  weights,
} from "./harness.ts";

const work = scratch("disk");
const data = tinyData(work);

function mount(args: string[]): boolean {
  try {
    return new Deno.Command("mount", { args, stderr: "null", stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

function umount(dir: string): void {
  new Deno.Command("umount", { args: [dir], stderr: "null" }).outputSync();
}

/** Mounts a tmpfs of `size` at a new folder, or returns null where that is not allowed. */
function tmpfs(name: string, size: string): string | null {
  const dir = `${work}/${name}`;
  Deno.mkdirSync(dir);
  if (mount(["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir])) return dir;
  Deno.removeSync(dir);
  return null;
}

Deno.test("a full disk: one-line error, no temporary files, no lock; --resume after freeing space", async () => {
  // 1300 KiB hold config.json and epoch 1's two 530 KB checkpoints (weights, moments and the
  // training weights beside the averaged ones), not epoch 2's best-k file.
  const disk = tmpfs("full", "1300k");
  const dir = `${disk ?? work}/out`;
  try {
    const fault = disk === null ? "enospc:epoch=002*:1" : undefined;
    if (disk === null) console.warn("no tmpfs here (not root?): injecting ENOSPC instead");
    const r = await runCli(trainFlags(data, dir), { fault });
    assertEquals(r.code, 2, r.stderr);
    const lines = errorLines(r.stderr).filter((l) => !l.startsWith("train: N="));
    assertEquals(lines.length, 1, r.stderr);
    assert(/no space left on device/i.test(lines[0]), lines[0]);
    assert(lines[0].includes(`${dir}/`) && lines[0].includes("cannot write"), lines[0]);
    assertEquals(findFiles(dir, /\.tmp$/), [], "temporary files were left");
    assert(!exists(`${dir}/${LOCK_FILE}`), "the lock is released on the error");
    assert(!exists(`${dir}/model.zip`));
    if (disk !== null) assert(mount(["-o", "remount,size=8m", disk]), "tmpfs grows");
    const resumed = await runCli(trainFlags(data, dir, ["--resume"]));
    assertEquals(resumed.code, 0, resumed.stderr);
    assert(!resumed.stderr.includes("taking over"), "nothing stale to take over");
    const reference = `${work}/reference`;
    assertEquals((await runCli(trainFlags(data, reference))).code, 0);
    const want = weights(reference), got = weights(dir);
    for (const [k, v] of want) assertEquals(got.get(k), v, k);
  } finally {
    if (disk !== null) umount(disk);
  }
});

Deno.test("a read-only output folder: train, --resume and infer exit 2 in one line", async () => {
  const model = `${work}/model`;
  assertEquals((await runCli(trainFlags(data, model, ["--max_epochs", "1"]))).code, 0);
  const ro = tmpfs("ro", "4m");
  const dir = `${ro ?? work}/readonly`;
  Deno.mkdirSync(`${dir}/checkpoints`, { recursive: true });
  Deno.copyFileSync(`${model}/checkpoints/last.zip`, `${dir}/checkpoints/last.zip`);
  if (ro !== null) {
    assert(mount(["-o", "remount,ro", ro]), "tmpfs remounts read-only");
  } else {
    Deno.chmodSync(dir, 0o555);
    Deno.chmodSync(`${dir}/checkpoints`, 0o555);
    try {
      Deno.writeTextFileSync(`${dir}/probe`, "");
      Deno.removeSync(`${dir}/probe`);
      Deno.chmodSync(dir, 0o755);
      console.warn("skipped: cannot mount here, and permissions do not stop this user (root)");
      return;
    } catch {
      // read-only as intended
    }
  }
  try {
    const infer = [
      "infer",
      "--model_path",
      model,
      "--test_data",
      data,
      "--accelerator",
      "reference",
    ];
    for (
      const args of [
        trainFlags(data, dir),
        trainFlags(data, dir, ["--max_epochs", "2", "--resume"]),
        [...infer, "--output_dir", dir],
        [...infer, "--output_dir", `${dir}/new`],
      ]
    ) {
      const r = await runCli(args);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const lines = errorLines(r.stderr);
      assertEquals(lines.length, 1, r.stderr);
      assert(lines[0].startsWith("error: ") && lines[0].includes(dir), lines[0]);
    }
    assertEquals(
      [...Deno.readDirSync(dir)].map((e) => e.name),
      ["checkpoints"],
      "nothing was written",
    );
  } finally {
    if (ro !== null) umount(ro);
    else Deno.chmodSync(dir, 0o755);
  }
});
