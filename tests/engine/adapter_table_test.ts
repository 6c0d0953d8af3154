/** The per-adapter kernel variants and the weight-gradient block they cap. */
import {
  DEFAULT_VARIANTS,
  kernelVariantsFor as variantsFor,
  SOFTWARE_VARIANTS,
  TEXEL_LANGUAGE_FEATURE,
} from "../../engine/webgpu/adapter_table.ts";
import { convGradWeightBlock } from "../../shaders/conv2d_grad.ts";
import { assertEquals } from "../assert.ts";

/** The variants on a WebGPU whose WGSL has read-only storage textures. */
const kernelVariantsFor = (description: string) =>
  variantsFor(description, new Set([TEXEL_LANGUAGE_FEATURE]));

Deno.test("adapter table: SwiftShader gets the small weight-gradient block, others the default", () => {
  // Chrome reports no description for SwiftShader; device.ts joins vendor and architecture.
  assertEquals(kernelVariantsFor("google swiftshader"), {
    gradWeightMaxOB: 8,
    gradWeightMaxCB: 4,
    convTextures: true,
    texelKind: "sampled",
    gradWeightInvocations: 1024,
  });
  assertEquals(kernelVariantsFor("llvmpipe (LLVM 15.0.6, 256 bits)").texelKind, "storage");
  assertEquals(kernelVariantsFor("SwiftShader Device (Subzero)").gradWeightMaxCB, 4);
  assertEquals(kernelVariantsFor("llvmpipe (LLVM 15.0.6, 256 bits)").gradWeightMaxCB, 8);
  assertEquals(kernelVariantsFor("NVIDIA GeForce RTX 4090"), DEFAULT_VARIANTS);
});

Deno.test("adapter table: software adapters read conv operands as texels and split less, GPUs not", () => {
  for (
    const cpu of [
      "llvmpipe (LLVM 15.0.6, 256 bits)",
      "mesa lavapipe",
      "google swiftshader",
      "Microsoft Basic Render Driver",
    ]
  ) {
    assertEquals(kernelVariantsFor(cpu).convTextures, true, cpu);
    assertEquals(kernelVariantsFor(cpu).gradWeightInvocations, 1024, cpu);
  }
  assertEquals(kernelVariantsFor("mesa llvmpipe"), SOFTWARE_VARIANTS);
  for (const gpu of ["NVIDIA H200", "apple m2", "intel gen-12lp", "AMD Radeon RX 7900 XTX", ""]) {
    assertEquals(kernelVariantsFor(gpu).convTextures, false, gpu);
    assertEquals(kernelVariantsFor(gpu).gradWeightInvocations, 4096, gpu);
  }
});

Deno.test("convGradWeightBlock: caps apply, small layers keep their small blocks", () => {
  const d = DEFAULT_VARIANTS;
  assertEquals(convGradWeightBlock(64, 64, d.gradWeightMaxOB, d.gradWeightMaxCB), {
    OB: 16,
    CB: 8,
  });
  const s = kernelVariantsFor("google swiftshader");
  assertEquals(convGradWeightBlock(64, 64, s.gradWeightMaxOB, s.gradWeightMaxCB), { OB: 8, CB: 4 });
  assertEquals(convGradWeightBlock(3, 2, s.gradWeightMaxOB, s.gradWeightMaxCB), { OB: 4, CB: 4 });
});

Deno.test("adapter table: without read-only storage textures in WGSL, texels are sampled", () => {
  for (const features of [new Set<string>(), new Set(["packed_4x8_integer_dot_product"])]) {
    for (const software of ["llvmpipe (LLVM 15.0.6, 256 bits)", "google swiftshader"]) {
      // Everything else of the software variants stays.
      assertEquals(
        variantsFor(software, features),
        { ...kernelVariantsFor(software), texelKind: "sampled" },
        software,
      );
    }
  }
});
