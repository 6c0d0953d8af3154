/**
 * Malformed and hostile .npy/.npz input: every problem is a one-line PtychoInputError naming the
 * file, found before any large allocation.
 */
import { ok, strictEqual, throws } from "node:assert";
import { PtychoInputError } from "../../io/errors.ts";
import { decodeNpy, encodeNpy } from "../../io/npy.ts";
import { formatNpyHeader } from "../../io/npy_header.ts";
import { encodeNpz, NpzReader, readNpzFile } from "../../io/npz.ts";

/** A .npy file with the given raw header dict text and data bytes. */
function npyWith(dict: string, data = new Uint8Array(0), major = 1): Uint8Array {
  const text = new TextEncoder().encode(dict + "\n");
  const prefix = major === 1 ? 10 : 12;
  const out = new Uint8Array(prefix + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(text, prefix);
  out.set(data, prefix + text.length);
  return out;
}

function refuses(bytes: Uint8Array, pattern: RegExp): void {
  throws(() => decodeNpy(bytes, "bad.npy"), (e: unknown) => {
    ok(e instanceof PtychoInputError, `not a PtychoInputError: ${e}`);
    ok(e.message.startsWith("bad.npy: "), e.message);
    ok(!e.message.includes("\n"), "message is one line");
    ok(pattern.test(e.message), `${e.message} !~ ${pattern}`);
    return true;
  });
}

Deno.test("pickled object arrays are refused, never executed", () => {
  const payload = new TextEncoder().encode("cos\nsystem\n(S'echo pwned'\ntR.");
  refuses(npyWith("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", payload), /pickle/);
});

Deno.test("headers claiming more data than the file holds are refused before allocating", () => {
  refuses(
    npyWith("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }"),
    /claims 80000000000 bytes/,
  );
  refuses(
    npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", new Uint8Array(8)),
    /claims 12 bytes .* but 8 remain/,
  );
});

Deno.test("shapes whose byte size overflows are refused", () => {
  const huge = "{'descr': '<c16', 'fortran_order': False, 'shape': (4294967296, 4294967296), }";
  refuses(npyWith(huge), /too large/);
  refuses(
    npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"),
    /bad dimension|too large/,
  );
  refuses(npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), /bad dimension/);
});

Deno.test("malformed headers give clear errors", () => {
  refuses(new Uint8Array([1, 2, 3]), /bad magic/);
  refuses(npyWith("{'descr': '<f4'}", new Uint8Array(0), 4), /version 4/);
  refuses(npyWith("{'descr': '<f2', 'fortran_order': False, 'shape': (), }"), /unsupported dtype/);
  refuses(
    npyWith("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (), }"),
    /structured/,
  );
  refuses(npyWith("{'descr': '<f4', 'shape': (), }"), /keys/);
  refuses(npyWith("{'descr': '<f4', 'fortran_order': 0, 'shape': (), }"), /fortran_order/);
  refuses(
    npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': ((((((1,),),),),),), }"),
    /nests/,
  );
  refuses(npyWith("{'descr': __import__('os'), }"), /cannot parse/);
  const truncated = encodeNpy({ dtype: "f4", shape: [2], data: new Float32Array(2) });
  refuses(truncated.subarray(0, 20), /truncated/);
});

Deno.test("version 2 headers and 0-d arrays decode", () => {
  const bytes = npyWith(
    "{'descr': '>i2', 'fortran_order': False, 'shape': (), }",
    new Uint8Array([0x01, 0x02]),
    2,
  );
  const a = decodeNpy(bytes, "x.npy");
  strictEqual(a.data[0], 0x0102);
  strictEqual(a.shape.length, 0);
});

Deno.test("written headers are padded to 64 bytes and end in a newline", () => {
  for (const version of [1, 2, 3]) {
    const header = formatNpyHeader("<f4", [3, 4], version);
    strictEqual(header.length % 64, 0);
    strictEqual(header[header.length - 1], 0x0a);
  }
});

Deno.test("corrupt or foreign zips are one-line PtychoInputErrors", () => {
  const good = encodeNpz({ a: { dtype: "f4", shape: [4], data: new Float32Array(4) } });
  const check = (bytes: Uint8Array, pattern: RegExp) =>
    throws(() => NpzReader.fromBytes(bytes, "x.npz").all(), (e: unknown) => {
      ok(e instanceof PtychoInputError && pattern.test(e.message), String(e));
      return true;
    });
  check(new TextEncoder().encode("hello, not a zip at all, just text......"), /not a zip/);
  check(good.subarray(0, good.length - 30), /not a zip|corrupt/);
  const flipped = good.slice();
  flipped[60] ^= 0xff; // inside the stored member's data
  check(flipped, /CRC|header|npy|corrupt/);
  throws(() => readNpzFile("/nonexistent/file.npz"), /no such file/);
});
