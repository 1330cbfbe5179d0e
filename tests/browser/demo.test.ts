/**
 * The demo page (examples/web/, what `npm run demo` serves) in Debian's
 * headless Chromium: Vite's dev server with the demo's own config (so the
 * nnc plugin compiles examples/poisson1d.nn as the page loads), and the
 * page's test hook `window.nncDemo`. On each backend (cpu, wasm, webgpu, webgl2)
 * it trains from the same seed for a few hundred steps on the CPU and 100 on
 * the GPUs (SwiftShader, a software GPU here, runs 3 to 4 steps/s), and the
 * test checks that the loss fell, the prediction moved towards the exact
 * solution and its plot changed, then saves a screenshot to
 * `tests/.tmp/demo/<backend>.png` and checks it is not blank. A second page
 * with `navigator.gpu` hidden shows WebGPU disabled with the runtime's reason.
 *
 * `NNC_DEMO_FIGURE=1` also trains the CPU run to 2000 steps and writes the
 * README's figure, `docs/figures/demo.png`.
 *
 * Needs `npm run build` (the demo's vite.config.ts imports `nnc/vite` from
 * dist/); without Chromium the suite is skipped (failing under CI=true).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { inflateSync } from "node:zlib";
import { createServer, type ViteDevServer } from "vite";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeBrowser, openBrowser, type Browser, type BrowserPage } from "./session.js";

const OUT = resolve("tests/.tmp/demo");
const FIGURE = resolve("docs/figures/demo.png");
const MAKE_FIGURE = process.env["NNC_DEMO_FIGURE"] === "1";

/** Steps per backend: enough for the loss to fall a hundredfold (48 to about 0.25 by step 100). */
const STEPS = { cpu: 300, wasm: 300, webgpu: 100, webgl2: 100 } as const;
type Backend = keyof typeof STEPS;

/** What the page's hook reports (examples/web/main.ts, `DemoHook`). */
interface DemoState {
  backend: string | null;
  adapter: string | null;
  running: boolean;
  steps: number;
  loss: number | null;
  lossHistory: { step: number; loss: number }[];
  prediction: number[] | null;
  error: number | null;
  stepsPerSecond: number;
  averageStepsPerSecond: number;
  message: string | null;
  backends: Record<string, string | null>;
}

async function state(page: BrowserPage): Promise<DemoState> {
  return page.page.evaluate(() => {
    const d = (window as unknown as { nncDemo: DemoState }).nncDemo;
    return {
      backend: d.backend,
      adapter: d.adapter,
      running: d.running,
      steps: d.steps,
      loss: d.loss,
      lossHistory: d.lossHistory,
      prediction: d.prediction,
      error: d.error,
      stepsPerSecond: d.stepsPerSecond,
      averageStepsPerSecond: d.averageStepsPerSecond,
      message: d.message,
      backends: d.backends,
    };
  });
}

/** Calls a method of `window.nncDemo` and waits for it. */
async function call(page: BrowserPage, method: string, ...args: unknown[]): Promise<void> {
  await page.page.evaluate(
    ([m, a]) =>
      (window as unknown as { nncDemo: Record<string, (...x: unknown[]) => Promise<void>> })
        .nncDemo[m]!(...a),
    [method, args] as const,
  );
}

async function openDemo(browser: Browser, url: string, initScript?: string): Promise<BrowserPage> {
  const page = await browser.open(`${url}?autostart=0`, {
    ready: null,
    ...(initScript === undefined ? {} : { initScript }),
  });
  await page.page.waitForFunction(
    () => (window as unknown as { nncDemo?: { ready: boolean } }).nncDemo?.ready === true,
    null,
    { timeout: 120_000 },
  );
  return page;
}

// ------------------------------------------------------------------ PNG

interface Image {
  readonly width: number;
  readonly height: number;
  /** RGBA, 8 bits per channel. */
  readonly rgba: Uint8Array;
}

/** Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's screenshots are). */
function decodePng(png: Buffer): Image {
  expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString("latin1", pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      expect({ depth, interlace }).toEqual({ depth: 8, interlace: 0 });
      expect([2, 6]).toContain(colour);
      channels = colour === 6 ? 4 : 3;
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  expect(raw.length).toBe(height * (stride + 1));
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[row + x - channels]! : 0;
      const b = y > 0 ? px[row - stride + x]! : 0;
      const c = x >= channels && y > 0 ? px[row - stride + x - channels]! : 0;
      let predictor: number;
      switch (filter) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = a;
          break;
        case 2:
          predictor = b;
          break;
        case 3:
          predictor = (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`PNG row ${y}: unknown filter ${filter}`);
      }
      px[row + x] = (raw[src + x]! + predictor) & 255;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba.set(px.subarray(i * channels, i * channels + 3), i * 4);
    rgba[i * 4 + 3] = channels === 4 ? px[i * channels + 3]! : 255;
  }
  return { width, height, rgba };
}

/** Distinct colours, pixels that are not the page's white, and pixels near `rgb` (within 40 per channel). */
function census(img: Image, rgb?: readonly [number, number, number]) {
  const colours = new Set<number>();
  let ink = 0;
  let near = 0;
  for (let i = 0; i < img.width * img.height; i++) {
    const [r, g, b] = [img.rgba[4 * i]!, img.rgba[4 * i + 1]!, img.rgba[4 * i + 2]!];
    colours.add((r << 16) | (g << 8) | b);
    if (r < 245 || g < 245 || b < 245) ink++;
    if (rgb && Math.abs(r - rgb[0]) < 40 && Math.abs(g - rgb[1]) < 40 && Math.abs(b - rgb[2]) < 40)
      near++;
  }
  return { colours: colours.size, ink: ink / (img.width * img.height), near };
}

/** The fraction of pixels that differ between two images of the same size. */
function changed(a: Image, b: Image): number {
  expect([b.width, b.height]).toEqual([a.width, a.height]);
  let n = 0;
  for (let i = 0; i < a.width * a.height; i++) {
    const d =
      Math.abs(a.rgba[4 * i]! - b.rgba[4 * i]!) +
      Math.abs(a.rgba[4 * i + 1]! - b.rgba[4 * i + 1]!) +
      Math.abs(a.rgba[4 * i + 2]! - b.rgba[4 * i + 2]!);
    if (d > 30) n++;
  }
  return n / (a.width * a.height);
}

const PREDICTION_BLUE = [0x25, 0x63, 0xeb] as const;
const LOSS_ORANGE = [0xd9, 0x48, 0x0f] as const;

// ------------------------------------------------------------------ the tests

