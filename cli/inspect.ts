/**
 * `deno task inspect F [flags]`: look at a scan (.npz, .h5 or .cxi) before training. Prints a
 * summary (patterns, N, stored dtype, photons per pattern, scan extent, step, probe diameter and
 * overlap, nphotons, the positions' units) and writes `F.inspect/` (or `--output_dir`) with
 * `scan.svg`, `mean_diffraction.png` (log10 of 1 + the mean intensity) and `probe.png`
 * (amplitude | phase). Definitions: cli/inspect_stats.ts.
 */
import type { Command, FlagSpec, ParsedArgs } from "./args.ts";
import { UsageError } from "./args.ts";
import type { PtychoDataset } from "../io/dataset.ts";
import { PtychoInputError } from "../io/errors.ts";
import { kindOfFile } from "../io/file_kind.ts";
import { writeFileAtomic } from "../io/files.ts";
import { NpzReader } from "../io/npz.ts";
import { encodeRgbPng, renderColormap, type RgbImage } from "../io/png.ts";
import { scanSvg } from "../io/scan_plot.ts";
import { loadScan } from "../io/scan_file.ts";
import { enlarge, upscaleFactor } from "./infer_output.ts";
import { type ScanStats, scanStats } from "./inspect_stats.ts";
import { SCAN_FLAGS, scanOptionsFromFlags } from "./scan_flags.ts";

const flags: readonly FlagSpec[] = [
  {
    name: "gridsize",
    type: "int",
    default: 2,
    help: "the gridsize you will train with (for the probe-width warning)",
  },
  { name: "output_dir", type: "string", help: "folder for the figures (default: F.inspect)" },
  ...SCAN_FLAGS,
  { name: "debug", type: "boolean", default: false, help: "print stack traces on errors" },
];

/** Largest value of an integer dtype (a detector pixel there is saturated), or null for floats. */
function integerMaximum(dtype: string): number | null {
  const match = /^([iu])(\d)$/.exec(dtype);
  if (match === null) return null;
  const bits = 8 * Number(match[2]);
  return match[1] === "u" ? 2 ** bits - 1 : 2 ** (bits - 1) - 1;
}

/** The dtype the patterns are stored with. */
function storedDtype(path: string, ds: PtychoDataset): string {
  const recorded = ds.source?.conversions.data_dtype;
  if (typeof recorded === "string") return recorded;
  if (kindOfFile(path) !== "zip") return "unknown";
  const npz = NpzReader.open(path);
  try {
    return npz.get(npz.has("diffraction") ? "diffraction" : "diff3d").dtype;
  } finally {
    npz.close();
  }
}

/** Side-by-side tiles on a white canvas. */
function hstack(tiles: RgbImage[], gap = 8): RgbImage {
  const width = tiles.reduce((w, t) => w + t.width + gap, gap);
  const height = Math.max(...tiles.map((t) => t.height)) + 2 * gap;
  const rgb = new Uint8Array(3 * width * height).fill(255);
  let x = gap;
  for (const t of tiles) {
    for (let r = 0; r < t.height; r++) {
      rgb.set(t.rgb.subarray(3 * r * t.width, 3 * (r + 1) * t.width), 3 * ((gap + r) * width + x));
    }
    x += t.width + gap;
  }
  return { width, height, rgb };
}

/** The three figures, as bytes. */
function figures(ds: PtychoDataset, stats: ScanStats, name: string): Map<string, Uint8Array> {
  const n = ds.n;
  const k = upscaleFactor(n, n, 384);
  const logMean = {
    height: n,
    width: n,
    data: stats.meanIntensity.map((v) => Math.log10(1 + v)),
  };
  const amplitude = new Float64Array(n * n);
  const phase = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) {
    amplitude[i] = Math.hypot(ds.probe[2 * i], ds.probe[2 * i + 1]);
    phase[i] = Math.atan2(ds.probe[2 * i + 1], ds.probe[2 * i]);
  }
  const image = (data: Float64Array) => enlarge({ height: n, width: n, data }, k);
  const svg = scanSvg({
    x: ds.xcoords,
    y: ds.ycoords,
    probeDiameter: stats.probeDiameter,
    title: `${name}: ${ds.patternCount} positions, step ${stats.step.toFixed(2)} px, ` +
      `probe ${stats.probeDiameter.toFixed(1)} px, overlap ${(100 * stats.overlap).toFixed(0)} %`,
  });
  return new Map([
    ["scan.svg", new TextEncoder().encode(svg)],
    [
      "mean_diffraction.png",
      encodeRgbPng(renderColormap(enlarge(logMean, k), { colorbar: true })),
    ],
    [
      "probe.png",
      encodeRgbPng(hstack([
        renderColormap(image(amplitude), { colorbar: true }),
        renderColormap(image(phase), {
          colormap: "phase",
          min: -Math.PI,
          max: Math.PI,
          colorbar: true,
        }),
      ])),
    ],
  ]);
}

