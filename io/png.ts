/**
 * PNG output: 8/16-bit grayscale and 8-bit RGB images (encoded by `fast-png`), and false-colour
 * rendering of a real image through a colormap with an optional colorbar labelled with its
 * min and max.
 */
import { encode } from "fast-png";
import { drawText, formatLabel, GLYPH_HEIGHT, textWidth } from "./bitmap_font.ts";
import { colormapLut, type ColormapName } from "./colormap.ts";
import type { RealImage } from "./image.ts";

export type { RealImage };

/** An 8-bit RGB image, 3 bytes per pixel, row-major. */
export interface RgbImage {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** R, G, B bytes per pixel, row-major. */
  rgb: Uint8Array;
}

/** The value range mapped to the ends of the gray ramp or colormap. */
export interface ValueRange {
  /** Value shown as the lowest level (default: the smallest finite value). */
  min?: number;
  /** Value shown as the highest level (default: the largest finite value). */
  max?: number;
}

/** Finite min and max of `data` ([0, 0] when none is finite). */
export function finiteRange(data: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

function checkImage(image: RealImage): void {
  const { width, height, data } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`bad image size ${width}×${height}`);
  }
  if (data.length !== width * height) {
    throw new RangeError(
      `image ${width}×${height} needs ${width * height} values, got ${data.length}`,
    );
  }
}

/** Maps each value to [0, 1] over the range; NaN maps to 0 and values outside are clipped. */
function normalise(
  image: RealImage,
  range: ValueRange,
): { t: Float32Array; min: number; max: number } {
  checkImage(image);
  const [lo, hi] = finiteRange(image.data);
  const min = range.min ?? lo;
  const max = range.max ?? hi;
  const span = max - min;
  const t = new Float32Array(image.data.length);
  for (let i = 0; i < t.length; i++) {
    const v = span > 0 ? (image.data[i] - min) / span : 0;
    t[i] = v > 0 ? Math.min(v, 1) : 0;
  }
  return { t, min, max };
}

/** Encodes a grayscale PNG at 8 or 16 bits, mapping [min, max] to black..white. */
export function encodeGrayPng(
  image: RealImage,
  options: ValueRange & { depth?: 8 | 16 } = {},
): Uint8Array {
  const depth = options.depth ?? 8;
  const { t } = normalise(image, options);
  const top = depth === 16 ? 65535 : 255;
  const data = depth === 16 ? new Uint16Array(t.length) : new Uint8Array(t.length);
  for (let i = 0; i < t.length; i++) data[i] = Math.round(t[i] * top);
  return encode({ width: image.width, height: image.height, data, depth, channels: 1 });
}

/** Encodes an 8-bit RGB PNG. */
export function encodeRgbPng(image: RgbImage): Uint8Array {
  if (image.rgb.length !== 3 * image.width * image.height) {
    throw new RangeError(`RGB image ${image.width}×${image.height} has ${image.rgb.length} bytes`);
  }
  return encode({
    width: image.width,
    height: image.height,
    data: image.rgb,
    depth: 8,
    channels: 3,
  });
}

/** Options for {@link renderColormap}. */
export interface ColormapOptions extends ValueRange {
  /** Colormap (default `viridis`; use `phase` for phase images in radians). */
  colormap?: ColormapName;
  /** Append a vertical colorbar with max (top) and min (bottom) labels. */
  colorbar?: boolean;
}

/** LUT index of t ∈ [0, 1]; the cyclic map wraps so both ends of the range share a colour. */
function lutIndex(t: number, cyclic: boolean): number {
  return cyclic ? Math.floor(t * 256) % 256 : Math.round(t * 255);
}

/** Renders a real image through a colormap, with an optional labelled colorbar on the right. */
export function renderColormap(image: RealImage, options: ColormapOptions = {}): RgbImage {
  const name = options.colormap ?? "viridis";
  const lut = colormapLut(name);
  const cyclic = name === "phase";
  const { t, min, max } = normalise(image, options);
  const scale = image.height >= 96 ? 2 : 1;
  const labels = [formatLabel(max), formatLabel(min)];
  const gap = 3 * scale;
  const barWidth = 6 * scale;
  const extra = options.colorbar
    ? gap + barWidth + gap + Math.max(...labels.map((l) => textWidth(l, scale))) + gap
    : 0;
  const width = image.width + extra;
  const height = options.colorbar
    ? Math.max(image.height, 2 * GLYPH_HEIGHT * scale + 2)
    : image.height;
  const rgb = new Uint8Array(3 * width * height).fill(255);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const k = 3 * lutIndex(t[y * image.width + x], cyclic);
      rgb.set(lut.subarray(k, k + 3), 3 * (y * width + x));
    }
  }
  if (options.colorbar) {
    const barX = image.width + gap;
    for (let y = 0; y < height; y++) {
      const k = 3 * lutIndex(height > 1 ? 1 - y / (height - 1) : 0, false);
      for (let x = barX; x < barX + barWidth; x++) {
        rgb.set(lut.subarray(k, k + 3), 3 * (y * width + x));
      }
    }
    const textX = barX + barWidth + gap;
    const black = [0, 0, 0] as const;
    drawText(rgb, width, height, textX, 0, labels[0], scale, black);
    drawText(rgb, width, height, textX, height - GLYPH_HEIGHT * scale, labels[1], scale, black);
  }
  return { width, height, rgb };
}

/** Renders through a colormap (see {@link renderColormap}) and encodes as an RGB PNG. */
export function encodeColormapPng(image: RealImage, options: ColormapOptions = {}): Uint8Array {
  return encodeRgbPng(renderColormap(image, options));
}
