/**
 * `deno task web [--port P]`: bundles the page (web/app.ts → web/dist/app.js, `deno bundle
 * --platform browser`) and serves it with the demo scans on http://127.0.0.1:P/ (default 8080;
 * 0 picks a free port). Only localhost: the page fetches nothing from elsewhere.
 */
const ROOT = new URL("..", import.meta.url);

/** Demo files the page fetches, by URL path. */
const DEMO_FILES = [
  "fixtures/sim_lines_n32_curved_train.npz",
  "fixtures/sim_lines_n32_curved_test.npz",
];

/**
 * Bundles `entry` (relative to the repository root) for the browser into `out`, minified;
 * returns its size in bytes.
 */
export async function bundleForBrowser(entry: string, out: string): Promise<number> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--minify",
      "--platform",
      "browser",
      "-o",
      out,
      new URL(entry, ROOT).pathname,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`deno bundle ${entry} failed:\n${new TextDecoder().decode(stderr)}`);
  }
  return Deno.statSync(out).size;
}

/** A running page server. */
export interface PageServer {
  /** The page's address, `http://127.0.0.1:PORT/`. */
  url: string;
  /** Stops serving. */
  shutdown(): Promise<void>;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  npz: "application/octet-stream",
};

/**
 * Serves the page on 127.0.0.1:`port`: `/` is web/index.html, `/app.js` the bundle at `appJs`,
 * the demo scans under `/fixtures/`, and each of `extra` (URL path → file) as given.
 */
export function servePage(
  port: number,
  appJs: string,
  extra: Record<string, string> = {},
): PageServer {
  const files: Record<string, string> = {
    "/": new URL("web/index.html", ROOT).pathname,
    "/app.js": appJs,
    ...Object.fromEntries(DEMO_FILES.map((f) => [`/${f}`, new URL(f, ROOT).pathname])),
    ...extra,
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const path = files[new URL(req.url).pathname];
    if (path === undefined) return new Response("not found", { status: 404 });
    const type = TYPES[path.split(".").pop()!] ?? "application/octet-stream";
    return new Response(await Deno.readFile(path), { headers: { "content-type": type } });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, shutdown: () => server.shutdown() };
}

function portFlag(args: string[]): number {
  const i = args.findIndex((a) => a === "--port" || a.startsWith("--port="));
  if (i < 0) return 8080;
  const text = args[i].includes("=") ? args[i].split("=")[1] : args[i + 1];
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`web: --port must be an integer in [0, 65535], got '${text}'`);
    Deno.exit(2);
  }
  return port;
}

if (import.meta.main) {
  const port = portFlag(Deno.args);
  const out = new URL("web/dist/app.js", ROOT).pathname;
  Deno.mkdirSync(new URL("web/dist", ROOT), { recursive: true });
  const size = await bundleForBrowser("web/app.ts", out);
  const { url } = servePage(port, out);
  console.log(
    `web: bundled web/app.ts (${(size / 1024).toFixed(0)} KiB); serving ${url} (Ctrl-C stops)`,
  );
}
