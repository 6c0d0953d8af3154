/** A one-line progress bar with loss and ETA for a terminal (stderr), redrawn in place. */

/** Formats seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(h > 0 ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Progress of one epoch; draws nothing when disabled. */
export class ProgressBar {
  readonly #start = performance.now();
  readonly #encoder = new TextEncoder();
  #drawn = false;

  /** `total` steps; `label` leads the line ("epoch 3/10"). */
  constructor(
    readonly total: number,
    readonly label: string,
    readonly enabled: boolean,
    readonly width = 24,
  ) {}

  /** Redraw after `done` steps; `loss` is the latest value read back (if any). */
  update(done: number, loss: number | null): void {
    if (!this.enabled) return;
    const frac = Math.min(1, done / this.total);
    const filled = Math.round(frac * this.width);
    const bar = "=".repeat(filled) + (filled < this.width ? ">" : "") +
      " ".repeat(Math.max(0, this.width - filled - 1));
    const elapsed = (performance.now() - this.#start) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : NaN;
    const lossText = loss === null ? "" : ` loss ${loss.toPrecision(5)}`;
    const line = `\r${this.label} [${bar}] ${done}/${this.total}${lossText} ETA ${
      formatDuration(eta)
    }\x1b[K`;
    Deno.stderr.writeSync(this.#encoder.encode(line));
    this.#drawn = true;
  }

  /** Clear the line (before the epoch summary is printed). */
  finish(): void {
    if (this.enabled && this.#drawn) Deno.stderr.writeSync(this.#encoder.encode("\r\x1b[K"));
  }
}
