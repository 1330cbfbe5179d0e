/**
 * The `.nn` test programs: their header format, and how to compile and run
 * one case in process on the CPU backend.
 *
 * A case starts at `// fn: NAME` (`Model.fn` for a model's function) and is
 * followed by directives, each a comment line `// key: value`:
 *
 *   in NAME: JSON   an argument (nested arrays; `inf`, `-inf`, `nan` allowed)
 *   out: JSON       the expected values (also gives the expected shape)
 *   shape: JSON     the expected shape, when `out` is not given
 *   dtype: T        the expected dtype (f32, i32 or bool)
 *   tol: NUMBER     relative + absolute tolerance for f32 (default 1e-6)
 *   seed: INT       seed of the model's parameters (default 0)
 *   check: NAME     a property checked by code in `programs.test.ts`
 *
 * A value whose brackets are not balanced continues on the following
 * comment lines. Other comments are free text.
 */
import { readFileSync } from "node:fs";
import { loadInProcess } from "../../compiler/codegen/inprocess.js";
import type { PlannedProgram } from "../../compiler/codegen/program.js";
import { renderDiagnostics } from "../../compiler/diagnostics/render.js";
import { compile, type CompileResult } from "../../compiler/pipeline.js";
import type { Precision } from "../../runtime/backends/cpu.js";
import type { CompiledModule } from "../../runtime/module.js";
import type { DTypeName } from "../../runtime/plan.js";
import type { NestedArray, Tensor } from "../../runtime/tensor.js";

/** One stated call of a program. */
export interface Case {
  /** `f` or `Model.f`. */
  readonly fn: string;
  /** 1-based line of the `// fn:` directive. */
  readonly line: number;
  readonly inputs: readonly { readonly name: string; readonly value: NestedArray }[];
  readonly out?: NestedArray;
  readonly shape?: readonly number[];
  readonly dtype?: DTypeName;
  readonly tol: number;
  readonly seed: number;
  readonly check?: string;
}

const KEY = /^\/\/\s*(fn|in\s+[\p{L}_][\p{L}\p{N}_]*|out|shape|dtype|tol|seed|check):\s*(.*)$/u;

function balance(s: string): number {
  let d = 0;
  for (const ch of s) {
    if (ch === "[") d++;
    else if (ch === "]") d--;
  }
  return d;
}

/** Parses a JSON value that may also contain `inf`, `-inf` and `nan`. */
export function parseValue(text: string): NestedArray {
  const json = text.replace(/-?\binf\b|\bnan\b/g, (m) => `"${m}"`);
  const special = (v: unknown): NestedArray => {
    if (Array.isArray(v)) return v.map(special);
    if (v === "inf") return Infinity;
    if (v === "-inf") return -Infinity;
    if (v === "nan") return NaN;
    if (typeof v === "number" || typeof v === "boolean") return v;
    throw new Error(`not a value: ${JSON.stringify(v)}`);
  };
  return special(JSON.parse(json));
}

/** The cases stated in a program's header comments. */
export function parseCases(source: string): Case[] {
  const lines = source.split("\n");
  const cases: Case[] = [];
  type Draft = { -readonly [K in keyof Case]: Case[K] } & {
    inputs: { name: string; value: NestedArray }[];
  };
  let cur: Draft | null = null;
  for (let i = 0; i < lines.length; i++) {
    const m = KEY.exec(lines[i]!.trim());
    if (!m) continue;
    const key = m[1]!;
    let value = m[2]!.trim();
    while (balance(value) > 0 && i + 1 < lines.length && lines[i + 1]!.trim().startsWith("//")) {
      value += " " + lines[++i]!.trim().replace(/^\/\/\s*/, "");
    }
    if (key === "fn") {
      cur = { fn: value, line: i + 1, inputs: [], tol: 1e-6, seed: 0 };
      cases.push(cur);
      continue;
    }
    if (!cur) throw new Error(`line ${i + 1}: \`${key}:\` before any \`fn:\``);
    if (key.startsWith("in"))
      cur.inputs.push({ name: key.replace(/^in\s+/, ""), value: parseValue(value) });
    else if (key === "out") cur.out = parseValue(value);
    else if (key === "shape") cur.shape = parseValue(value) as number[];
    else if (key === "dtype") cur.dtype = value as DTypeName;
    else if (key === "tol") cur.tol = Number(value);
    else if (key === "seed") cur.seed = Number(value);
    else if (key === "check") cur.check = value;
  }
  return cases;
}

/** The shape of nested arrays. */
export function shapeOf(v: NestedArray): number[] {
  const shape: number[] = [];
  let p: NestedArray = v;
  while (Array.isArray(p)) {
    shape.push(p.length);
    p = (p as readonly NestedArray[])[0] ?? 0;
  }
  return shape;
}

/** Row-major values of nested arrays (booleans as 0/1). */
export function flat(v: NestedArray): number[] {
  if (Array.isArray(v)) return (v as readonly NestedArray[]).flatMap(flat);
  return [typeof v === "boolean" ? (v ? 1 : 0) : (v as number)];
}

/** Compiles a program through the whole pipeline (emit included); throws with rendered diagnostics. */
export async function compileProgram(
  path: string,
): Promise<CompileResult & { planned: PlannedProgram }> {
  const r = await compile(path, { runtimeImport: "nnc/runtime" });
  if (!r.ok || !r.planned) {
    throw new Error(
      `${path} does not compile:\n${renderDiagnostics(r.diagnostics, (p) => r.sources.get(p))}`,
    );
  }
  return r as CompileResult & { planned: PlannedProgram };
}

/**
 * Creates the module of `Model` (or of the top-level functions) for a case's
 * function name, on the CPU backend or on wasm (f32 only).
 */
export async function moduleFor(
  planned: PlannedProgram,
  fn: string,
  precision: Precision,
  seed: number,
  backend: "cpu" | "wasm" = "cpu",
): Promise<{ module: CompiledModule; name: string }> {
  const dot = fn.indexOf(".");
  const unitName = dot >= 0 ? fn.slice(0, dot) : "Functions";
  const name = dot >= 0 ? fn.slice(dot + 1) : fn;
  const unit = planned.units.find(
    (u) => u.name === unitName && (dot >= 0 ? u.kind === "model" : u.kind === "functions"),
  );
  if (!unit)
    throw new Error(`no ${dot >= 0 ? `model ${unitName}` : "top-level functions"} in the program`);
  const module = await loadInProcess(
    unit.plan,
    planned.kernels,
    { backend, precision, seed },
    undefined,
    undefined,
    planned.wasmProgram,
  );
  return { module, name };
}

/** Compares a result with expected values: integers and booleans exactly, floats within `tol` (NaN matches NaN). */
export function mismatches(actual: Tensor, expected: readonly number[], tol: number): string[] {
  const out: string[] = [];
  const got = [...actual.data];
  if (got.length !== expected.length) return [`${got.length} values, expected ${expected.length}`];
  for (let k = 0; k < got.length; k++) {
    const a = got[k]!;
    const e = expected[k]!;
    let ok: boolean;
    if (actual.dtype !== "f32") ok = a === e;
    else if (Number.isNaN(e)) ok = Number.isNaN(a);
    else if (!Number.isFinite(e)) ok = a === e;
    else ok = Math.abs(a - e) <= tol * (1 + Math.abs(e));
    if (!ok) out.push(`[${k}] got ${a}, expected ${e}`);
  }
  return out;
}

export function readSource(path: string): string {
  return readFileSync(path, "utf8");
}
