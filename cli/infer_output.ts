/**
 * The image files of inference (docs/physics.md#outputs): `reconstructed_amplitude.png`,
 * `reconstructed_phase.png` (viridis, auto range, with a labelled colorbar, as upstream's
 * `plt.imsave`) and `comparison.png` — ground truth | reconstruction | error, amplitude on the
 * top row and phase below, on the aligned region the metrics compare.
 */
import { encodeRgbPng, finiteRange, renderColormap, type RgbImage } from "../io/png.ts";
import type { AlignedChannels, RealImage } from "../model/evaluate/metrics.ts";
import type { StitchedObject } from "../model/infer/stitch.ts";

/** Integer upscaling factor that brings the longer side to about `target` pixels (≥ 1). */
export function upscaleFactor(height: number, width: number, target: number): number {
  return Math.max(1, Math.floor(target / Math.max(height, width)));
}

/** Nearest-neighbour enlargement by an integer factor. */
export function enlarge(image: RealImage, k: number): RealImage {
  if (k === 1) return image;
  const height = image.height * k, width = image.width * k;
  const data = new Float64Array(height * width);
  for (let r = 0; r < height; r++) {
    const src = Math.floor(r / k) * image.width;
    for (let c = 0; c < width; c++) data[r * width + c] = image.data[src + Math.floor(c / k)];
  }
  return { height, width, data };
}

/**
 * Amplitude and phase images of a stitched object; NaN (drawn dark, outside the colour range) where
 * no patch reached.
 */
export function stitchedChannels(stitched: StitchedObject): {
  amplitude: RealImage;
  phase: RealImage;
} {
  const { height, width, data, coverage } = stitched;
  const amp = new Float64Array(height * width);
  const phase = new Float64Array(height * width);
  for (let i = 0; i < height * width; i++) {
    const covered = coverage[i] > 0;
    amp[i] = covered ? Math.hypot(data[2 * i], data[2 * i + 1]) : NaN;
    phase[i] = covered ? Math.atan2(data[2 * i + 1], data[2 * i]) : NaN;
  }
  return { amplitude: { height, width, data: amp }, phase: { height, width, data: phase } };
}

/** The PNG bytes of one reconstructed channel (enlarged to ≈ 512 px when small). */
export function channelPng(image: RealImage): Uint8Array {
  const k = upscaleFactor(image.height, image.width, 512);
  return encodeRgbPng(renderColormap(enlarge(image, k), { colormap: "viridis", colorbar: true }));
}

/** Copies `tile` into `canvas` with its top-left corner at (x, y). */
function blit(canvas: RgbImage, tile: RgbImage, x: number, y: number): void {
  for (let r = 0; r < tile.height && y + r < canvas.height; r++) {
    const from = 3 * r * tile.width;
    const width = Math.min(tile.width, canvas.width - x);
    canvas.rgb.set(tile.rgb.subarray(from, from + 3 * width), 3 * ((y + r) * canvas.width + x));
  }
}

function difference(a: RealImage, b: RealImage): RealImage {
  return { ...a, data: a.data.map((v, i) => v - b.data[i]) };
}

/**
 * `comparison.png`: rows amplitude and phase; columns ground truth, reconstruction (same colour
 * range as the truth) and reconstruction − truth, each with its colorbar.
 */
export function comparisonPng(ch: AlignedChannels): Uint8Array {
  const k = upscaleFactor(ch.amplitudeTruth.height, ch.amplitudeTruth.width, 256);
  const rows = [
    [ch.amplitudeTruth, ch.amplitude],
    [ch.phaseTruth, ch.phase],
  ].map(([truth, recon]) => {
    const [min, max] = finiteRange(truth.data);
    const err = difference(recon, truth);
    const [emin, emax] = finiteRange(err.data);
    const bound = Math.max(Math.abs(emin), Math.abs(emax));
    return [
      renderColormap(enlarge(truth, k), { min, max, colorbar: true }),
      renderColormap(enlarge(recon, k), { min, max, colorbar: true }),
      renderColormap(enlarge(err, k), { min: -bound, max: bound, colorbar: true }),
    ];
  });
  const gap = 8;
  const colWidth = Math.max(...rows.flat().map((t) => t.width));
  const rowHeight = Math.max(...rows.flat().map((t) => t.height));
  const canvas: RgbImage = {
    width: 3 * colWidth + 4 * gap,
    height: 2 * rowHeight + 3 * gap,
    rgb: new Uint8Array(3 * (3 * colWidth + 4 * gap) * (2 * rowHeight + 3 * gap)).fill(255),
  };
  rows.forEach((tiles, r) =>
    tiles.forEach((tile, c) =>
      blit(canvas, tile, gap + c * (colWidth + gap), gap + r * (rowHeight + gap))
    )
  );
  return encodeRgbPng(canvas);
}
