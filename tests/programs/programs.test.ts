/**
 * Runs every `tests/programs/*.nn` program: each case stated in its header is
 * compiled through the whole pipeline, run in process on the CPU backend in
 * both precisions and on the wasm backend, and compared with the expected values (or checked with a
 * named property). Then a coverage test: the programs together use every IR
 * op, unary, binary and reduce function, and every builtin.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUILTINS } from "../../compiler/check/builtins.js";
import { reachable } from "../../compiler/ir/build.js";
import { compile } from "../../compiler/pipeline.js";
import {
  BINARY_FNS,
  functionRoots,
  OPS,
  REDUCE_FNS,
  UNARY_FNS,
  type IrFunction,
} from "../../compiler/ir/ops.js";
import { verifyFunction } from "../../compiler/ir/verify.js";
import type { Precision } from "../../runtime/backends/cpu.js";
import { CHECKS } from "./checks.js";
import {
  compileProgram,
  flat,
  mismatches,
  moduleFor,
  parseCases,
  readSource,
  shapeOf,
} from "./harness.js";

const DIR = "tests/programs";
const PROGRAMS = readdirSync(DIR)
  .filter((f) => f.endsWith(".nn"))
  .sort();
/** Where each case runs: the CPU backend in both precisions, and wasm (f32). */
const TARGETS: readonly { backend: "cpu" | "wasm"; precision: Precision }[] = [
  { backend: "cpu", precision: "f32" },
  { backend: "cpu", precision: "f64" },
  { backend: "wasm", precision: "f32" },
];

type Compiled = Awaited<ReturnType<typeof compileProgram>>;
const compiled = new Map<string, Promise<Compiled>>();
function compiledProgram(file: string): Promise<Compiled> {
  let p = compiled.get(file);
  if (!p) {
    p = compileProgram(join(DIR, file));
    compiled.set(file, p);
  }
  return p;
}

describe.each(PROGRAMS)("%s", (file) => {
  const cases = parseCases(readSource(join(DIR, file)));

  it("states at least one case, each with an expectation", () => {
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      expect(
        c.out !== undefined || c.shape !== undefined || c.check !== undefined,
        `${file}:${c.line} ${c.fn}`,
      ).toBe(true);
      if (c.check !== undefined)
        expect(Object.keys(CHECKS), `${file}:${c.line}`).toContain(c.check);
    }
  });

  it.each(
    cases.flatMap((c) =>
      TARGETS.map(({ backend, precision }) => ({
        c,
        backend,
        precision,
        label: `${c.fn} (line ${c.line}) ${backend === "cpu" ? precision : backend}`,
      })),
    ),
  )("$label", async ({ c, backend, precision }) => {
    const { planned } = await compiledProgram(file);
    const { module, name } = await moduleFor(planned, c.fn, precision, c.seed, backend);
    expect(module.backend).toBe(backend);
    try {
      const args = c.inputs.map((i) => i.value);
      const plan = module.plan.functions[name];
      expect(plan, `function ${c.fn}`).toBeDefined();
      expect(
        plan!.inputs.map((i) => i.name),
        "argument names",
      ).toEqual(c.inputs.map((i) => i.name));
      const [out] = await module.call(name, args);
      expect(out).toBeDefined();
      const result = out!;
      if (c.dtype !== undefined) expect(result.dtype).toBe(c.dtype);
      if (result.dtype === "f32")
        expect(result.data).toBeInstanceOf(precision === "f64" ? Float64Array : Float32Array);
      const shape = c.out !== undefined ? shapeOf(c.out) : c.shape;
      if (shape !== undefined) expect([...result.shape]).toEqual(shape);
      if (c.out !== undefined) expect(mismatches(result, flat(c.out), c.tol)).toEqual([]);
      if (c.check !== undefined) {
        await CHECKS[c.check]!({
          out: result,
          module,
          name,
          args,
          argNames: c.inputs.map((i) => i.name),
          precision,
          tol: c.tol,
          seed: c.seed,
          create: async (seed) => (await moduleFor(planned, c.fn, precision, seed, backend)).module,
        });
      }
    } finally {
      module.dispose();
    }
  });
});

let lowered: Promise<{ file: string; fn: IrFunction }[]> | null = null;

/** Every IR function of every program, as lowered (before autodiff and optimization). */
function loweredFunctions(): Promise<{ file: string; fn: IrFunction }[]> {
  lowered ??= (async () => {
    const out: { file: string; fn: IrFunction }[] = [];
    for (const file of PROGRAMS) {
      const r = await compile(join(DIR, file), { stopAfter: "lower" });
      expect(r.ok, file).toBe(true);
      for (const m of r.ir!.models)
        for (const fn of [...(m.init ? [m.init] : []), ...m.functions]) out.push({ file, fn });
      for (const fn of r.ir!.functions) out.push({ file, fn });
    }
    return out;
  })();
  return lowered;
}

/**
 * IR ops that only a derivative construct produces, by the builtin that does.
 * While that builtin is still reserved (no program can use it), the op is not
 * required; once it is implemented, a program must use it.
 */
const DERIVATIVE_SOURCES: Readonly<Record<string, string>> = {
  grad: "grad",
  jvp: "d",
  stop_gradient: "stop_gradient",
};
const isReserved = (builtin: string) => BUILTINS.get(builtin)?.rule === "reserved for derivatives";

describe("coverage", () => {
  it("every program's lowered IR verifies", async () => {
    for (const { fn } of await loweredFunctions()) verifyFunction(fn);
  });

  it("uses every IR op, unary, binary and reduce function", async () => {
    const ops = new Set<string>();
    const unary = new Set<string>();
    const binary = new Set<string>();
    const reduce = new Set<string>();
    for (const { fn } of await loweredFunctions()) {
      for (const n of reachable(functionRoots(fn))) {
        ops.add(n.op);
        if (n.op === "unary") unary.add(n.fn);
        if (n.op === "binary") binary.add(n.fn);
        if (n.op === "reduce") reduce.add(n.fn);
      }
    }
    const required = OPS.filter(
      (o) => !(o in DERIVATIVE_SOURCES && isReserved(DERIVATIVE_SOURCES[o]!)),
    );
    expect(required.length).toBeGreaterThanOrEqual(21);
    expect(
      required.filter((o) => !ops.has(o)),
      "IR ops no program uses",
    ).toEqual([]);
    expect(
      UNARY_FNS.filter((f) => !unary.has(f)),
      "unary fns no program uses",
    ).toEqual([]);
    expect(
      BINARY_FNS.filter((f) => !binary.has(f)),
      "binary fns no program uses",
    ).toEqual([]);
    expect(
      REDUCE_FNS.filter((f) => !reduce.has(f)),
      "reduce fns no program uses",
    ).toEqual([]);
  });

  it("calls every builtin but the reserved derivative names", () => {
    expect([...BUILTINS.keys()].filter(isReserved).length).toBeLessThanOrEqual(6);
    const text = PROGRAMS.map((f) =>
      readSource(join(DIR, f))
        .split("\n")
        .filter((l) => !l.trim().startsWith("//"))
        .join("\n"),
    ).join("\n");
    // functions as calls `name(`; constants (PI, E, inf) as words
    const used = (name: string, constant: boolean) =>
      new RegExp(`(^|[^\\w.])${name}${constant ? "($|[^\\w])" : "\\s*\\("}`, "u").test(text);
    const unused = [...BUILTINS.values()]
      .filter((b) => !isReserved(b.name) && !used(b.name, b.constant !== undefined))
      .map((b) => b.name);
    expect(unused, "builtins no program uses").toEqual([]);
  });
});
