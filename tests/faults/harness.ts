/**
 * Shared pieces of the fault tests: a tiny training set, `train`/`infer` as real subprocesses
 * (optionally through fault_child.ts), file helpers and a comparison of trained weights.
 */
import { loadModelBundle } from "../../model/model_bundle.ts";
import { writeTinyDataset } from "../model/tiny_dataset.ts";

/** The repository root (the subprocesses' working folder). */
export const ROOT = new URL("../../", import.meta.url).pathname;
const decoder = new TextDecoder();

/** A scratch folder for one test file, removed when the process ends. */
export function scratch(prefix: string): string {
  const dir = Deno.makeTempDirSync({ prefix: `ptycho-faults-${prefix}-` });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // a read-only mount inside, already unmounted and removed by its test, or gone
    }
  });
  return dir;
}

/** Writes the tiny N = 32 dataset to `dir/tiny.npz` and returns the path. */
export function tinyData(dir: string): string {
  const path = `${dir}/tiny.npz`;
  writeTinyDataset(path);
  return path;
}

/** Flags of a tiny deterministic CPU training: 3 epochs of 2 steps, a checkpoint per epoch. */
export function trainFlags(data: string, outputDir: string, extra: string[] = []): string[] {
  return [
    "train",
    "--train_data_file",
    data,
    "--output_dir",
    outputDir,
    "--n_images",
    "8",
    "--batch_size",
    "4",
    "--max_epochs",
    "3",
    "--learning-rate",
    "5e-3",
    "--n_filters_scale",
    "0.25",
    "--accelerator",
    "reference",
    "--deterministic",
    "--quiet",
    ...extra,
  ];
}

/** What a finished subprocess printed. */
export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link spawnCli}. */
export interface SpawnOptions {
  /** `PTYCHO_TEST_FAULT` for fault_child.ts (see there); without it cli.ts runs as is. */
  fault?: string;
  /** `PTYCHO_TEST_FAULT_GO` for a `pause-before-rename` fault: the file that resumes it. */
  go?: string;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Wrap in `/usr/bin/time -f %M -o <file>` to record the peak RSS (KiB) there. */
  timeFile?: string;
}

/** Starts `deno run cli.ts <args>` (or fault_child.ts) with piped output. */
export function spawnCli(args: string[], options: SpawnOptions = {}): Deno.ChildProcess {
  const script = options.fault === undefined ? "cli.ts" : "tests/faults/fault_child.ts";
  const perms = options.fault === undefined
    ? ["--allow-read", "--allow-write", "--allow-env", "--allow-sys=systemMemoryInfo"]
    : ["--allow-all"];
  const denoArgs = ["run", ...perms, script, ...args];
  const [cmd, cmdArgs] = options.timeFile === undefined
    ? [Deno.execPath(), denoArgs]
    : ["/usr/bin/time", ["-f", "%M", "-o", options.timeFile, Deno.execPath(), ...denoArgs]];
  return new Deno.Command(cmd, {
    args: cmdArgs,
    cwd: ROOT,
    env: {
      ...options.env,
      ...(options.fault ? { PTYCHO_TEST_FAULT: options.fault } : {}),
      ...(options.go ? { PTYCHO_TEST_FAULT_GO: options.go } : {}),
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Waits for a spawned process and collects its output. */
export async function finish(child: Deno.ChildProcess): Promise<Finished> {
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs the CLI to the end. */
export function runCli(args: string[], options: SpawnOptions = {}): Promise<Finished> {
  return finish(spawnCli(args, options));
}

/** Whether `path` exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Names under `dir` (recursively, relative) matching `pattern`. */
export function findFiles(dir: string, pattern: RegExp): string[] {
  const found: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of Deno.readDirSync(d)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) walk(`${d}/${e.name}`, r);
      else if (pattern.test(e.name)) found.push(r);
    }
  };
  walk(dir, "");
  return found;
}

/**
 * Reads the child's stderr until a line holds `text`; returns a function that finishes the child
 * with the rest of its output (stderr here is what followed the line).
 */
export async function waitForStderr(
  child: Deno.ChildProcess,
  text: string,
): Promise<() => Promise<Finished>> {
  const reader = child.stderr.getReader();
  let seen = "";
  while (!seen.includes(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the child ended without printing '${text}': ${seen}`);
    seen += decoder.decode(value);
  }
  return async () => {
    const rest: Uint8Array[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest.push(r.value);
    const [status, stdout] = await Promise.all([child.status, new Response(child.stdout).text()]);
    return { code: status.code, stdout, stderr: rest.map((b) => decoder.decode(b)).join("") };
  };
}

/** Polls `ready` every 10 ms until it holds; fails after `seconds`. */
export async function waitFor(ready: () => boolean, what: string, seconds = 60): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Trained weights of `dir/model.zip` by parameter name. */
export function weights(dir: string): Map<string, Float32Array> {
  const { bundle } = loadModelBundle(`${dir}/model.zip`);
  return new Map([...bundle.parameters].map(([k, p]) => [k, p.data]));
}

/** Lines of `stderr` that are not empty. */
export function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.trim() !== "");
}
