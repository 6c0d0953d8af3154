/**
 * The library and the page in headless Chromium (its own WebGPU, Dawn; SwiftShader without a
 * GPU): mod.ts bundled for the browser loads without `Deno` or `node:`, every kernel's WGSL
 * compiles, the WebGPU-vs-CPU tests of tests/engine/ pass there, and the page's demo flow
 * (train → reconstruct) gives the reconstruction `deno task infer` writes for the same model.
 */
import { assert } from "../assert.ts";
import { NpzReader } from "../../io/npz.ts";
import { decodeModelBundle } from "../../model/model_bundle.ts";
import { bundleForBrowser, type PageServer, servePage } from "../../web/serve.ts";
import { type Browser, browserTest, type Page } from "./chrome.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The page, mod.ts and the test entry, bundled once per test process into a temporary folder. */
let bundled: Promise<{ dir: string; extra: Record<string, string> }> | null = null;

function bundles(): Promise<{ dir: string; extra: Record<string, string> }> {
  bundled ??= (async () => {
    const dir = Deno.makeTempDirSync({ prefix: "ptycho-web-" });
    Deno.writeTextFileSync(`${dir}/blank.html`, "<!doctype html><title>blank</title>");
    const extra: Record<string, string> = { "/blank.html": `${dir}/blank.html` };
    const entries = { "app.js": "web/app.ts", "mod.js": "mod.ts", "parity.js": PARITY_ENTRY };
    for (const [name, entry] of Object.entries(entries)) {
      const size = await bundleForBrowser(entry, `${dir}/${name}`);
      console.log(`bundle ${entry}: ${(size / 1024).toFixed(0)} KiB`);
      extra[`/${name}`] = `${dir}/${name}`;
    }
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    return { dir, extra };
  })();
  return bundled;
}

const PARITY_ENTRY = "tests/browser/parity_entry.ts";

/** Serves the bundles on a free port. */
async function serve(): Promise<PageServer & { dir: string }> {
  const { dir, extra } = await bundles();
  return { ...servePage(0, extra["/app.js"], extra), dir };
}

async function blankPage(browser: Browser, url: string): Promise<Page> {
  return await browser.open(`${url}blank.html`);
}

