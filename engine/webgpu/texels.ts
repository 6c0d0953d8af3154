/**
 * Texel copies of storages: kernels on llvmpipe read a read-only storage texture (an inline
 * vectorised gather) about 3× faster than a storage buffer (a bounds-checked loop over the SIMD
 * lanes), so the conv kernels read their operands through rgba32uint textures holding the f32
 * values as bits, TEXEL_ROW texels per row (shaders/common.ts). This file holds the texture type,
 * the copy that fills one, and a pool that reuses textures as the buffer pool reuses buffers
 * (buffer_pool.ts): a training step makes copies of the same sizes every step, and a destroyed
 * texture would cost the bind group cache its entries.
 */
import { TEXEL_ROW } from "../../shaders/common.ts";
import { IdleLists } from "./idle_lists.ts";

/** Bytes of one texel row. */
const ROW_BYTES = TEXEL_ROW * 16;

/** How many idle points a free texture may go unused before {@link TexturePool.trim} destroys it. */
const IDLE_POINTS_KEPT = 2;

/** A texture (rgba32uint, bound read-only as storage) of TEXEL_ROW × `rows` texels, and its view. */
export class GpuTexture {
  /** The version of the storage values the texture holds, -1 before the first copy. */
  version: number = -1;
  /** Wrap `texture` (TEXEL_ROW × `rows` texels) and its view. */
  constructor(
    readonly texture: GPUTexture,
    readonly view: GPUTextureView,
    readonly rows: number,
    /** A scratch texture (see {@link TexturePool.acquireScratch}): it may hold fewer rows' values. */
    readonly scratch = false,
    /** Creation order in its pool (see TexturePool.submitted). */
    readonly id = 0,
  ) {}

  /** Bytes the texture holds. */
  get bytes(): number {
    return this.rows * ROW_BYTES;
  }
}

/** Texture rows that hold `size` f32 values. */
export function texelRows(size: number): number {
  return Math.ceil(size / (4 * TEXEL_ROW));
}

/**
 * Record the copy of the first `size` values (a multiple of 4) of `buffer` into `t`: whole rows,
 * then the partly filled last row.
 */
export function recordTexelCopy(
  enc: GPUCommandEncoder,
  buffer: GPUBuffer,
  size: number,
  t: GpuTexture,
): void {
  const full = Math.floor(size / (4 * TEXEL_ROW));
  if (full > 0) {
    enc.copyBufferToTexture({ buffer, bytesPerRow: ROW_BYTES }, { texture: t.texture }, [
      TEXEL_ROW,
      full,
    ]);
  }
  const rest = size / 4 - full * TEXEL_ROW;
  if (rest > 0) {
    enc.copyBufferToTexture(
      { buffer, offset: full * ROW_BYTES, bytesPerRow: ROW_BYTES },
      { texture: t.texture, origin: [0, full] },
      [rest, 1],
    );
  }
}

/**
 * Textures by row count. A released texture may be handed out again at once, even while
 * unsubmitted commands still read it: only recorded copies write textures, and WebGPU runs a
 * command buffer's commands in order. Free textures unused across {@link IDLE_POINTS_KEPT} idle
 * points are destroyed.
 *
 * Two kinds: exact-size textures, for copies kept across kernels (`GpuRuntime.texelsOf` without
 * `scratch`; the conv kernels no longer keep any), and scratch textures for copies that go back as
 * soon as their kernel is recorded (every conv operand now, weights included). A scratch request
 * takes the smallest free scratch texture at least as large: at most two are in use at once (x and
 * the weights, or x and dy), so a step's copies of every size share two textures of the largest
 * size instead of keeping two per activation size and one per weight layout (32 MiB instead of 83
 * MiB at N = 64, batch 16). When none is large enough, a new one is made and the smaller free
 * ones, which it supersedes, are destroyed at the next idle point.
 */
export class TexturePool {
  private free = new IdleLists<GpuTexture>(IDLE_POINTS_KEPT);
  private scratch = new IdleLists<GpuTexture>(IDLE_POINTS_KEPT);
  /** Superseded scratch textures: recorded commands may still read them until the next submit. */
  private retired: GpuTexture[] = [];
  /** Bytes of the free (and retired) textures. */
  pooledBytes = 0;
  private nextId = 0;

  /** A pool on `device`; `onDestroy` runs with each texture destroyed. */
  constructor(
    private readonly device: GPUDevice,
    private readonly onDestroy: (t: GpuTexture) => void,
  ) {}

  /** A texture of `rows` rows (its version -1), reused when a free one has that size. */
  acquire(rows: number): GpuTexture {
    const t = this.free.pop(rows);
    if (t) return this.reused(t);
    return this.create(rows, false);
  }

  /** A scratch texture of at least `rows` rows (its version -1): see the class comment. */
  acquireScratch(rows: number): GpuTexture {
    const t = this.scratch.popAtLeast(rows);
    if (t) return this.reused(t);
    this.retired.push(...this.scratch.takeBelow(rows));
    return this.create(rows, true);
  }

  /**
   * Called after each submit: the free lists are put in creation order, as the buffer pool's
   * (BufferPool.submitted), so that a step gets the same textures as the previous one and its
   * bind groups come from the cache.
   */
  submitted(): void {
    const order = (a: GpuTexture, b: GpuTexture) => b.id - a.id;
    this.free.sortEach(order);
    this.scratch.sortEach(order);
  }

  /** Return a texture for reuse. */
  release(t: GpuTexture): void {
    this.pooledBytes += t.bytes;
    (t.scratch ? this.scratch : this.free).push(t.rows, t);
  }

  /** Destroy every free texture. Call with nothing recorded and unsubmitted. */
  releaseFree(): void {
    this.destroy([...this.free.clear(), ...this.scratch.clear(), ...this.retired.splice(0)]);
  }

  /**
   * An idle point (a readback, all work submitted): destroy free textures not reused since the
   * last few, and the retired ones.
   */
  trim(): void {
    this.destroy([...this.free.trim(), ...this.scratch.trim(), ...this.retired.splice(0)]);
  }

  private reused(t: GpuTexture): GpuTexture {
    this.pooledBytes -= t.bytes;
    t.version = -1;
    return t;
  }

  private create(rows: number, scratch: boolean): GpuTexture {
    const texture = this.device.createTexture({
      size: [TEXEL_ROW, rows],
      format: "rgba32uint",
      // Bound as a read-only storage texture or a sampled one (KernelVariants.texelKind).
      usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING |
        GPUTextureUsage.COPY_DST,
    });
    return new GpuTexture(texture, texture.createView(), rows, scratch, this.nextId++);
  }

  /** Destroy textures taken off the free lists. */
  private destroy(textures: GpuTexture[]): void {
    for (const t of textures) {
      this.pooledBytes -= t.bytes;
      t.texture.destroy();
      this.onDestroy(t);
    }
  }
}
