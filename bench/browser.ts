/**
 * Chromium's WebGPU (Dawn; SwiftShader without a GPU) beside Deno's (wgpu; llvmpipe here) on one
 * machine: bench/kernels.ts's kernels and training steps of the page's demo network, with the
 * ratio per row and the load average (the machine may be shared). Run:
 * `deno run -A bench/browser.ts` (needs a system Chromium, see tests/browser/chrome.ts).
 */
import { setBackend } from "../engine/mod.ts";
import { createWebGpuBackend } from "../engine/webgpu/backend.ts";
import { bundleForBrowser, servePage } from "../web/serve.ts";
import { Browser, findChromium } from "../tests/browser/chrome.ts";
import { benchKernels, type KernelResult } from "./kernels.ts";
import { benchTrainingSteps, type TrainBenchResult } from "./train_setup.ts";
import { BROWSER_BENCH_STEP } from "./browser_config.ts";

type Side = { description: string; kernels: KernelResult[]; step: TrainBenchResult };

async function denoSide(): Promise<Side> {
  const backend = await createWebGpuBackend();
  if (backend === null) throw new Error("Deno found no WebGPU adapter");
  setBackend(backend);
  const kernels = await benchKernels(backend);
  const step = await benchTrainingSteps(BROWSER_BENCH_STEP);
  return { description: backend.description, kernels, step };
}

async function browserSide(chromium: string): Promise<Side & { bundleKiB: number }> {
  const dir = Deno.makeTempDirSync({ prefix: "ptycho-bench-web-" });
  try {
    const size = await bundleForBrowser("bench/browser_entry.ts", `${dir}/bench.js`);
    Deno.writeTextFileSync(`${dir}/blank.html`, "<!doctype html><title>bench</title>");
    const server = servePage(0, `${dir}/bench.js`, {
      "/blank.html": `${dir}/blank.html`,
      "/bench.js": `${dir}/bench.js`,
    });
    const browser = await Browser.launch(chromium);
    try {
      const page = await browser.open(`${server.url}blank.html`);
      const side = await page.evaluate<Side>(`import("/bench.js").then(() => ptychoBench())`);
      return { ...side, bundleKiB: size / 1024 };
    } finally {
      await browser.close();
      await server.shutdown();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const chromium = findChromium();
if (chromium === null) {
  console.error("bench/browser.ts: no Chromium found (apt-get install chromium)");
  Deno.exit(2);
}
const load0 = Deno.loadavg();
const deno = await denoSide();
const web = await browserSide(chromium);
const load1 = Deno.loadavg();
console.log(
  `Deno: ${deno.description}; Chromium: ${web.description}; ` +
    `load average ${load0[0].toFixed(1)} → ${
      load1[0].toFixed(1)
    } on ${navigator.hardwareConcurrency} cores`,
);
console.log("| kernel | shape | Deno ms | Chromium ms | Chromium / Deno |");
console.log("| --- | --- | ---: | ---: | ---: |");
for (const [i, k] of deno.kernels.entries()) {
  const w = web.kernels[i];
  console.log(
    `| ${k.name} | ${k.shape} | ${k.medianMs.toFixed(1)} | ${w.medianMs.toFixed(1)} | ` +
      `${(w.medianMs / k.medianMs).toFixed(2)} |`,
  );
}
const d = deno.step.secondsPerStep * 1000, c = web.step.secondsPerStep * 1000;
console.log(
  `| training step (N 32, batch 16, demo net) | — | ${d.toFixed(0)} | ${c.toFixed(0)} | ` +
    `${(c / d).toFixed(2)} |`,
);
console.log(`bench bundle: ${web.bundleKiB.toFixed(0)} KiB`);