browserTest("mod.ts bundled for the browser loads without Deno or node:", async (browser) => {
  const server = await serve();
  try {
    const text = Deno.readTextFileSync(`${server.dir}/mod.js`);
    assert(!/\bfrom\s*["']node:|require\(["']node:/.test(text), "the bundle imports node:");
    const page = await blankPage(browser, server.url);
    const keys = await page.evaluate<string[]>(`import("/mod.js").then((m) => Object.keys(m))`);
    const wanted = [
      "createWebGpuBackend",
      "openBackend",
      "kernelVariantsFor",
      "readDataset",
      "NpzReader",
      "decodeBundle",
      "encodeBundle",
      "decodeModelBundle",
      "encodeModelBundle",
      "modelFromBundle",
      "reconstruct",
    ];
    for (const k of wanted) assert(keys.includes(k), `mod.ts does not export ${k} in the browser`);
    const backend = await page.evaluate<string>(
      `import("/mod.js").then(async (m) => (await m.openBackend("auto")).backend.name)`,
    );
    assert(backend === "webgpu", `the browser's backend is ${backend}, not webgpu`);
  } finally {
    await server.shutdown();
  }
});

browserTest("every kernel's WGSL compiles on the browser's WebGPU", async (browser) => {
  const server = await serve();
  try {
    const page = await blankPage(browser, server.url);
    const r = await page.evaluate<
      { kernels: number; errors: string[]; adapter: string; rejectsConstInf: boolean }
    >(
      `import("/parity.js").then(() => ptychoTests.compileAll())`,
    );
    console.log(`compiled ${r.kernels} kernels on ${r.adapter}`);
    assert(r.kernels > 200, `only ${r.kernels} kernels`);
    assert(
      r.rejectsConstInf,
      "this compiler accepts an infinite constant: the check proves little",
    );
    assert(r.errors.length === 0, `WGSL errors:\n${r.errors.slice(0, 10).join("\n")}`);
  } finally {
    await server.shutdown();
  }
});

/**
 * Variant sweeps left out by default: about 3 minutes of SwiftShader pipeline compiles on a
 * loaded 2-core machine. The compile test covers every variant's WGSL and the page's training
 * runs the conv and FFT kernels the model uses; PTYCHO_BROWSER_FULL=1 runs them too.
 */
const SLOW_SWEEPS = Deno.env.get("PTYCHO_BROWSER_FULL") === "1" ? [] : [
  "conv2d forward, input gradient",
  "conv2d with its weights read from storage buffers",
  "fft2 and inverse fft2",
];

browserTest("the WebGPU-vs-CPU tests pass on the browser's WebGPU", async (browser) => {
  const server = await serve();
  try {
    const page = await blankPage(browser, server.url);
    const results = await page.evaluate<
      { name: string; ok: boolean; error: string | null; ms: number }[]
    >(
      `import("/parity.js").then(() => ptychoTests.run(${JSON.stringify(SLOW_SWEEPS)}))`,
    );
    for (const r of results) {
      console.log(`${r.ok ? "ok" : "FAILED"} ${r.name} (${r.ms.toFixed(0)} ms)`);
    }
    for (const s of SLOW_SWEEPS) console.log(`skipped "${s}…" (PTYCHO_BROWSER_FULL=1 runs it)`);
    assert(results.length >= 10, `only ${results.length} tests ran in the page`);
    const failed = results.filter((r) => !r.ok);
    assert(failed.length === 0, failed.map((r) => `${r.name}: ${r.error}`).join("\n"));
  } finally {
    await server.shutdown();
  }
});

/** The page expression's Uint8Array as bytes here (through base64). */
async function pageBytes(page: Page, expression: string): Promise<Uint8Array> {
  const b64 = await page.evaluate<string>(`(async () => {
    const bytes = await ${expression};
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  })()`);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** The complex `object` of a reconstruction.npz: (height, width, interleaved re/im). */
function objectOf(bytes: Uint8Array, name: string) {
  const a = NpzReader.fromBytes(bytes, name).get("object");
  return { shape: a.shape, data: a.data as Float32Array };
}

browserTest(
  "page: demo → train → reconstruct equals `deno task infer` with its model",
  async (b) => {
    const server = await serve();
    const out = Deno.makeTempDirSync({ prefix: "ptycho-web-infer-" });
    try {
      const page = await b.open(server.url);
      const ready = await page.evaluate<{ backend: string; fallback: string | null }>(
        "ptychoPage.ready",
      );
      assert(ready.backend === "webgpu", `page fell back to the CPU: ${ready.fallback}`);
      await page.evaluate("ptychoPage.demo()");
      let t0 = performance.now();
      const losses = await page.evaluate<number[]>("ptychoPage.train(1, 64)");
      const trainMs = performance.now() - t0;
      assert(losses.length === 4 && losses.every(Number.isFinite), `losses ${losses}`);
      t0 = performance.now();
      const shown = await page.evaluate<{ height: number; width: number }>(
        "ptychoPage.reconstruct()",
      );
      const reconMs = performance.now() - t0;
      const modelZip = await pageBytes(page, "ptychoPage.modelZip()");
      const pageNpz = await pageBytes(page, "ptychoPage.reconstructionNpz()");
      // The model.zip the page offers, dropped back in, reconstructs the same object.
      await page.evaluate(
        `ptychoPage.modelZip().then((z) => ptychoPage.useFiles([new File([z], "model.zip")]))`,
      );
      await page.evaluate("ptychoPage.reconstruct()");
      const again = objectOf(await pageBytes(page, "ptychoPage.reconstructionNpz()"), "again");
      const before = objectOf(pageNpz, "page");
      assert(
        again.data.length === before.data.length &&
          again.data.every((v, i) => v === before.data[i]),
        "the reloaded model.zip reconstructs a different object",
      );
      const first = await page.evaluate<number>("ptychoPage.firstImageMs()");
      console.log(
        `page: train 1 epoch (4 steps) ${trainMs.toFixed(0)} ms, reconstruct ` +
          `${reconMs.toFixed(0)} ms, load to first image ${first.toFixed(0)} ms`,
      );
      assert(page.console.every((l) => !l.startsWith("uncaught")), page.console.join("\n"));

      const { manifest } = decodeModelBundle(modelZip, "page model.zip");
      const fixture = Deno.readFileSync(`${ROOT}fixtures/sim_lines_n32_curved_train.npz`);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", fixture));
      const hex = [...digest].map((x) => x.toString(16).padStart(2, "0")).join("");
      assert(manifest.trainingData.sha256 === hex, "model.zip names another training file");
      Deno.writeFileSync(`${out}/model.zip`, modelZip);
      const infer = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          `${ROOT}cli.ts`,
          "infer",
          "--model_path",
          `${out}/model.zip`,
          "--test_data",
          `${ROOT}fixtures/sim_lines_n32_curved_test.npz`,
          "--output_dir",
          out,
          "--accelerator",
          "cpu",
          "--quiet",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(infer.code === 0, new TextDecoder().decode(infer.stderr));
      const cli = objectOf(Deno.readFileSync(`${out}/reconstruction.npz`), "infer");
      const web = objectOf(pageNpz, "page");
      assert(
        web.shape.join() === cli.shape.join() &&
          web.shape.join() === `${shown.height},${shown.width}`,
        `shapes: page ${web.shape}, infer ${cli.shape}`,
      );
      let maxDiff = 0, maxAbs = 0;
      for (let i = 0; i < cli.data.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(web.data[i] - cli.data[i]));
        maxAbs = Math.max(maxAbs, Math.abs(cli.data[i]));
      }
      console.log(`page vs infer: max |Δ| ${maxDiff.toExponential(2)} of max |object| ${maxAbs}`);
      // WebGPU in the browser against the CPU reference: f32 sums in another order, WGSL trig.
      assert(maxAbs > 0 && maxDiff <= 1e-3 * maxAbs, `page and infer differ by ${maxDiff}`);
    } finally {
      Deno.removeSync(out, { recursive: true });
      await server.shutdown();
    }
  },
);

browserTest("page: without WebGPU it computes on the CPU and says so", async (b) => {
  const server = await serve();
  try {
    const page = await b.open(server.url, "delete Navigator.prototype.gpu;");
    const ready = await page.evaluate<{ backend: string; fallback: string | null }>(
      "ptychoPage.ready",
    );
    assert(ready.backend === "cpu" && ready.fallback !== null, JSON.stringify(ready));
    const notice = await page.evaluate<{ shown: boolean; text: string }>(`(() => {
      const n = document.getElementById("notice");
      return { shown: getComputedStyle(n).display !== "none", text: n.textContent };
    })()`);
    assert(notice.shown && /CPU/.test(notice.text), `notice: ${JSON.stringify(notice)}`);
  } finally {
    await server.shutdown();
  }
});
