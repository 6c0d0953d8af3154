/** CRC-32 (the zip and PNG polynomial), for the zip reader and writer. */

/** Slice-by-8 CRC-32 tables: table k (entries 256k..256k+255) advances a byte through k zeros. */
const CRC_TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) {
      t[256 * k + n] = (t[256 * (k - 1) + n] >>> 8) ^ t[t[256 * (k - 1) + n] & 0xff];
    }
  }
  return t;
})();

/**
 * CRC-32 (the zip/PNG polynomial) of `bytes`, eight bytes per step; `crc` continues a CRC
 * computed over the bytes before these.
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const t = CRC_TABLES;
  let c = (crc ^ 0xffffffff) >>> 0;
  let i = 0;
  for (const end8 = bytes.length - 7; i < end8; i += 8) {
    const a = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^ t[768 + bytes[i + 4]] ^ t[512 + bytes[i + 5]] ^ t[256 + bytes[i + 6]] ^
      t[bytes[i + 7]];
  }
  for (; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
