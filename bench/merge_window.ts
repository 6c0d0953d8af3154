/**
 * What the gridsize-2 merge window costs in data fit (issue 15, item 6): an object that explains
 * the patterns is cut into every group member's patch, passed through the overlap constraint with
 * the central N/2 window (docs/physics.md#merge-and-re-extraction) or the full patch, re-extracted,
 * illuminated with the probe and diffracted; the mean Poisson NLL per pattern, Σ(λ − k ln λ +
 * ln Γ(k+1)) over its pixels, is printed for no merge (the object itself), the central window and
 * the full window, after the floor that λ = k reaches.
 *
 *   deno run --allow-read bench/merge_window.ts DATA.npz [EPIE_DIR]
 *
 * With EPIE_DIR (a real scan): the object and probe of an ePIE reconstruction
 * (bench/peer/epie_numpy.py --save; the folder holds object_amplitude.npy, object_phase.npy,
 * probe.npy and out.json with canvas_origin), in the measured counts' units. Without it (a
 * simulated scan): the file's own `objectGuess` and `probeGuess`, and each line fits the one
 * photon scale s² = Σk / Σλ, the scale the model's trainable one would find (a real scan's ePIE
 * object already carries its scale).
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

/** The object (interleaved complex, h × w, its pixel (0, 0) at object pixel `origin`) and probe. */
function sources(): {
  object: Float32Array;
  h: number;
  w: number;
  origin: [number, number];
  probe: Float32Array;
} {
  if (epieDir === undefined) {
    if (ds.objectGuess === null) {
      throw new Error(`${dataPath} has no objectGuess: give an ePIE folder as the second argument`);
    }
    const { height, width, data } = ds.objectGuess;
    return { object: data, h: height, w: width, origin: [0, 0], probe: ds.probe };
  }
  const amp = readNpyFile(`${epieDir}/object_amplitude.npy`);
  const a = amp.data as Float32Array;
  const phase = readNpyFile(`${epieDir}/object_phase.npy`).data as Float32Array;
  const object = new Float32Array(2 * a.length);
  a.forEach((v, i) => {
    object[2 * i] = v * Math.cos(phase[i]);
    object[2 * i + 1] = v * Math.sin(phase[i]);
  });
  const origin = JSON.parse(Deno.readTextFileSync(`${epieDir}/out.json`)).canvas_origin;
  const probe = readNpyFile(`${epieDir}/probe.npy`).data as Float32Array;
  return { object, h: amp.shape[0], w: amp.shape[1], origin, probe };
}
const { object, h, w, origin: [originRow, originCol], probe } = sources();
const fitScale = epieDir === undefined;

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
    re += wt * object[2 * (rr * w + cc)];
    im += wt * object[2 * (rr * w + cc) + 1];
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

/** Every member's predicted intensity (before any photon scale), [groups · C, N, N]. */
function intensities(window: MergeWindow | "none"): Float32Array {
  const out = new Float32Array(groups.count * c * n * n);
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
    out.set(lambda, g0 * c * n * n);
  }
  return out;
}

/** Mean Poisson NLL per pattern of the members' predicted intensities. */
function nllPerPattern(window: MergeWindow | "none"): number {
  const lambda = intensities(window);
  let scale = 1;
  if (fitScale) {
    let counts = 0, predicted = 0;
    for (let j = 0; j < groups.count * c; j++) {
      const pattern = groups.indices[j];
      for (let q = 0; q < n * n; q++) {
        counts += ds.diffraction[pattern * n * n + q] ** 2;
        predicted += lambda[j * n * n + q];
      }
    }
    scale = counts / predicted;
  }
  let total = 0;
  for (let j = 0; j < groups.count * c; j++) {
    const pattern = groups.indices[j];
    for (let q = 0; q < n * n; q++) {
      const k = ds.diffraction[pattern * n * n + q] ** 2;
      const l = Math.max(scale * lambda[j * n * n + q], 1e-8);
      total += l - k * Math.log(l) + lgamma(k + 1);
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
