/**
 * The free lists both GPU pools keep (buffer_pool.ts for buffers, texels.ts for textures):
 * entries by size key, handed out from the end of each list (the most recently returned, or the
 * last in the order of {@link IdleLists.sortEach} after a sort), each remembering the idle point
 * (a readback) at which it came back, so that entries unused across a few idle points can be
 * destroyed.
 */
export class IdleLists<T> {
  private lists = new Map<number, T[]>();
  private freedAt = new Map<T, number>();
  private idlePoint = 0;

  /** Lists whose stale entries are those unused across `kept` idle points. */
  constructor(private readonly kept: number) {}

  /** Return `entry` under `key`. */
  push(key: number, entry: T): void {
    this.freedAt.set(entry, this.idlePoint);
    const list = this.lists.get(key);
    if (list) list.push(entry);
    else this.lists.set(key, [entry]);
  }

  /**
   * The last entry under `key` (the most recently returned, unless the lists were sorted since),
   * taken off its list, or undefined.
   */
  pop(key: number): T | undefined {
    const entry = this.lists.get(key)?.pop();
    if (entry !== undefined) this.freedAt.delete(entry);
    return entry;
  }

  /**
   * Like {@link pop}, under the smallest key at least `key`; undefined when every key is smaller.
   */
  popAtLeast(key: number): T | undefined {
    let best: number | null = null;
    for (const [k, list] of this.lists) {
      if (k >= key && list.length > 0 && (best === null || k < best)) best = k;
    }
    return best === null ? undefined : this.pop(best);
  }

  /** Take off and return every entry under a key smaller than `key`. */
  takeBelow(key: number): T[] {
    const taken: T[] = [];
    for (const [k, list] of this.lists) {
      if (k >= key) continue;
      taken.push(...list);
      this.lists.delete(k);
    }
    for (const entry of taken) this.freedAt.delete(entry);
    return taken;
  }

  /**
   * An idle point: take off and return the entries returned before the last `kept` idle points
   * and not handed out since.
   */
  trim(): T[] {
    this.idlePoint++;
    const oldest = this.idlePoint - this.kept;
    const stale: T[] = [];
    for (const [key, list] of this.lists) {
      const kept = list.filter((entry) => this.freedAt.get(entry)! >= oldest);
      if (kept.length === list.length) continue;
      stale.push(...list.filter((entry) => this.freedAt.get(entry)! < oldest));
      if (kept.length === 0) this.lists.delete(key);
      else this.lists.set(key, kept);
    }
    for (const entry of stale) this.freedAt.delete(entry);
    return stale;
  }

  /**
   * Put every list in the order `compare` gives, so that the entries handed out next depend only
   * on which entries are free, not on the order they came back in (see BufferPool.submitted).
   */
  sortEach(compare: (a: T, b: T) => number): void {
    for (const list of this.lists.values()) list.sort(compare);
  }

  /** Take off and return every entry. */
  clear(): T[] {
    const all = [...this.lists.values()].flat();
    this.lists.clear();
    this.freedAt.clear();
    return all;
  }
}
