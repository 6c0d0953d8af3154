/** Simulator parts: Gaussian blur, the ideal disk probe, objects, PNG input, scans, probe files. */
import { encode } from "fast-png";
import { Rng } from "../../../engine/mod.ts";
import { PtychoInputError } from "../../../io/errors.ts";
import { writeNpzFile } from "../../../io/npz.ts";
import {
  type F64Image,
  gaussianBlur,
  grfObject,
  linesObject,
  readPngGray,
} from "../../../model/simulate/objects.ts";
import { randomScan, rasterScan, scanBounds } from "../../../model/simulate/scan.ts";
import { idealDiskProbe, probeFromFile } from "../../../model/simulate/probe.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../assert.ts";
import { hasSharedData, sharedDataPath, testRequiring } from "../../io/env.ts";

Deno.test("gaussianBlur matches scipy.ndimage.gaussian_filter (mode reflect, truncate 4)", () => {
  const image: F64Image = { height: 6, width: 8, data: new Float64Array(48) };
  image.data[1 * 8 + 6] = 1;
  image.data[4 * 8 + 2] = 2;
  image.data[0] = 0.5;
  // scipy 1.17: gaussian_filter(img, 1.3).ravel() and gaussian_filter(img, 5.0)[0, :3].
  const scipy13 = [
    0.143870482,
    0.0876275652,
    0.0335175209,
    0.0146674471,
    0.0316606934,
    0.0746127288,
    0.105811871,
    0.103855126,
    0.0911733939,
    0.0618785662,
    0.0326251736,
    0.0206863989,
    0.0354018834,
    0.0767777905,
    0.107890405,
    0.10580435,
    0.0526047629,
    0.0621366515,
    0.0651100658,
    0.0493286195,
    0.0396153866,
    0.057397463,
    0.0763391122,
    0.0744742067,
    0.059754502,
    0.110611926,
    0.143503834,
    0.107769605,
    0.0523159087,
    0.0316426376,
    0.0321598247,
    0.0304325851,
    0.0765309804,
    0.152130972,
    0.201841819,
    0.150382993,
    0.0637226547,
    0.0190009739,
    0.0087997772,
    0.00702249511,
    0.074418064,
    0.148908384,
    0.197934776,
    0.147202244,
    0.0608420145,
    0.0144646331,
    0.00268706615,
    0.00105166592,
  ];
  const blurred = gaussianBlur(image, 1.3).data;
  scipy13.forEach((v, k) => assertAlmostEquals(blurred[k], v, 1e-8, `pixel ${k}`));
  const wide = gaussianBlur(image, 5).data;
  [0.07687285, 0.07622423, 0.07502652].forEach((v, k) => assertAlmostEquals(wide[k], v, 1e-7));
});

Deno.test("ideal disk probe: upstream disk size, and max|P| ≈ 2.72, Σ|P|² ≈ 2505 after set_probe (N=64)", () => {
  for (const [n, disk] of [[64, 376], [128, 1500]]) {
    const probe = idealDiskProbe(n);
    let above = 0;
    for (let p = 0; p < n * n; p++) {
      assertEquals(probe.data[2 * p + 1], 0);
      if (probe.data[2 * p] > 0.5) above++;
    }
    // The σ = 1 blur keeps the 0.5 level close to the binary disk's edge.
    assert(Math.abs(above - disk) <= 0.02 * disk, `N=${n}: ${above} px above 0.5, disk ${disk}`);
  }
  const n = 64, probe = idealDiskProbe(n);
  // set_probe: P / (4 · mean_{N×N} |M_hard·P|), M_hard = disk d < N/4 about (N/2 − 0.5).
  let masked = 0;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const d = Math.hypot(r - n / 2 + 0.5, c - n / 2 + 0.5);
      if (d < n / 4) masked += Math.abs(probe.data[2 * (r * n + c)]);
    }
  }
  const norm = 4 * masked / (n * n);
  let peak = 0, energy = 0;
  for (let p = 0; p < n * n; p++) {
    const v = probe.data[2 * p] / norm;
    peak = Math.max(peak, v);
    energy += v * v;
  }
  assertAlmostEquals(peak, 2.72, 0.02);
  assertAlmostEquals(energy, 2505, 25);
});