describeBrowser("the demo page (examples/web) in headless Chromium", () => {
  let server: ViteDevServer | null = null;
  let browser: Browser | null = null;
  let page: BrowserPage | null = null;
  let url = "";

  beforeAll(async () => {
    if (!existsSync(resolve("dist/compiler/vite.js")))
      throw new Error(
        "dist/ has no build of nnc/vite, which the demo's config imports: run `npm run build`",
      );
    mkdirSync(OUT, { recursive: true });
    server = await createServer({
      configFile: resolve("examples/web/vite.config.ts"),
      root: resolve("examples/web"),
      server: { host: "127.0.0.1", port: 0 },
      logLevel: "warn",
      clearScreen: false,
    });
    await server.listen();
    url = server.resolvedUrls?.local[0] ?? "";
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    browser = await openBrowser();
    page = await openDemo(browser, url);
  }, 180_000);

  afterAll(async () => {
    const log = browser?.logs().filter((l) => !/GPU stall due to ReadPixels|\[vite\]/.test(l));
    if (log && log.length > 0)
      console.log(`tests/browser/demo: browser console:\n  ${log.join("\n  ")}`);
    await browser?.close();
    await server?.close();
  });

  it("finds every backend available here (in this Chromium: WebGPU and WebGL2 on SwiftShader)", async () => {
    const s = await state(page!);
    expect(s.backends).toEqual({ webgpu: null, webgl2: null, wasm: null, cpu: null });
    expect(s.message).toBeNull();
  });

  for (const backend of Object.keys(STEPS) as Backend[]) {
    it(`trains on ${backend}: the loss falls, the prediction and its plot change, the page is drawn`, async () => {
      const p = page!;
      const steps = STEPS[backend];
      await call(p, "start", backend, { paused: true });
      const before = await state(p);
      expect(before.backend).toBe(backend);
      expect(before.message).toBeNull();
      expect(before.steps).toBe(0);
      const plotBefore = decodePng(await p.page.locator("#solution").screenshot());

      const t0 = Date.now();
      await call(p, "resume");
      await p.page.waitForFunction(
        (n) => {
          const d = (window as unknown as { nncDemo: DemoState }).nncDemo;
          return d.steps >= n || d.message !== null;
        },
        steps,
        { timeout: 150_000, polling: 250 },
      );
      await call(p, "stop");
      const seconds = (Date.now() - t0) / 1000;
      const after = await state(p);
      expect(after.message).toBeNull();
      expect(after.backend).toBe(backend);
      expect(after.running).toBe(false);
      expect(after.steps).toBeGreaterThanOrEqual(steps);

      const losses = after.lossHistory.map((h) => h.loss);
      expect(losses.every(Number.isFinite)).toBe(true);
      const first = losses[0]!;
      const last = losses[losses.length - 1]!;
      expect(last, `loss at step ${after.steps} against step 1's ${first}`).toBeLessThanOrEqual(
        first / 2,
      );
      // towards sin(pi x): the relative L2 error on the test grid at least halves
      expect(after.error!).toBeLessThan(before.error! / 2);
      const moved = Math.max(
        ...after.prediction!.map((u, i) => Math.abs(u - before.prediction![i]!)),
      );
      expect(moved).toBeGreaterThan(0.1);
      const plotAfter = decodePng(await p.page.locator("#solution").screenshot());
      expect(changed(plotBefore, plotAfter), "the prediction plot changed").toBeGreaterThan(0.005);

      // the status line shows the run
      expect(await p.page.locator("#backend").textContent()).toBe(backend);
      expect(Number(await p.page.locator("#step").textContent())).toBe(after.steps);
      expect(Number(await p.page.locator("#rate").textContent())).toBeGreaterThan(0);

      const shot = await p.page.screenshot({ fullPage: true });
      writeFileSync(join(OUT, `${backend}.png`), shot);
      const img = decodePng(shot);
      const whole = census(img);
      expect(whole.colours, "distinct colours in the screenshot").toBeGreaterThan(64);
      expect(whole.ink, "share of non-white pixels").toBeGreaterThan(0.03);
      expect(census(img, PREDICTION_BLUE).near, "pixels of the prediction curve").toBeGreaterThan(
        200,
      );
      expect(census(img, LOSS_ORANGE).near, "pixels of the loss curve").toBeGreaterThan(100);

      console.log(
        `tests/browser/demo: ${backend}${after.adapter ? ` (${after.adapter})` : ""}: ${after.steps} steps in ${seconds.toFixed(1)} s, ` +
          `${after.averageStepsPerSecond.toFixed(1)} steps/s (last 2 s: ${after.stepsPerSecond.toFixed(1)}); ` +
          `loss ${first.toPrecision(3)} -> ${last.toPrecision(3)}; L2 error ${before.error!.toPrecision(3)} -> ${after.error!.toPrecision(3)}`,
      );
    }, 180_000);
  }

  it.runIf(MAKE_FIGURE)(
    "writes docs/figures/demo.png (NNC_DEMO_FIGURE=1)",
    async () => {
      const p = page!;
      await p.page.setViewportSize({ width: 1100, height: 700 });
      await call(p, "start", "cpu");
      await p.page.waitForFunction(
        () => (window as unknown as { nncDemo: DemoState }).nncDemo.steps >= 2000,
        null,
        { timeout: 150_000, polling: 500 },
      );
      await call(p, "stop");
      // the page down to the plots' captions
      const plots = await p.page.locator(".plots").boundingBox();
      const clip = { x: 0, y: 0, width: 1100, height: Math.ceil(plots!.y + plots!.height + 16) };
      const shot = await p.page.screenshot({ clip });
      writeFileSync(FIGURE, shot);
      expect(census(decodePng(shot)).colours).toBeGreaterThan(64);
    },
    180_000,
  );

  it("shows a backend that cannot run here disabled, with the runtime's reason", async () => {
    // a browser without WebGPU
    const p = await openDemo(
      browser!,
      url,
      "Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });",
    );
    const s = await state(p);
    expect(s.backends["cpu"]).toBeNull();
    expect(s.backends["webgpu"]).toMatch(/navigator\.gpu/);
    const card = p.page.locator('[data-backend="webgpu"]');
    expect(await card.getAttribute("class")).toContain("unavailable");
    expect(await card.locator("input").isDisabled()).toBe(true);
    expect(await card.locator(".why").textContent()).toBe(s.backends["webgpu"]);
    expect(await p.page.locator('[data-backend="cpu"] input').isDisabled()).toBe(false);
    await p.page.close();
  }, 120_000);
});
