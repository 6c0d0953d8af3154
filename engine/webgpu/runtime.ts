/**
 * The WebGPU runtime under the backend: storages, the pipeline cache (one pipeline per kernel
 * key, see shaders/common.ts `Kernel`), lazy recording of dispatches into one command encoder
 * (one compute pass while no copy intervenes), submission, and readback. Kernels never wait:
 * they record and return; `flush` submits; `read` is the only place that awaits the GPU.
 */
import { DEFAULT_VARIANTS, type KernelVariants } from "./adapter_table.ts";
import type { Storage } from "../backend.ts";
import { FLAT_WG, type Kernel } from "../../shaders/common.ts";
import { BufferPool, UniformArena } from "./buffer_pool.ts";
import { BindGroupCache } from "./bind_groups.ts";
import { type GpuTexture, recordTexelCopy, texelRows, TexturePool } from "./texels.ts";

export type { GpuTexture } from "./texels.ts";

/**
 * A copy of a storage's values in another layout (a conv weight re-laid for the direct kernel,
 * see engine/webgpu/linalg.ts), kept with the storage and released with it.
 */
export interface WeightLayout {
  /** What the layout is: (icn, ocn, kh, kw) and (flip, OB) of shaders/conv2d.ts's re-layout. */
  readonly dims: readonly [number, number, number, number];
  /** Flip flag (0 or 1) and output-channel block OB. */
  readonly form: readonly [number, number];
  /** The re-laid values. */
  readonly s: GpuStorage;
  /** The source's {@link GpuStorage.version} these values are of. */
  version: number;
}

/** What a kernel binds after the uniforms: storage buffers, or textures where it reads texels. */
export type GpuBinding = GpuStorage | GpuTexture;

/** A backend storage: `size` f32 values in a pooled GPU buffer. */
export class GpuStorage implements Storage {
  /** Set by release; any later use throws. */
  released: boolean = false;
  /** Generation (submit counter) of the command buffer that last used this storage. */
  lastUse: number = -1;
  /** Bumped by every in-place update (adam), so derived layouts know when they are stale. */
  version: number = 0;
  /** Layouts derived from these values, or null. */
  layouts: WeightLayout[] | null = null;
  /** The texel copy of these values (see GpuRuntime.texelsOf), or null. */
  texels: GpuTexture | null = null;
  /** Wrap `buffer` as a storage of `size` f32 values. */
  constructor(readonly size: number, readonly buffer: GPUBuffer) {}
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The bit pattern of `x` as an f32, for packing float uniforms into a Uint32Array. */
export function f32bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0];
}

/** Owns the device-side state of one WebGPU backend. */
export class GpuRuntime {
  private pool: BufferPool;
  private uniforms: UniformArena;
  /** Bind groups by kernel key, uniform block and buffer ids. */
  private bindGroups: BindGroupCache;
  /** Compiled pipelines by kernel key, each with its bind group layout (fetched once). */
  private pipelines = new Map<
    string,
    { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }
  >();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private timestampQuery: GPUQuerySet | null = null;
  private profiling: { querySet: GPUQuerySet; labels: string[]; detail: boolean } | null = null;
  private generation = 0;
  private lost: string | null = null;
  private error: string | null = null;
  private maxGroups: number;
  /** Live (unreleased) storages and their buffer bytes, and live textures (bytes included). */
  live = { storages: 0, bytes: 0, textures: 0 };
  /** Dispatches recorded since the runtime was made (for dispatches-per-step figures). */
  dispatchCount = 0;
  /**
   * Milliseconds spent in `GPUCommandEncoder.finish` so far (host time a submit costs before the
   * device runs anything; it grows with the compute passes a command buffer holds).
   */
  finishMs = 0;
  /** Storages a deferred batch will write, with the function that records the batch. */
  private deferred = new Map<GpuBinding, () => void>();
  /** Texel copies' textures, reused across steps. */
  private textures: TexturePool;

