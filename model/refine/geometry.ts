/**
 * Host-side geometry of iterative reconstruction: the object canvas that covers the scan, the
 * integer window corner and sub-pixel remainder of every position, and mini-batches of spatially
 * spread positions.
 *
 * Convention (docs/physics.md#coordinates): the patch at scan position (x, y) is O[y − N/2 + i, x −
 * N/2 + j]. With (x, y) = (X + fx, Y + fy), X, Y the nearest integers, the patch is the integer
 * window at (Y − N/2, X − N/2) sampled at +(fy, fx). Instead of interpolating the object we shift
 * the probe by the same (fx, fy): ψ(r) = P(r − f)·O_int(r) is the true exit wave translated by f,
 * whose far-field intensity is the same. The object stays on its pixel grid (no interpolation
 * blur).
 */

/** Where the object canvas lies on the object's pixel grid. */
export interface CanvasLayout {
  /** Pattern and probe side N. */
  n: number;
  /** Canvas rows. */
  height: number;
  /** Canvas columns. */
  width: number;
  /** Object column of canvas column 0. */
  originX: number;
  /** Object row of canvas row 0. */
  originY: number;
}

/**
 * The canvas holding every N × N window of the scan plus `margin` pixels on each side (room for
 * refined positions to move).
 */
export function canvasLayout(
  xcoords: ArrayLike<number>,
  ycoords: ArrayLike<number>,
  n: number,
  margin = 2,
): CanvasLayout {
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < xcoords.length; i++) {
    const x = Math.round(xcoords[i]), y = Math.round(ycoords[i]);
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const half = n >> 1;
  return {
    n,
    originX: minX - half - margin,
    originY: minY - half - margin,
    width: maxX - minX + n + 2 * margin,
    height: maxY - minY + n + 2 * margin,
  };
}

/**
 * For the positions `indices`: window corners (row, column) on the canvas and sub-pixel shifts
 * (fx, fy) ∈ [−0.5, 0.5], both as [B, 2] f32 arrays.
 */
export function windowsOf(
  layout: CanvasLayout,
  xcoords: ArrayLike<number>,
  ycoords: ArrayLike<number>,
  indices: readonly number[],
): { corners: Float32Array; shifts: Float32Array } {
  const corners = new Float32Array(2 * indices.length);
  const shifts = new Float32Array(2 * indices.length);
  const half = layout.n >> 1;
  indices.forEach((j, b) => {
    const x = Math.round(xcoords[j]), y = Math.round(ycoords[j]);
    corners[2 * b] = y - half - layout.originY;
    corners[2 * b + 1] = x - half - layout.originX;
    shifts[2 * b] = xcoords[j] - x;
    shifts[2 * b + 1] = ycoords[j] - y;
  });
  return { corners, shifts };
}

/** Most positions {@link spreadBatches} assigns by the greedy max–min rule. */
export const GREEDY_BATCH_LIMIT = 20000;

/**
 * Mini-batches of at most `batchSize` positions, each spread over the scan: ⌈M / batchSize⌉
 * batches grow in turns, each taking the unassigned position farthest from the positions it
 * already holds (max–min distance; ties to the lower index; a batch's first position is the
 * lowest unassigned index). This costs O(M²): above {@link GREEDY_BATCH_LIMIT} positions the
 * positions are dealt out in index order instead (scan order keeps neighbours apart that way).
 * Batches are sorted, non-empty and cover every position once.
 */
export function spreadBatches(
  xcoords: ArrayLike<number>,
  ycoords: ArrayLike<number>,
  batchSize: number,
): number[][] {
  const m = xcoords.length;
  const count = Math.max(1, Math.ceil(m / batchSize));
  const batches: number[][] = Array.from({ length: count }, () => []);
  if (m > GREEDY_BATCH_LIMIT) {
    for (let j = 0; j < m; j++) batches[j % count].push(j);
    return batches;
  }
  const nearest = Array.from({ length: count }, () => new Float64Array(m).fill(Infinity));
  const free = new Uint8Array(m).fill(1);
  for (let placed = 0; placed < m; placed++) {
    const b = placed % count;
    let best = -1, bestDist = -1;
    for (let j = 0; j < m; j++) {
      if (free[j] && nearest[b][j] > bestDist) {
        best = j;
        bestDist = nearest[b][j];
      }
    }
    free[best] = 0;
    batches[b].push(best);
    const d = nearest[b];
    for (let j = 0; j < m; j++) {
      d[j] = Math.min(d[j], Math.hypot(xcoords[j] - xcoords[best], ycoords[j] - ycoords[best]));
    }
  }
  return batches.map((batch) => batch.sort((p, q) => p - q));
}

/** A 0/1 disk of `radius` pixels centred on (N/2, N/2), as an (N, N) mask. */
export function diskMask(n: number, radius: number): Float32Array {
  const out = new Float32Array(n * n);
  const c = n >> 1;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      out[i * n + j] = (i - c) ** 2 + (j - c) ** 2 <= radius * radius ? 1 : 0;
    }
  }
  return out;
}

/** numpy's fftfreq(n): cycles per pixel of each DFT bin, in FFT order. */
export function fftFrequencies(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, k) => (k < n / 2 ? k : k - n) / n);
}

/**
 * Σ_j |P(r − f_j)|² on the canvas (height·width), the probe placed at each position's integer
 * window (sub-pixel shifts ignored): where the object is measured, and how well.
 */
export function illumination(
  layout: CanvasLayout,
  probe: Float32Array,
  xcoords: ArrayLike<number>,
  ycoords: ArrayLike<number>,
): Float32Array {
  const { n, height, width } = layout;
  const all = Array.from({ length: xcoords.length }, (_, j) => j);
  const { corners } = windowsOf(layout, xcoords, ycoords, all);
  const out = new Float32Array(height * width);
  for (let j = 0; j < all.length; j++) {
    for (let i = 0; i < n; i++) {
      const y = corners[2 * j] + i;
      if (y < 0 || y >= height) continue;
      for (let k = 0; k < n; k++) {
        const x = corners[2 * j + 1] + k;
        if (x < 0 || x >= width) continue;
        out[y * width + x] += probe[2 * (i * n + k)] ** 2 + probe[2 * (i * n + k) + 1] ** 2;
      }
    }
  }
  return out;
}

/**
 * Mean |O|² over the illuminated area (weighted by |P|² at the nominal windows), for the probe
 * power that fits the data (docs/refine.md#scale-and-other-ambiguities). Object (height·width) and
 * probe (N·N) complex, interleaved.
 */
export function illuminatedObjectPower(
  layout: CanvasLayout,
  object: Float32Array,
  probe: Float32Array,
  xcoords: ArrayLike<number>,
  ycoords: ArrayLike<number>,
): number {
  const n = layout.n;
  const all = [...Array(xcoords.length).keys()];
  const { corners } = windowsOf(layout, xcoords, ycoords, all);
  let num = 0, den = 0;
  for (let j = 0; j < all.length; j++) {
    for (let i = 0; i < n; i++) {
      const y = corners[2 * j] + i;
      if (y < 0 || y >= layout.height) continue;
      for (let k = 0; k < n; k++) {
        const x = corners[2 * j + 1] + k;
        if (x < 0 || x >= layout.width) continue;
        const p = probe[2 * (i * n + k)] ** 2 + probe[2 * (i * n + k) + 1] ** 2;
        const o = 2 * (y * layout.width + x);
        num += p * (object[o] ** 2 + object[o + 1] ** 2);
        den += p;
      }
    }
  }
  return den > 0 && num > 0 ? num / den : 1;
}
