/**
 * `deno task simulate` end to end: as a subprocess, a good run writes a loadable file and a bad
 * one exits 2; through the CLI's `main`, bad flag values, bad input files and unwritable outputs
 * return exit code 2 with a one-line message and leave no file.
 */
import { main } from "../../cli.ts";
import { loadDataset } from "../../io/dataset.ts";
import { writeNpzFile } from "../../io/npz.ts";
import { assert, assertEquals } from "../assert.ts";

const cli = new URL("../../cli.ts", import.meta.url).pathname;

async function simulate(args: string[], cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", cli, "simulate", ...args],
    cwd,
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  return {
    code: out.code,
    stdout: text.decode(out.stdout),
    stderrLines: text.decode(out.stderr).split("\n").filter((l) => l !== ""),
  };
}

Deno.test("simulate writes a dataset that loads, prints one summary line, and nothing with --quiet", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const small = ["--N", "16", "--object_size", "40", "--step", "5", "--nphotons", "1e5"];
    const [run, quiet] = await Promise.all([
      simulate(["--output", "a.npz", ...small, "--seed", "3"], dir),
      simulate(["--output", "b.npz", ...small, "--seed", "3", "--quiet", "--no-compress"], dir),
    ]);
    assertEquals(run.code, 0, run.stderrLines.join("\n"));
    assertEquals(run.stdout.trim().split("\n").length, 1);
    assert(
      run.stdout.startsWith("wrote a.npz: 25 patterns 16×16, object 40×40 (lines)"),
      run.stdout,
    );
    assertEquals([quiet.code, quiet.stdout, quiet.stderrLines], [0, "", []]);
    const a = loadDataset(`${dir}/a.npz`), b = loadDataset(`${dir}/b.npz`);
    assertEquals(a.diffraction, b.diffraction);
    assertEquals(a.metadata, b.metadata);
    assertEquals(a.nphotons, 1e5);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.npz", "b.npz"]);
    const bad = await simulate(["--output", "c.npz", "--N", "30"], dir);
    assertEquals([bad.code, bad.stdout, bad.stderrLines.length], [2, "", 2]);
    assert(bad.stderrLines[0].includes("--N must be a power of two"), bad.stderrLines[0]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** Runs the CLI's `main` in process, capturing what it prints. */
async function simulateInProcess(args: string[]) {
  const { log, error } = console;
  const stdout: string[] = [], stderr: string[] = [];
  console.log = (...parts: unknown[]) => stdout.push(parts.join(" "));
  console.error = (...parts: unknown[]) => stderr.push(parts.join(" "));
  try {
    const code = await main(["simulate", ...args]);
    return { code, stdout: stdout.join("\n"), stderrLines: stderr.join("\n").split("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("simulate: bad flags, bad inputs and unwritable outputs exit 2 with one line, no file", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/out`);
    Deno.mkdirSync(`${dir}/taken.npz`);
    Deno.writeTextFileSync(`${dir}/junk.npz`, "not a zip");
    Deno.writeTextFileSync(`${dir}/junk.png`, "not a png");
    const probe = { dtype: "c8" as const, shape: [16, 16], data: new Float32Array(512).fill(1) };
    writeNpzFile(`${dir}/p16.npz`, { probeGuess: probe });
    const o = ["--output", `${dir}/out/x.npz`];
    // [flags, text the message must contain, usage error (help hint on a second line)?]
    const cases: [string[], string, boolean][] = [
      [[...o, "--N", "30"], "--N must be a power of two", true],
      [[...o, "--N", "abc"], "--N needs a whole number", true],
      [[...o, "--nphotons", "-5"], "--nphotons must be in", true],
      [[...o, "--jitter", "0.9"], "--jitter must be in", true],
      [[...o, "--scan", "random", "--step", "4"], "--step applies to the raster scan only", true],
      [[...o, "--step", "4", "--n_images", "9"], "either --n_images or --step", true],
      [[...o, "--object", "image"], "--object image needs --amplitude_png", true],
      [[...o, "--object", "spiral"], "--object must be one of", true],
      [[...o, "--bogus", "1"], "unknown flag --bogus", true],
      [["--N", "16"], "--output is required", true],
      [[...o, "--N", "32", "--object_size", "32"], "too small for 32×32 windows", false],
      [
        [...o, "--probe_from", `${dir}/missing.npz`],
        "missing.npz: cannot open: no such file",
        false,
      ],
      [[...o, "--probe_from", `${dir}/junk.npz`], "junk.npz", false],
      [
        [...o, "--N", "32", "--probe_from", `${dir}/p16.npz`],
        "the probe is 16×16 but N is 32",
        false,
      ],
      [
        [...o, "--object", "image", "--amplitude_png", `${dir}/junk.png`],
        "not a readable PNG",
        false,
      ],
      [
        [...o, "--probe_curvature", "3", "--probe_from", `${dir}/p16.npz`],
        "--probe_curvature applies to the ideal disk probe",
        true,
      ],
      [[...o, "--probe_curvature", "1e3"], "--probe_curvature must be in [-100, 100]", true],
      [[...o, "--object_size", "5000"], "--object_size must be in [1, 2048]", true],
      [[...o, "--step", "0.0001"], "--step: ", false],
      [["--output", `${dir}/nowhere/x.npz`], "nowhere' does not exist", false],
      [["--output", `${dir}/taken.npz`], "taken.npz: is a directory", false],
    ];
    for (const [args, message, usage] of cases) {
      const r = await simulateInProcess(args);
      const where = `simulate ${args.join(" ")}`;
      assertEquals(r.code, 2, `${where}: exit code (stderr: ${r.stderrLines.join(" | ")})`);
      assertEquals(r.stdout, "", where);
      assert(r.stderrLines[0].includes(message), `${where}: got '${r.stderrLines[0]}'`);
      if (usage) {
        assertEquals(r.stderrLines.length, 2, where);
        assert(r.stderrLines[1].includes("--help"), where);
      } else {
        assertEquals(r.stderrLines.length, 1, `${where}: ${r.stderrLines.join(" | ")}`);
        assert(r.stderrLines[0].startsWith("error: "), where);
      }
    }
    assertEquals([...Deno.readDirSync(`${dir}/out`)], [], "no partial or temporary files");
    assertEquals(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["junk.npz", "junk.png", "out", "p16.npz", "taken.npz"],
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
