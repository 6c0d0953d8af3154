/** io/memory.ts and the size checks of the npz reader that use it. */
import { PtychoInputError } from "../../io/errors.ts";
import { formatBytes, memoryBudget, parseByteSize } from "../../io/memory.ts";
import { encodeNpz, NpzReader } from "../../io/npz.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";

/** Runs `fn` with PTYCHO_MEMORY_BUDGET set to `value`. */
function withBudget<T>(value: string, fn: () => T): T {
  Deno.env.set("PTYCHO_MEMORY_BUDGET", value);
  try {
    return fn();
  } finally {
    Deno.env.delete("PTYCHO_MEMORY_BUDGET");
  }
}

Deno.test("sizes parse with SI and binary units and format in binary ones", () => {
  assertEquals(parseByteSize("2GiB"), 2 * 2 ** 30);
  assertEquals(parseByteSize("512 MiB"), 512 * 2 ** 20);
  assertEquals(parseByteSize("1.5GB"), 1.5e9);
  assertEquals(parseByteSize("1000000"), 1e6);
  assertEquals(parseByteSize("12k"), 12000);
  for (const bad of ["", "GiB", "-1GiB", "2 parsecs", "0"]) assertEquals(parseByteSize(bad), null);
  assertEquals(formatBytes(812), "812 B");
  assertEquals(formatBytes(3 * 2 ** 30 + 2 ** 29), "3.50 GiB");
});

Deno.test("the budget comes from PTYCHO_MEMORY_BUDGET, else from available memory", () => {
  assertEquals(withBudget("64MiB", memoryBudget), {
    bytes: 64 * 2 ** 20,
    source: "PTYCHO_MEMORY_BUDGET",
  });
  assertThrows(() => withBudget("lots", memoryBudget), PtychoInputError, "'lots' is not a size");
  const auto = memoryBudget();
  assert(auto.bytes > 0, String(auto.bytes));
  assert(auto.source.startsWith("available memory"), auto.source);
});

Deno.test("an array over the budget is refused from its header; smaller ones load", () => {
  const big = { dtype: "f4" as const, shape: [64, 64], data: new Float32Array(4096) };
  const small = { dtype: "f4" as const, shape: [4], data: new Float32Array(4) };
  const npz = NpzReader.fromBytes(encodeNpz({ big, small }, { compress: true }), "a.npz");
  assertEquals(npz.header("big").shape, [64, 64]);
  withBudget("4KiB", () => {
    const e = assertThrows(() => npz.get("big"), PtychoInputError);
    assert(
      e.message.startsWith(
        "a.npz: key 'big' (shape (64,64) f4) needs 16.1 KiB of memory, " +
          "more than the budget of 4.00 KiB (PTYCHO_MEMORY_BUDGET)",
      ),
      e.message,
    );
    assertEquals(npz.get("small").shape, [4]);
  });
});
