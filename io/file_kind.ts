/**
 * What a file is by its first bytes, not its name: a zip archive (`.npz`) starts with
 * `PK\x03\x04` (or `PK\x05\x06` when empty), a `.npy` with `\x93NUMPY`, and an HDF5 file
 * has its signature `\x89HDF\r\n\x1a\n` at offset 0, 512, 1024, 2048, ... (a user block may
 * precede the superblock).
 */
import { PtychoInputError } from "./errors.ts";
import { openFileOrFail } from "./files.ts";

/** What a file is, by its first bytes. */
export type FileKind = "zip" | "hdf5" | "npy" | "unknown";

/** Bytes read to find an HDF5 signature behind a user block (blocks of 512·2^k bytes). */
const SNIFF_BYTES = 1 << 16;

/** The kind of file `bytes` starts (see the module comment). */
export function kindOfBytes(bytes: Uint8Array): FileKind {
  const at = (offset: number, sig: number[]) => sig.every((b, i) => bytes[offset + i] === b);
  if (at(0, [0x50, 0x4b, 0x03, 0x04]) || at(0, [0x50, 0x4b, 0x05, 0x06])) return "zip";
  if (at(0, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])) return "npy";
  const hdf5 = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  for (let offset = 0; offset + 8 <= bytes.length; offset = offset ? 2 * offset : 512) {
    if (at(offset, hdf5)) return "hdf5";
  }
  return "unknown";
}

/** The kind of the file at `path`, from its first 64 KiB; a folder or an empty file is an error. */
export function kindOfFile(path: string): FileKind {
  const file = openFileOrFail(path);
  const { isDirectory, size } = file.statSync();
  if (isDirectory || size === 0) {
    file.close();
    throw new PtychoInputError(
      path,
      isDirectory ? "is a folder, not a scan file" : "is empty (0 bytes)",
    );
  }
  try {
    const head = new Uint8Array(SNIFF_BYTES);
    let filled = 0;
    while (filled < head.length) {
      const got = file.readSync(head.subarray(filled));
      if (got === null || got === 0) break;
      filled += got;
    }
    return kindOfBytes(head.subarray(0, filled));
  } finally {
    file.close();
  }
}
