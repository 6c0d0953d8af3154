/**
 * The reconstruction page: pick the demo scan or drop an `.npz` (and a `model.zip`), train with a
 * live loss curve or load the model, reconstruct, show amplitude and phase with colour bars, and
 * offer `reconstruction.npz` and `model.zip`. The work is in session.ts; this file is the DOM.
 * `globalThis.ptychoPage` exposes the same actions the buttons run (the browser tests use it).
 */
import { colormapLut, type ColormapName } from "../io/colormap.ts";
import type { Reconstruction } from "../model/infer/infer.ts";
import { byId, type PageEvent } from "./dom.ts";
import { INFER_BATCH, readScan, type Scan, Session } from "./session.ts";

const DEMO_TRAIN = "fixtures/sim_lines_n32_curved_train.npz";
const DEMO_TEST = "fixtures/sim_lines_n32_curved_test.npz";
const started = performance.now();

const $ = byId;

/** What the page holds: the scan to train on, the scan to reconstruct, timings. */
const state = {
  train: null as Scan | null,
  test: null as Scan | null,
  losses: [] as number[],
  reconstructionNpz: null as Uint8Array | null,
  firstImageMs: null as number | null,
};

const sessionReady = Session.open("auto").then((s) => {
  $("backend").textContent = `backend: ${s.backend.name} (${s.backend.description})`;
  if (s.fallback !== null) {
    const notice = $("notice");
    notice.textContent = `WebGPU is not available (${s.fallback}): computing on the CPU, ` +
      "which is much slower. Chrome or Edge with WebGPU enabled runs this on the GPU.";
    notice.style.display = "block";
  }
  return s;
});

function fail(e: unknown): never {
  $("error").textContent = e instanceof Error ? e.message : String(e);
  throw e;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function useScans(trainScan: Scan, testScan: Scan): void {
  state.train = trainScan;
  state.test = testScan;
  const train = trainScan.dataset, test = testScan.dataset;
  $("scan").textContent = `${train.file}: ${train.patternCount} patterns of ${train.n}×${train.n}` +
    (test === train ? "" : `; reconstructing ${test.file} (${test.patternCount} patterns)`);
  $("train").disabled = false;
}

/** Loads the bundled demo scan (train and test halves). */
async function demo(): Promise<void> {
  const [a, b] = await Promise.all([fetchBytes(DEMO_TRAIN), fetchBytes(DEMO_TEST)]);
  useScans(await readScan(a, DEMO_TRAIN), await readScan(b, DEMO_TEST));
}

/** Takes dropped or chosen files: one scan `.npz`, optionally one `model.zip`. */
async function useFiles(files: ArrayLike<File>): Promise<void> {
  const session = await sessionReady;
  for (const f of Array.from(files)) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    if (f.name.endsWith(".zip")) {
      session.loadModel(bytes, f.name);
      showModel(session, `loaded ${f.name}`);
    } else {
      const scan = await readScan(bytes, f.name);
      useScans(scan, scan);
    }
  }
}

function showModel(session: Session, text: string): void {
  $("modelinfo").textContent = text;
  $("reconstruct").disabled = false;
  link("dlmodel", session.modelZip!, "application/zip");
}

function link(id: string, bytes: Uint8Array, type: string): void {
  const a = $(id);
  if (a.href) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  a.hidden = false;
}

