/**
 * Injection-proof emission (issue 8, part 3). `injection/template.nn` is
 * filled with plain names (the reference) and, several times over, with
 * hostile ones (tests/codegen/injection/names.ts): `__proto__`, `then`,
 * JavaScript and TypeScript reserved words, the generated module's and the
 * runtime's own names, WGSL and GLSL words, names differing only in case,
 * non-ASCII names, and strings holding comment ends, quotes, backticks,
 * `${`, line terminators and `</script>`. Each program is built the way
 * `nnc build` writes it, and:
 *
 * - its kernels (TypeScript, WGSL, GLSL, WebAssembly) are byte for byte the
 *   reference's: no user text reaches them;
 * - its TypeScript, JavaScript and declarations have the reference's syntax
 *   tree, names and string literals aside (nothing user-written ends a
 *   comment or a string), no raw U+2028/U+2029 and nothing that closes or
 *   opens an HTML script element; the strings read back from the module are
 *   the ones written;
 * - the emitted TypeScript type-checks under the project's strict settings
 *   against the declarations of the copied runtime;
 * - the emitted JavaScript, imported as an application would, computes on
 *   the CPU (f32 and f64), wasm and (when an adapter exists) WebGPU exactly
 *   what the reference computes on the same backend: function results,
 *   training steps, the state after them, a checkpoint saved and loaded, and
 *   parameters replaced by their (hostile) paths.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { className, methodName, safeIdent } from "../../compiler/codegen/host.js";
import { stringLiteral } from "../../compiler/codegen/layout.js";
import type { PlannedProgram } from "../../compiler/codegen/program.js";
import { renderDiagnostics } from "../../compiler/diagnostics/render.js";
import { compile } from "../../compiler/pipeline.js";
import { describeGpu, gpuAvailable } from "../gpu/device.js";
import { STRICT, typeErrors } from "./typecheck.js";
import {
  CLASS_NAMES,
  fill,
  HOSTILE_NAMES,
  HOSTILE_STRINGS,
  hostileFillings,
  PLAIN,
  ROLES,
  type Filling,
  wideProgram,
} from "./injection/names.js";

const TMP = resolve("tests/.tmp/injection");

/** One built program: its filling, planned program and emitted files. */
interface Built {
  readonly k: number;
  readonly filling: Filling;
  readonly planned: PlannedProgram;
  readonly ts: string;
  readonly js: string;
  readonly dts: string;
  /** The `.js` module's path. */
  readonly module: string;
}

const FILLINGS: readonly Filling[] = [PLAIN, ...hostileFillings()];
let built: Built[] = [];

/** Builds every filling into one folder (one copy of the runtime), as `nnc build` writes it. */
async function buildAll(): Promise<Built[]> {
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(TMP, { recursive: true });
  const out: Built[] = [];
  for (const [k, filling] of FILLINGS.entries()) {
    const src = join(TMP, `p${k}.nn`);
    writeFileSync(src, fill(filling));
    const r = await compile(src, {});
    if (!r.ok || !r.planned || !r.files)
      throw new Error(
        `filling ${k} (${JSON.stringify(filling.names)}) does not compile:\n${renderDiagnostics(r.diagnostics, (p) => r.sources.get(p))}`,
      );
    const text = (path: string) => r.files!.find((f) => f.path === path)!.contents;
    for (const f of r.files) {
      if (k > 0 && f.path.startsWith("nnc-runtime/")) continue;
      const path = join(TMP, f.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.contents);
    }
    out.push({
      k,
      filling,
      planned: r.planned,
      ts: text(`p${k}.ts`),
      js: text(`p${k}.js`),
      dts: text(`p${k}.d.ts`),
      module: join(TMP, `p${k}.js`),
    });
  }
  return out;
}

/** The names of the wide program (the optimizer's state segments left out). */
const WIDE_NAMES = HOSTILE_NAMES.filter((n) => !["m", "v", "step"].includes(n));

/** Builds the wide program (tests/codegen/injection/names.ts) beside the others; returns its .ts path. */
async function buildWide(): Promise<string> {
  const src = join(TMP, "wide.nn");
  writeFileSync(src, wideProgram(WIDE_NAMES, CLASS_NAMES));
  const r = await compile(src, { runtimeImport: "./nnc-runtime/index.js" });
  if (!r.ok || !r.files)
    throw new Error(
      `the wide program does not compile:\n${renderDiagnostics(r.diagnostics, (p) => r.sources.get(p))}`,
    );
  for (const f of r.files) writeFileSync(join(TMP, f.path), f.contents);
  return join(TMP, "wide.ts");
}

