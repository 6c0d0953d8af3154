/** The training step bench/browser.ts times on both sides: the page's demo network. */
import type { TrainBenchOptions } from "./train_setup.ts";

/** N = 32, gridsize 1, n_filters_scale 1, batch 16 (what web/ trains on the demo scan). */
export const BROWSER_BENCH_STEP: TrainBenchOptions = {
  config: { n: 32, gridsize: 1, nFiltersScale: 1 },
  batchSize: 16,
  warmupSteps: 2,
  steps: 5,
};
