/**
 * GPU memory bookkeeping: a size-bucketed pool of storage buffers and an arena of uniform blocks.
 *
 * Reuse rule: a buffer released while recorded but unsubmitted commands still use it may be
 * handed out again only to work recorded after those commands (a dispatch or copy that writes
 * it): WebGPU runs the commands of one command buffer in order, with the barriers their buffer
 * uses need. It must not be written from the host by a `queue.writeBuffer`, which the queue runs
 * before that submit and so before the commands still reading it; such writes (uploads) take
 * only buffers whose last submit is done. Uniform chunks are reused after their submit.
 */

import { IdleLists } from "./idle_lists.ts";

/** Usage of every pooled storage buffer. */
const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Round a byte count up to its size class: 256 B minimum, then 4 classes per power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const step = 2 ** (Math.floor(Math.log2(bytes - 1)) - 2);
  return Math.ceil(bytes / step) * step;
}

/** How many idle points a free buffer may go unused before {@link BufferPool.trim} destroys it. */
const IDLE_POINTS_KEPT = 2;

/**
 * Storage buffers by size class. Free buffers are reused most recently freed first; those that
 * sit unused across {@link IDLE_POINTS_KEPT} idle points (a step's readback) are destroyed, so a
 * phase that needs other sizes (validation after training, inference batches) does not keep the
 * previous phase's buffers, while a steady training loop, which reuses the same buffers every
 * step, allocates nothing after its first step. Buffers released before their last submit wait
 * in a pending list: dispatch outputs may take them at once (so a step recorded into one command
 * buffer reuses the memory of the tensors it has already released, and its peak is its largest
 * live set rather than everything it allocates), uploads only after the submit.
 */
export class BufferPool {
  /** Free buffers by size class. */
  private free = new IdleLists<GPUBuffer>(IDLE_POINTS_KEPT);
  /** Released while unsubmitted commands still use them, by size class. */
  private pending = new Map<number, GPUBuffer[]>();
  /** Bytes held in the free lists and the pending list. */
  pooledBytes = 0;
  /** Creation order of the pool's buffers (see {@link submitted}). */
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 0;

  /**
   * A pool allocating from `device`; free buffers beyond `maxPooledBytes` are destroyed instead
   * of kept, and `onDestroy` is called with each buffer destroyed.
   */
  constructor(
    private device: GPUDevice,
    private maxPooledBytes = 2 ** 30,
    private onDestroy: (buf: GPUBuffer) => void = () => {},
  ) {}

  /**
   * A buffer of at least `bytes`, from the pool when one of that class is free. `hostWrite`: the
   * caller writes it with `queue.writeBuffer`, so a pending buffer will not do (see the reuse
   * rule above); otherwise only commands recorded from now on may use it.
   */
  acquire(bytes: number, hostWrite = false): GPUBuffer {
    const size = sizeClass(bytes);
    const buf = this.free.pop(size) ?? (hostWrite ? undefined : this.pending.get(size)?.pop());
    if (buf) {
      this.pooledBytes -= size;
      return buf;
    }
    const created = this.device.createBuffer({ size, usage: STORAGE_USAGE });
    this.ids.set(created, this.nextId++);
    return created;
  }

  /** Return a buffer; `pending` when unsubmitted work still uses it. */
  release(buf: GPUBuffer, pending: boolean): void {
    this.pooledBytes += buf.size;
    if (!pending) return this.pushFree(buf);
    const list = this.pending.get(buf.size);
    if (list) list.push(buf);
    else this.pending.set(buf.size, [buf]);
  }

  /**
   * Called after each submit: pending buffers become free. The free lists are then put in
   * creation order, so that a step that allocates and releases as the previous one did gets the
   * same buffers for the same tensors, and its dispatches find their bind groups in the cache
   * (bind_groups.ts). Handed out in return order, the buffers of a size class were permuted from
   * step to step and 124 of a step's 150 dispatches created a bind group (about 50 µs each).
   */
  submitted(): void {
    for (const list of this.pending.values()) for (const buf of list) this.pushFree(buf);
    this.pending.clear();
    this.free.sortEach((a, b) => this.ids.get(b)! - this.ids.get(a)!);
  }

  /**
   * An idle point (after a readback): destroy the free buffers returned before the last
   * {@link IDLE_POINTS_KEPT} idle points and not reused since. WebGPU keeps a destroyed buffer
   * alive until submitted work that uses it has finished.
   */
  trim(): void {
    for (const buf of this.free.trim()) this.destroy(buf);
  }

  /** Destroy every free buffer (pending ones stay until their submit). */
  releaseFree(): void {
    for (const buf of this.free.clear()) this.destroy(buf);
  }

  /** Put a buffer on the free list of its size class, or destroy it when the pool is full. */
  private pushFree(buf: GPUBuffer): void {
    if (this.pooledBytes > this.maxPooledBytes) {
      this.pooledBytes -= buf.size;
      buf.destroy();
      this.onDestroy(buf);
      return;
    }
    this.free.push(buf.size, buf);
  }

  /** Destroy a buffer taken off the free lists. */
  private destroy(buf: GPUBuffer): void {
    this.pooledBytes -= buf.size;
    buf.destroy();
    this.onDestroy(buf);
  }
}

/** Bytes of one uniform chunk, and the alignment of each block inside it. */
const CHUNK_BYTES = 65536;
const BLOCK_ALIGN = 256;

/** A uniform block: where its data lives for a bind group entry. */
export interface UniformBlock {
  /** The chunk buffer. */
  buffer: GPUBuffer;
  /** Byte offset of the block (256-aligned). */
  offset: number;
  /** Bytes bound for the block. */
  size: number;
}

/**
 * Uniform blocks for the dispatches of one command buffer, packed into 64 KiB chunks. Data is
 * staged in host mirrors and written with one `writeBuffer` per chunk just before the submit.
 */
export class UniformArena {
  private free: { buffer: GPUBuffer; host: Uint8Array<ArrayBuffer> }[] = [];
  private used: { buffer: GPUBuffer; host: Uint8Array<ArrayBuffer> }[] = [];
  private offset = CHUNK_BYTES;

  /** An arena allocating chunks from `device`. */
  constructor(private device: GPUDevice) {}

  /** Stage `data` (at most 256 bytes) and return its block. */
  push(data: Uint32Array): UniformBlock {
    if (this.offset + BLOCK_ALIGN > CHUNK_BYTES) {
      const chunk = this.free.pop() ?? {
        buffer: this.device.createBuffer({
          size: CHUNK_BYTES,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        }),
        host: new Uint8Array(CHUNK_BYTES),
      };
      this.used.push(chunk);
      this.offset = 0;
    }
    const chunk = this.used[this.used.length - 1];
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    chunk.host.set(bytes, this.offset);
    const block = { buffer: chunk.buffer, offset: this.offset, size: BLOCK_ALIGN };
    this.offset += BLOCK_ALIGN;
    return block;
  }

  /** Write the staged blocks; call right before submitting the command buffer that uses them. */
  upload(queue: GPUQueue): void {
    this.used.forEach((chunk, k) => {
      const bytes = k === this.used.length - 1 ? this.offset : CHUNK_BYTES;
      queue.writeBuffer(chunk.buffer, 0, chunk.host, 0, bytes);
    });
  }

  /** Called after the submit: every chunk is free again. */
  submitted(): void {
    this.free.push(...this.used);
    this.used.length = 0;
    this.offset = CHUNK_BYTES;
  }
}