beforeAll(async () => {
  built = await buildAll();
  await buildWide();
}, 120_000);

const hostile = () => built.slice(1);
const reference = () => built[0]!;

describe("the hostile programs", () => {
  it("give every hostile name and string a role, names differing in case included", () => {
    const used = new Set(FILLINGS.slice(1).flatMap((f) => Object.values(f.names)));
    const missing = HOSTILE_NAMES.filter((n) => !used.has(n) && !["m", "v", "step"].includes(n));
    expect(missing).toEqual([]);
    for (const s of HOSTILE_STRINGS)
      expect(FILLINGS.some((f) => f.str === s || f.field === s)).toBe(true);
    for (const f of FILLINGS.slice(1)) {
      const names = Object.values(f.names);
      const lower = new Set(names.map((n) => n.toLowerCase()));
      expect(lower.size, "each filling has a pair of names differing only in case").toBe(
        names.length - 1,
      );
      expect(new Set(names).size).toBe(ROLES.length);
    }
  });

  it("have kernels byte-identical to the reference's: no user text reaches TypeScript, WGSL, GLSL or WebAssembly kernels", () => {
    const kernels = (p: PlannedProgram) =>
      JSON.stringify([p.kernels, p.gpuKernels, p.glslKernels, p.wasmProgram]);
    const want = kernels(reference().planned);
    for (const b of hostile()) expect(kernels(b.planned) === want, `filling ${b.k}`).toBe(true);
  });
});

// ------------------------------------------------------------------ the emitted text

/**
 * The syntax tree of a file as a sequence of node kinds, with every name
 * (identifier, string literal, `["computed"]` key, number-like key) as one
 * kind: the same sequence means the same program but for names and strings.
 */
