/**
 * The bind group cache of the WebGPU runtime: a steady training step binds the same pooled
 * buffers and uniform offsets every step, and creating a bind group is the largest host cost of
 * a dispatch (measured ~50 µs on Deno's WebGPU), so groups are kept by kernel key, uniform block
 * and buffer ids.
 */
import type { UniformBlock } from "./buffer_pool.ts";

/** A binding after the uniforms: a storage's buffer, or a texture's view. */
type Bound = { readonly buffer: GPUBuffer } | { readonly view: GPUTextureView };

/** The resource a binding names: its buffer or its texture view. */
function resourceOf(s: Bound): GPUBuffer | GPUTextureView {
  return "buffer" in s ? s.buffer : s.view;
}

/** Cached bind groups kept at most (a step binds ~150; the cache restarts when full). */
const MAX_BIND_GROUPS = 4096;

/** Bind groups by kernel key, uniform block and buffer ids, for one device. */
export class BindGroupCache {
  private groups = new Map<string, GPUBindGroup>();
  private bufferIds = new WeakMap<GPUBuffer | GPUTextureView, number>();
  private nextBufferId = 0;
  /** Bind groups created so far. */
  created = 0;
  /** Cache keys by the id of each resource they name (see {@link forget}). */
  private keysOf = new Map<number, string[]>();
  private listed = 0;

  /** A cache of bind groups created on `device`. */
  constructor(private readonly device: GPUDevice) {}

  /** Drop every cached group. */
  clear(): void {
    this.groups.clear();
    this.keysOf.clear();
    this.listed = 0;
  }

  /**
   * Drop the cached groups that name `resource` (a destroyed buffer or texture invalidates them);
   * the others stay, so that trimming a phase's stale buffers does not cost a training loop its
   * groups.
   */
  forget(resource: GPUBuffer | GPUTextureView): void {
    const id = this.bufferIds.get(resource);
    if (id === undefined) return;
    for (const key of this.keysOf.get(id) ?? []) this.groups.delete(key);
    this.keysOf.delete(id);
  }

  /**
   * The bind group of a dispatch of kernel `key`: binding 0 gets `block`, bindings 1.. get the
   * buffers (or texture views) of `storages`; created on first use, then taken from the cache.
   */
  get(
    key: string,
    layout: GPUBindGroupLayout,
    block: UniformBlock,
    storages: readonly Bound[],
  ): GPUBindGroup {
    let id = `${key}|${this.bufferId(block.buffer)}:${block.offset}`;
    for (const s of storages) id += `,${this.bufferId(resourceOf(s))}`;
    let group = this.groups.get(id);
    if (group === undefined) {
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: block }];
      storages.forEach((s, k) =>
        entries.push({ binding: k + 1, resource: "buffer" in s ? { buffer: s.buffer } : s.view })
      );
      group = this.device.createBindGroup({ layout, entries });
      this.created++;
      // The key lists may name groups already dropped; both restart when either grows too large.
      if (this.groups.size >= MAX_BIND_GROUPS || this.listed >= 4 * MAX_BIND_GROUPS) this.clear();
      this.groups.set(id, group);
      for (const r of [block.buffer, ...storages.map(resourceOf)]) {
        const rid = this.bufferId(r);
        const keys = this.keysOf.get(rid);
        if (keys) keys.push(id);
        else this.keysOf.set(rid, [id]);
        this.listed++;
      }
    }
    return group;
  }

  /** A small number naming `buffer` (or a texture view) in bind group cache keys. */
  private bufferId(buffer: GPUBuffer | GPUTextureView): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) this.bufferIds.set(buffer, id = this.nextBufferId++);
    return id;
  }
}