const fmt = (v: number) =>
  Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-2)
    ? v.toExponential(3)
    : String(Number(v.toPrecision(4)));

/** The terminal summary, one fact per line. */
export function summaryLines(path: string, ds: PtychoDataset, stats: ScanStats, dtype: string) {
  const format = ds.source?.format ?? "npz";
  const [x0, x1, y0, y1] = stats.extent;
  const c = ds.source?.conversions ?? {};
  const pixel = c.object_pixel_size_m as number[] | undefined;
  const metres = pixel
    ? ` = ${fmt((x1 - x0) * pixel[0] * 1e6)} × ${fmt((y1 - y0) * pixel[1] * 1e6)} µm`
    : "";
  const lines = [
    `${path}: ${format === "cxi" ? "CXI (HDF5)" : format === "hdf5" ? "HDF5 (.npz keys)" : "npz"}`,
    `patterns ${stats.patterns}, N ${stats.n}, stored dtype ${dtype}` +
    (format === "cxi" ? " (counts; amplitudes = sqrt)" : " (amplitudes)"),
    `photons per pattern (Σ amplitude²): min ${fmt(stats.photons[0])}, median ${
      fmt(stats.photons[1])
    }, max ${fmt(stats.photons[2])}; nphotons ${fmt(ds.nphotons)}`,
    `positions in object pixels${
      pixel ? ` (${fmt(pixel[0] * 1e9)} nm each, from λz/(N·p))` : ""
    }: x ${fmt(x0)} … ${fmt(x1)}, y ${fmt(y0)} … ${fmt(y1)} (extent ${fmt(x1 - x0)} × ${
      fmt(y1 - y0)
    } px${metres})`,
    `step ${fmt(stats.step)} px (median nearest-neighbour distance), probe diameter ${
      fmt(stats.probeDiameter)
    } px (half-max intensity area), overlap ${
      (100 * stats.overlap).toFixed(0)
    } % (1 − step/diameter)`,
  ];
  if (stats.saturatedPixels !== null) lines.push(`saturated pixels: ${stats.saturatedPixels}`);
  return lines;
}

async function run(args: ParsedArgs): Promise<void> {
  const [path, ...extra] = args.positional;
  if (path === undefined) throw new UsageError("give the scan file: deno task inspect F");
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const gridsize = args.flags.gridsize as number;
  if (gridsize < 1 || gridsize > 3) throw new UsageError(`--gridsize must be 1, 2 or 3`);
  const warnings: string[] = [];
  const ds = await loadScan(path, {
    ...scanOptionsFromFlags(args.flags),
    onWarning: (m) => warnings.push(m),
  });
  const dtype = storedDtype(path, ds);
  const stats = scanStats(ds, gridsize, integerMaximum(dtype));
  const outDir = (args.flags.output_dir as string | undefined) ?? `${path}.inspect`;
  const files = figures(ds, stats, path.split("/").at(-1)!);
  try {
    Deno.mkdirSync(outDir, { recursive: true });
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new PtychoInputError(outDir, `cannot create the output folder (${why})`);
  }
  for (const [name, bytes] of files) writeFileAtomic(`${outDir}/${name}`, bytes);
  for (const line of summaryLines(path, ds, stats, dtype)) console.log(line);
  console.log(`wrote ${[...files.keys()].map((f) => `${outDir}/${f}`).join(", ")}`);
  for (const w of [...warnings, ...stats.warnings]) console.error(`warning: ${w}`);
}

/** The `inspect` subcommand. */
export const inspectCommand: Command = {
  name: "inspect",
  usage: "inspect F [--gridsize G] [--output_dir D] [flags]",
  summary: "Summarises a scan (.npz, .h5 or .cxi) before training: patterns, N, dtype, photons " +
    "per pattern, scan extent, step, probe diameter and overlap, nphotons, position units; " +
    "writes scan.svg, mean_diffraction.png and probe.png to F.inspect/ and warns about what " +
    "will hurt a reconstruction (overlap below 60 %, saturated pixels, a probe wider than the " +
    "N/2 window at gridsize > 1).",
  flags,
  run,
};
