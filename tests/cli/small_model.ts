/** Small randomly initialised PtychoPINN models for the CLI tests (infer, refine). */
import { cpuBackend, Rng, setBackend } from "../../engine/mod.ts";
import { writeFileAtomic } from "../../io/files.ts";
import { encodeModelBundle, MODEL_KIND, type PinnManifest } from "../../model/model_bundle.ts";
import { initialParameters, type NetworkConfig } from "../../model/network.ts";
import { initialIntensityScale, normalizeProbe, PROBE_SCALE } from "../../model/normalize.ts";
import { LOG_SCALE, PtychoPinn } from "../../model/pinn.ts";

/** A randomly initialised small model for `dataset`'s probe. */
export function smallModel(n: number, gridsize: number, probe: Float32Array): PtychoPinn {
  setBackend(cpuBackend());
  const net: NetworkConfig = { n, gridsize, nFiltersScale: 0.25 };
  const values = initialParameters(net, new Rng(5));
  const s0 = initialIntensityScale(1e9, n);
  values.set(LOG_SCALE, Float32Array.of(Math.log(s0)));
  return new PtychoPinn(net, values, normalizeProbe(probe, n, PROBE_SCALE), s0);
}

/** Writes `dir/model.zip` for a small random model. */
export async function writeModel(dir: string, n: number, gridsize: number): Promise<string> {
  const probe = new Float32Array(2 * n * n).fill(0.1);
  const model = smallModel(n, gridsize, probe);
  const fields: Omit<PinnManifest, "intensityScale"> = {
    model: MODEL_KIND,
    n,
    gridsize,
    nFiltersScale: 0.25,
    objectBig: gridsize > 1,
    probeBig: true,
    padObject: true,
    amplitudeActivation: "sigmoid",
    intensityScaleInitial: model.s0,
    nphotons: 1e9,
    normalizationFactor: 1,
    probeScale: PROBE_SCALE,
    trainingData: { file: "none", sha256: "0", patterns: 0 },
    config: { neighborCount: 4 },
  };
  const { bytes } = await encodeModelBundle(model, fields, normalizeProbe(probe, n));
  model.dispose();
  Deno.mkdirSync(dir, { recursive: true });
  writeFileAtomic(`${dir}/model.zip`, bytes);
  return `${dir}/model.zip`;
}
