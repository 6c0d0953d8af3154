/**
 * A 3×5 pixel bitmap font for number labels (digits, `.`, `-`, `+`, `e`), drawn into RGB images.
 */

/** Each glyph is 5 rows, top first; bit 4 = left column, bit 1 = right column. */
const GLYPHS: Record<string, number[]> = {
  "0": [7, 5, 5, 5, 7],
  "1": [2, 6, 2, 2, 7],
  "2": [7, 1, 7, 4, 7],
  "3": [7, 1, 3, 1, 7],
  "4": [5, 5, 7, 1, 1],
  "5": [7, 4, 7, 1, 7],
  "6": [7, 4, 7, 5, 7],
  "7": [7, 1, 1, 2, 2],
  "8": [7, 5, 7, 5, 7],
  "9": [7, 5, 7, 1, 7],
  ".": [0, 0, 0, 0, 2],
  "-": [0, 0, 7, 0, 0],
  "+": [0, 2, 7, 2, 0],
  "e": [7, 4, 7, 4, 7],
  " ": [0, 0, 0, 0, 0],
};

/** Glyph cell size in font pixels: 3 wide plus 1 spacing, 5 tall. */
export const GLYPH_WIDTH = 4;
/** Glyph height in font pixels. */
export const GLYPH_HEIGHT = 5;

/** Width in image pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale: number): number {
  return Math.max(0, text.length * GLYPH_WIDTH - 1) * scale;
}

/** A short label for a number: up to 3 significant digits, exponent form outside [1e-3, 1e4). */
export function formatLabel(value: number): string {
  if (!Number.isFinite(value)) return "-";
  const magnitude = Math.abs(value);
  if (magnitude === 0) return "0";
  if (magnitude >= 1e-3 && magnitude < 1e4) {
    return String(Number(value.toPrecision(3)));
  }
  return value.toExponential(2).replace(/\.?0+e/, "e");
}

/**
 * Draws `text` into an RGB image (3 bytes per pixel, row-major) with its top-left corner at (x, y);
 * pixels outside the image are skipped. Characters without a glyph are drawn as blanks.
 */
export function drawText(
  rgb: Uint8Array,
  width: number,
  height: number,
  x: number,
  y: number,
  text: string,
  scale: number,
  color: readonly [number, number, number],
): void {
  [...text].forEach((ch, index) => {
    const rows = GLYPHS[ch] ?? GLYPHS[" "];
    for (let r = 0; r < GLYPH_HEIGHT * scale; r++) {
      for (let c = 0; c < 3 * scale; c++) {
        if (!((rows[Math.floor(r / scale)] >> (2 - Math.floor(c / scale))) & 1)) continue;
        const px = x + index * GLYPH_WIDTH * scale + c;
        const py = y + r;
        if (px < 0 || py < 0 || px >= width || py >= height) continue;
        rgb.set(color, 3 * (py * width + px));
      }
    }
  });
}
