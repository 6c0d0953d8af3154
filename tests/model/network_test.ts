/**
 * The CNN generator: parameter counts (docs/physics.md#network), names, init, shapes of the forward
 * map.
 */
import { Rng, tensor, tidy } from "../../engine/mod.ts";
import {
  Generator,
  initialParameters,
  ladder,
  parameterCount,
  parameterShapes,
} from "../../model/network.ts";
import { assert, assertEquals } from "../assert.ts";

Deno.test("parameter count: 2,340,208 at N=64 gridsize 2; 2,331,772 at gridsize 1", () => {
  assertEquals(parameterCount({ n: 64, gridsize: 2, nFiltersScale: 2 }), 2_340_208);
  assertEquals(parameterCount({ n: 64, gridsize: 1, nFiltersScale: 2 }), 2_331_772);
  assertEquals(parameterCount({ n: 64, gridsize: 2, nFiltersScale: 1 }), 589_360);
  assertEquals(parameterCount({ n: 128, gridsize: 1, nFiltersScale: 2 }), 4_661_212);
});

Deno.test("ladder follows the upstream table and scales to N = 32", () => {
  assertEquals(ladder({ n: 64, gridsize: 1, nFiltersScale: 2 }), {
    encoder: [64, 128, 256],
    decoder: [128, 64],
    border: 64,
  });
  assertEquals(ladder({ n: 128, gridsize: 1, nFiltersScale: 2 }).decoder, [256, 128, 64]);
  assertEquals(ladder({ n: 256, gridsize: 1, nFiltersScale: 2 }).encoder, [16, 32, 64, 128, 256]);
  assertEquals(ladder({ n: 32, gridsize: 1, nFiltersScale: 1 }), {
    encoder: [64, 128],
    decoder: [32],
    border: 64,
  });
});

Deno.test("N=64 weights build on the CPU: stable names, Glorot bounds, zero biases, seeded", () => {
  const cfg = { n: 64, gridsize: 2, nFiltersScale: 2 };
  const values = initialParameters(cfg, new Rng(42));
  const names = [...parameterShapes(cfg).keys()];
  assertEquals(names[0], "encoder.0.conv1.weight");
  assert(names.includes("decoder_amp.head.border_up.conv1.weight"));
  assert(names.includes("decoder_phase.head.central.bias"));
  assertEquals(parameterShapes(cfg).get("encoder.0.conv1.weight"), [64, 4, 3, 3]);
  const w = values.get("encoder.1.conv2.weight")!;
  const limit = Math.sqrt(6 / (128 * 9 + 128 * 9));
  assert(w.every((v) => Math.abs(v) <= limit));
  assert(Math.max(...w.slice(0, 1000).map(Math.abs)) > 0.9 * limit);
  assert(values.get("encoder.1.conv2.bias")!.every((v) => v === 0));
  const again = initialParameters(cfg, new Rng(42));
  assertEquals(again.get("decoder_amp.0.conv1.weight"), values.get("decoder_amp.0.conv1.weight"));
  const g = new Generator(cfg, values);
  assertEquals(g.params.size, names.length);
  g.dispose();
});

Deno.test("forward: [B, C, N, N] → complex patches; sigmoid amplitude inside, swish border", () => {
  const cfg = { n: 32, gridsize: 2, nFiltersScale: 0.25 };
  const g = new Generator(cfg, initialParameters(cfg, new Rng(1)));
  const rng = new Rng(2);
  const x = Float32Array.from({ length: 2 * 4 * 32 * 32 }, () => rng.uniform());
  const out = tidy(() => {
    const y = g.forward(tensor(x, [2, 4, 32, 32]));
    return { shape: y.shape, data: y.dataSync() };
  });
  assertEquals(out.shape, [2, 4, 32, 32, 2]);
  // Central window: |O| = sigmoid(.) in (0, 1), |phase| ≤ π.
  for (const [i, j] of [[8, 8], [16, 20], [23, 23]]) {
    const k = 2 * (i * 32 + j);
    const amp = Math.hypot(out.data[k], out.data[k + 1]);
    assert(amp > 0 && amp < 1, `amplitude ${amp} at (${i}, ${j})`);
  }
  assert(out.data.every(Number.isFinite));
  g.dispose();
});
