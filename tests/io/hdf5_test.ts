/**
 * io/hdf5.ts without Python: files built by encodeHdf5 read back, and bitshuffle + LZ4 (what
 * Eiger detectors write; h5py cannot write it without hdf5plugin) written through h5wasm with
 * the h5wasm-plugins filter and read back by Hdf5Reader.
 */
import { File as H5File, ready } from "h5wasm";
import { base_url as pluginsUrl } from "h5wasm-plugins";
import { assertEquals } from "../assert.ts";
import { Hdf5Reader } from "../../io/hdf5.ts";
import { encodeHdf5 } from "../../io/hdf5_write.ts";
import { PtychoInputError } from "../../io/errors.ts";

Deno.test("hdf5: encodeHdf5 datasets, strings and attributes read back", async () => {
  const bytes = await encodeHdf5({
    datasets: {
      "entry_1/image_1/data": {
        data: Float32Array.of(1, -2, 3.5, 4, 5, 6),
        shape: [3, 2],
        chunks: [3, 2],
        attrs: { units: "m" },
      },
      "entry_1/n": { data: Int32Array.of(7), shape: [] },
      "note": { data: '{"a": 1}', shape: [] },
    },
    groupAttrs: { "entry_1": { program: "test", version: 2 } },
  });
  const r = await Hdf5Reader.fromBytes(bytes, "mem.h5");
  try {
    const a = r.get("entry_1/image_1/data");
    assertEquals([a.dtype, a.shape, [...(a.data as Float32Array)]], ["f4", [3, 2], [
      1,
      -2,
      3.5,
      4,
      5,
      6,
    ]]);
    assertEquals(r.attr("entry_1/image_1/data", "units"), "m");
    assertEquals(r.attr("entry_1", "program"), "test");
    assertEquals(r.get("note").data, ['{"a": 1}']);
    assertEquals(r.dtypeOf("entry_1/image_1/data"), "f4");
    assertEquals(r.has("entry_1/missing"), false);
    let message = "";
    try {
      r.get("entry_1/missing");
    } catch (e) {
      if (e instanceof PtychoInputError) message = e.message;
    }
    assertEquals(message, "mem.h5: missing dataset 'entry_1/missing'");
  } finally {
    r.close();
  }
});

Deno.test("hdf5: bitshuffle + LZ4 chunks (Eiger's compression) decode through h5wasm-plugins", async () => {
  const module = await ready;
  const folder = module.get_plugin_search_paths()[0];
  module.FS.mkdirTree(folder);
  module.FS.writeFile(
    `${folder}/libH5Zbshuf.so`,
    Deno.readFileSync(new URL(`${pluginsUrl}/plugins/libH5Zbshuf.so`)),
  );
  const counts = Uint16Array.from({ length: 3 * 16 * 16 }, (_, i) => (i * 37) % 1000);
  const f = new H5File("/bshuf.h5", "w");
  f.create_dataset({
    name: "data",
    data: counts,
    shape: [3, 16, 16],
    dtype: "<H",
    chunks: [1, 16, 16],
    compression: 32008,
    compression_opts: [0, 2], // block size auto, LZ4
  });
  f.close();
  const bytes = module.FS.readFile("/bshuf.h5") as Uint8Array;
  module.FS.unlink("/bshuf.h5");
  const r = await Hdf5Reader.fromBytes(bytes, "bshuf.h5");
  try {
    const a = r.get("data");
    assertEquals([a.dtype, a.shape], ["u2", [3, 16, 16]]);
    assertEquals([...(a.data as Uint16Array)], [...counts]);
  } finally {
    r.close();
  }
});
