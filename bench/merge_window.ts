/**
 * What the gridsize-2 merge window costs in data fit on a real scan (issue 15, item 6): an object
 * that explains the patterns (an ePIE reconstruction, bench/peer/epie_numpy.py --save) is cut into
 * every group member's patch, passed through the overlap constraint with the central N/2 window
 * (docs/physics.md#merge-and-re-extraction) or the full patch, re-extracted, illuminated with the
 * same probe and diffracted; the mean Poisson NLL per pattern, Σ(λ − k ln λ + ln Γ(k+1)) over its
 * pixels, is printed for no merge (the object itself), the central window and the full window,
 * after the floor that λ = k reaches.
 *
 *   deno run --allow-read bench/merge_window.ts DATA.npz EPIE_DIR
 *
 * EPIE_DIR holds object_amplitude.npy, object_phase.npy, probe.npy and out.json (canvas_origin).
 */
import { cpuBackend, noGrad, Rng, setBackend, tensor, tidy } from "../engine/mod.ts";
import { loadDataset } from "../io/dataset.ts";
import { readNpyFile } from "../io/npy.ts";
import { lgamma } from "../engine/cpu/elementwise.ts";
import { groupPositions } from "../model/grouping.ts";
import { diffractIntensity, type MergeWindow, overlapConstraint } from "../model/physics.ts";

const [dataPath, epieDir] = Deno.args;
setBackend(cpuBackend());
const ds = loadDataset(dataPath);
const n = ds.n;
const amp = readNpyFile(`${epieDir}/object_amplitude.npy`);
const phase = readNpyFile(`${epieDir}/object_phase.npy`).data as Float32Array;
const probe = readNpyFile(`${epieDir}/probe.npy`).data as Float32Array;
const [originRow, originCol] = JSON.parse(Deno.readTextFileSync(`${epieDir}/out.json`))
  .canvas_origin as number[];
const [h, w] = amp.shape;
const a = amp.data as Float32Array;

/** Bilinear sample of the complex object at object pixel (y, x), zero outside the canvas. */
function objectAt(y: number, x: number): [number, number] {
  const r = y - originRow, c = x - originCol;
  const r0 = Math.floor(r), c0 = Math.floor(c), fr = r - r0, fc = c - c0;
  let re = 0, im = 0;
  for (
    const [dr, dc, wt] of [[0, 0, (1 - fr) * (1 - fc)], [0, 1, (1 - fr) * fc], [
      1,
      0,
      fr * (1 - fc),
    ], [1, 1, fr * fc]]
  ) {
    const rr = r0 + dr, cc = c0 + dc;
    if (rr < 0 || rr >= h || cc < 0 || cc >= w || wt === 0) continue;
    re += wt * a[rr * w + cc] * Math.cos(phase[rr * w + cc]);
    im += wt * a[rr * w + cc] * Math.sin(phase[rr * w + cc]);
  }
  return [re, im];
}

const gs = 2, c = gs * gs;
const groups = groupPositions(
  ds.xcoordsStart,
  ds.ycoordsStart,
  { nGroups: ds.patternCount, gridsize: gs, neighbours: c, order: "angle" },
  new Rng(45),
);
const patches = new Float32Array(groups.count * c * n * n * 2);
groups.indices.forEach((p, j) => {
  const x0 = ds.xcoordsStart[p] - n / 2, y0 = ds.ycoordsStart[p] - n / 2;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const [re, im] = objectAt(y0 + i, x0 + k);
      patches[((j * n + i) * n + k) * 2] = re;
      patches[((j * n + i) * n + k) * 2 + 1] = im;
    }
  }
});

/** Mean Poisson NLL per pattern of the members' predicted intensities. */
function nllPerPattern(window: MergeWindow | "none"): number {
  let total = 0;
  const batch = 32;
  for (let g0 = 0; g0 < groups.count; g0 += batch) {
    const b = Math.min(batch, groups.count - g0);
    const lambda = noGrad(() =>
      tidy(() => {
        const p = tensor(patches.slice(g0 * c * n * n * 2, (g0 + b) * c * n * n * 2), [
          b,
          c,
          n,
          n,
          2,
        ]);
        const off = tensor(groups.offsets.slice(2 * g0 * c, 2 * (g0 + b) * c), [b, c, 2]);
        const merged = window === "none" ? p : overlapConstraint(p, off, gs, window);
        return diffractIntensity(merged, tensor(probe, [n, n, 2])).dataSync();
      })
    );
    for (let j = 0; j < b * c; j++) {
      const pattern = groups.indices[g0 * c + j];
      for (let q = 0; q < n * n; q++) {
        const k = ds.diffraction[pattern * n * n + q] ** 2;
        const l = Math.max(lambda[j * n * n + q], 1e-8);
        total += l - k * Math.log(l) + lgamma(k + 1);
      }
    }
  }
  return total / (groups.count * c);
}

let floor = 0;
for (let q = 0; q < ds.diffraction.length; q++) {
  const k = ds.diffraction[q] ** 2;
  floor += k - (k > 0 ? k * Math.log(k) : 0) + lgamma(k + 1);
}
console.log(`floor (λ = k): mean Poisson NLL per pattern ${(floor / ds.patternCount).toFixed(1)}`);
for (const window of ["none", "central", "full"] as const) {
  console.log(`${window}: mean Poisson NLL per pattern ${nllPerPattern(window).toFixed(1)}`);
}
