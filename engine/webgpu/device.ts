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
}

/** Open the default adapter's device, or return null when WebGPU or an adapter is missing. */
export async function openGpuDevice(): Promise<GpuDevice | null> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) return null;
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const timestamps = adapter.features.has("timestamp-query");
  const device = await adapter.requestDevice({
    requiredLimits,
    requiredFeatures: timestamps ? ["timestamp-query"] : [],
  });
  const info = adapter.info;
  const description = info.description || [info.vendor, info.architecture, info.device]
    .filter((s) => s).join(" ") ||
    "unknown WebGPU adapter";
  // A software adapter runs workgroups on a few CPU threads: cap grid-stride launches lower.
  const cpuAdapter = info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader/i.test(description);
  const gridCap = cpuAdapter ? CPU_GRID_MAX_GROUPS : GRID_MAX_GROUPS;
  return { device, description, timestamps, gridCap };
}
