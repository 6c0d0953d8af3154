/**
 * Colormaps as 256-entry RGB lookup tables: `viridis` (perceptually uniform, sequential; for
 * amplitude), `phase` (cyclic: a hue circle at constant OKLab lightness, so −π and +π meet
 * seamlessly and the phase wrap shows no edge in lightness) and `gray`.
 */

/** Names of the built-in colormaps. */
export type ColormapName = "viridis" | "phase" | "gray";

/** Viridis at 10 evenly spaced points (its published 10-colour sampling), from 0 to 1. */
const VIRIDIS_ANCHORS = [
  0x440154,
  0x482878,
  0x3e4989,
  0x31688e,
  0x26828e,
  0x1f9e89,
  0x35b779,
  0x6ece58,
  0xb5de2b,
  0xfde725,
];

function viridisLut(): Uint8Array {
  const lut = new Uint8Array(256 * 3);
  const segments = VIRIDIS_ANCHORS.length - 1;
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * segments;
    const k = Math.min(Math.floor(x), segments - 1);
    const f = x - k;
    for (let c = 0; c < 3; c++) {
      const shift = 16 - 8 * c;
      const a = (VIRIDIS_ANCHORS[k] >> shift) & 0xff;
      const b = (VIRIDIS_ANCHORS[k + 1] >> shift) & 0xff;
      lut[3 * i + c] = Math.round(a + (b - a) * f);
    }
  }
  return lut;
}

/** Linear-light sRGB component to 8-bit gamma-encoded sRGB, clipped to the gamut. */
function encodeSrgb(linear: number): number {
  const v = Math.min(1, Math.max(0, linear));
  const g = v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055;
  return Math.round(255 * g);
}

/** OKLab (L, a, b) to 8-bit sRGB (Björn Ottosson's published OKLab matrices). */
function oklabToSrgb(lightness: number, a: number, b: number): [number, number, number] {
  const l = (lightness + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m = (lightness - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s = (lightness - 0.0894841775 * a - 1.291485548 * b) ** 3;
  return [
    encodeSrgb(4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s),
    encodeSrgb(-1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s),
    encodeSrgb(-0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s),
  ];
}

/** Cyclic map: hue angle = 2π·t around a circle of chroma 0.11 at OKLab lightness 0.7. */
function phaseLut(): Uint8Array {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const angle = (2 * Math.PI * i) / 256;
    lut.set(oklabToSrgb(0.7, 0.11 * Math.cos(angle), 0.11 * Math.sin(angle)), 3 * i);
  }
  return lut;
}

function grayLut(): Uint8Array {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) lut.fill(i, 3 * i, 3 * i + 3);
  return lut;
}

const LUTS: Record<ColormapName, Uint8Array> = {
  viridis: viridisLut(),
  phase: phaseLut(),
  gray: grayLut(),
};

/**
 * The 256 × RGB lookup table of a colormap. Index i stands for t = i/255 on sequential maps;
 * on the cyclic `phase` map it stands for angle 2π·i/256, so entry 0 follows entry 255.
 */
export function colormapLut(name: ColormapName): Uint8Array {
  const lut = LUTS[name];
  if (!lut) throw new RangeError(`unknown colormap '${name}'`);
  return lut;
}
