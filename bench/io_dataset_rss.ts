/**
 * Peak memory of loadDataset on a large file (docs/physics.md#data-contract: about 2× the
 * decompressed size of the arrays used, at most). Not a test: run by hand.
 *
 * Make a ~1.1 GB dataset (M = 16384 patterns of 128×128 f32) outside the repository:
 *   /usr/bin/python3 -c "import numpy as np; M,N=16384,128; r=np.random.default_rng(0);
 *     d=np.sqrt(r.poisson(3.0,(M,N,N)).astype('f4')); c=r.uniform(64,900,(2,M));
 *     p=np.ones((N,N),'c8'); np.savez('/tmp/big.npz', diffraction=d, probeGuess=p,
 *     xcoords=c[0], ycoords=c[1]); np.savez_compressed('/tmp/big_c.npz', diffraction=d,
 *     probeGuess=p, xcoords=c[0], ycoords=c[1])"
 * Then:
 *   deno run -A bench/io_dataset_rss.ts /tmp/big.npz
 *   deno run -A bench/io_dataset_rss.ts /tmp/big_c.npz
 * It prints the decompressed size of the arrays used, the time, and the process's peak RSS
 * (VmHWM from /proc/self/status, Linux; reading /proc needs -A).
 */
import { loadDataset } from "../io/dataset.ts";

const path = Deno.args[0];
if (!path) throw new Error("usage: io_dataset_rss.ts DATASET.npz");
const peakRss = () =>
  Number(/VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))![1]) * 1024;
const before = peakRss();
const start = performance.now();
const dataset = loadDataset(path);
const seconds = (performance.now() - start) / 1000;
const used = dataset.diffraction.byteLength + dataset.probe.byteLength +
  4 * 8 * dataset.patternCount;
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(3)} GiB`;
console.log(`${path}: ${dataset.patternCount} patterns of ${dataset.n}×${dataset.n}`);
console.log(`arrays used: ${gib(used)}; load ${seconds.toFixed(1)} s`);
console.log(
  `peak RSS: ${gib(peakRss())} (before loading ${gib(before)}); ratio ${
    (peakRss() / used).toFixed(2)
  }×`,
);
