/**
 * The shared harness of the browser tests: a small static server on
 * 127.0.0.1 (a secure context, as WebGPU needs), Debian's headless Chromium
 * driven by playwright-core (never a downloaded browser), and the skip rule.
 *
 * Without `/usr/bin/chromium` (or the binary `NNC_CHROMIUM` names) a browser
 * suite is skipped with the reason printed, naming
 * `bash scripts/install-gpu-hosts.sh`; under `CI=true` it is a failing test.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve, sep } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, it } from "vitest";

/** Debian's chromium; `NNC_CHROMIUM` names another binary (or a missing one, to test the skip). */
export const CHROMIUM = process.env["NNC_CHROMIUM"] ?? "/usr/bin/chromium";
export const IN_CI = process.env["CI"] === "true" || process.env["CI"] === "1";
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
export const INSTALL_HINT = "install it with `bash scripts/install-gpu-hosts.sh`";

/** The repository's compiled output (`npm run build`), served under `/dist/`. */
export const DIST = resolve("dist");
/** This folder, served at `/`. */
export const BROWSER_DIR = resolve("tests/browser");

/**
 * `describe(name, body)` when Chromium is installed. Otherwise a suite with
 * one test giving the reason: failing under `CI=true`, skipped elsewhere.
 */
export function describeBrowser(name: string, body: () => void): void {
  if (HAVE_CHROMIUM) {
    describe(name, body);
    return;
  }
  console.warn(
    `tests/browser: ${CHROMIUM} not found: ${IN_CI ? "failing (CI=true)" : `skipping "${name}"`}; ${INSTALL_HINT}`,
  );
  describe(name, () => {
    (IN_CI ? it : it.skip)(`needs ${CHROMIUM}: ${INSTALL_HINT}`, () => {
      throw new Error(`${CHROMIUM} not found (CI=true): ${INSTALL_HINT}`);
    });
  });
}

/** Whether `dist/` holds a build of the runtime (pages import `/dist/runtime/...`). */
export function distBuilt(): boolean {
  return existsSync(join(DIST, "runtime", "module.js"));
}

// ------------------------------------------------------------------ the server

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".ts": "text/plain; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
};

/** A URL prefix (starting and ending with `/`) served from a folder. */
export interface Mount {
  readonly prefix: string;
  readonly dir: string;
}

/** The default mounts: `/dist/` from dist/, and `/` from tests/browser (`/` is `page.html`). */
export const DEFAULT_MOUNTS: readonly Mount[] = [
  { prefix: "/dist/", dir: DIST },
  { prefix: "/", dir: BROWSER_DIR },
];

/** The file a URL path names under the first mount whose prefix matches, or null (never outside it). */
function resolvePath(mounts: readonly Mount[], path: string): string | null {
  for (const m of mounts) {
    if (!path.startsWith(m.prefix)) continue;
    const rest = path.slice(m.prefix.length) || (m.prefix === "/" ? "page.html" : "");
    const root = resolve(m.dir);
    const file = normalize(join(root, rest));
    if (!file.startsWith(root + sep)) return null;
    return file;
  }
  return null;
}

/** A static file server on 127.0.0.1 and an ephemeral port; the longest matching prefix wins. */
export function serve(mounts: readonly Mount[] = DEFAULT_MOUNTS): Promise<Server> {
  const ordered = [...mounts].sort((a, b) => b.prefix.length - a.prefix.length);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    if (path === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    const file = resolvePath(ordered, path);
    if (file === null || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${path}`);
      return;
    }
    res
      .writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
      })
      .end(readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok(server));
  });
}

/** `http://127.0.0.1:<port>` of a listening server. */
export function origin(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function closeServer(server: Server | null): Promise<void> {
  return new Promise((ok) => (server ? server.close(() => ok()) : ok()));
}

// ------------------------------------------------------------------ the browser

/** One open page. */
export interface BrowserPage {
  readonly page: Page;
  /** Console messages and page errors, in order. */
  readonly log: string[];
  /** Calls `window[fn](arg)` in the page and returns its (awaited) result. */
  evaluate<T>(fn: string, arg?: unknown): Promise<T>;
}

export interface PageOptions {
  /** Script run in the page before any of its own (to hide an API, say). */
  readonly initScript?: string;
  /** Wait until the page sets `window[ready] = true` (default `"nncReady"`; null: do not wait). */
  readonly ready?: string | null;
}

/** Headless Chromium with one persistent context and a fresh profile. */
export interface Browser {
  readonly context: BrowserContext;
  /** Opens `url` in a new page. */
  open(url: string, options?: PageOptions): Promise<BrowserPage>;
  /** Every page's log, for printing after a suite. */
  logs(): string[];
  close(): Promise<void>;
}

/** The flags every test browser gets (`--enable-unsafe-webgpu`: WebGPU on Linux). */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless",
  "--enable-unsafe-webgpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export async function openBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  const userDataDir = mkdtempSync(join(tmpdir(), "nnc-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
  const pages: BrowserPage[] = [];
  let first: Page | undefined = context.pages()[0];
  return {
    context,
    async open(url: string, options: PageOptions = {}): Promise<BrowserPage> {
      const page = first ?? (await context.newPage());
      first = undefined;
      const log: string[] = [];
      page.on("console", (m) => log.push(`[${m.type()}] ${m.text()}`));
      page.on("pageerror", (e) => log.push(`[pageerror] ${e.message}`));
      if (options.initScript !== undefined) await page.addInitScript(options.initScript);
      await page.goto(url);
      const ready = options.ready === undefined ? "nncReady" : options.ready;
      if (ready !== null)
        await page.waitForFunction(
          (name) => (globalThis as Record<string, unknown>)[name] === true,
          ready,
          { timeout: 30_000 },
        );
      const handle: BrowserPage = {
        page,
        log,
        evaluate: <T>(fn: string, arg?: unknown) =>
          page.evaluate(
            ([name, a]) => (globalThis as unknown as Record<string, (x: unknown) => T>)[name]!(a),
            [fn, arg] as const,
          ) as Promise<T>,
      };
      pages.push(handle);
      return handle;
    },
    logs: () => pages.flatMap((p) => p.log),
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** What {@link openSuitePage} opened. */
export interface SuitePage {
  readonly server: Server;
  readonly browser: Browser;
  readonly page: BrowserPage;
}

/**
 * For the tests of the enclosing `describe`: serves this folder, starts
 * Chromium and opens `page` before them; prints the browser console (if
 * anything was logged) and closes both after them. `needs` is the file of
 * `dist/` the page imports: without it the suite fails saying to run
 * `npm run build`. Returns a getter valid inside the tests.
 */
export function openSuitePage(page: string, needs: string): () => SuitePage {
  let opened: SuitePage | null = null;
  let server: Server | null = null;
  let browser: Browser | null = null;
  beforeAll(async () => {
    if (!existsSync(join(DIST, needs)))
      throw new Error(`dist/${needs} is missing: run \`npm run build\` before the browser tests`);
    server = await serve();
    browser = await openBrowser();
    opened = { server, browser, page: await browser.open(`${origin(server)}/${page}`) };
  }, 120_000);
  afterAll(async () => {
    const log = browser?.logs() ?? [];
    if (log.length > 0) console.log(`browser console:\n  ${log.join("\n  ")}`);
    await browser?.close();
    await closeServer(server);
  });
  return () => {
    if (opened === null) throw new Error(`${page} is not open (its beforeAll failed)`);
    return opened;
  };
}
