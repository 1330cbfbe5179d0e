/**
 * The generated module in a real browser: examples are compiled with the
 * compiler library API to `tests/.tmp/browser/out/`, served with a small page
 * (`page.html`, `page.js`) from 127.0.0.1 (see session.ts), and Debian's
 * headless Chromium imports the module, creates it on the backend under test
 * and runs its functions. The results must match the same functions run on
 * the CPU backend in this Node process.
 *
 * The `cpu` case checks the harness itself (and that the generated module and
 * its runtime load in a browser: no Node built-in may be imported at top
 * level). The `webgpu` case runs once the runtime copied into the output has a
 * WebGPU backend, and the `webgl2` case once the compiled modules carry GLSL
 * kernels; until then each is skipped with the reason printed.
 *
 * Without `/usr/bin/chromium` the file is skipped (install it with
 * `bash scripts/install-gpu-hosts.sh`); under `CI=true` that is a failure.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { renderDiagnostics } from "../../compiler/diagnostics/render.js";
import { compile } from "../../compiler/pipeline.js";
import {
  BROWSER_DIR,
  closeServer,
  describeBrowser,
  openBrowser,
  origin,
  serve,
  type Browser,
  type BrowserPage,
} from "./session.js";

const TMP = resolve("tests/.tmp/browser");
const OUT = join(TMP, "out");

/** Relative tolerance: max |a - b| over the tensor, divided by max |reference|. */
const RTOL = 1e-4;

type Arg = number[][] | { i32: number[] };
/**
 * One call, or a read of every parameter; `rtol` overrides {@link RTOL} where a value goes through
 * a second derivative: the CPU backend's kernels compute in f64 and round on store, a GPU computes
 * in f32 throughout, and the PINN residual cancels (measured 1.5e-4 on the loss, SwiftShader).
 */
type Call = ({ method: string; args: Arg[] } | { parameters: true }) & { rtol?: number };

interface Plain {
  dtype: string;
  shape: number[];
  data: number[];
}
type Result = Plain | Record<string, Plain>;

interface RunReply {
  backend?: string;
  results?: Result[];
  error?: string;
}

interface Job {
  /** Example file, compiled to `out/<name>/<name>.js`. */
  file: string;
  cls: string;
  seed: number;
  calls: Call[];
}

/** Five points in the plane and their labels (spirals are 3 classes). */
const POINTS = [
  [0.5, -1.25],
  [1.5, 0.75],
  [-2, 0.25],
  [0, 0],
  [-0.625, -1.5],
];
const LABELS = { i32: [0, 1, 2, 1, 0] };
/**
 * Collocation points in [-1, 1], deliberately not symmetric about 0: with symmetric points the
 * bias gradients of the (odd) network vanish exactly, and Adam's first step turns rounding noise
 * in them into updates of ±lr, which differ between backends.
 */
const XS = Array.from({ length: 16 }, (_, k) => [-1 + (2 * k + 0.7) / 16]);
const XB = [[-1], [1]];
const XS01 = Array.from({ length: 16 }, (_, k) => [(k + 0.35) / 16]);

const JOBS: Record<string, Job> = {
  mlp: {
    file: "examples/mlp.nn",
    cls: "Classifier",
    seed: 3,
    calls: [
      { method: "logits", args: [POINTS] },
      { method: "xent", args: [POINTS, LABELS] },
      { method: "step", args: [POINTS, LABELS] },
      { parameters: true },
    ],
  },
  poisson1d: {
    file: "examples/poisson1d.nn",
    cls: "Poisson",
    seed: 5,
    calls: [
      { method: "u", args: [XS] },
      { method: "pinn", args: [XS, XB], rtol: 1e-3 },
      { method: "step", args: [XS, XB], rtol: 1e-3 },
      // Adam's first step is lr * g / (|g| + eps) per entry: entries whose gradient is near
      // rounding level move by anything up to ±lr, so parameters after it only agree roughly
      { parameters: true, rtol: 1e-2 },
    ],
  },
  // the benchmark's PINN with plain SGD: parameters after a step are linear in the gradient
  pinn: {
    file: "bench/programs/pinn.nn",
    cls: "Pinn",
    seed: 2,
    calls: [
      { method: "pinn", args: [XS01], rtol: 1e-3 },
      { method: "step", args: [XS01], rtol: 1e-3 },
      { parameters: true, rtol: 1e-4 },
    ],
  },
};