function shape(text: string, fileName: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const kinds: string[] = [];
  const visit = (n: ts.Node): void => {
    if (
      ts.isIdentifier(n) ||
      ts.isStringLiteral(n) ||
      (ts.isComputedPropertyName(n) && ts.isStringLiteral(n.expression))
    ) {
      kinds.push("Name");
      return;
    }
    // `as const`, which the .ts adds to a plan with a function named like a member of Object.prototype
    if (ts.isAsExpression(n) && n.type.getText() === "const") {
      visit(n.expression);
      return;
    }
    kinds.push(ts.SyntaxKind[n.kind]);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return kinds;
}

/** Every comment of a file (line and block), found by the TypeScript scanner. */
function comments(text: string): string[] {
  const scanner = ts.createScanner(
    ts.ScriptTarget.ES2022,
    false,
    ts.LanguageVariant.Standard,
    text,
  );
  const out: string[] = [];
  for (let t = scanner.scan(); t !== ts.SyntaxKind.EndOfFileToken; t = scanner.scan()) {
    if (t === ts.SyntaxKind.SingleLineCommentTrivia || t === ts.SyntaxKind.MultiLineCommentTrivia)
      out.push(scanner.getTokenText());
    // a `/` after these starts a regular expression in no emitted file; rescan nothing
  }
  return out;
}

/** Values of the string literals of a file. */
function strings(text: string): Set<string> {
  const sf = ts.createSourceFile("x.ts", text, ts.ScriptTarget.ES2022, false);
  const out = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isStringLiteral(n)) out.add(n.text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

describe("the emitted TypeScript, JavaScript and declarations", () => {
  for (const flavor of ["ts", "js", "dts"] as const) {
    it(`(.${flavor}) have the reference's syntax tree and comments but for names and strings`, () => {
      const file = flavor === "dts" ? "x.d.ts" : `x.${flavor}`;
      const want = shape(reference()[flavor], file);
      const wantComments = comments(reference()[flavor]).length;
      for (const b of hostile()) {
        const got = shape(b[flavor], file);
        const at = got.findIndex((k, i) => k !== want[i]);
        expect(
          at === -1 && got.length === want.length,
          `filling ${b.k}: the tree differs at node ${at}: ${got.slice(at, at + 5).join(" ")} (reference ${want.slice(at, at + 5).join(" ")})`,
        ).toBe(true);
        expect(comments(b[flavor]).length, `filling ${b.k}: comments`).toBe(wantComments);
      }
    });
  }

  it("hold the train block's strings as escaped literals with the same values", () => {
    for (const b of hostile()) {
      for (const flavor of ["ts", "js"] as const) {
        const found = strings(b[flavor]);
        expect(found.has(b.filling.str), `filling ${b.k}: ${JSON.stringify(b.filling.str)}`).toBe(
          true,
        );
        expect(found.has(b.filling.field), `filling ${b.k}: field`).toBe(true);
        // the literal as the layout writes it, nothing raw
        expect(b[flavor]).toContain(stringLiteral(b.filling.str));
      }
    }
  });

  it("contain no raw U+2028/U+2029, `</script` or `<!--`, in strings or comments", () => {
    for (const b of built) {
      for (const flavor of ["ts", "js", "dts"] as const) {
        const text = b[flavor];
        expect(/[\u2028\u2029]/.test(text), `filling ${b.k} .${flavor}: U+2028/2029`).toBe(false);
        expect(/<\/script|<!--/i.test(text), `filling ${b.k} .${flavor}: script`).toBe(false);
        for (const c of comments(text)) {
          // a comment holds user names only (doc comments), never user strings
          for (const s of HOSTILE_STRINGS) expect(c.includes(s)).toBe(false);
          expect(c.includes("alert(1)") || c.includes("${x}")).toBe(false);
        }
      }
    }
  });

  it("spell names that cannot be used as they are with a `$`, injectively", () => {
    // classes: reserved words, TypeScript's type names and the names the module uses at top level
    expect(className("Math")).toBe("Math$");
    expect(className("Arr")).toBe("Arr$");
    expect(className("Promise")).toBe("Promise$");
    expect(className("string")).toBe("string$");
    expect(className("default")).toBe("default$");
    expect(className("then")).toBe("then$");
    expect(className("Tensor")).toBe("Tensor");
    // methods: the class's own members, and `then` (instances would be thenables)
    expect(methodName("then")).toBe("then$");
    expect(methodName("state")).toBe("state$");
    expect(methodName("constructor")).toBe("constructor$");
    expect(methodName("default")).toBe("default");
    expect(methodName("__proto__")).toBe("__proto__");
    // characters JavaScript does not take in an identifier
    expect(safeIdent("x²")).toBe("x$b2$");
    const all = [...HOSTILE_NAMES, "Net", "net", "W", "w", "Θ", "Constructor", "x$b2", "Math$"];
    for (const f of [className, methodName, (n: string) => safeIdent(n)]) {
      const spelled = all.map(f);
      expect(new Set(spelled).size, f.name).toBe(new Set(all).size);
      for (const s of spelled) expect(/^[\p{ID_Start}_$][\p{ID_Continue}$]*$/u.test(s)).toBe(true);
    }
  });

  it("type-check under the project's strict settings against the copied runtime's declarations", () => {
    // the .ts and the .d.ts of each hostile program (the golden tests check plain programs)
    const files = [
      ...hostile().flatMap((b) => [join(TMP, `p${b.k}.ts`), join(TMP, `p${b.k}.d.ts`)]),
      join(TMP, "wide.ts"),
      join(TMP, "wide.d.ts"),
    ];
    const errors = typeErrors(files, {
      ...STRICT,
      types: ["node", "@webgpu/types"],
      // TypeScript's own lib files are not what is under test
      skipDefaultLibCheck: true,
    });
    expect(errors).toEqual([]);
  }, 120_000);
});

// ------------------------------------------------------------------ running the modules

/** What a module computes, with state paths written with the reference's names. */
interface Run {
  readonly results: Record<string, number[]>;
  readonly state: Record<string, number[]>;
}

interface TensorOut {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
  toArray(): unknown;
}
type Instance = Record<string, unknown> & {
  state(): Promise<Record<string, TensorOut>>;
  parameters(): Promise<Record<string, TensorOut>>;
  setParameters(v: Record<string, unknown>): void;
  save(path: string): Promise<void>;
  load(path: string): Promise<void>;
  dispose(): void;
};
type ModelClass = {
  create(o: object): Promise<Instance>;
  parameterShapes: Record<string, readonly number[]>;
  training?: { data: Record<string, { path?: string; field?: string }> };
};

const X = [
  [0.5, -1.0],
  [0.25, 2.0],
  [-0.75, 0.125],
];
const Y = [
  [1.0, 0.5, -0.5],
  [0.0, 2.0, 1.5],
  [-1.0, 0.25, 0.75],
];

/** A state path with each hostile segment replaced by the reference's name for its role. */
function plainPath(path: string, f: Filling): string {
  const role = new Map(Object.entries(f.names).map(([r, n]) => [n, r]));
  return path
    .split(".")
    .map((seg) => {
      const r = role.get(seg);
      return r === undefined ? seg : PLAIN.names[r]!;
    })
    .join(".");
}

async function call(obj: Instance, fn: string, args: unknown[]): Promise<TensorOut> {
  const m = obj[methodName(fn)];
  if (typeof m !== "function") throw new Error(`no method ${methodName(fn)} for ${fn}`);
  return (await (m as (...a: unknown[]) => Promise<TensorOut>).apply(obj, args)) as TensorOut;
}

/** Runs the program of `b` on a backend through its emitted JavaScript module. */
async function runModule(b: Built, backend: string, precision: "f32" | "f64"): Promise<Run> {
  const n = b.filling.names;
  const mod = (await import(pathToFileURL(b.module).href)) as Record<string, ModelClass>;
  const exported = Object.keys(mod).sort();
  expect(exported).toEqual([className(n["Model"]!), className(n["Sub"]!), "Functions"].sort());
  const Model = mod[className(n["Model"]!)]!;
  const Sub = mod[className(n["Sub"]!)]!;
  const Functions = mod["Functions"]!;
  const options = { backend, seed: 1, precision };
  const results: Record<string, number[]> = {};
  const keep = (key: string, t: TensorOut) => (results[key] = Array.from(t.data));

  // static data: keys are own properties, the prototype is Object's
  const shapes = Model.parameterShapes;
  expect(Object.getPrototypeOf(shapes)).toBe(Object.prototype);
  expect(Object.keys(shapes)).toHaveLength(16);
  expect(Object.hasOwn(shapes, n["P1"]!)).toBe(true);
  expect(shapes[n["P1"]!]).toEqual([2, 3]);
  const data = Model.training!.data;
  expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
  expect(Object.keys(data)).toEqual([n["A4"], n["A5"]]);
  expect(data[n["A5"]!]!.field).toBe(b.filling.field);
  expect(data[n["A5"]!]!.path).toBe(b.filling.str);

  const m = await Model.create(options);
  try {
    keep("F1", await call(m, n["F1"]!, [X, Y.map((r) => r.slice(0, 2))]));
    keep("F2", await call(m, n["F2"]!, [X]));
    for (let s = 0; s < 2; s++) keep(`step${s}`, await call(m, "step", [X, Y]));
    const state = await m.state();
    expect(Object.getPrototypeOf(state)).toBe(Object.prototype);
    const plainState = Object.fromEntries(
      Object.entries(state).map(([p, t]) => [plainPath(p, b.filling), Array.from(t.data)]),
    );
    // a checkpoint with hostile paths, saved and loaded into a fresh module
    const ckpt = join(TMP, `p${b.k}-${backend}-${precision}.safetensors`);
    await m.save(ckpt);
    const again = await Model.create(options);
    try {
      await again.load(ckpt);
      const loaded = await again.state();
      expect(Object.keys(loaded)).toEqual(Object.keys(state));
      for (const [p, t] of Object.entries(state))
        expect(Array.from(loaded[p]!.data), p).toEqual(Array.from(t.data));
      keep("F2 after load", await call(again, n["F2"]!, [X]));
    } finally {
      again.dispose();
    }
    // parameters replaced by path, every path as the module spells it
    const params = await m.parameters();
    const twice = (v: unknown): unknown => (Array.isArray(v) ? v.map(twice) : (v as number) * 2);
    const doubled = Object.fromEntries(
      Object.entries(params).map(([p, t]) => [p, twice(t.toArray())]),
    );
    m.setParameters(doubled);
    const after = await m.parameters();
    for (const [p, t] of Object.entries(params))
      expect(Array.from(after[p]!.data), p).toEqual(Array.from(t.data).map((v) => v * 2));
    keep("F1 after setParameters", await call(m, n["F1"]!, [X, X]));
    const sub = await Sub.create(options);
    try {
      keep("SubFn", await call(sub, n["SubFn"]!, [Y]));
    } finally {
      sub.dispose();
    }
    const fns = await Functions.create(options);
    try {
      keep("Top", await call(fns, n["Top"]!, [[0.5, -1, 2]]));
    } finally {
      fns.dispose();
    }
    return { results, state: plainState };
  } finally {
    m.dispose();
  }
}

/** Every hostile program computes on `backend` exactly what the reference does there. */
async function agreeOn(backend: string, precision: "f32" | "f64"): Promise<void> {
  const want = await runModule(reference(), backend, precision);
  expect(Object.keys(want.state).length).toBeGreaterThan(10);
  for (const b of hostile()) {
    const got = await runModule(b, backend, precision);
    expect(got.results, `filling ${b.k} on ${backend} ${precision}`).toEqual(want.results);
    expect(got.state, `filling ${b.k} on ${backend} ${precision}: state`).toEqual(want.state);
  }
}

describe("the emitted modules run", () => {
  it("on the CPU in f32, as the reference does", () => agreeOn("cpu", "f32"), 120_000);
  it("on the CPU in f64, as the reference does", () => agreeOn("cpu", "f64"), 120_000);
  it("on wasm, as the reference does", () => agreeOn("wasm", "f32"), 120_000);
});

describe("every hostile name in every role of the generated class", () => {
  it("calls the right function, argument and parameter (CPU)", async () => {
    type Cls = { create(o: object): Promise<Instance> };
    const mod = (await import(pathToFileURL(join(TMP, "wide.js")).href)) as Record<string, Cls>;
    expect(Object.keys(mod).sort()).toEqual(
      [...CLASS_NAMES.map(className), "Params", "Fns"].sort(),
    );
    const options = { backend: "cpu", seed: 0 };
    for (const [k, n] of CLASS_NAMES.entries()) {
      const m = await mod[className(n)]!.create(options);
      expect(Array.from((await call(m, "f", [[0.5]])).data), n).toEqual([k + 1.5]);
      m.dispose();
    }
    const params = await mod["Params"]!.create(options);
    const values = await params.parameters();
    expect(Object.getPrototypeOf(values)).toBe(Object.prototype);
    expect(Object.keys(values)).toEqual(WIDE_NAMES);
    WIDE_NAMES.forEach((n, k) => expect(Array.from(values[n]!.data), n).toEqual([k + 1]));
    const sum = (WIDE_NAMES.length * (WIDE_NAMES.length + 1)) / 2;
    expect(Array.from((await call(params, "total", [[0.5]])).data)).toEqual([sum + 0.5]);
    // every parameter replaced by its own name
    params.setParameters(Object.fromEntries(WIDE_NAMES.map((n) => [n, [0]])));
    params.setParameters({ [WIDE_NAMES[0]!]: [4] });
    expect(Array.from((await call(params, "total", [[0.5]])).data)).toEqual([4.5]);
    params.dispose();
    const fns = await mod["Fns"]!.create(options);
    for (const [k, n] of WIDE_NAMES.entries())
      expect(Array.from((await call(fns, n, [[0.25]])).data), n).toEqual([k + 1.5]);
    fns.dispose();
  }, 120_000);
});

const gpu = await gpuAvailable();
describeGpu(gpu, "the emitted modules on WebGPU", () => {
  it("run as the reference does", () => agreeOn("webgpu", "f32"), 300_000);
});

// ------------------------------------------------------------------ identifiers

describe("identifiers", () => {
  it("are the NFC form of what is written: a decomposed and a precomposed name are one name", async () => {
    const dir = join(TMP, "nfc");
    mkdirSync(dir, { recursive: true });
    // `café` defined decomposed (e + U+0301) and used precomposed, and the other way round
    const src = join(dir, "nfc.nn");
    writeFileSync(
      src,
      [
        "model Caf\u0065\u0301 {",
        "  param na\u0069\u0308ve: f32[2] = [1.0, 2.0]",
        "  fn f\u00e9(x: f32[2]) -> f32[2] = x * na\u00efve",
        "}",
        "",
      ].join("\n"),
    );
    const r = await compile(src, { runtimeImport: "nnc/runtime" });
    expect(
      r.ok,
      renderDiagnostics(r.diagnostics, (p) => r.sources.get(p)),
    ).toBe(true);
    const main = r.files!.find((f) => f.path === "nfc.ts")!.contents;
    expect(main).toContain("export class Caf\u00e9 {");
    expect(main).toContain("async f\u00e9(");
    expect(main).toContain('path: "na\u00efve"');
    expect(main.normalize("NFC")).toBe(main);
  });
});
