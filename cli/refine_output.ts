/**
 * The files `refine` writes: what `infer` writes (amplitude and phase PNGs, reconstruction.npz,
 * and with ground truth metrics.json, comparison.png, frc_curve.svg) plus the probe's amplitude
 * and phase PNGs and the residual curve. Everything is encoded in memory first.
 */
import type { NpyArray } from "../io/npy.ts";
import { encodeNpz } from "../io/npz.ts";
import { lossCurveSvg } from "../io/loss_plot.ts";
import type { PtychoDataset } from "../io/dataset.ts";
import { formatMetricsTable, frcCurveSvg, metricsJsonText } from "./evaluate_report.ts";
import { channelPng, comparisonPng, stitchedChannels } from "./infer_output.ts";
import {
  alignChannels,
  channelsMetrics,
  complexFromInterleaved,
} from "../model/evaluate/metrics.ts";
import type { IterationReport, RefineSnapshot } from "../model/refine/refiner.ts";
import { fixGlobalPhase } from "../model/refine/init.ts";
import { illumination } from "../model/refine/geometry.ts";
import { defaultStitchCrop, type StitchedObject } from "../model/infer/stitch.ts";

/** Pixels lit by less than this fraction of the peak summed probe intensity are left blank. */
export const LIT_FRACTION = 0.01;

/** The object as a stitched image: global phase fixed, coverage = the summed probe intensity. */
export function refinedObject(
  state: RefineSnapshot,
): { stitched: StitchedObject; probe: Float32Array } {
  const { layout } = state;
  const object = state.object.slice(), probe = state.probe.slice();
  const lit = illumination(layout, probe, state.xcoords, state.ycoords);
  fixGlobalPhase(object, probe, lit);
  let peak = 0;
  for (const v of lit) peak = Math.max(peak, v);
  const coverage = lit.map((v) => (v >= LIT_FRACTION * peak ? v : 0));
  return {
    stitched: {
      height: layout.height,
      width: layout.width,
      data: object,
      originX: layout.originX,
      originY: layout.originY,
      coverage,
      filled: 0,
    },
    probe,
  };
}

function complexArray(data: Float32Array, shape: number[]): NpyArray {
  return { dtype: "c8", shape, data: Float32Array.from(data) };
}

/** reconstruction.npz: infer's keys plus the probe (and the positions used, refined or not). */
function reconstructionNpz(stitched: StitchedObject, probe: Float32Array, state: RefineSnapshot) {
  const { height, width, data } = stitched;
  const n = state.layout.n;
  const amplitude = new Float32Array(height * width), phase = new Float32Array(height * width);
  for (let i = 0; i < height * width; i++) {
    amplitude[i] = Math.hypot(data[2 * i], data[2 * i + 1]);
    phase[i] = Math.atan2(data[2 * i + 1], data[2 * i]);
  }
  return encodeNpz({
    object: complexArray(data, [height, width]),
    amplitude: { dtype: "f4", shape: [height, width], data: amplitude },
    phase: { dtype: "f4", shape: [height, width], data: phase },
    xcoords: { dtype: "f8", shape: [state.xcoords.length], data: state.xcoords },
    ycoords: { dtype: "f8", shape: [state.ycoords.length], data: state.ycoords },
    origin_xy: {
      dtype: "f8",
      shape: [2],
      data: Float64Array.of(stitched.originX, stitched.originY),
    },
    probe: complexArray(probe, [n, n]),
  });
}

/** Amplitude and phase images of the probe. */
function probeChannels(probe: Float32Array, n: number) {
  const amp = new Float64Array(n * n), phase = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) {
    amp[i] = Math.hypot(probe[2 * i], probe[2 * i + 1]);
    phase[i] = Math.atan2(probe[2 * i + 1], probe[2 * i]);
  }
  return {
    amplitude: { height: n, width: n, data: amp },
    phase: { height: n, width: n, data: phase },
  };
}

/** Every output file as bytes, and the metrics table when the data holds the true object. */
export function refineOutputs(
  state: RefineSnapshot,
  history: readonly IterationReport[],
  dataset: PtychoDataset,
  context: Record<string, unknown>,
): { files: Map<string, Uint8Array>; table: string | null } {
  const files = new Map<string, Uint8Array>();
  const encoder = new TextEncoder();
  const { stitched, probe } = refinedObject(state);
  const { amplitude, phase } = stitchedChannels(stitched);
  files.set("reconstructed_amplitude.png", channelPng(amplitude));
  files.set("reconstructed_phase.png", channelPng(phase));
  files.set("reconstruction.npz", reconstructionNpz(stitched, probe, state));
  const p = probeChannels(probe, state.layout.n);
  files.set("probe_amplitude.png", channelPng(p.amplitude));
  files.set("probe_phase.png", channelPng(p.phase));
  files.set(
    "refine_curve.svg",
    encoder.encode(lossCurveSvg({ train: history.map((h) => h.rFactor) }, {
      title: "Fourier R-factor Σ(|Ψ| − A)² / ΣA² per iteration",
      xLabel: "iteration",
      yLabel: "R-factor",
      labels: { train: "R-factor" },
    })),
  );
  if (dataset.objectGuess === null) return { files, table: null };
  const g = dataset.objectGuess;
  const channels = alignChannels(
    complexFromInterleaved(stitched.data, stitched.height, stitched.width),
    complexFromInterleaved(g.data, g.height, g.width),
    {
      scan: {
        xcoords: state.xcoords,
        ycoords: state.ycoords,
        stitchCrop: defaultStitchCrop(state.layout.n),
      },
      reconOriginXY: [stitched.originX, stitched.originY],
    },
  );
  const metrics = channelsMetrics(channels);
  files.set("metrics.json", encoder.encode(metricsJsonText(metrics, context)));
  files.set("comparison.png", comparisonPng(channels));
  files.set("frc_curve.svg", encoder.encode(frcCurveSvg(metrics)));
  return { files, table: formatMetricsTable(metrics) };
}