const stem = (file: string) => file.replace(/^.*\//, "").replace(/\.nn$/, "");
const moduleUrl = (job: Job) => `/out/${stem(job.file)}/${stem(job.file)}.js`;

async function build(job: Job): Promise<void> {
  const r = await compile(job.file);
  if (!r.ok || !r.files)
    throw new Error(
      `${job.file} does not compile:\n${renderDiagnostics(r.diagnostics, (p) => r.sources.get(p))}`,
    );
  const dir = join(OUT, stem(job.file));
  rmSync(dir, { recursive: true, force: true });
  for (const f of r.files) {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    await writeFile(path, f.contents);
  }
}

/** Does the runtime copied beside the compiled module have a WebGPU backend? */
function runtimeHasWebgpu(): boolean {
  const dir = join(OUT, "mlp", "nnc-runtime");
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(d, e.name)) : [e.name],
    );
  return existsSync(dir) && walk(dir).some((n) => /webgpu/i.test(n) && n.endsWith(".js"));
}

/** Runs a job on the CPU backend in this process: the reference. */
async function runInNode(job: Job): Promise<Result[]> {
  const url = pathToFileURL(join(OUT, stem(job.file), `${stem(job.file)}.js`)).href;
  const mod = (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
  interface Mod {
    parameters():
      | Record<string, { dtype: string; shape: readonly number[]; data: ArrayLike<number> }>
      | Promise<
          Record<string, { dtype: string; shape: readonly number[]; data: ArrayLike<number> }>
        >;
    dispose(): void;
    [method: string]: unknown;
  }
  const cls = mod[job.cls] as { create(o: object): Promise<Mod> };
  const m = await cls.create({ backend: "cpu", seed: job.seed });
  const plain = (t: { dtype: string; shape: readonly number[]; data: ArrayLike<number> }) => ({
    dtype: t.dtype,
    shape: [...t.shape],
    data: Array.from(t.data),
  });
  const decode = (a: Arg) => ("i32" in a ? Int32Array.from(a.i32) : a);
  const out: Result[] = [];
  try {
    for (const c of job.calls) {
      if ("parameters" in c) {
        out.push(
          Object.fromEntries(Object.entries(await m.parameters()).map(([k, t]) => [k, plain(t)])),
        );
      } else {
        const fn = m[c.method] as (...a: unknown[]) => Promise<Plain>;
        out.push(plain(await fn.apply(m, c.args.map(decode))));
      }
    }
  } finally {
    m.dispose();
  }
  return out;
}

/**
 * Largest |a - b| relative to the largest |b| over one tensor, or to `scale` when given (for
 * parameters: the largest parameter of the model, so a zero-initialized bias after one Adam step,
 * which holds only the tiny update, is not judged against itself).
 */
function relErr(a: Plain, b: Plain, scale = 0): number {
  expect(a.shape).toEqual(b.shape);
  expect(a.dtype).toBe(b.dtype);
  let diff = 0;
  let own = 0;
  for (let k = 0; k < b.data.length; k++) {
    diff = Math.max(diff, Math.abs(a.data[k]! - b.data[k]!));
    own = Math.max(own, Math.abs(b.data[k]!));
  }
  const s = scale || own;
  return s === 0 ? diff : diff / s;
}

const maxAbs = (ps: Record<string, Plain>) =>
  Math.max(0, ...Object.values(ps).flatMap((p) => p.data.map(Math.abs)));

function compare(got: Result[], want: Result[], calls: Call[]): void {
  expect(got.length).toBe(want.length);
  calls.forEach((c, k) => {
    const g = got[k]!;
    const w = want[k]!;
    if ("parameters" in c) {
      const gp = g as Record<string, Plain>;
      const wp = w as Record<string, Plain>;
      expect(Object.keys(gp).sort()).toEqual(Object.keys(wp).sort());
      const scale = maxAbs(wp);
      const worst = Math.max(...Object.keys(wp).map((path) => relErr(gp[path]!, wp[path]!, scale)));
      if (worst > 1e-5)
        console.log(
          `tests/browser: parameters: largest relative difference ${worst.toExponential(2)}`,
        );
      for (const path of Object.keys(wp))
        expect(
          relErr(gp[path]!, wp[path]!, scale),
          `parameter ${path} after the calls`,
        ).toBeLessThan(c.rtol ?? RTOL);
    } else {
      const err = relErr(g as Plain, w as Plain);
      if (err > 1e-5)
        console.log(`tests/browser: ${c.method}: relative difference ${err.toExponential(2)}`);
      expect(err, `${c.method}`).toBeLessThan(c.rtol ?? RTOL);
    }
  });
}

// ------------------------------------------------------------------ the tests

/** Does the compiled module carry GLSL kernels for WebGL2? */
function moduleHasGlsl(): boolean {
  const file = join(OUT, "mlp", "mlp.js");
  return existsSync(file) && readFileSync(file, "utf8").includes("$glslKernels");
}

describeBrowser("generated modules in headless Chromium", () => {
  let server: Server | null = null;
  let browser: Browser | null = null;
  let page: BrowserPage | null = null;
  const reference: Record<string, Result[]> = {};

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    for (const [name, job] of Object.entries(JOBS)) {
      await build(job);
      reference[name] = await runInNode(job);
    }
    server = await serve([
      { prefix: "/out/", dir: OUT },
      { prefix: "/", dir: BROWSER_DIR },
    ]);
    browser = await openBrowser();
    page = await browser.open(`${origin(server)}/`);
  }, 300_000);

  afterAll(async () => {
    const log = browser?.logs() ?? [];
    if (log.length > 0) console.log(`browser console:\n  ${log.join("\n  ")}`);
    await browser?.close();
    await closeServer(server);
  });

  it("reports the browser's WebGPU adapter", async () => {
    const info = await page!.evaluate<Record<string, unknown>>("nncAdapter");
    console.log(`tests/browser: Chromium WebGPU adapter: ${JSON.stringify(info)}`);
    expect(info["secure"]).toBe(true);
    expect(info["error"], "WebGPU adapter in headless Chromium").toBeUndefined();
  });

  for (const backend of ["cpu", "webgpu", "webgl2"] as const) {
    for (const [name, job] of Object.entries(JOBS)) {
      it(`${name} on ${backend} in the browser matches the CPU backend in Node`, async (ctx) => {
        const why =
          backend === "webgpu" && !runtimeHasWebgpu()
            ? "the runtime copied into the compiled module has no WebGPU backend yet"
            : backend === "webgl2" && !moduleHasGlsl()
              ? "the compiled module carries no GLSL kernels yet"
              : null;
        if (why !== null) {
          console.log(`tests/browser: ${name} on ${backend} skipped: ${why}`);
          ctx.skip(why);
        }
        const reply = await page!.evaluate<RunReply>("nncRun", {
          module: moduleUrl(job),
          cls: job.cls,
          backend,
          seed: job.seed,
          calls: job.calls,
        });
        expect(reply.error, `${name} on ${backend} in the browser`).toBeUndefined();
        expect(reply.backend).toBe(backend);
        compare(reply.results!, reference[name]!, job.calls);
      }, 180_000);
    }
  }
});
