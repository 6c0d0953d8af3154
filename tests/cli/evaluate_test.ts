import { assert, assertAlmostEquals, assertEquals } from "../assert.ts";
import { runCli } from "./cli_run.ts";
import { writeFileAtomic } from "../../io/files.ts";
import { readNpzFile, writeNpzFile } from "../../io/npz.ts";
import { encodeReconstructionNpz, readReconstructionNpz } from "../../model/evaluate/files.ts";
import { stitchPatches } from "../../model/infer/stitch.ts";
import { asymmetricObject, extractPatches, rasterScan } from "../model/evaluate/metrics_helpers.ts";

/** A ground-truth dataset file and a reconstruction stitched from its exact patches. */
function makeFiles(dir: string, mirrored = false): { recon: string; truth: string } {
  const obj = asymmetricObject(96, 96);
  const n = 32;
  const { x, y } = rasterScan(26, 70, 26, 70, 4);
  const patches = extractPatches(obj, x, y, n);
  const mean = (v: number[]) => v.reduce((s, t) => s + t, 0) / v.length;
  const px = mirrored ? x.map((v) => 2 * mean(x) - v) : x;
  const py = mirrored ? y.map((v) => 2 * mean(y) - v) : y;
  const stitched = stitchPatches(patches, px, py, n, 10);
  const truth = `${dir}/truth.npz`;
  writeNpzFile(truth, {
    objectGuess: { dtype: "c8", shape: [96, 96], data: obj.data },
    probeGuess: { dtype: "c8", shape: [n, n], data: new Float32Array(2 * n * n) },
    xcoords: { dtype: "f8", shape: [x.length], data: Float64Array.from(x) },
    ycoords: { dtype: "f8", shape: [y.length], data: Float64Array.from(y) },
  });
  const recon = `${dir}/reconstruction.npz`;
  writeFileAtomic(recon, encodeReconstructionNpz(stitched, x, y, 10));
  return { recon, truth };
}

Deno.test("reconstruction.npz holds plain arrays and reads back", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const { recon } = makeFiles(dir);
    const arrays = readNpzFile(recon);
    assertEquals([...arrays.keys()].sort(), [
      "amplitude",
      "object",
      "origin_xy",
      "phase",
      "stitch_crop",
      "xcoords",
      "ycoords",
    ]);
    assertEquals(arrays.get("object")!.dtype, "c8");
    assertEquals(arrays.get("stitch_crop")!.shape, []);
    const back = readReconstructionNpz(recon);
    assertEquals(back.stitchCrop, 10);
    assertEquals(back.originXY, [21, 21]);
    assertEquals(back.xcoords!.length, 144);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("deno task evaluate: table, metrics.json, FRC svg; perfect for an exact stitch", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const { recon, truth } = makeFiles(dir);
    const { code, out } = await runCli(["evaluate", recon, truth]);
    assertEquals(code, 0);
    assert(out.includes("SSIM") && out.includes("FRC50"), out);
    const json = JSON.parse(Deno.readTextFileSync(`${dir}/metrics.json`));
    assertAlmostEquals(json.amplitude.ssim, 1, 1e-6);
    assertAlmostEquals(json.phase.ssim, 1, 1e-6);
    assert(json.amplitude.mae < 1e-5, `${json.amplitude.mae}`);
    assertEquals(json.alignment.scan_positions_from, "reconstruction");
    assertEquals(json.registered_shift_xy, null);
    const svg = Deno.readTextFileSync(`${dir}/frc_curve.svg`);
    assert(svg.startsWith("<svg") && svg.includes("amplitude") && svg.includes("<path"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("deno task evaluate: a mirrored stitch scores clearly worse", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const { recon, truth } = makeFiles(dir, true);
    const { code } = await runCli(["evaluate", recon, truth, "--quiet", "--output_dir", dir]);
    assertEquals(code, 0);
    const json = JSON.parse(Deno.readTextFileSync(`${dir}/metrics.json`));
    assert(json.amplitude.ssim < 0.7, `mirrored SSIM ${json.amplitude.ssim}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("deno task evaluate: bad input is one line and exit 2", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const { recon, truth } = makeFiles(dir);
    let r = await runCli(["evaluate", recon]);
    assertEquals(r.code, 2);
    assert(r.err.includes("expected two files"), r.err);
    const noObject = `${dir}/no_object.npz`;
    writeNpzFile(noObject, { xcoords: { dtype: "f8", shape: [1], data: Float64Array.of(1) } });
    r = await runCli(["evaluate", recon, noObject]);
    assertEquals(r.code, 2);
    assert(r.err.includes("no ground truth"), r.err);
    assertEquals(r.err.split("\n").length, 1);
    r = await runCli(["evaluate", `${dir}/missing.npz`, truth]);
    assertEquals(r.code, 2);
    assert(r.err.includes("missing.npz"), r.err);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
