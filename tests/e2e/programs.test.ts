/**
 * The test programs through the emitted module: every `tests/programs/*.nn`
 * is built to a TypeScript/JavaScript module, and one plain Node process
 * imports them all and runs every case that states its expected values (on
 * the CPU backend in both precisions, and on wasm). This covers what the in-process path skips: the plan as
 * printed into the module, the generated classes and methods.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { className, methodName } from "../../compiler/codegen/host.js";
import { compile } from "../../compiler/pipeline.js";
import { Tensor } from "../../runtime/tensor.js";
import {
  flat,
  mismatches,
  parseCases,
  readSource,
  shapeOf,
  type Case,
} from "../programs/harness.js";

const DIR = "tests/programs";
const TMP = resolve("tests/.tmp/e2e-programs");
const PROGRAMS = readdirSync(DIR)
  .filter((f) => f.endsWith(".nn"))
  .sort();
/** Where each case runs: the CPU backend in both precisions, and the wasm backend (f32 only). */
const TARGETS = [
  { backend: "cpu", precision: "f32" },
  { backend: "cpu", precision: "f64" },
  { backend: "wasm", precision: "f32" },
] as const;

/**
 * Cases whose emitted module is known to disagree with the in-process run,
 * by `file:fn`, with the reason. Each must still fail; remove it when fixed.
 */
const KNOWN_BUGS: Readonly<Record<string, string>> = {};

/** JSON cannot carry NaN and infinities: they travel as strings. */
function encode(v: unknown): unknown {
  if (typeof v === "number" && !Number.isFinite(v))
    return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  if (Array.isArray(v)) return v.map(encode);
  return v;
}

const CHILD = `
import { pathToFileURL } from "node:url";
import { readFileSync } from "node:fs";
const decode = (v) => (Array.isArray(v) ? v.map(decode) : v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : v);
const encode = (v) => (typeof v === "number" && !Number.isFinite(v) ? (Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf") : v);
const jobs = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = [];
for (const job of jobs) {
  try {
    const mod = await import(pathToFileURL(job.module).href);
    const m = await mod[job.cls].create({ backend: job.backend, seed: job.seed, precision: job.precision });
    const out = await m[job.method](...decode(job.args));
    if (m.backend !== job.backend) throw new Error("ran on " + m.backend + ", not " + job.backend);
    results.push({ dtype: out.dtype, shape: [...out.shape], data: [...out.data].map(encode), storage: out.data.constructor.name });
    m.dispose();
  } catch (e) {
    results.push({ error: String(e && e.stack ? e.stack : e) });
  }
}
console.log(JSON.stringify(results));
`;

interface Job {
  readonly file: string;
  readonly key: string;
  readonly c: Case;
  readonly backend: (typeof TARGETS)[number]["backend"];
  readonly precision: (typeof TARGETS)[number]["precision"];
}

interface Result {
  readonly error?: string;
  readonly dtype?: string;
  readonly shape?: number[];
  readonly data?: unknown[];
  readonly storage?: string;
}

const jobs: Job[] = [];
for (const file of PROGRAMS) {
  for (const c of parseCases(readSource(join(DIR, file)))) {
    if (c.out === undefined) continue;
    for (const { backend, precision } of TARGETS)
      jobs.push({ file, key: `${file}:${c.fn}:${c.line}`, c, backend, precision });
  }
}

describe("test programs through the emitted module", () => {
  let results: Result[] = [];

  beforeAll(async () => {
    rmSync(TMP, { recursive: true, force: true });
    const runtime = resolve("dist/runtime/index.js");
    expect(existsSync(runtime), "dist/ is missing: run `npm run build` (npm test does)").toBe(true);
    const modules = new Map<string, string>();
    for (const file of PROGRAMS) {
      const name = file.replace(/\.nn$/, "");
      const out = join(TMP, name);
      // the runtime built into dist/ (npm test builds it), imported by a relative path
      const runtimeImport = relative(out, runtime).split("\\").join("/");
      const r = await compile(join(DIR, file), {
        runtimeImport: runtimeImport.startsWith(".") ? runtimeImport : `./${runtimeImport}`,
      });
      expect(r.ok, file).toBe(true);
      for (const f of r.files!) {
        mkdirSync(dirname(join(out, f.path)), { recursive: true });
        writeFileSync(join(out, f.path), f.contents);
      }
      modules.set(file, join(out, `${name}.js`));
    }
    const spec = jobs.map(({ file, c, backend, precision }) => {
      const dot = c.fn.indexOf(".");
      return {
        module: modules.get(file)!,
        cls: dot >= 0 ? className(c.fn.slice(0, dot)) : "Functions",
        method: methodName(dot >= 0 ? c.fn.slice(dot + 1) : c.fn),
        args: encode(c.inputs.map((i) => i.value)),
        seed: c.seed,
        backend,
        precision,
      };
    });
    writeFileSync(join(TMP, "jobs.json"), JSON.stringify(spec));
    writeFileSync(join(TMP, "child.mjs"), CHILD);
    const child = spawnSync(process.execPath, [join(TMP, "child.mjs"), join(TMP, "jobs.json")], {
      encoding: "utf8",
      timeout: 120_000,
      maxBuffer: 1 << 28,
    });
    expect(child.stderr).toBe("");
    expect(child.status).toBe(0);
    results = JSON.parse(child.stdout) as Result[];
    expect(results.length).toBe(jobs.length);
  });

  it.each(
    jobs.map((j, k) => ({
      ...j,
      k,
      label: `${j.key} ${j.backend === "cpu" ? j.precision : j.backend}`,
    })),
  )("$label", ({ key, c, precision, k }) => {
    const r = results[k]!;
    expect(r.error).toBeUndefined();
    const data = (r.data ?? []).map((v) =>
      v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : (v as number),
    );
    const t = new Tensor(r.dtype as Tensor["dtype"], r.shape!, Float64Array.from(data));
    if (t.dtype === "f32")
      expect(r.storage).toBe(precision === "f64" ? "Float64Array" : "Float32Array");
    expect([...t.shape]).toEqual(shapeOf(c.out!));
    const bad = mismatches(t, flat(c.out!), c.tol);
    const bug = KNOWN_BUGS[key.replace(/:\d+$/, "")];
    if (bug !== undefined) expect(bad, `known bug fixed? ${bug}`).not.toEqual([]);
    else expect(bad).toEqual([]);
  });
});