  /**
   * Set up pools and error/loss hooks on `device`; grid-stride kernels get at most `gridCap`
   * workgroups (see device.ts) and kernels come in the adapter's `variants`.
   */
  constructor(
    readonly device: GPUDevice,
    readonly gridCap: number,
    readonly variants: KernelVariants = DEFAULT_VARIANTS,
  ) {
    // A destroyed buffer or texture invalidates the cached bind groups that name it.
    this.bindGroups = new BindGroupCache(device);
    this.pool = new BufferPool(device, 2 ** 30, (buf) => this.bindGroups.forget(buf));
    this.textures = new TexturePool(device, (t) => this.bindGroups.forget(t.view));
    this.uniforms = new UniformArena(device);
    this.maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
    device.lost.then((info) => {
      this.lost = `WebGPU device lost (${info.reason}): ${info.message || "no details"}; ` +
        "GPU results are gone, restart the process (or use --accelerator cpu)";
    });
    device.addEventListener("uncapturederror", (ev) => {
      this.error ??= (ev as GPUUncapturedErrorEvent).error.message;
    });
  }

  /** Bytes held by the pools (free or waiting for their submit). */
  get pooledBytes(): number {
    return this.pool.pooledBytes + this.textures.pooledBytes;
  }

  /** Throw if the device is gone or a previous command failed validation. */
  check(): void {
    if (this.lost) throw new Error(this.lost);
    if (this.error) {
      const message = this.error;
      this.error = null;
      throw new Error(`WebGPU error: ${message}`);
    }
  }

  /**
   * A new storage of `size` f32 values (contents undefined until written), for commands recorded
   * from now on to write; `hostWrite` when {@link write} will fill it instead.
   */
  alloc(size: number, hostWrite = false): GpuStorage {
    if (this.lost) throw new Error(this.lost);
    const buffer = this.pool.acquire(Math.max(4, size * 4), hostWrite);
    this.live.storages++;
    this.live.bytes += buffer.size;
    const s = new GpuStorage(size, buffer);
    // A dispatch output may be a pending buffer that unsubmitted commands still read: until the
    // next submit it must go back to the pending list even if no dispatch ever uses it.
    if (!hostWrite) s.lastUse = this.generation;
    return s;
  }

  /**
   * Leave `outputs` unwritten for now: `run` records the work that writes them, batched with
   * any other work of its kind, and is called before anything dispatches with, reads or frees
   * one of them; it calls {@link settled} for all the outputs it writes before recording.
   */
  defer(outputs: readonly GpuStorage[], run: () => void): void {
    for (const s of outputs) this.deferred.set(s, run);
  }

  /** Deferred outputs whose work is being recorded now. */
  settled(outputs: readonly GpuStorage[]): void {
    for (const s of outputs) this.deferred.delete(s);
  }

  /** Record the deferred work that writes any of `storages`. */
  private settle(storages: readonly GpuBinding[]): void {
    if (this.deferred.size === 0) return;
    for (const s of storages) this.deferred.get(s)?.();
  }

  /** Release a storage to the pool (deferred while unsubmitted work uses it). */
  free(s: GpuStorage): void {
    if (s.released) throw new Error("WebGPU storage released twice");
    this.settle([s]);
    s.released = true;
    for (const l of s.layouts ?? []) this.free(l.s);
    s.layouts = null;
    this.dropTexels(s);
    this.live.storages--;
    this.live.bytes -= s.buffer.size;
    this.pool.release(s.buffer, s.lastUse === this.generation);
  }

  /**
   * Copy host data into a storage now (queue order puts it before later submits); the storage
   * must come from `alloc(size, true)`.
   */
  write(s: GpuStorage, data: Float32Array): void {
    if (data.length > 0) {
      this.device.queue.writeBuffer(s.buffer, 0, data as Float32Array<ArrayBuffer>);
    }
  }

  /**
   * The texel copy of `s` for kernels that read it as a texture (shaders/common.ts TEXEL_ROW),
   * brought up to date with `s`'s version by a recorded copy; null when its size is not a
   * multiple of 4 or too large for the device's 2-D textures. The copy lives until `s` is released
   * or {@link dropTexels}: storages are immutable but for Adam's in-place updates, which bump the
   * version. A `scratch` copy (for one kernel, dropped right after it is recorded) may sit in a
   * larger pooled texture (TexturePool.acquireScratch).
   */
  texelsOf(s: GpuStorage, scratch = false): GpuTexture | null {
    if (s.released) throw new Error("WebGPU storage used after release");
    const rows = texelRows(s.size);
    if (s.size % 4 !== 0 || s.size === 0) return null;
    if (rows > this.device.limits.maxTextureDimension2D) return null;
    if (s.texels === null) {
      s.texels = scratch ? this.textures.acquireScratch(rows) : this.textures.acquire(rows);
      this.live.textures++;
      this.live.bytes += s.texels.bytes;
    }
    const t = s.texels;
    if (t.version !== s.version) {
      this.settle([s]);
      this.endPass();
      recordTexelCopy(this.commandEncoder(), s.buffer, s.size, t);
      s.lastUse = this.generation;
      t.version = s.version;
    }
    return t;
  }

