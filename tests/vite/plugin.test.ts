/**
 * The Vite plugin (`nnc/vite`, compiler/vite.ts) through Vite's own API:
 * `build()` of a small app whose bundle then runs on the CPU backend in this
 * process; diagnostics as Vite errors (build and dev server) with the source
 * location and nnc's rendering; the dev server recompiling a program when a
 * module it uses changes (also after a failed compile) and sending the hot
 * update to the importer; declarations written beside the file; and the
 * package export `nnc/vite` from plain Node.
 *
 * Every app lives in a fresh folder under tests/.tmp/vite/.
 */
import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  build,
  createLogger,
  createServer,
  type HotPayload,
  type InlineConfig,
  type Logger,
  type ViteDevServer,
} from "vite";
import { afterEach, describe, expect, it } from "vitest";
import { loadInProcess } from "../../compiler/codegen/inprocess.js";
import { location } from "../../compiler/diagnostics/render.js";
import { compile } from "../../compiler/pipeline.js";
import nnc, { type NncPluginOptions } from "../../compiler/vite.js";

const TMP = resolve("tests/.tmp/vite");

const HELPER = "// used by model.nn\nfn scaled(x) = 3.0 * x\n";

/** A model that reads the standard library and a module of its own folder. */
const MODEL = `use std.nn.{dense}
use helper.{scaled}

model Lin {
  l = dense(2, 1)
  param k: f32[2] = [1.0, -1.0]
  fn f(x: f32[N, 2]) -> f32[N, 2] = scaled(x * k)
  fn g(x: f32[N, 2]) -> f32[N, 1] = l(x)
}
`;

/** \`dense(2, 3)\` applied to rows of 3: a shape error on line 5. */
const BAD = `use std.nn.{dense}

model Bad {
  l = dense(2, 3)
  fn f(x: f32[B, 3]) -> f32[B, 3] = l(x)
}
`;