Deno.test("curved disk probe: the flat disk's amplitude, phase curvature·(r/R)² from its centre", () => {
  const n = 32, curvature = 2 * Math.PI;
  const flat = idealDiskProbe(n), curved = idealDiskProbe(n, curvature);
  let area = 0;
  for (let p = 0; p < n * n; p++) {
    const a = Math.hypot(curved.data[2 * p], curved.data[2 * p + 1]);
    assertAlmostEquals(a, flat.data[2 * p], 1e-6, `amplitude at pixel ${p}`);
    if (flat.data[2 * p] > 0.5) area++;
  }
  const centre = (n - 1) / 2, radius2 = area / Math.PI;
  // Inside the disk the phase is still below π, so atan2 returns it unwrapped.
  for (const [r, c] of [[16, 16], [15, 15], [15, 18], [13, 17], [17, 13]]) {
    const p = r * n + c;
    const phase = Math.atan2(curved.data[2 * p + 1], curved.data[2 * p]);
    const want = curvature * ((r - centre) ** 2 + (c - centre) ** 2) / radius2;
    assertAlmostEquals(phase, want, 0.03, `phase at (${r}, ${c})`);
  }
  // Point-mirrored about the centre, the probe equals itself, not its conjugate: no twin.
  const mirrored = (p: number) => (n - 1 - Math.floor(p / n)) * n + (n - 1 - (p % n));
  let conjugateGap = 0;
  for (let p = 0; p < n * n; p++) {
    const q = mirrored(p);
    assertAlmostEquals(curved.data[2 * q], curved.data[2 * p], 1e-5);
    assertAlmostEquals(curved.data[2 * q + 1], curved.data[2 * p + 1], 1e-5);
    conjugateGap = Math.max(
      conjugateGap,
      Math.abs(curved.data[2 * q + 1] + curved.data[2 * p + 1]),
    );
  }
  assert(conjugateGap > 0.5, `the curved probe is its own conjugate mirror (gap ${conjugateGap})`);
  assertEquals(idealDiskProbe(n, 0).data, flat.data);
});

Deno.test("lines and grf objects: amplitude and phase ranges, determinism", () => {
  const lines = linesObject(64, new Rng(1));
  const again = linesObject(64, new Rng(1));
  assertEquals(lines.data, again.data);
  let maxA = 0, minA = Infinity, minP = Infinity, maxP = -Infinity;
  for (let p = 0; p < 64 * 64; p++) {
    const re = lines.data[2 * p], im = lines.data[2 * p + 1];
    maxA = Math.max(maxA, Math.hypot(re, im));
    minA = Math.min(minA, Math.hypot(re, im));
    minP = Math.min(minP, Math.atan2(im, re));
    maxP = Math.max(maxP, Math.atan2(im, re));
  }
  assertAlmostEquals(maxA, 1, 1e-6);
  assert(minA > 0, "the g10 background keeps the amplitude positive");
  assert(maxP - minP > 0.5 && maxP < Math.PI && minP > -Math.PI, `phase ${minP}..${maxP}`);
  const grf = grfObject(40, new Rng(2));
  for (let p = 0; p < 40 * 40; p++) {
    const re = grf.data[2 * p], im = grf.data[2 * p + 1];
    const a = Math.hypot(re, im);
    assert(a >= 0.2 - 1e-6 && a <= 1 + 1e-6, `grf amplitude ${a}`);
    assert(Math.abs(Math.atan2(im, re)) <= Math.PI / 2 + 1e-6);
  }
});

