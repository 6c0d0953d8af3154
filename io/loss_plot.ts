/**
 * A loss-curve plot as a small self-contained SVG: training and validation loss per epoch on a
 * logarithmic y axis (linear when some value is not positive), with axes, ticks and a legend.
 */

/** Loss per epoch; entry i is epoch i + 1. Non-finite entries are left out of the lines. */
export interface LossHistory {
  /** Training loss per epoch. */
  train: readonly number[];
  /** Validation loss per epoch, when there is a validation set. */
  validation?: readonly number[];
}

/** Size and title of the plot. */
export interface LossPlotOptions {
  /** Heading above the plot. */
  title?: string;
  /** Width in pixels (default 640). */
  width?: number;
  /** Height in pixels (default 400). */
  height?: number;
  /** x-axis label (default "epoch"). */
  xLabel?: string;
  /** y-axis label (default "loss"). */
  yLabel?: string;
  /** Legend text of the series (defaults "train", "validation"). */
  labels?: { train?: string; validation?: string };
}

const MARGIN = { left: 72, right: 20, top: 36, bottom: 48 };
const SERIES = [
  { key: "train", label: "train", color: "#1f77b4" },
  { key: "validation", label: "validation", color: "#ff7f0e" },
] as const;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Short tick text: plain for moderate values, exponent form otherwise. */
function tickLabel(value: number): string {
  const m = Math.abs(value);
  if (m === 0) return "0";
  if (m >= 1e-3 && m < 1e5) return String(Number(value.toPrecision(4)));
  return value.toExponential(1).replace(".0e", "e");
}

/** Evenly spaced round tick values covering [lo, hi]. */
function linearTicks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

/** Renders the loss history as an SVG document. */
export function lossCurveSvg(history: LossHistory, options: LossPlotOptions = {}): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const series = SERIES.map((s) => ({
    ...s,
    label: options.labels?.[s.key] ?? s.label,
    values: history[s.key] ?? [],
  }))
    .filter((s) => s.values.length > 0);
  const values = series.flatMap((s) => s.values).filter(Number.isFinite);
  const epochs = Math.max(1, ...series.map((s) => s.values.length));
  const logScale = values.length > 0 && values.every((v) => v > 0);

  let [lo, hi] = values.length > 0 ? [Math.min(...values), Math.max(...values)] : [0, 1];
  let yTicks: number[];
  if (logScale) {
    lo = 10 ** Math.floor(Math.log10(lo));
    hi = 10 ** Math.ceil(Math.log10(hi));
    if (lo === hi) hi = lo * 10;
    const decades = Math.round(Math.log10(hi / lo));
    const every = Math.ceil(decades / 8);
    yTicks = [];
    for (let k = 0; k <= decades; k += every) yTicks.push(lo * 10 ** k);
  } else {
    if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
    yTicks = linearTicks(lo, hi);
    [lo, hi] = [Math.min(lo, yTicks[0]), Math.max(hi, yTicks[yTicks.length - 1])];
  }
  const yOf = (v: number) => {
    const f = logScale ? Math.log10(v / lo) / Math.log10(hi / lo) : (v - lo) / (hi - lo);
    return MARGIN.top + plotH * (1 - f);
  };
  const xOf = (epoch: number) =>
    MARGIN.left + (epochs === 1 ? plotW / 2 : (plotW * (epoch - 1)) / (epochs - 1));
  const px = (v: number) => v.toFixed(1);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  );
  if (options.title) {
    parts.push(
      `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${
        escapeXml(options.title)
      }</text>`,
    );
  }
  for (const v of yTicks) {
    const y = px(yOf(v));
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${
        tickLabel(v)
      }</text>`,
    );
  }
  const xStep = Math.max(1, Math.ceil(epochs / 10));
  for (let e = 1; e <= epochs; e += xStep) {
    const x = px(xOf(e));
    const y = MARGIN.top + plotH;
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${y}" y2="${y + 4}" stroke="black"/>`,
      `<text x="${x}" y="${y + 18}" text-anchor="middle">${e}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="black"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${height - 8}" text-anchor="middle">${
      escapeXml(options.xLabel ?? "epoch")
    }</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">` +
      `${escapeXml(options.yLabel ?? "loss")}${logScale ? " (log scale)" : ""}</text>`,
  );
  series.forEach((s, i) => {
    const points = s.values
      .map((
        v,
        k,
      ) => (Number.isFinite(v) && (!logScale || v > 0) ? `${px(xOf(k + 1))},${px(yOf(v))}` : ""))
      .filter((p) => p !== "");
    parts.push(
      `<polyline class="${s.key}" fill="none" stroke="${s.color}" stroke-width="2" points="${
        points.join(" ")
      }"/>`,
    );
    if (points.length <= 60) {
      for (const p of points) {
        const [cx, cy] = p.split(",");
        parts.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${s.color}"/>`);
      }
    }
    const ly = MARGIN.top + 14 + 18 * i;
    const lx = MARGIN.left + plotW - 110;
    parts.push(
      `<line x1="${lx}" x2="${
        lx + 24
      }" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${lx + 30}" y="${ly}" dominant-baseline="middle">${escapeXml(s.label)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
