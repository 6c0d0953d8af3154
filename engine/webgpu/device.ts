/**
 * WebGPU device setup: one adapter, one device with its limits raised to what the adapter offers
 * (the spec defaults cap storage bindings at 128 MiB, workgroup storage at 16 KiB and 8 storage
 * buffers per stage), and the grid-stride workgroup cap that suits the adapter.
 */

/** Most workgroups a grid-stride kernel (`gridMain` in shaders/) is launched with on a GPU. */
const GRID_MAX_GROUPS = 512;

/**
 * The same cap on a CPU adapter (llvmpipe): a handful of workgroups per thread is enough there,
 * and every extra workgroup costs scheduling time, which dominates the small tensors of a small
 * network (demo configuration: 83 → 70 ms per training step with 16 instead of 512).
 */
const CPU_GRID_MAX_GROUPS = 16;

/** Limits raised from the spec defaults to the adapter's values. */
const RAISED_LIMITS = [
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "maxUniformBufferBindingSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxTextureDimension2D",
] as const;

/** An opened device and what the logs say about it. */
export interface GpuDevice {
  /** The device, with raised limits. */
  device: GPUDevice;
  /** The adapter's one-line description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
  /** Whether timestamp queries were enabled (for device-time benchmarks). */
  timestamps: boolean;
  /** Most workgroups for a grid-stride kernel on this adapter. */
  gridCap: number;
  /** Whether the adapter runs on the CPU (a software rasteriser such as llvmpipe). */
  cpuAdapter: boolean;
}

/** Whether `info` describes a software adapter that runs on the CPU. */
export function isCpuAdapter(info: GPUAdapterInfo, description: string): boolean {
  return info.isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader/i.test(description);
}

/** The adapter's one-line description. */
function describe(info: GPUAdapterInfo): string {
  return info.description || [info.vendor, info.architecture, info.device]
    .filter((s) => s).join(" ") ||
    "unknown WebGPU adapter";
}

/**
 * The adapter to open: the default one, or with `cpuOnly` a CPU (software) adapter — the
 * fallback adapter when the implementation offers one, else the default adapter when it runs on
 * the CPU — and null when there is none.
 */
async function findAdapter(gpu: GPU, cpuOnly: boolean): Promise<GPUAdapter | null> {
  if (!cpuOnly) return await gpu.requestAdapter({ powerPreference: "high-performance" });
  const fallback = await gpu.requestAdapter({ forceFallbackAdapter: true });
  if (fallback) return fallback;
  const adapter = await gpu.requestAdapter();
  return adapter && isCpuAdapter(adapter.info, describe(adapter.info)) ? adapter : null;
}

/**
 * Open the default adapter's device (with `cpuOnly`, a CPU adapter's), or return null when
 * WebGPU or such an adapter is missing.
 */
export async function openGpuDevice(cpuOnly = false): Promise<GpuDevice | null> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return null;
  const adapter = await findAdapter(gpu, cpuOnly);
  if (!adapter) return null;
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const timestamps = adapter.features.has("timestamp-query");
  const device = await adapter.requestDevice({
    requiredLimits,
    requiredFeatures: timestamps ? ["timestamp-query"] : [],
  });
  const info = adapter.info;
  const description = describe(info);
  // A software adapter runs workgroups on a few CPU threads: cap grid-stride launches lower.
  const cpuAdapter = isCpuAdapter(info, description);
  const gridCap = cpuAdapter ? CPU_GRID_MAX_GROUPS : GRID_MAX_GROUPS;
  return { device, description, timestamps, gridCap, cpuAdapter };
}
