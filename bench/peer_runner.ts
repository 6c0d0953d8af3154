/**
 * The PyTorch peer (`bench/peer/pytorch_ptychopinn.py`) as a long-lived child process: started
 * once with `--serve`, it keeps its threads, models and warm-up between requests, so the bench can
 * interleave one of our measurements with one of the peer's (ours, peer, ours, peer …).
 *
 * Protocol: one JSON request per stdin line ({"measure": name, "repeats": r}), one JSON answer
 * per stdout line ({"measure", "result"} or {"measure", "error"}); the first line says ready.
 */

/** The interpreter the bench may run (deno.json grants --allow-run for it). */
export const PYTHON = "/usr/bin/python3";

/** Absolute path of the peer script. */
export const PEER_SCRIPT = new URL("./peer/pytorch_ptychopinn.py", import.meta.url).pathname;

/** A figure as the peer reports it: median, range and every value, in `unit`. */
export interface PeerFigure {
  /** Median over the repeats. */
  median: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
  /** Every value, in order. */
  values: number[];
  /** "groups/s", "patterns/s" or "s". */
  unit: string;
  /** Anything else the peer reports (shape, steps, parameter count …). */
  [detail: string]: unknown;
}

/** Splits a byte stream into text lines. */
class LineReader {
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next line, or null at the end of the stream. */
  async next(): Promise<string | null> {
    while (!this.#buffer.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) {
        const rest = this.#buffer;
        this.#buffer = "";
        return rest.length > 0 ? rest : null;
      }
      this.#buffer += value;
    }
    const at = this.#buffer.indexOf("\n");
    const line = this.#buffer.slice(0, at);
    this.#buffer = this.#buffer.slice(at + 1);
    return line;
  }

  /** Stop reading. */
  async cancel(): Promise<void> {
    await this.#reader.cancel();
  }
}

/** The running peer. Start with {@link PeerServer.start}; close when done. */
export class PeerServer {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: LineReader;
  readonly #stderr: Promise<string>;

  /** What the peer reported about itself: torch, numpy and python versions, threads, load. */
  readonly environment: Record<string, unknown>;

  private constructor(
    child: Deno.ChildProcess,
    lines: LineReader,
    stderr: Promise<string>,
    environment: Record<string, unknown>,
  ) {
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#lines = lines;
    this.#stderr = stderr;
    this.environment = environment;
  }

  /**
   * Starts the peer; returns it, or a one-line reason when it cannot run here (no
   * /usr/bin/python3, no torch, a failed parameter-count assertion …).
   */
  static async start(): Promise<PeerServer | string> {
    try {
      Deno.statSync(PYTHON);
    } catch {
      return `${PYTHON} not found`;
    }
    const child = new Deno.Command(PYTHON, {
      args: [PEER_SCRIPT, "--serve"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const lines = new LineReader(child.stdout);
    const first = await lines.next();
    const hello = first === null ? null : JSON.parse(first);
    if (hello?.ready !== true) {
      await child.status;
      const err = (await stderr).trim().split("\n").pop() ?? "";
      return `the peer did not start: ${err || "no output"}`;
    }
    return new PeerServer(child, lines, stderr, hello.environment);
  }

  /** One named figure (see the script's --measure) over `repeats` repeats. */
  async measure(name: string, repeats = 1, steps?: number): Promise<PeerFigure> {
    const request = JSON.stringify({ measure: name, repeats, steps }) + "\n";
    await this.#stdin.write(new TextEncoder().encode(request));
    const line = await this.#lines.next();
    if (line === null) {
      const err = (await this.#stderr).trim().split("\n").pop() ?? "";
      throw new Error(`the peer exited during '${name}': ${err}`);
    }
    const answer = JSON.parse(line);
    if (answer.error !== undefined) throw new Error(`peer '${name}': ${answer.error}`);
    return answer.result as PeerFigure;
  }

  /** The golden check: per fixture, relative errors and pass/fail (or "skipped"). */
  async golden(): Promise<Record<string, unknown>> {
    return (await this.measure("golden")) as unknown as Record<string, unknown>;
  }

  /** Ends the peer (closing its stdin ends its request loop) and waits for it. */
  async close(): Promise<void> {
    await this.#stdin.close();
    await this.#lines.cancel();
    await this.#child.status;
    await this.#stderr;
  }
}

/** The peer's train smoke: 1 epoch of 16 groups, gridsize 2, batch 16, on `data`. */
export function peerTrainArgv(data: string, outDir: string): string[] {
  return [
    PYTHON,
    PEER_SCRIPT,
    "train",
    "--data",
    data,
    "--out",
    outDir,
    "--n-groups",
    "16",
    "--epochs",
    "1",
    "--gridsize",
    "2",
    "--batch-size",
    "16",
  ];
}

/** The peer's inference smoke: the first 16 patterns of `data` with the model in `modelDir`. */
export function peerInferArgv(data: string, modelDir: string, outDir: string): string[] {
  return [
    PYTHON,
    PEER_SCRIPT,
    "infer",
    "--model",
    modelDir,
    "--data",
    data,
    "--out",
    outDir,
    "--n-images",
    "16",
  ];
}
