/**
 * ptycho — PtychoPINN on Deno: a physics-informed neural network that reconstructs amplitude
 * and phase images from ptychographic diffraction data, on its own tensor/autograd engine with a
 * WebGPU (WGSL) backend and a plain-TypeScript CPU reference backend.
 *
 * @module
 */
export * from "./engine/mod.ts";
export type {
  AdamParams,
  AdamSlot,
  BinaryOp,
  Conv2dGeometry,
  ConvEpilogue,
  FusedKernels,
  HeadGeometry,
  Kernels,
  MatmulDims,
  MergeGeometry,
  OverlapGeometry,
  PatchGeometry,
  ReduceOp,
  UnaryOp,
} from "./engine/backend.ts";
export type { Node } from "./engine/tensor.ts";
export { CpuBackend } from "./engine/cpu/backend.ts";
export { createWebGpuBackend, WebGpuBackend } from "./engine/webgpu/backend.ts";
export type {
  GpuBinding,
  GpuRuntime,
  GpuStorage,
  GpuTexture,
  WeightLayout,
} from "./engine/webgpu/runtime.ts";
export type { Kernel } from "./shaders/common.ts";
export {
  DEFAULT_VARIANTS,
  type KernelVariants,
  kernelVariantsFor,
} from "./engine/webgpu/adapter_table.ts";
export type { TexelKind } from "./shaders/common.ts";
export { type BackendChoice, type BackendKind, openBackend } from "./engine/backend_choice.ts";
export * from "./io/mod.ts";
export * from "./model/mod.ts";
