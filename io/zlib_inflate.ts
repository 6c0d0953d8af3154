/**
 * Node's zlib (native, built into Deno) as the zip reader's decoder (io/zip.ts
 * {@link setNativeInflate}), several times faster than fflate's stepwise inflation. Only the
 * command line installs it: the library stays free of `node:` imports for browsers.
 */
import { constants, inflateRawSync } from "node:zlib";
import type { NativeInflate } from "./zip.ts";

/** A plain Uint8Array view of a Buffer (whose slice() would not copy). */
const plain = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/**
 * Whole streams inflate into one buffer of `size` + 1 bytes (the extra byte shows an overflow
 * without a second buffer); partial ones with a sync flush, so a stream cut short is no error.
 * zlib stops as soon as its output passes the limit.
 */
export const zlibInflate: NativeInflate = {
  whole(compressed, size) {
    return capped(size, () =>
      inflateRawSync(compressed, {
        maxOutputLength: Math.max(1, size),
        chunkSize: Math.max(64, size + 1),
      }));
  },
  partial(compressed, limit) {
    return capped(limit, () =>
      inflateRawSync(compressed, {
        maxOutputLength: Math.max(1, limit),
        finishFlush: constants.Z_SYNC_FLUSH,
      }));
  },
};

/** The output of `inflate`, or null when it passes `limit` bytes. */
function capped(limit: number, inflate: () => Uint8Array): Uint8Array | null {
  let out: Uint8Array;
  try {
    out = inflate();
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") return null;
    throw e;
  }
  return out.length > limit ? null : plain(out);
}
