/** --accelerator: auto falls back to the CPU, webgpu without an adapter is a one-line input error. */
import { PtychoInputError } from "../../io/errors.ts";
import { chooseBackend } from "../../cli/accelerator.ts";
import { assert, assertEquals } from "../assert.ts";

/** Runs `fn` with `navigator.gpu` hidden, as on a machine without WebGPU. */
async function withoutWebGpu(fn: () => Promise<void>): Promise<void> {
  Object.defineProperty(navigator, "gpu", { value: undefined, configurable: true });
  try {
    await fn();
  } finally {
    delete (navigator as unknown as Record<string, unknown>).gpu;
  }
}

Deno.test("without an adapter: auto picks the CPU, webgpu is refused in one line", async () => {
  await withoutWebGpu(async () => {
    assertEquals((await chooseBackend("auto")).name, "cpu");
    assertEquals((await chooseBackend("cpu")).name, "cpu");
    let error: unknown = null;
    try {
      await chooseBackend("webgpu");
    } catch (e) {
      error = e;
    }
    assert(error instanceof PtychoInputError, String(error));
    assert(error.message.includes("no WebGPU adapter is available"), error.message);
    assert(!error.message.includes("\n"));
  });
});
