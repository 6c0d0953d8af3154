/**
 * 32-bit float grayscale TIFF, the format ImageJ/Fiji and every TIFF library read as real
 * values: baseline TIFF 6.0, little-endian, one uncompressed strip, SampleFormat 3 (IEEE float).
 *
 * Written here rather than with an npm package: `utif` encodes only 8-bit RGBA, and `geotiff`'s
 * writer pulls in eight dependencies (workers, LERC, zstd) for a 60-line job.
 */
import type { RealImage } from "./image.ts";

const TAG = {
  width: 256,
  height: 257,
  bitsPerSample: 258,
  compression: 259,
  photometric: 262,
  stripOffsets: 273,
  samplesPerPixel: 277,
  rowsPerStrip: 278,
  stripByteCounts: 279,
  planarConfig: 284,
  sampleFormat: 339,
} as const;
const SHORT = 3, LONG = 4;

/** The TIFF bytes of a real image as float32 (values rounded to f32; NaN kept). */
export function encodeFloat32Tiff(image: RealImage): Uint8Array {
  const { width, height } = image;
  if (image.data.length !== width * height) {
    throw new RangeError(`expected ${width * height} values, got ${image.data.length}`);
  }
  const entries: [number, number, number][] = [
    [TAG.width, LONG, width],
    [TAG.height, LONG, height],
    [TAG.bitsPerSample, SHORT, 32],
    [TAG.compression, SHORT, 1],
    [TAG.photometric, SHORT, 1],
    [TAG.stripOffsets, LONG, 0],
    [TAG.samplesPerPixel, SHORT, 1],
    [TAG.rowsPerStrip, LONG, height],
    [TAG.stripByteCounts, LONG, 4 * width * height],
    [TAG.planarConfig, SHORT, 1],
    [TAG.sampleFormat, SHORT, 3],
  ];
  const ifdSize = 2 + 12 * entries.length + 4;
  const dataOffset = 8 + ifdSize;
  entries[5][2] = dataOffset;
  const bytes = new Uint8Array(dataOffset + 4 * width * height);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, 0x49); // "II": little-endian
  view.setUint8(1, 0x49);
  view.setUint16(2, 42, true);
  view.setUint32(4, 8, true); // the first IFD follows the header
  view.setUint16(8, entries.length, true);
  entries.forEach(([tag, type, value], i) => {
    const at = 10 + 12 * i;
    view.setUint16(at, tag, true);
    view.setUint16(at + 2, type, true);
    view.setUint32(at + 4, 1, true);
    if (type === SHORT) view.setUint16(at + 8, value, true);
    else view.setUint32(at + 8, value, true);
  });
  view.setUint32(10 + 12 * entries.length, 0, true); // no further IFD
  for (let i = 0; i < width * height; i++) {
    view.setFloat32(dataOffset + 4 * i, image.data[i], true);
  }
  return bytes;
}
