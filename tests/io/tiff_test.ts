/**
 * The float32 TIFF writer, read back by an independent reader: a few lines of Python that walk
 * the TIFF header and first IFD with `struct` and read the strip with NumPy (tifffile and PIL are
 * not installed here; the tags checked are the ones ImageJ needs for a 32-bit real image).
 */
import { assertEquals } from "../assert.ts";
import { encodeFloat32Tiff } from "../../io/tiff.ts";
import { hasNumpy, runPython, testRequiring } from "./env.ts";

const READER = `
import struct, sys, json, numpy as np
b = open(sys.argv[1], 'rb').read()
assert b[:4] == b'II*\\x00', b[:4]
ifd = struct.unpack_from('<I', b, 4)[0]
count = struct.unpack_from('<H', b, ifd)[0]
tags = {}
for i in range(count):
    tag, typ, n, value = struct.unpack_from('<HHII', b, ifd + 2 + 12 * i)
    tags[tag] = value & 0xFFFF if typ == 3 else value
assert struct.unpack_from('<I', b, ifd + 2 + 12 * count)[0] == 0
w, h = tags[256], tags[257]
assert (tags[258], tags[259], tags[277], tags[339]) == (32, 1, 1, 3), tags
assert tags[278] >= h and tags[279] == 4 * w * h
a = np.frombuffer(b, '<f4', w * h, tags[273]).reshape(h, w)
print(json.dumps({'shape': [h, w], 'values': [None if np.isnan(v) else float(v) for v in a.ravel()]}))
`;

testRequiring(
  { available: hasNumpy, what: "/usr/bin/python3 with numpy" },
  "tiff: a float32 image reads back with the values written (NaN, negatives, tiny, huge)",
  () => {
    const width = 5, height = 3;
    const data = Float64Array.from(
      { length: width * height },
      (_, i) => (i - 7) * 0.1234567 + (i === 4 ? 1e-30 : 0),
    );
    data[2] = NaN;
    data[9] = 3.4e38;
    data[10] = -Math.PI;
    const path = Deno.makeTempFileSync({ suffix: ".tif" });
    Deno.writeFileSync(path, encodeFloat32Tiff({ width, height, data }));
    const back = JSON.parse(runPython(READER, [path]));
    Deno.removeSync(path);
    assertEquals(back.shape, [height, width]);
    const expected = Array.from(data, (v) => Number.isNaN(v) ? null : Math.fround(v));
    assertEquals(back.values, expected);
  },
);
