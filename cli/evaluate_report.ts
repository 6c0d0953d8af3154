/**
 * How metrics are shown and saved: a plain-text table, the JSON document (`metrics.json`) and the
 * FRC curves as a small self-contained SVG plot. Shared by `evaluate` and `infer`.
 */
import {
  type ChannelMetrics,
  metricsToJson,
  type ReconstructionMetrics,
} from "../model/evaluate/metrics.ts";

function fmt(value: number, digits = 4): string {
  if (Number.isNaN(value)) return "n/a";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5)) return value.toExponential(3);
  return value.toFixed(digits);
}

/** The metrics as an aligned text table (amplitude and phase columns) plus a context line. */
export function formatMetricsTable(metrics: ReconstructionMetrics): string {
  const rows: [string, (c: ChannelMetrics) => string][] = [
    ["MAE", (c) => fmt(c.mae)],
    ["MSE", (c) => fmt(c.mse)],
    ["PSNR, peak 255 (dB)", (c) => fmt(c.psnr255, 2)],
    ["PSNR, peak = data range (dB)", (c) => fmt(c.psnrRange, 2)],
    ["SSIM", (c) => fmt(c.ssim)],
    ["FRC50 (ring index)", (c) => fmt(c.frc50, 2)],
    ["FRC 1/7 (ring index)", (c) => fmt(c.frc1over7, 2)],
  ];
  const lines = [["metric", "amplitude", "phase"]].concat(
    rows.map(([name, get]) => [name, get(metrics.amplitude), get(metrics.phase)]),
  );
  const w0 = Math.max(...lines.map((l) => l[0].length)) + 2;
  const w1 = Math.max(...lines.map((l) => l[1].length)) + 2;
  const table = lines.map((l) => l[0].padEnd(w0) + l[1].padStart(w1 - 2).padEnd(w1) + l[2]);
  const [h, w] = metrics.shape;
  let context = `compared ${h}×${w} px; reconstructed amplitude scaled by ${
    fmt(metrics.amplitudeScale)
  }; FRC curve has ${metrics.amplitude.frc.length} rings`;
  if (metrics.shiftXY) {
    context += `; registered shift (x, y) = (${metrics.shiftXY[0]}, ${metrics.shiftXY[1]}) px`;
  }
  return `${table.join("\n")}\n${context}`;
}

/** The `metrics.json` document: the metrics plus a free-form description of the inputs. */
export function metricsJsonText(
  metrics: ReconstructionMetrics,
  inputs: Record<string, unknown>,
): string {
  return JSON.stringify({ ...inputs, ...metricsToJson(metrics) }, null, 1) + "\n";
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The FRC curves (amplitude, phase) against ring index, with the 0.5 and 1/7 thresholds. */
export function frcCurveSvg(
  metrics: ReconstructionMetrics,
  title = "Fourier ring correlation",
): string {
  const width = 640, height = 400;
  const m = { left: 60, right: 20, top: 36, bottom: 48 };
  const pw = width - m.left - m.right, ph = height - m.top - m.bottom;
  const rings = Math.max(metrics.amplitude.frc.length, metrics.phase.frc.length, 2);
  const px = (k: number) => m.left + (k / (rings - 1)) * pw;
  const py = (v: number) => m.top + (1 - Math.max(0, Math.min(1.05, v)) / 1.05) * ph;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`,
  ];
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${m.left - 4}" y1="${py(v)}" x2="${m.left}" y2="${py(v)}" stroke="#444"/>`,
      `<text x="${m.left - 8}" y="${py(v) + 4}" text-anchor="end">${v}</text>`,
    );
  }
  const step = Math.max(1, Math.ceil((rings - 1) / 8 / 5) * 5);
  for (let k = 0; k < rings; k += step) {
    parts.push(
      `<line x1="${px(k)}" y1="${m.top + ph}" x2="${px(k)}" y2="${m.top + ph + 4}" stroke="#444"/>`,
      `<text x="${px(k)}" y="${m.top + ph + 18}" text-anchor="middle">${k}</text>`,
    );
  }
  parts.push(
    `<text x="${m.left + pw / 2}" y="${height - 10}" text-anchor="middle">ring index</text>`,
    `<text x="16" y="${m.top + ph / 2}" text-anchor="middle" ` +
      `transform="rotate(-90 16 ${m.top + ph / 2})">FRC</text>`,
  );
  for (const [v, label] of [[0.5, "0.5"], [1 / 7, "1/7"]] as const) {
    parts.push(
      `<line x1="${m.left}" y1="${py(v)}" x2="${m.left + pw}" y2="${py(v)}" stroke="#999" ` +
        `stroke-dasharray="4 3"/>`,
      `<text x="${m.left + pw - 4}" y="${py(v) - 4}" text-anchor="end" fill="#777">${label}</text>`,
    );
  }
  const series = [
    { curve: metrics.amplitude.frc, label: "amplitude", color: "#1f77b4" },
    { curve: metrics.phase.frc, label: "phase", color: "#d62728" },
  ];
  series.forEach(({ curve, label, color }, i) => {
    // NaN rings (no power) break the line.
    let d = "";
    let pen = false;
    curve.forEach((v, k) => {
      if (Number.isNaN(v)) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${px(k).toFixed(1)},${py(v).toFixed(1)}`;
      pen = true;
    });
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    const ly = m.top + 16 + 16 * i;
    parts.push(
      `<line x1="${m.left + pw - 110}" y1="${ly}" x2="${m.left + pw - 90}" y2="${ly}" ` +
        `stroke="${color}" stroke-width="2"/>`,
      `<text x="${m.left + pw - 84}" y="${ly + 4}">${label}${d ? "" : " (undefined)"}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
