/**
 * Headless Chromium over the DevTools protocol (a WebSocket, no dependency): launch the system
 * browser with WebGPU enabled, open a page, evaluate expressions in it, collect its console.
 * `browserTest` registers a test that skips with a printed reason when no Chromium is installed,
 * or fails then when PTYCHO_REQUIRE_BROWSER=1 (CI).
 */

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** The Chromium to drive: $PTYCHO_CHROMIUM, else the first system one found, else null. */
export function findChromium(): string | null {
  const env = Deno.env.get("PTYCHO_CHROMIUM");
  for (const path of env ? [env] : CANDIDATES) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not installed there
    }
  }
  return null;
}

const chromium = findChromium();
const required = Deno.env.get("PTYCHO_REQUIRE_BROWSER") === "1";
if (chromium === null && !required) {
  console.log(
    "no Chromium (apt-get install chromium): browser tests skipped " +
      "(set PTYCHO_REQUIRE_BROWSER=1 to fail)",
  );
}

/** Registers a test that gets a launched browser (skipped without Chromium, see above). */
export function browserTest(name: string, fn: (browser: Browser) => Promise<void>): void {
  Deno.test({
    name: `browser: ${name}`,
    ignore: chromium === null && !required,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      if (chromium === null) throw new Error("PTYCHO_REQUIRE_BROWSER=1 but no Chromium was found");
      const browser = await Browser.launch(chromium);
      try {
        await fn(browser);
      } finally {
        await browser.close();
      }
    },
  });
}

type Message = {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  sessionId?: string;
};

/** One Chromium process and its DevTools connection. */
export class Browser {
  #nextId = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #listeners: ((m: Message) => void)[] = [];

  private constructor(
    private proc: Deno.ChildProcess,
    private ws: WebSocket,
    private profile: string,
  ) {
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data as string);
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`DevTools: ${msg.error.message}`));
        else p?.resolve(msg.result);
      } else {
        for (const l of this.#listeners) l(msg);
      }
    };
  }

  /** Starts headless Chromium with WebGPU (SwiftShader where there is no GPU). */
  static async launch(path: string): Promise<Browser> {
    const profile = Deno.makeTempDirSync({ prefix: "ptycho-chromium-" });
    const proc = new Deno.Command(path, {
      args: [
        "--headless=new",
        "--no-sandbox",
        "--enable-unsafe-webgpu",
        "--disable-gpu-sandbox",
        "--no-first-run",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const wsUrl = await devToolsUrl(proc.stderr);
    const ws = new WebSocket(wsUrl);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`cannot connect to ${wsUrl}`));
    });
    return new Browser(proc, ws, profile);
  }

  /** Sends a DevTools command (to a page when `sessionId` is given); results are untyped JSON. */
  // deno-lint-ignore no-explicit-any
  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<any> {
    const id = this.#nextId++;
    this.ws.send(JSON.stringify({ id, method, params, sessionId }));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  /** Opens `url` in a new tab and waits for its load event; `before` runs ahead of its scripts. */
  async open(url: string, before?: string): Promise<Page> {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
    const page = new Page(this, sessionId);
    this.#listeners.push((m) => page.receive(m));
    await this.send("Runtime.enable", {}, sessionId);
    await this.send("Page.enable", {}, sessionId);
    if (before !== undefined) {
      await this.send("Page.addScriptToEvaluateOnNewDocument", { source: before }, sessionId);
    }
    const loaded = page.waitFor("Page.loadEventFired");
    await this.send("Page.navigate", { url }, sessionId);
    await loaded;
    return page;
  }

  /** Closes the browser and removes its profile. */
  async close(): Promise<void> {
    this.ws.close();
    try {
      this.proc.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.proc.status;
    // Helper processes may still be writing into the profile for a moment after the main one.
    for (let attempt = 0;; attempt++) {
      try {
        Deno.removeSync(this.profile, { recursive: true });
        return;
      } catch (e) {
        if (attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

/** A tab: evaluate expressions, read its console. */
export class Page {
  /** Console lines and uncaught exceptions, in order. */
  readonly console: string[] = [];
  #waiters: { method: string; resolve: () => void }[] = [];

  constructor(private browser: Browser, private sessionId: string) {}

  /** Handles an event of this tab. */
  receive(m: Message): void {
    if (m.sessionId !== this.sessionId) return;
    if (m.method === "Runtime.consoleAPICalled") {
      const args = (m.params!.args as { value?: unknown; description?: string }[]) ?? [];
      this.console.push(args.map((a) => a.value ?? a.description).join(" "));
    } else if (m.method === "Runtime.exceptionThrown") {
      const d = m.params!.exceptionDetails as {
        exception?: { description?: string };
        text: string;
      };
      this.console.push(`uncaught: ${d.exception?.description ?? d.text}`);
    }
    this.#waiters = this.#waiters.filter((w) => {
      if (w.method !== m.method) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves at the next event `method`. */
  waitFor(method: string): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ method, resolve }));
  }

  /** Evaluates `expression` (awaiting a promise) and returns its JSON value; throws its error. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.browser.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    }, this.sessionId);
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new Error(`in the page: ${d.exception?.description ?? d.text}`);
    }
    return r.result.value as T;
  }
}

/** Reads Chromium's stderr until it prints its DevTools address. */
async function devToolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Chromium exited before DevTools listened:\n${text}`);
    text += value;
    const m = text.match(/DevTools listening on (ws:\/\/\S+)/);
    if (m) {
      // Keep draining stderr so the browser never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done);
      })();
      return m[1];
    }
  }
}