  /**
   * Give `s`'s texel copy back to the pool (a later {@link texelsOf} copies again): for
   * activations, whose copies would otherwise double the memory a step keeps for its backward
   * pass. Commands already recorded still read the old contents: copies are recorded in order.
   */
  dropTexels(s: GpuStorage): void {
    if (s.texels === null) return;
    this.live.textures--;
    this.live.bytes -= s.texels.bytes;
    this.textures.release(s.texels);
    s.texels = null;
  }

  /** Submit pending work, then destroy every free pooled buffer and texture. */
  releasePooled(): void {
    this.flush();
    this.pool.releaseFree();
    this.textures.releaseFree();
  }

  /** Bind groups created so far (a cached one is not counted again). */
  get bindGroupsCreated(): number {
    return this.bindGroups.created;
  }

  /** Pipelines compiled so far: one per kernel key met. */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** The keys of the kernels compiled so far. */
  kernelKeys(): IterableIterator<string> {
    return this.pipelines.keys();
  }

  /** Workgroups to launch a grid-stride kernel over `n` items with. */
  gridGroups(n: number): number {
    return Math.min(Math.ceil(n / FLAT_WG), this.gridCap);
  }

  /**
   * The pipeline of a kernel, compiled from its WGSL text the first time its key is met, and its
   * bind group layout (fetched once: asking a pipeline for it costs a call per dispatch).
   */
  private compiled(kernel: Kernel): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    let p = this.pipelines.get(kernel.key);
    if (!p) {
      const label = kernel.key;
      const module = this.device.createShaderModule({ label, code: kernel.wgsl() });
      const pipeline = this.device.createComputePipeline({
        label,
        layout: "auto",
        compute: { module },
      });
      p = { pipeline, layout: pipeline.getBindGroupLayout(0) };
      this.pipelines.set(kernel.key, p);
    }
    return p;
  }

  /**
   * Record one dispatch of `workgroups` workgroups (spread over a 2-D grid when above the
   * per-dimension limit): binding 0 gets `params`, bindings 1.. get `storages` (buffers, or
   * textures where the kernel declares them).
   */
  dispatch(kernel: Kernel, params: Uint32Array, storages: GpuBinding[], workgroups: number): void {
    if (workgroups === 0) return;
    this.settle(storages);
    this.dispatchCount++;
    for (const s of storages) {
      // Textures need no use mark: only recorded copies write them, and the texture pool destroys
      // them only after a submit.
      if (!(s instanceof GpuStorage)) continue;
      if (s.released) throw new Error("WebGPU storage used after release");
      s.lastUse = this.generation;
    }
    const { pipeline, layout } = this.compiled(kernel);
    const block = this.uniforms.push(params);
    const bindGroup = this.bindGroups.get(kernel.key, layout, block, storages);
    const x = Math.min(workgroups, this.maxGroups);
    const y = Math.ceil(workgroups / x);
    if (y > this.maxGroups) throw new Error(`dispatch of ${workgroups} workgroups is too large`);
    if (this.profiling) {
      const shape = `[${params.slice(0, 8).join(",")}] wg${workgroups}`;
      this.profiledPass(this.profiling.detail ? `${kernel.key} ${shape}` : kernel.key);
    }
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y);
    if (this.profiling) this.endPass();
  }

  /**
   * Start timing every dispatch separately (one compute pass each, with timestamps), labelled
   * by its kernel key; for finding hot kernels, not for production runs.
   * With `detail`, each label also carries the first 8 uniform words (the shape) and the
   * workgroup count, so every distinct shape is its own entry.
   */
  startProfile(maxDispatches = 2048, detail = false): void {
    if (!this.device.features.has("timestamp-query")) throw new Error("no timestamp queries");
    this.flush();
    const querySet = this.device.createQuerySet({ type: "timestamp", count: 2 * maxDispatches });
    this.profiling = { querySet, labels: [], detail };
  }

  /** Stop profiling: device milliseconds and dispatch counts per label, slowest first. */
  async stopProfile(): Promise<[string, { ms: number; count: number }][]> {
    const prof = this.profiling;
    if (!prof) throw new Error("not profiling");
    this.profiling = null;
    this.endPass();
    const n = 2 * prof.labels.length;
    const totals = new Map<string, { ms: number; count: number }>();
    if (n > 0) {
      const resolve = this.device.createBuffer({
        size: 8 * n,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
      const staging = this.device.createBuffer({
        size: 8 * n,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      const enc = this.commandEncoder();
      enc.resolveQuerySet(prof.querySet, 0, n, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, staging, 0, 8 * n);
      this.flush();
      await staging.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      for (const b of [resolve, staging]) b.destroy();
      prof.labels.forEach((label, k) => {
        const entry = totals.get(label) ?? { ms: 0, count: 0 };
        entry.ms += Number(t[2 * k + 1] - t[2 * k]) / 1e6;
        entry.count++;
        totals.set(label, entry);
      });
    }
    prof.querySet.destroy();
    return [...totals].sort((a, b) => b[1].ms - a[1].ms);
  }

  /** Open a one-dispatch pass with timestamps for the profiler, labelled `label`. */
  private profiledPass(label: string): void {
    const prof = this.profiling!;
    this.endPass();
    const k = prof.labels.length;
    if (2 * k + 2 > prof.querySet.count) return;
    prof.labels.push(label);
    this.pass = this.commandEncoder().beginComputePass({
      timestampWrites: {
        querySet: prof.querySet,
        beginningOfPassWriteIndex: 2 * k,
        endOfPassWriteIndex: 2 * k + 1,
      },
    });
  }

  /** Submit everything recorded so far, without waiting. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    this.uniforms.upload(this.device.queue);
    const started = performance.now();
    const commands = this.encoder.finish();
    this.finishMs += performance.now() - started;
    this.device.queue.submit([commands]);
    this.encoder = null;
    this.generation++;
    this.pool.submitted();
    this.textures.submitted();
    this.uniforms.submitted();
  }

  /** Flush, then copy a storage back to the host (the only awaited GPU round trip). */
  async read(s: GpuStorage): Promise<Float32Array> {
    if (s.released) throw new Error("WebGPU storage read after release");
    this.settle([s]);
    this.check();
    if (s.size === 0) return new Float32Array(0);
    const bytes = s.size * 4;
    const staging = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(s.buffer, 0, staging, 0, bytes);
    s.lastUse = this.generation;
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.check();
      throw e;
    }
    const out = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    this.pool.trim();
    this.textures.trim();
    this.check();
    return out;
  }

  /**
   * Device time in ms of the dispatches `record` makes (they must not read back), measured with
   * timestamp queries around their compute pass; null when the device has no timestamps.
   */
  async deviceTimeMs(record: () => void): Promise<number | null> {
    if (!this.device.features.has("timestamp-query")) return null;
    this.flush();
    const querySet = this.device.createQuerySet({ type: "timestamp", count: 2 });
    this.timestampQuery = querySet;
    record();
    this.timestampQuery = null;
    this.endPass();
    const resolve = this.device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const staging = this.device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.commandEncoder();
    enc.resolveQuerySet(querySet, 0, 2, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, staging, 0, 16);
    this.flush();
    await staging.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    for (const b of [resolve, staging]) b.destroy();
    querySet.destroy();
    this.check();
    return Number(t[1] - t[0]) / 1e6;
  }

  /** The pending command encoder, created on first use. */
  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  /** The open compute pass, begun on first use. */
  private computePass(): GPUComputePassEncoder {
    if (!this.pass) {
      const q = this.timestampQuery;
      this.pass = this.commandEncoder().beginComputePass(
        q
          ? {
            timestampWrites: { querySet: q, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
          }
          : {},
      );
    }
    return this.pass;
  }

  /** End the open compute pass, if any. */
  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }
}
