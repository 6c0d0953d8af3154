/**
 * Inference throughput at N = 64 (the network of docs/physics.md#network, n_filters_scale 2,
 * gridsize 2, random weights — speed does not depend on training): patterns/s for predict only and
 * predict + stitch on `fixtures/sim_lines_n64.npz`, and the wall time of the seed's inference
 * command (`infer --model_path D --test_data F --output_dir D --n_images 16 --quiet`) run
 * in-process, i.e. without Deno's start-up.
 */
import type { Backend } from "../engine/backend.ts";
import { Rng, setBackend } from "../engine/mod.ts";
import { loadDataset } from "../io/dataset.ts";
import { writeFileAtomic } from "../io/files.ts";
import { reconstruct } from "../model/infer/infer.ts";
import { encodeModelBundle, MODEL_KIND } from "../model/model_bundle.ts";
import { initialParameters, type NetworkConfig } from "../model/network.ts";
import { initialIntensityScale, normalizeProbe, PROBE_SCALE } from "../model/normalize.ts";
import { LOG_SCALE, PtychoPinn } from "../model/pinn.ts";
import { main } from "../cli.ts";

const DATA = new URL("../fixtures/sim_lines_n64.npz", import.meta.url).pathname;

/** One row of the inference benchmark. */
export interface InferBenchRow {
  /** Patterns reconstructed per run. */
  patterns: number;
  /** Patterns per second, forward passes and read-back only. */
  predictRate: number;
  /** Patterns per second including stitching. */
  totalRate: number;
  /** Wall seconds of the seed's inference command (16 patterns), in-process. */
  seedCommandSeconds: number;
}

/** Measures inference on `backend` (CPU: 16 patterns, else 64; second of two runs). */
export async function benchInference(backend: Backend): Promise<InferBenchRow> {
  setBackend(backend);
  const gridsize = 2, n = 64;
  const dataset = loadDataset(DATA, { gridsize, onWarning: () => {} });
  const net: NetworkConfig = { n, gridsize, nFiltersScale: 2 };
  const values = initialParameters(net, new Rng(1));
  const s0 = initialIntensityScale(dataset.nphotons, n);
  values.set(LOG_SCALE, Float32Array.of(Math.log(s0)));
  const probe = normalizeProbe(dataset.probe, n, PROBE_SCALE);
  const model = new PtychoPinn(net, values, probe, s0);
  const patterns = backend.name === "cpu" ? 16 : 64;
  let predict = 0, total = 0;
  for (let run = 0; run < 2; run++) {
    const r = await reconstruct(model, dataset, { nImages: patterns, batchSize: 16 });
    predict = r.predictSeconds;
    total = r.predictSeconds + r.stitchSeconds;
  }
  const dir = Deno.makeTempDirSync({ prefix: "ptycho-bench-infer-" });
  let seedCommandSeconds = NaN;
  try {
    const { bytes } = await encodeModelBundle(model, {
      model: MODEL_KIND,
      n,
      gridsize,
      nFiltersScale: 2,
      objectBig: true,
      probeBig: true,
      padObject: true,
      amplitudeActivation: "sigmoid",
      intensityScaleInitial: s0,
      nphotons: dataset.nphotons,
      normalizationFactor: 1,
      probeScale: PROBE_SCALE,
      trainingData: { file: "random weights (benchmark)", sha256: "", patterns: 0 },
      config: { neighborCount: 4 },
    }, probe);
    writeFileAtomic(`${dir}/model.zip`, bytes);
    const argv = ["infer", "--model_path", dir, "--test_data", DATA, "--output_dir", `${dir}/out`];
    const accelerator = backend.name === "cpu" ? "cpu" : "webgpu";
    const log = console.log;
    console.log = () => {};
    try {
      const start = performance.now();
      const code = await main([
        ...argv,
        "--n_images",
        "16",
        "--accelerator",
        accelerator,
        "--quiet",
      ]);
      if (code === 0) seedCommandSeconds = (performance.now() - start) / 1000;
    } finally {
      console.log = log;
    }
  } finally {
    model.dispose();
    Deno.removeSync(dir, { recursive: true });
  }
  setBackend(backend);
  return {
    patterns,
    predictRate: patterns / predict,
    totalRate: patterns / total,
    seedCommandSeconds,
  };
}
