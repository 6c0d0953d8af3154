/**
 * `deno task refine` end to end, in process: every output file, --init from a model (the
 * network's reconstruction at iteration 0), reproducible --deterministic runs, and every input
 * error (exit 2, a one-line message, nothing written).
 */
import { assert, assertAlmostEquals, assertEquals } from "../assert.ts";
import { runCli } from "./cli_run.ts";
import { readNpzFile, writeNpzFile } from "../../io/npz.ts";
import { writeModel } from "./small_model.ts";

const DATA = new URL("../../fixtures/sim_lines_n32_test.npz", import.meta.url).pathname;

function refine(out: string, ...extra: string[]) {
  return runCli([
    "refine",
    "--data",
    DATA,
    "--output_dir",
    out,
    "--accelerator",
    "reference",
    ...extra,
  ]);
}

Deno.test("refine writes every output; reconstruction.npz holds the probe and the positions", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const r = await refine(`${dir}/out`, "--iterations", "3", "--positions", "refine", "--quiet");
    assertEquals(r.code, 0, r.err);
    const names = [...Deno.readDirSync(`${dir}/out`)].map((e) => e.name).sort();
    assertEquals(names, [
      "comparison.png",
      "frc_curve.svg",
      "metrics.json",
      "probe_amplitude.png",
      "probe_phase.png",
      "reconstructed_amplitude.png",
      "reconstructed_amplitude.tif",
      "reconstructed_phase.png",
      "reconstructed_phase.tif",
      "reconstruction.h5",
      "reconstruction.npz",
      "refine_curve.svg",
    ]);
    const npz = readNpzFile(`${dir}/out/reconstruction.npz`);
    assertEquals(npz.get("probe")!.shape, [32, 32]);
    assertEquals(npz.get("xcoords")!.shape, [196]);
    const metrics = JSON.parse(Deno.readTextFileSync(`${dir}/out/metrics.json`));
    assertEquals(metrics.iterations, 3);
    assert(metrics.final_r_factor > 0 && metrics.final_r_factor < 0.1, `${metrics.final_r_factor}`);
    const svg = Deno.readTextFileSync(`${dir}/out/refine_curve.svg`);
    assert(svg.includes("R-factor") && svg.includes("<polyline"), "curve");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("--init MODEL starts from the network's stitched reconstruction", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const model = await writeModel(`${dir}/train`, 32, 1);
    const inferred = await runCli([
      "infer",
      ...["--model_path", model, "--test_data", DATA, "--output_dir", `${dir}/infer`],
      ...["--accelerator", "reference", "--quiet"],
    ]);
    assertEquals(inferred.code, 0, inferred.err);
    const r = await refine(`${dir}/out`, "--init", `${dir}/train`, "--iterations", "0", "--quiet");
    assertEquals(r.code, 0, r.err);
    const net = readNpzFile(`${dir}/infer/reconstruction.npz`);
    const ref = readNpzFile(`${dir}/out/reconstruction.npz`);
    const [nh, nw] = net.get("object")!.shape;
    const [, rw] = ref.get("object")!.shape;
    const netObj = net.get("object")!.data as Float32Array;
    const refObj = ref.get("object")!.data as Float32Array;
    const netOrigin = net.get("origin_xy")!.data as Float64Array;
    const refOrigin = ref.get("origin_xy")!.data as Float64Array;
    // Same amplitude on the object grid; phases differ by one constant (refine fixes the global
    // phase of its output).
    let compared = 0, offset: number | null = null;
    for (let y = 0; y < nh; y++) {
      for (let x = 0; x < nw; x++) {
        const a = 2 * (y * nw + x);
        if (netObj[a] === 0 && netObj[a + 1] === 0) continue;
        const ry = y + netOrigin[1] - refOrigin[1], rx = x + netOrigin[0] - refOrigin[0];
        const b = 2 * (ry * rw + rx);
        assertAlmostEquals(
          Math.hypot(refObj[b], refObj[b + 1]),
          Math.hypot(netObj[a], netObj[a + 1]),
          1e-5,
        );
        const d = Math.atan2(refObj[b + 1], refObj[b]) - Math.atan2(netObj[a + 1], netObj[a]);
        const wrapped = Math.atan2(Math.sin(d), Math.cos(d));
        offset ??= wrapped;
        assertAlmostEquals(
          Math.atan2(Math.sin(wrapped - offset), Math.cos(wrapped - offset)),
          0,
          1e-4,
        );
        compared++;
      }
    }
    assert(compared > 1000, `${compared} pixels compared`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("--init RECON.npz continues a refine run from its object, probe and positions", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const args = ["--iterations", "4", "--positions", "refine", "--deterministic", "--quiet"];
    assertEquals((await refine(`${dir}/a`, ...args)).code, 0);
    const again = await refine(`${dir}/b`, "--init", `${dir}/a/reconstruction.npz`, ...args);
    assertEquals(again.code, 0, again.err);
    const first = JSON.parse(Deno.readTextFileSync(`${dir}/a/metrics.json`));
    const second = JSON.parse(Deno.readTextFileSync(`${dir}/b/metrics.json`));
    // A flat restart would start over at the first run's first residual; this continues below it.
    assert(
      second.final_r_factor < first.final_r_factor,
      `R ${first.final_r_factor} → ${second.final_r_factor}`,
    );
    const a = readNpzFile(`${dir}/a/reconstruction.npz`);
    const zero = await refine(
      `${dir}/c`,
      "--init",
      `${dir}/a/reconstruction.npz`,
      "--iterations",
      "0",
      "--quiet",
    );
    assertEquals(zero.code, 0, zero.err);
    const c = readNpzFile(`${dir}/c/reconstruction.npz`);
    for (const key of ["xcoords", "ycoords"]) assertEquals(c.get(key)!.data, a.get(key)!.data, key);
    const pa = a.get("probe")!.data as Float32Array, pc = c.get("probe")!.data as Float32Array;
    let worst = 0, scale = 0;
    for (let i = 0; i < pa.length; i++) {
      worst = Math.max(worst, Math.abs(pa[i] - pc[i]));
      scale = Math.max(scale, Math.abs(pa[i]));
    }
    // The same probe, its power re-fitted to the data and the restored object (≈ 1e-3 change).
    assert(worst <= 3e-3 * scale, `probe differs by ${worst} (scale ${scale})`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("--deterministic runs are identical", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const args = ["--iterations", "2", "--deterministic", "--positions", "refine", "--quiet"];
    assertEquals((await refine(`${dir}/a`, ...args)).code, 0);
    assertEquals((await refine(`${dir}/b`, ...args)).code, 0);
    const a = readNpzFile(`${dir}/a/reconstruction.npz`),
      b = readNpzFile(`${dir}/b/reconstruction.npz`);
    for (const key of ["object", "probe", "xcoords", "ycoords"]) {
      assertEquals(a.get(key)!.data, b.get(key)!.data, key);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("refine input errors: exit 2, one line, nothing written", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/empty`);
    Deno.writeTextFileSync(`${dir}/file.txt`, "x");
    writeNpzFile(`${dir}/junk.npz`, {
      foo: { dtype: "f4", shape: [2], data: new Float32Array(2) },
    });
    writeNpzFile(`${dir}/badprobe.npz`, {
      object: { dtype: "c8", shape: [4, 4], data: new Float32Array(32).fill(1) },
      probe: { dtype: "c8", shape: [4, 4], data: new Float32Array(32) },
    });
    await writeModel(`${dir}/m64`, 64, 1);
    const out = `${dir}/out`;
    const cases: [string[], string, boolean][] = [
      [["refine", "--output_dir", out], "--data is required", true],
      [["refine", "--data", DATA], "--output_dir is required", true],
      [["refine", "--data", `${dir}/none.npz`, "--output_dir", out], "none.npz", false],
      [["refine", "--data", `${dir}/file.txt`, "--output_dir", out], "file.txt", false],
      [["refine", "--data", DATA, "--output_dir", out, "--iterations", "-1"], "--iterations", true],
      [["refine", "--data", DATA, "--output_dir", out, "--batch_size", "0"], "--batch_size", true],
      [["refine", "--data", DATA, "--output_dir", out, "--loss", "mse"], "--loss", true],
      [["refine", "--data", DATA, "--output_dir", out, "--probe", "free"], "--probe", true],
      [["refine", "--data", DATA, "--output_dir", out, "--positions", "x"], "--positions", true],
      [["refine", "--data", DATA, "--output_dir", out, "--bogus"], "--bogus", true],
      [["refine", "--data", DATA, "--output_dir", out, "--init", `${dir}/nope`], "nope", false],
      [
        ["refine", "--data", DATA, "--output_dir", out, "--init", `${dir}/empty`],
        "model.zip",
        false,
      ],
      [
        ["refine", "--data", DATA, "--output_dir", out, "--init", `${dir}/file.txt`],
        "file.txt",
        false,
      ],
      [
        ["refine", "--data", DATA, "--output_dir", out, "--init", `${dir}/junk.npz`],
        "junk.npz",
        false,
      ],
      [["refine", "--data", DATA, "--output_dir", out, "--init", `${dir}/m64`], "N=64", false],
      [
        ["refine", "--data", DATA, "--output_dir", out, "--init", `${dir}/badprobe.npz`],
        "key 'probe': expected a 32×32 complex array",
        false,
      ],
      [["refine", "--data", DATA, "--output_dir", `${dir}/file.txt`], "not a directory", false],
    ];
    for (const [args, message, usage] of cases) {
      const r = await runCli([...args, "--accelerator", "reference"]);
      const where = args.join(" ");
      const lines = r.err.split("\n").filter((l) => l !== "");
      assertEquals(r.code, 2, `${where}: exit code (${r.err})`);
      assertEquals(r.out, "", where);
      assert(lines[0].includes(message), `${where}: got '${lines[0]}'`);
      assertEquals(lines.length, usage ? 2 : 1, `${where}: ${r.err}`);
      if (!usage) assert(lines[0].startsWith("error: "), where);
    }
    assertEquals(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["badprobe.npz", "empty", "file.txt", "junk.npz", "m64"],
      "nothing written",
    );
    assertEquals([...Deno.readDirSync(`${dir}/empty`)], []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("Ctrl-C stops after the current iteration and writes the state reached", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const cli = new URL("../../cli.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        ...["run", "--allow-read", "--allow-write", "--allow-env", cli, "refine"],
        ...["--data", DATA, "--output_dir", `${dir}/out`, "--iterations", "100000"],
        ...["--accelerator", "reference", "--batch_size", "196"],
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Progress lines go to stderr every 10 iterations when it is not a terminal.
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("] 10/")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    child.kill("SIGINT");
    while (!(await reader.read()).done) { /* drain */ }
    const status = await child.status;
    const stdout = new TextDecoder().decode(await new Response(child.stdout).arrayBuffer());
    assertEquals(status.code, 0, seen);
    assert(stdout.includes("refined 196 positions"), stdout);
    const metrics = JSON.parse(Deno.readTextFileSync(`${dir}/out/metrics.json`));
    assert(metrics.iterations >= 10 && metrics.iterations < 100000, `${metrics.iterations}`);
    assert(Deno.statSync(`${dir}/out/reconstruction.npz`).size > 0);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
