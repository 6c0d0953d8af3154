/**
 * `deno task inspect` on synthetic scans whose step, probe diameter and overlap are known: a
 * raster with step s and a disk probe whose half-maximum area has a pixel count counted here
 * independently; the figures, the warnings and the error path.
 */
import { assert, assertAlmostEquals, assertEquals } from "../assert.ts";
import { runCli } from "./cli_run.ts";
import { encodeNpz } from "../../io/npz.ts";
import type { NpyArray } from "../../io/npy.ts";
import type { PtychoDataset } from "../../io/dataset.ts";
import { medianStep, probeDiameter, scanStats } from "../../cli/inspect_stats.ts";

const N = 32;

/** A grid × grid raster with step `step` px and a disk probe of radius `radius` px. */
function rasterScan(grid: number, step: number, radius: number): Record<string, NpyArray> {
  const m = grid * grid;
  const xs = new Float64Array(m), ys = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    xs[k] = 40 + step * (k % grid);
    ys[k] = 30 + step * Math.floor(k / grid);
  }
  const probe = new Float32Array(2 * N * N);
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < N; c++) {
      if (Math.hypot(r - N / 2, c - N / 2) <= radius) probe[2 * (r * N + c)] = 1;
    }
  }
  const diffraction = new Float32Array(m * N * N).fill(2); // 4 photons per pixel
  return {
    diffraction: { dtype: "f4", shape: [m, N, N], data: diffraction },
    probeGuess: { dtype: "c8", shape: [N, N], data: probe },
    xcoords: { dtype: "f8", shape: [m], data: xs },
    ycoords: { dtype: "f8", shape: [m], data: ys },
  };
}

function diskPixels(radius: number): number {
  let count = 0;
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < N; c++) if (Math.hypot(r - N / 2, c - N / 2) <= radius) count++;
  }
  return count;
}

const dirs: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of dirs) Deno.removeSync(dir, { recursive: true });
});

function tempDir(): string {
  const dir = Deno.makeTempDirSync({ prefix: "ptycho-inspect-" });
  dirs.push(dir);
  return dir;
}

Deno.test("inspect: step, probe diameter, overlap and figures of a known raster", async () => {
  const dir = tempDir();
  const path = `${dir}/raster.npz`;
  Deno.writeFileSync(path, encodeNpz(rasterScan(5, 3, 6)));
  const { code, out, err } = await runCli(["inspect", path, "--gridsize", "1"]);
  assertEquals(code, 0, err);
  const diameter = 2 * Math.sqrt(diskPixels(6) / Math.PI);
  const overlap = 1 - 3 / diameter;
  assert(overlap > 0.6, `test design: overlap ${overlap}`);
  assert(out.includes("patterns 25, N 32, stored dtype f4"), out);
  assert(out.includes(`photons per pattern (Σ amplitude²): min 4096, median 4096, max 4096`), out);
  assert(out.includes(`step 3 px`), out);
  assert(out.includes(`probe diameter ${Number(diameter.toPrecision(4))} px`), out);
  assert(out.includes(`overlap ${(100 * overlap).toFixed(0)} %`), out);
  assert(out.includes("x 40 … 52, y 30 … 42 (extent 12 × 12 px)"), out);
  assertEquals(err, "", "no warnings at this overlap");

  const files = [...Deno.readDirSync(`${path}.inspect`)].map((e) => e.name).sort();
  assertEquals(files, ["mean_diffraction.png", "probe.png", "scan.svg"]);
  const svg = Deno.readTextFileSync(`${path}.inspect/scan.svg`);
  const group = (name: string) =>
    svg.split(`<g class="${name}"`)[1].split("</g>")[0].match(/<circle [^>]*>/g)!;
  const footprints = group("footprints");
  assertEquals(footprints.length, 25);
  assertEquals(group("positions").length, 25);
  // the footprint is drawn to scale: its diameter over the step between neighbours = d / s
  const attr = (s: string, a: string) => Number(new RegExp(`${a}="([-0-9.]+)"`).exec(s)![1]);
  const stepSvg = attr(footprints[1], "cx") - attr(footprints[0], "cx");
  assertAlmostEquals(2 * attr(footprints[0], "r") / stepSvg, diameter / 3, 1e-3);
  for (let k = 0; k < 25; k++) assert(svg.includes(`>${k}</text>`), `label ${k}`);
  const png = Deno.readFileSync(`${path}.inspect/mean_diffraction.png`);
  assertEquals([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
});

Deno.test("inspect: warns about low overlap and a probe wider than N/2 at gridsize 2", async () => {
  const dir = tempDir();
  const sparse = `${dir}/sparse.npz`;
  Deno.writeFileSync(sparse, encodeNpz(rasterScan(4, 8, 5)));
  const a = await runCli(["inspect", sparse, "--gridsize", "1", "--output_dir", `${dir}/a`]);
  assertEquals(a.code, 0, a.err);
  assert(a.err.includes("is below 60 %"), a.err);
  assert(!a.err.includes("wider than"), a.err);
  const wide = `${dir}/wide.npz`;
  Deno.writeFileSync(wide, encodeNpz(rasterScan(4, 3, 10)));
  const b = await runCli(["inspect", wide, "--output_dir", `${dir}/b`]);
  assertEquals(b.code, 0, b.err);
  assert(b.err.includes("wider than the N/2 = 16 px window"), b.err);
  assert(!b.err.includes("below 60"), b.err);

  const missing = await runCli(["inspect", `${dir}/nope.npz`]);
  assertEquals(missing.code, 2);
  assert(missing.err.includes("nope.npz"), missing.err);
  assertEquals((await runCli(["inspect"])).code, 2);
});

Deno.test("inspect: stats count saturated pixels and measure a step independent of order", () => {
  const arrays = rasterScan(3, 4, 4);
  const diffraction = arrays.diffraction.data as Float32Array;
  diffraction[5] = Math.sqrt(65535);
  diffraction[N * N + 7] = Math.sqrt(65535);
  const ds = {
    n: N,
    patternCount: 9,
    diffraction,
    probe: arrays.probeGuess.data as Float32Array,
    xcoords: arrays.xcoords.data as Float64Array,
    ycoords: arrays.ycoords.data as Float64Array,
  } as PtychoDataset;
  const stats = scanStats(ds, 1, 65535);
  assertEquals(stats.saturatedPixels, 2);
  assert(stats.warnings.some((w) => w.startsWith("2 saturated pixels")), stats.warnings.join());
  assertEquals(scanStats(ds, 1, null).saturatedPixels, null);
  const reversed = [...ds.xcoords].reverse();
  assertEquals(medianStep(reversed, [...ds.ycoords].reverse()), 4);
  assertAlmostEquals(probeDiameter(ds.probe, N), 2 * Math.sqrt(diskPixels(4) / Math.PI), 1e-12);
});