/** Trains `epochs` epochs on `nImages` groups, drawing the loss after every step. */
async function train(epochs: number, nImages: number): Promise<number[]> {
  const session = await sessionReady;
  if (state.train === null) throw new Error("pick a scan first");
  state.losses = [];
  const bar = $("progress");
  const t0 = performance.now();
  await session.train(state.train, {
    epochs,
    nImages,
    batchSize: INFER_BATCH,
    nFiltersScale: 1,
    learningRate: 1e-3,
    seed: 1,
  }, {
    step(epoch, done, total, loss) {
      bar.value = ((epoch - 1) * total + done) / (epochs * total);
      if (loss !== null) {
        state.losses.push(loss);
        drawLoss(state.losses);
      }
    },
    epoch(epoch, loss) {
      $("modelinfo").textContent = `epoch ${epoch}/${epochs}: loss ${loss.toPrecision(5)}`;
    },
  });
  showModel(
    session,
    `trained ${epochs} epoch(s) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return state.losses;
}

function drawLoss(losses: number[]): void {
  const c = $("loss");
  const g = c.getContext("2d")!;
  g.clearRect(0, 0, c.width, c.height);
  const lo = Math.min(...losses), hi = Math.max(...losses);
  const span = hi - lo || 1;
  g.strokeStyle = "#1f77b4";
  g.beginPath();
  losses.forEach((v, i) => {
    const x = 40 + (i / Math.max(1, losses.length - 1)) * (c.width - 50);
    const y = 10 + (1 - (v - lo) / span) * (c.height - 30);
    if (i === 0) g.moveTo(x, y);
    else g.lineTo(x, y);
  });
  g.stroke();
  g.fillStyle = "#222";
  g.fillText(hi.toPrecision(4), 2, 14);
  g.fillText(lo.toPrecision(4), 2, c.height - 20);
  g.fillText(`loss per step (${losses.length} steps)`, 40, c.height - 4);
}

/** Reconstructs the test scan, draws amplitude and phase, offers reconstruction.npz. */
async function reconstructScan(): Promise<{ height: number; width: number; ms: number }> {
  const session = await sessionReady;
  if (state.test === null) throw new Error("pick a scan first");
  const t0 = performance.now();
  const bar = $("progress");
  const { recon, npz } = await session.reconstruct(state.test.dataset, (d, t) => bar.value = d / t);
  draw(recon);
  state.firstImageMs ??= performance.now() - started;
  state.reconstructionNpz = npz;
  link("dlrecon", npz, "application/octet-stream");
  const { height, width } = recon.stitched;
  return { height, width, ms: performance.now() - t0 };
}

function draw(recon: Reconstruction): void {
  const { height, width, data, coverage } = recon.stitched;
  const amp = new Float64Array(height * width).fill(NaN);
  const phase = new Float64Array(height * width).fill(NaN);
  for (let i = 0; i < height * width; i++) {
    if (coverage[i] <= 0) continue;
    amp[i] = Math.hypot(data[2 * i], data[2 * i + 1]);
    phase[i] = Math.atan2(data[2 * i + 1], data[2 * i]);
  }
  paint("amp", amp, width, height, "viridis", null);
  paint("phase", phase, width, height, "phase", [-Math.PI, Math.PI]);
}

/** Draws `values` (NaN = not covered, shown grey) and its colour bar with the range below. */
function paint(
  id: string,
  values: Float64Array,
  width: number,
  height: number,
  map: ColormapName,
  fixed: [number, number] | null,
): void {
  const lut = colormapLut(map);
  const finite = values.filter(Number.isFinite);
  const [lo, hi] = fixed ?? [Math.min(...finite), Math.max(...finite)];
  const span = hi - lo || 1;
  const c = $(id);
  c.width = width;
  c.height = height;
  const g = c.getContext("2d")!;
  const img = g.createImageData(width, height);
  values.forEach((v, i) => {
    const k = Math.min(255, Math.max(0, Math.floor(((v - lo) / span) * 255.999)));
    const rgb = Number.isFinite(v) ? lut.subarray(3 * k, 3 * k + 3) : [200, 200, 200];
    img.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
  });
  g.putImageData(img, 0, 0);
  const barCanvas = $(`${id}bar`).getContext("2d")!;
  const bar = barCanvas.createImageData(256, 1);
  for (let k = 0; k < 256; k++) {
    bar.data.set([...lut.subarray(3 * k, 3 * k + 3), 255], 4 * k);
  }
  barCanvas.putImageData(bar, 0, 0);
  $(`${id}lo`).textContent = lo.toPrecision(3);
  $(`${id}hi`).textContent = hi.toPrecision(3);
}

function wire(): void {
  const guard = (f: () => Promise<unknown>) => () => f().catch(fail);
  $("demo").onclick = guard(demo);
  $("train").onclick = guard(() => train(Number($("epochs").value), Number($("nimages").value)));
  $("reconstruct").onclick = guard(reconstructScan);
  $("files").onchange = (ev: PageEvent) => guard(() => useFiles(ev.target.files ?? []))();
  const drop = $("drop");
  drop.ondragover = (ev) => {
    ev.preventDefault();
    drop.classList.add("over");
  };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    guard(() => useFiles(ev.dataTransfer?.files ?? []))();
  };
}

wire();

/** The page's actions for scripts and tests. */
(globalThis as unknown as { ptychoPage: unknown }).ptychoPage = {
  ready: sessionReady.then((s) => ({
    backend: s.backend.name,
    description: s.backend.description,
    fallback: s.fallback,
  })),
  demo,
  useFiles,
  train,
  reconstruct: reconstructScan,
  modelZip: () => sessionReady.then((s) => s.modelZip),
  reconstructionNpz: () => state.reconstructionNpz,
  firstImageMs: () => state.firstImageMs,
};
