/**
 * --accelerator: auto and cpu fall back to the TypeScript kernels, reference always selects them,
 * cpu never opens a hardware GPU, and webgpu without an adapter is a one-line input error.
 */
import { PtychoInputError } from "../../io/errors.ts";
import { chooseBackend } from "../../cli/accelerator.ts";
import { isCpuAdapter } from "../../engine/webgpu/device.ts";
import { WebGpuBackend } from "../../engine/webgpu/backend.ts";
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

Deno.test("without an adapter: auto and cpu pick the TypeScript kernels, webgpu is refused in one line", async () => {
  await withoutWebGpu(async () => {
    assertEquals((await chooseBackend("auto")).name, "cpu");
    assertEquals((await chooseBackend("cpu")).name, "cpu");
    assertEquals((await chooseBackend("reference")).name, "cpu");
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

Deno.test("reference selects the TypeScript kernels even where WebGPU exists", async () => {
  assertEquals((await chooseBackend("reference")).name, "cpu");
});

Deno.test("cpu opens only a CPU adapter, when WebGPU has one", async () => {
  const backend = await chooseBackend("cpu");
  if (backend instanceof WebGpuBackend) {
    assert(/llvmpipe|lavapipe|swiftshader/i.test(backend.description), backend.description);
  } else {
    assertEquals(backend.name, "cpu");
  }
});

Deno.test("software adapters are recognised by the fallback flag or their description", () => {
  const info = (isFallbackAdapter: boolean) => ({ isFallbackAdapter }) as GPUAdapterInfo;
  assert(isCpuAdapter(info(true), "some adapter"));
  assert(isCpuAdapter(info(false), "llvmpipe (LLVM 15.0.6, 256 bits)"));
  assert(isCpuAdapter(info(false), "SwiftShader Device (Subzero)"));
  assert(!isCpuAdapter(info(false), "NVIDIA GeForce RTX 4090"));
});
