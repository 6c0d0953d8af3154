/**
 * End-to-end autograd through the WebGPU kernels: a small conv / pool / upsample / FFT /
 * translate pipeline, its loss and every gradient computed on WebGPU and on the CPU reference.
 */
import {
  abs2,
  add,
  backward,
  complex,
  conv2d,
  cpuBackend,
  fft2,
  fftshift,
  maxPool2d,
  mean,
  mul,
  relu,
  reshape,
  setBackend,
  slice,
  sum,
  tanh,
  type Tensor,
  tensor,
  translate,
  upsample2x,
} from "../../engine/mod.ts";
import type { Backend } from "../../engine/backend.ts";
import { randomArray, rng } from "./cpu_test_util.ts";
import { gpuTest } from "./webgpu_test_util.ts";

const rand = rng(41);
const INPUTS = {
  x: { shape: [2, 3, 16, 8], data: randomArray(rand, 2 * 3 * 16 * 8) },
  w1: { shape: [4, 3, 3, 3], data: randomArray(rand, 4 * 3 * 9, -0.5, 0.5) },
  b1: { shape: [4], data: randomArray(rand, 4, -0.1, 0.1) },
  w2: { shape: [2, 4, 3, 3], data: randomArray(rand, 2 * 4 * 9, -0.5, 0.5) },
};
const OFFSETS = Float32Array.of(1.3, -0.6, -2.2, 0.4);

/** Loss and gradients (x, w1, b1, w2) of the pipeline, all computed on `backend`. */
async function lossAndGrads(backend: Backend): Promise<Float32Array[]> {
  setBackend(backend);
  try {
    const p: Record<string, Tensor> = {};
    for (const [name, { shape, data }] of Object.entries(INPUTS)) {
      p[name] = tensor(data, shape, { requiresGrad: true });
    }
    const h = relu(conv2d(p.x, p.w1, p.b1));
    const y = conv2d(upsample2x(maxPool2d(h)), p.w2);
    const re = reshape(slice(y, [0, 0, 0, 0], [2, 1, 16, 8]), [2, 16, 8]);
    const im = reshape(slice(y, [0, 1, 0, 0], [2, 1, 16, 8]), [2, 16, 8]);
    const f = fftshift(fft2(complex(re, im)));
    const a = abs2(translate(f, tensor(OFFSETS, [2, 2])));
    const loss = add(mean(mul(a, tanh(a))), sum(mul(h, h)));
    backward(loss);
    const out = [await loss.data()];
    for (const name of ["x", "w1", "b1", "w2"]) out.push(await p[name].grad!.data());
    return out;
  } finally {
    setBackend(cpuBackend());
  }
}

gpuTest("loss and gradients of a conv/pool/FFT/translate pipeline match the CPU", async (g) => {
  const gpu = await lossAndGrads(g);
  const ref = await lossAndGrads(cpuBackend());
  ["loss", "dx", "dw1", "db1", "dw2"].forEach((what, k) => {
    let scale = 0;
    for (const v of ref[k]) scale = Math.max(scale, Math.abs(v));
    ref[k].forEach((e, i) => {
      if (!(Math.abs(gpu[k][i] - e) <= 1e-4 * scale + 1e-6)) {
        throw new Error(`${what}[${i}]: webgpu ${gpu[k][i]}, cpu ${e} (scale ${scale})`);
      }
    });
  });
});