/** A fresh app folder with the given files. */
function app(files: Record<string, string>): string {
  mkdirSync(TMP, { recursive: true });
  const dir = mkdtempSync(join(TMP, "app-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** A logger that keeps warnings and errors instead of printing them. */
function quietLogger(): Logger & { warnings: string[] } {
  const base = createLogger("warn", { allowClearScreen: false });
  const warnings: string[] = [];
  return {
    ...base,
    warnings,
    warn: (msg) => void warnings.push(msg),
    warnOnce: (msg) => void warnings.push(msg),
    error: () => {},
    info: () => {},
  };
}

function config(root: string, options: NncPluginOptions = {}): InlineConfig {
  return {
    root,
    configFile: false,
    logLevel: "warn",
    customLogger: quietLogger(),
    plugins: [nnc(options)],
  };
}

/** The first error diagnostic nnc itself reports for a file, and where. */
async function firstError(file: string): Promise<{ where: string; message: string }> {
  const r = await compile(file);
  const d = r.diagnostics.find((x) => x.severity === "error");
  if (!r.ok && d !== undefined) return { where: location(d.span), message: d.message };
  throw new Error(`${file} was expected not to compile`);
}

const servers: ViteDevServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function devServer(root: string, options: NncPluginOptions = {}): Promise<ViteDevServer> {
  const server = await createServer({
    ...config(root, options),
    server: { middlewareMode: true, ws: false },
  });
  servers.push(server);
  return server;
}

/** Polls `probe` until it returns a value other than undefined (file watching is asynchronous). */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

/** An importer of model.nn that accepts its hot updates. */
const ACCEPTING_MAIN = [
  'import { Lin } from "./model.nn";',
  'import.meta.hot?.accept("./model.nn", () => {});',
  "export { Lin };",
].join("\n");

/** Records what the dev server sends to browsers (HMR updates, errors, reloads). */
function hotPayloads(server: ViteDevServer): HotPayload[] {
  const hot = server.environments.client.hot;
  const sent: HotPayload[] = [];
  const send = hot.send.bind(hot);
  hot.send = ((payload: HotPayload) => {
    sent.push(payload);
    send(payload);
  }) as typeof hot.send;
  return sent;
}

interface LinModule {
  Lin: {
    create(o: object): Promise<{
      f(x: number[][]): Promise<{ data: ArrayLike<number> }>;
      dispose(): void;
    }>;
  };
}

async function runF(mod: unknown, x: number[][]): Promise<number[]> {
  const m = await (mod as LinModule).Lin.create({ backend: "cpu", seed: 0 });
  try {
    return Array.from((await m.f(x)).data);
  } finally {
    m.dispose();
  }
}

describe("nnc/vite: vite build", () => {
  it("bundles an app that imports a .nn file, and the bundle runs on the CPU backend", async () => {
    const root = app({
      "model.nn": MODEL,
      "helper.nn": HELPER,
      "main.js": [
        'import { Lin } from "./model.nn";',
        'import { Tensor } from "nnc/runtime";',
        'import helperSource from "./helper.nn?raw";',
        "export async function run() {",
        '  const m = await Lin.create({ backend: "cpu", seed: 3 });',
        "  const f = await m.f([[1, 2], [3, 4]]);",
        "  const g = await m.g([[1, 2], [-0.5, 0.25]]);",
        "  let saveError = null;",
        '  try { await m.save("model.safetensors"); } catch (e) { saveError = `${e.name}: ${e.message}`; }',
        "  const params = Object.fromEntries(Object.entries(await m.parameters()).map(([k, t]) => [k, Array.from(t.data)]));",
        "  m.dispose();",
        "  return { backend: m.backend, f: Array.from(f.data), g: Array.from(g.data), sameTensor: f instanceof Tensor, saveError, params, helperSource };",
        "}",
      ].join("\n"),
    });
    const cfg = config(root);
    await build({
      ...cfg,
      build: {
        outDir: join(root, "dist"),
        minify: false,
        lib: { entry: join(root, "main.js"), formats: ["es"], fileName: "main" },
      },
    });
    const warnings = (cfg.customLogger as ReturnType<typeof quietLogger>).warnings;
    // the runtime's Node-only imports are neither bundled nor warned about
    expect(warnings.filter((w) => /externalized|node:/.test(w))).toEqual([]);
    const bundle = readdirSync(join(root, "dist"))
      .filter((f) => f.endsWith(".js"))
      .map((f) => readFileSync(join(root, "dist", f), "utf8"))
      .join("\n");
    expect(bundle).not.toMatch(/from\s*["']node:|import\(\s*["']node:/);

    const { run } = (await import(pathToFileURL(join(root, "dist", "main.js")).href)) as {
      run(): Promise<{
        backend: string;
        f: number[];
        g: number[];
        sameTensor: boolean;
        saveError: string | null;
        params: Record<string, number[]>;
        helperSource: string;
      }>;
    };
    const out = await run();
    expect(out.backend).toBe("cpu");
    // scaled(x * k) = 3 * x * [1, -1]
    expect(out.f).toEqual([3, -6, 9, -12]);
    // the app and the compiled module share one runtime
    expect(out.sameTensor).toBe(true);
    // a query is left to Vite: `?raw` is the source text
    expect(out.helperSource).toBe(HELPER);
    expect(out.saveError).toMatch(
      /^NncError: save\(path\) reads or writes a file, which needs Node/,
    );

    // the same program loaded in this process gives the same parameters and values
    const r = await compile(join(root, "model.nn"));
    expect(r.ok).toBe(true);
    const unit = r.planned!.units.find((u) => u.name === "Lin")!;
    const ref = await loadInProcess(unit.plan, r.planned!.kernels, { backend: "cpu", seed: 3 });
    const g = await ref.call("g", [
      [
        [1, 2],
        [-0.5, 0.25],
      ],
    ]);
    expect(out.g).toEqual(Array.from(g[0]!.data));
    const params = await ref.parameters();
    expect(Object.keys(out.params).sort()).toEqual(Object.keys(params).sort());
    for (const [k, t] of Object.entries(params)) expect(out.params[k]).toEqual(Array.from(t.data));
    ref.dispose();
  }, 120_000);

  it("fails on a program with a mistake, with the diagnostic's file:line:col, message and code frame", async () => {
    const root = app({ "bad.nn": BAD, "main.js": 'export { Bad } from "./bad.nn";\n' });
    const want = await firstError(join(root, "bad.nn"));
    let caught: unknown = null;
    try {
      await build({
        ...config(root),
        build: {
          write: false,
          lib: { entry: join(root, "main.js"), formats: ["es"], fileName: "main" },
        },
      });
    } catch (e) {
      caught = e;
    }
    expect(caught, "vite build must fail").toBeInstanceOf(Error);
    const err = caught as Error & {
      errors?: { plugin?: string; id?: string; loc?: object; frame?: string; message: string }[];
    };
    expect(err.message).toContain(`${want.where}: error[E0301]: ${want.message}`);
    const first = err.errors?.[0];
    expect(first?.plugin).toBe("nnc");
    expect(first?.id).toBe(join(root, "bad.nn"));
    expect(first?.loc).toEqual({ file: join(root, "bad.nn"), line: 5, column: 39 });
    // the frame is nnc's rendering: the line, a caret under `l(x)`'s argument, the note
    expect(first?.frame).toContain(" 5 |   fn f(x: f32[B, 3]) -> f32[B, 3] = l(x)");
    expect(first?.frame).toMatch(/\n\s+\|\s{39}\^\n/);
    expect(first?.frame).toContain("stdlib/nn.nn");
  }, 60_000);
});

describe("nnc/vite: dev server", () => {
  it("serves the compiled module, importing the runtime from the package", async () => {
    const root = app({ "model.nn": MODEL, "helper.nn": HELPER });
    const server = await devServer(root);
    const r = await server.transformRequest("/model.nn");
    expect(r?.code).toContain("Generated by nnc");
    // nothing copied: the import is nnc's own runtime
    const runtime = /from\s*"([^"]*)"/.exec(r!.code)?.[1];
    expect(runtime).toMatch(/\/dist\/runtime\/index\.js$/);
    expect(await runF(await server.ssrLoadModule("/model.nn"), [[1, 2]])).toEqual([3, -6]);
  }, 60_000);

  it("reports a mistake as a Vite error with its location and frame (the overlay's fields)", async () => {
    const root = app({ "bad.nn": BAD });
    const want = await firstError(join(root, "bad.nn"));
    const server = await devServer(root);
    const err = (await server.transformRequest("/bad.nn").then(
      () => null,
      (e: unknown) => e,
    )) as { message: string; plugin?: string; loc?: object; frame?: string } | null;
    expect(err).not.toBeNull();
    expect(err!.plugin).toBe("nnc");
    expect(err!.message).toBe(`${want.where}: error[E0301]: ${want.message}`);
    expect(err!.loc).toEqual({ file: join(root, "bad.nn"), line: 5, column: 39 });
    expect(err!.frame).toContain(`--> ${want.where}`);
  }, 60_000);

  it("recompiles when a used module changes and hot-updates the importer", async () => {
    const root = app({
      "model.nn": MODEL,
      "helper.nn": HELPER,
      "main.js": ACCEPTING_MAIN,
    });
    const server = await devServer(root);
    const sent = hotPayloads(server);
    await server.transformRequest("/main.js");
    await server.transformRequest("/model.nn");
    expect(await runF(await server.ssrLoadModule("/model.nn"), [[1, 2]])).toEqual([3, -6]);

    // a change of helper.nn recompiles model.nn (client and SSR) and updates main.js, which accepts it
    writeFileSync(join(root, "helper.nn"), HELPER.replace("3.0", "5.0"));
    const update = await until("the hot update", async () => sent.find((p) => p.type === "update"));
    expect(update.type === "update" && update.updates.map((u) => [u.path, u.acceptedPath])).toEqual(
      [["/main.js", "/model.nn"]],
    );
    expect(
      await until("the recompiled module", async () => {
        const v = await runF(await server.ssrLoadModule("/model.nn"), [[1, 2]]);
        return v[0] === 5 ? v : undefined;
      }),
    ).toEqual([5, -10]);
  }, 120_000);

  it("reloads the page of a program whose first compile failed when the module at fault is fixed", async () => {
    const root = app({
      "model.nn": MODEL,
      "helper.nn": "fn scaled(x) = 3.0 * \n",
      "main.js": ACCEPTING_MAIN,
    });
    const server = await devServer(root);
    const sent = hotPayloads(server);
    await server.transformRequest("/main.js");
    // the mistake is in helper.nn, and the error points there
    const broken = (await server.transformRequest("/model.nn").then(
      () => null,
      (e: unknown) => e,
    )) as { loc?: { file: string } } | null;
    expect(broken?.loc?.file).toBe(join(root, "helper.nn"));
    // model.nn never compiled: Vite's module graph knows nothing of helper.nn (the plugin does),
    // and no hot update can pass through model.nn
    writeFileSync(join(root, "helper.nn"), HELPER.replace("3.0", "7.0"));
    const reload = await until("the page reload", async () =>
      sent.find((p) => p.type === "full-reload"),
    );
    expect(reload).toMatchObject({ type: "full-reload", triggeredBy: join(root, "helper.nn") });
    expect((await server.transformRequest("/model.nn"))?.code).toContain("Generated by nnc");
  }, 60_000);

  it("reloads the page of a program that uses a missing module once the module is created", async () => {
    const root = app({ "model.nn": MODEL, "main.js": ACCEPTING_MAIN });
    const server = await devServer(root);
    const sent = hotPayloads(server);
    await server.transformRequest("/main.js");
    const missing = (await server.transformRequest("/model.nn").then(
      () => null,
      (e: unknown) => e,
    )) as { message: string } | null;
    expect(missing?.message).toMatch(/error\[E0203\]: cannot find module `helper`/);
    writeFileSync(join(root, "helper.nn"), HELPER);
    const reload = await until("the page reload", async () =>
      sent.find((p) => p.type === "full-reload"),
    );
    expect(reload).toMatchObject({ type: "full-reload", triggeredBy: join(root, "helper.nn") });
    expect((await server.transformRequest("/model.nn"))?.code).toContain("Generated by nnc");
  }, 60_000);

  it("leaves modules outside `include`/inside `exclude` to Vite", async () => {
    const root = app({ "model.nn": MODEL, "helper.nn": HELPER, "other.nn": MODEL });
    const server = await devServer(root, { exclude: /other\.nn$/ });
    expect((await server.transformRequest("/model.nn"))?.code).toContain("Generated by nnc");
    // not compiled: the dev server hands the file over as it is
    expect((await server.transformRequest("/other.nn"))?.code).toBe(MODEL);
  }, 60_000);

  it("with `dts`, writes model.d.nn.ts beside the file, only when its text changes", async () => {
    const root = app({ "model.nn": MODEL, "helper.nn": HELPER });
    const server = await devServer(root, { dts: true });
    await server.transformRequest("/model.nn");
    const path = join(root, "model.d.nn.ts");
    const emitted = (await compile(join(root, "model.nn"), { runtimeImport: "nnc/runtime" }))
      .files!;
    expect(readFileSync(path, "utf8")).toBe(
      emitted.find((f) => f.path.endsWith(".d.ts"))!.contents,
    );
    expect(readFileSync(path, "utf8")).toContain("export declare class Lin");
    const before = statSync(path).mtimeMs;
    await new Promise((ok) => setTimeout(ok, 20));
    const mod = server.environments.client.moduleGraph.getModuleById(join(root, "model.nn"));
    server.environments.client.moduleGraph.invalidateModule(mod!);
    await server.transformRequest("/model.nn");
    expect(statSync(path).mtimeMs).toBe(before);
  }, 60_000);
});

describe("nnc/vite: the package export", () => {
  it("imports from plain Node as `nnc/vite` (from dist/)", () => {
    const dir = join(TMP, "package");
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, "probe.mjs");
    writeFileSync(
      probe,
      [
        'import nnc from "nnc/vite";',
        "const p = nnc();",
        "console.log(JSON.stringify({ name: p.name, hooks: ['resolveId', 'load', 'hotUpdate'].map((h) => typeof p[h]) }));",
      ].join("\n"),
    );
    const out = JSON.parse(
      execFileSync(process.execPath, [probe], { cwd: process.cwd(), encoding: "utf8" }),
    ) as unknown;
    expect(out).toEqual({ name: "nnc", hooks: ["function", "function", "function"] });
  });
});