Deno.test("PNG input: row-major gray from 8-bit gray and 16-bit RGB; bad files are input errors", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const width = 3, height = 2;
    const rgb = new Uint16Array(width * height * 3);
    rgb.set([65535, 65535, 65535], 3 * (0 * width + 2)); // white at row 0, column 2
    rgb.set([0, 65535, 0], 3 * (1 * width + 0)); // green at row 1, column 0
    Deno.writeFileSync(
      `${dir}/rgb.png`,
      encode({ width, height, data: rgb, depth: 16, channels: 3 }),
    );
    const img = readPngGray(`${dir}/rgb.png`);
    assertEquals([img.height, img.width], [2, 3]);
    assertAlmostEquals(img.data[2], 1, 1e-9);
    assertAlmostEquals(img.data[3], 0.587, 1e-9);
    assertEquals(img.data[0] + img.data[1] + img.data[4] + img.data[5], 0);
    Deno.writeTextFileSync(`${dir}/fake.png`, "not a png");
    assertThrows(() => readPngGray(`${dir}/fake.png`), PtychoInputError, "not a readable PNG");
    assertThrows(() => readPngGray(`${dir}/missing.png`), PtychoInputError, "no such file");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("scans stay inside the object; raster steps and counts", () => {
  assertEquals(scanBounds(32, 40, 32), null);
  assertEquals(scanBounds(33, 40, 32), { lo: 16, hiX: 23, hiY: 16 });
  const bounds = scanBounds(100, 80, 16)!;
  assertEquals(bounds, { lo: 8, hiX: 71, hiY: 91 });
  const exact = rasterScan(bounds, new Rng(1), { step: 7, jitter: 0 });
  // x: floor(63/7)+1 = 10 points, y: floor(83/7)+1 = 12 points, spaced exactly 7 px, row-major.
  assertEquals(exact.x.length, 120);
  assertAlmostEquals(exact.x[1] - exact.x[0], 7, 1e-12);
  assertAlmostEquals(exact.y[10] - exact.y[0], 7, 1e-12);
  assertEquals(exact.y[9], exact.y[0]);
  const byCount = rasterScan(bounds, new Rng(2), { count: 50 });
  assertEquals(byCount.x.length, 64);
  const random = randomScan(500, bounds, new Rng(3));
  for (const s of [exact, byCount, random]) {
    for (let k = 0; k < s.x.length; k++) {
      assert(s.x[k] >= bounds.lo && s.x[k] <= bounds.hiX, `x ${s.x[k]}`);
      assert(s.y[k] >= bounds.lo && s.y[k] <= bounds.hiY, `y ${s.y[k]}`);
    }
  }
});

Deno.test("probeFromFile reads a dataset's probeGuess and refuses files without a probe", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const data = new Float32Array(2 * 16 * 16).map((_, k) => Math.sin(k));
    writeNpzFile(`${dir}/d.npz`, { probeGuess: { dtype: "c8", shape: [16, 16], data } });
    assertEquals(probeFromFile(`${dir}/d.npz`).data, data);
    writeNpzFile(`${dir}/none.npz`, {
      other: { dtype: "f4", shape: [1], data: new Float32Array(1) },
    });
    assertThrows(() => probeFromFile(`${dir}/none.npz`), PtychoInputError, "no probe");
    writeNpzFile(`${dir}/rect.npz`, {
      probeGuess: { dtype: "c8", shape: [4, 8], data: new Float32Array(64) },
    });
    assertThrows(() => probeFromFile(`${dir}/rect.npz`), PtychoInputError, "square");
    Deno.writeTextFileSync(`${dir}/junk.npz`, "junk");
    assertThrows(() => probeFromFile(`${dir}/junk.npz`), PtychoInputError);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

testRequiring(
  { available: hasSharedData("forward_golden/c1_bigF.npz"), what: "../shared/data/forward_golden" },
  "probeFromFile combines probe_real and probe_imag of the forward-golden files (unit energy)",
  () => {
    const probe = probeFromFile(sharedDataPath("forward_golden/c1_bigF.npz"));
    assertEquals([probe.height, probe.width], [64, 64]);
    let energy = 0, imag = 0;
    for (let p = 0; p < 64 * 64; p++) {
      energy += probe.data[2 * p] ** 2 + probe.data[2 * p + 1] ** 2;
      imag += Math.abs(probe.data[2 * p + 1]);
    }
    assertAlmostEquals(energy, 1, 1e-4);
    assert(imag > 0.1, "the measured probe has a phase");
  },
);
