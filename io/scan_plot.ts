/**
 * A scan's positions as a self-contained SVG: each position a dot with its number, the probe's
 * footprint (a circle of the probe's diameter) drawn around it to the same scale, x = column to
 * the right and y = row downwards (as the object is shown), axes in object pixels.
 */

/** What to draw. */
export interface ScanPlot {
  /** Columns of the positions (object pixels). */
  x: ArrayLike<number>;
  /** Rows of the positions (object pixels). */
  y: ArrayLike<number>;
  /** Probe diameter in object pixels (the footprint circles). */
  probeDiameter: number;
  /** Heading above the plot. */
  title?: string;
  /** Longer side of the plot area in pixels (default 640). */
  size?: number;
}

const MARGIN = { left: 64, right: 20, top: 36, bottom: 44 };
/** Above this many positions only every k-th is numbered, so that the labels stay legible. */
const MAX_LABELS = 400;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number): number[] {
  const span = hi - lo || 1;
  const raw = span / 6;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) {
    out.push(Number(v.toPrecision(6)));
  }
  return out;
}

/** The SVG text of the scan plot. */
export function scanSvg(plot: ScanPlot): string {
  const { x, y } = plot;
  const m = x.length;
  const r = plot.probeDiameter / 2;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let k = 0; k < m; k++) {
    x0 = Math.min(x0, x[k] - r);
    x1 = Math.max(x1, x[k] + r);
    y0 = Math.min(y0, y[k] - r);
    y1 = Math.max(y1, y[k] + r);
  }
  const size = plot.size ?? 640;
  const scale = size / Math.max(x1 - x0, y1 - y0, 1e-9);
  const w = (x1 - x0) * scale, h = (y1 - y0) * scale;
  const width = Math.ceil(w + MARGIN.left + MARGIN.right);
  const height = Math.ceil(h + MARGIN.top + MARGIN.bottom);
  const px = (v: number) => (MARGIN.left + (v - x0) * scale).toFixed(2);
  const py = (v: number) => (MARGIN.top + (v - y0) * scale).toFixed(2);
  const every = Math.ceil(m / MAX_LABELS);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${
      escapeXml(plot.title ?? `${m} scan positions`)
    }</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${w.toFixed(2)}" height="${
      h.toFixed(2)
    }" fill="none" stroke="#444"/>`,
  ];
  for (const t of ticks(x0, x1)) {
    parts.push(
      `<line x1="${px(t)}" y1="${MARGIN.top + h}" x2="${px(t)}" y2="${MARGIN.top + h + 5}" ` +
        `stroke="#444"/><text x="${px(t)}" y="${
          MARGIN.top + h + 18
        }" text-anchor="middle">${t}</text>`,
    );
  }
  for (const t of ticks(y0, y1)) {
    parts.push(
      `<line x1="${MARGIN.left - 5}" y1="${py(t)}" x2="${MARGIN.left}" y2="${py(t)}" ` +
        `stroke="#444"/><text x="${MARGIN.left - 8}" y="${py(t)}" text-anchor="end" ` +
        `dominant-baseline="middle">${t}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + w / 2}" y="${
      height - 8
    }" text-anchor="middle">x (column, object px)</text>`,
    `<text transform="translate(14 ${MARGIN.top + h / 2}) rotate(-90)" text-anchor="middle">` +
      "y (row, object px)</text>",
  );
  const rs = (r * scale).toFixed(2);
  parts.push(
    `<g class="footprints" fill="#1f77b4" fill-opacity="0.08" stroke="#1f77b4" stroke-opacity="0.35">`,
  );
  for (let k = 0; k < m; k++) parts.push(`<circle cx="${px(x[k])}" cy="${py(y[k])}" r="${rs}"/>`);
  parts.push("</g>", `<g class="positions" fill="#d62728">`);
  for (let k = 0; k < m; k++) parts.push(`<circle cx="${px(x[k])}" cy="${py(y[k])}" r="2"/>`);
  parts.push("</g>", `<g class="labels" font-size="8" fill="#222">`);
  for (let k = 0; k < m; k += every) {
    parts.push(`<text x="${(Number(px(x[k])) + 3).toFixed(2)}" y="${py(y[k])}">${k}</text>`);
  }
  parts.push("</g>", "</svg>");
  return parts.join("\n") + "\n";
}
