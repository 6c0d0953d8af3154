/**
 * Kernel variants per adapter: where one implementation's shader compiler chokes on a kernel
 * that others compile, the backend picks a smaller variant for that adapter. One table, matched
 * against the adapter's description (vendor, architecture, device, description joined), so
 * adapter checks live here and nowhere else.
 *
 * | adapter                    | variant                                    | why                                      |
 * | -------------------------- | ------------------------------------------ | ---------------------------------------- |
 * | SwiftShader                | weight-gradient conv blocks OB ≤ 8, CB ≤ 4 | Chrome's software adapter did not finish |
 * |                            |                                            | compiling OB = 8, CB = 8 (33 KB of WGSL) |
 * |                            |                                            | in 100 s; OB = 8, CB = 4 took 0.5 s      |
 * |                            | texels bound as sampled textures           | its conv kernels ran 1.5× slower on      |
 * |                            |                                            | read-only storage textures (Chrome 156)  |
 * | software (CPU) adapters:   | conv operands read as texels (read-only    | their storage loads are bounds-checked   |
 * | llvmpipe/lavapipe, Swift-  | storage textures where WGSL has them, else | loops over the SIMD lanes, ~3× a texel   |
 * | Shader, softpipe, WARP     | sampled textures)                          | load (docs/engine.md#storage-loads)      |
 * |                            | weight gradients aim at 1024 invocations   | fewer partials to write and sum: epochs  |
 * |                            | (GPUs: 4096)                               | 13 % shorter at batch 4, nfs 1           |
 * | any other (a GPU)          | conv operands read from storage buffers    | no copies: a step records 2 compute      |
 * |                            |                                            | passes instead of ~67, and 2–5 ms less   |
 * |                            |                                            | host time (docs/engine.md)               |
 */

import type { TexelKind } from "../../shaders/common.ts";

/** Kernel choices that depend on the adapter. */
export interface KernelVariants {
  /** Most output channels one weight-gradient conv invocation owns (the kernel's OB). */
  readonly gradWeightMaxOB: number;
  /** Most input channels one weight-gradient conv invocation owns (the kernel's CB). */
  readonly gradWeightMaxCB: number;
  /**
   * Whether the conv kernels read their weights and (vec4 rows) activations as texels (loads from
   * read-only storage textures, ~3× cheaper than storage-buffer loads on llvmpipe) rather than
   * from storage buffers.
   */
  readonly convTextures: boolean;
  /**
   * How the texels are bound: read-only storage textures (llvmpipe compiles their loads inline) or
   * sampled textures (faster on SwiftShader). {@link kernelVariantsFor} takes `sampled` where WGSL
   * lacks read-only storage textures.
   */
  readonly texelKind: TexelKind;
  /**
   * Invocations a weight-gradient conv dispatch aims for: rows are split into chunks whose
   * partials a finish pass sums, so more invocations mean more partials to write and read.
   */
  readonly gradWeightInvocations: number;
}

/** What every adapter not in the table gets: a GPU's. */
export const DEFAULT_VARIANTS: KernelVariants = {
  gradWeightMaxOB: 16,
  gradWeightMaxCB: 8,
  convTextures: false,
  texelKind: "storage",
  gradWeightInvocations: 4096,
};

/**
 * What software (CPU) adapters get: the conv operands as texels, and weight gradients split into
 * fewer row chunks (16 workgroups of 64 invocations keep the cores of a CPU busy; at N = 64,
 * n_filters_scale 1, batch 4 the 4096 of a GPU made the finish pass sum 3–11 partials per weight,
 * and an epoch took 15 % longer on llvmpipe; README, "Fewer weight-gradient partials on CPUs").
 */
export const SOFTWARE_VARIANTS: KernelVariants = {
  ...DEFAULT_VARIANTS,
  convTextures: true,
  gradWeightInvocations: 1024,
};

/** Adapters that need other variants, first match wins. */
const TABLE: readonly { match: RegExp; variants: KernelVariants }[] = [
  {
    match: /swiftshader/i,
    variants: {
      ...SOFTWARE_VARIANTS,
      gradWeightMaxOB: 8,
      gradWeightMaxCB: 4,
      texelKind: "sampled",
    },
  },
  {
    // Mesa's llvmpipe (GL) and lavapipe (Vulkan), Mesa's softpipe, Windows' WARP.
    match: /llvmpipe|lavapipe|softpipe|microsoft basic render/i,
    variants: SOFTWARE_VARIANTS,
  },
];

/**
 * The WGSL language feature the texel path needs: its textures are read-only storage textures
 * (`texture_storage_2d<rgba32uint, read>`), whose loads llvmpipe compiles inline, where a sampled
 * texture's `textureLoad` calls a texture function (docs/engine.md#storage-loads).
 */
export const TEXEL_LANGUAGE_FEATURE = "readonly_and_readwrite_storage_textures";

/** The WGSL language features of this runtime's WebGPU (an empty set where it has none). */
export function wgslLanguageFeatures(): ReadonlySet<string> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu as
    | { wgslLanguageFeatures?: ReadonlySet<string> }
    | undefined;
  return gpu?.wgslLanguageFeatures ?? new Set();
}

/**
 * The kernel variants for the adapter described by `description`, on a WebGPU implementation
 * with the WGSL language features `features` (without read-only storage textures the texels are
 * sampled textures).
 */
export function kernelVariantsFor(
  description: string,
  features: ReadonlySet<string> = wgslLanguageFeatures(),
): KernelVariants {
  const v = TABLE.find((row) => row.match.test(description))?.variants ?? DEFAULT_VARIANTS;
  return v.texelKind === "storage" && !features.has(TEXEL_LANGUAGE_FEATURE)
    ? { ...v, texelKind: "sampled" }
    : v;
}
