/**
 * PNG output decoded back with fast-png: gray 8/16-bit levels, colormap ends, cyclic phase map,
 * colorbar with its min/max labels.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { decode } from "fast-png";
import { formatLabel } from "../../io/bitmap_font.ts";
import { colormapLut } from "../../io/colormap.ts";
import { encodeColormapPng, encodeGrayPng, encodeRgbPng, renderColormap } from "../../io/png.ts";

const ramp = { width: 4, height: 2, data: [0, 1, 2, 3, 4, 5, 6, 7] };

Deno.test("8- and 16-bit grayscale map [min, max] to the full range", () => {
  const png8 = decode(encodeGrayPng(ramp));
  strictEqual(png8.depth, 8);
  strictEqual(png8.channels, 1);
  deepStrictEqual([...png8.data], [0, 36, 73, 109, 146, 182, 219, 255]);
  const png16 = decode(encodeGrayPng(ramp, { depth: 16, min: 0, max: 14 }));
  strictEqual(png16.depth, 16);
  strictEqual(png16.data[7], Math.round((7 / 14) * 65535));
  const withNaN = decode(
    encodeGrayPng({ width: 2, height: 1, data: [NaN, 1] }, { min: 0, max: 1 }),
  );
  deepStrictEqual([...withNaN.data], [0, 255]);
  throws(() => encodeGrayPng({ width: 3, height: 3, data: [1] }), RangeError);
});

Deno.test("RGB PNG round-trips", () => {
  const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]);
  const png = decode(encodeRgbPng({ width: 2, height: 2, rgb }));
  strictEqual(png.channels, 3);
  deepStrictEqual([...png.data], [...rgb]);
});

Deno.test("viridis runs from dark purple to yellow; phase is cyclic", () => {
  const viridis = colormapLut("viridis");
  deepStrictEqual([...viridis.subarray(0, 3)], [0x44, 0x01, 0x54]);
  deepStrictEqual([...viridis.subarray(765, 768)], [0xfd, 0xe7, 0x25]);
  const lum = (lut: Uint8Array, i: number) =>
    0.2126 * lut[3 * i] + 0.7152 * lut[3 * i + 1] + 0.0722 * lut[3 * i + 2];
  for (let i = 16; i < 256; i += 16) {
    ok(lum(viridis, i) > lum(viridis, i - 16), "viridis brightens monotonically");
  }
  const phase = colormapLut("phase");
  const step = (i: number, j: number) =>
    Math.max(...[0, 1, 2].map((c) => Math.abs(phase[3 * i + c] - phase[3 * j + c])));
  ok(step(255, 0) <= 8, "the phase map closes on itself");
  for (let i = 1; i < 256; i++) ok(step(i, i - 1) <= 8, `phase map is smooth at ${i}`);
  ok(step(0, 128) > 60, "opposite phases differ clearly");
  const png = decode(encodeColormapPng({ width: 2, height: 1, data: [-Math.PI, Math.PI] }, {
    colormap: "phase",
    min: -Math.PI,
    max: Math.PI,
  }));
  deepStrictEqual(
    [...png.data.subarray(0, 3)],
    [...png.data.subarray(3, 6)],
    "-π and +π share a colour",
  );
});

Deno.test("colorbar widens the image and carries min and max labels", () => {
  const image = { width: 32, height: 32, data: Array.from({ length: 1024 }, (_, i) => i / 100) };
  const plain = renderColormap(image);
  strictEqual(plain.width, 32);
  const bar = renderColormap(image, { colorbar: true });
  ok(bar.width > 32 + 6);
  strictEqual(bar.height, 32);
  const isBlack = (x: number, y: number) =>
    bar.rgb.subarray(3 * (y * bar.width + x), 3 * (y * bar.width + x) + 3).every((v) => v === 0);
  const labelStart = 32 + 3 + 6 + 3;
  let top = 0;
  let bottom = 0;
  for (let x = labelStart; x < bar.width; x++) {
    for (let y = 0; y < 5; y++) top += isBlack(x, y) ? 1 : 0;
    for (let y = 27; y < 32; y++) bottom += isBlack(x, y) ? 1 : 0;
  }
  ok(top > 10 && bottom > 5, `labels drawn (top ${top}, bottom ${bottom} px)`);
  deepStrictEqual([...bar.rgb.subarray(3 * (32 + 3), 3 * (32 + 4))], [
    ...colormapLut("viridis").subarray(765),
  ]);
  strictEqual(decode(encodeColormapPng(image, { colorbar: true })).width, bar.width);
});

Deno.test("labels are short", () => {
  deepStrictEqual(
    [3.14159, -3.14159, 0, 0.5, 1234567, 0.0000123, 10.25].map(formatLabel),
    ["3.14", "-3.14", "0", "0.5", "1.23e+6", "1.23e-5", "10.3"],
  );
});
