/**
 * Helpers for the checker's unit tests: compile a program given as text up to
 * the `check` stage and read back types, values and diagnostics.
 *
 * Programs are compiled as if they were the file `tests/check/inline.nn` (the
 * file need not exist: `compile` takes its text as `entryText`), so `use lib.x`
 * finds the helper modules in `tests/check/lib/`.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CheckedFunction, TExpr } from "../../compiler/check/types.js";
import { formatType } from "../../compiler/check/types.js";
import { compile, type CompileResult } from "../../compiler/pipeline.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Where inline programs pretend to live. */
export const INLINE_PATH = join(here, "inline.nn");

/** Compiles `source` through the checker. */
export async function check(source: string): Promise<CompileResult> {
  return compile(INLINE_PATH, { stopAfter: "check", entryText: source });
}

/** Diagnostics as `line:col CODE message`, in the order reported. */
export function diagnostics(r: CompileResult): string[] {
  return r.diagnostics.map((d) => `${d.span.line}:${d.span.col} ${d.code} ${d.message}`);
}

/** Compiles `source`, which must check without diagnostics. */
export async function checkOk(source: string): Promise<CompileResult> {
  const r = await check(source);
  if (!r.ok || r.diagnostics.length > 0)
    throw new Error(`expected no diagnostics, got:\n${diagnostics(r).join("\n")}`);
  return r;
}

/** The diagnostics of a program that must fail to check. */
export async function checkErrors(source: string): Promise<string[]> {
  const r = await check(source);
  if (r.ok) throw new Error("expected errors, but the program checked");
  return diagnostics(r);
}

/** An entry function by name: top-level (`f`) or in a model (`Net.f`). */
export function entry(r: CompileResult, name: string): CheckedFunction {
  const all = [
    ...(r.checked?.functions ?? []),
    ...(r.checked?.models.flatMap((m) => m.functions) ?? []),
  ];
  const f = all.find((x) => x.qualifiedName === name);
  if (!f)
    throw new Error(
      `no entry function ${name}; have ${all.map((x) => x.qualifiedName).join(", ")}`,
    );
  return f;
}

/** The result of an entry function. */
export function result(r: CompileResult, name: string): TExpr {
  const out = entry(r, name).outputs[0];
  if (!out) throw new Error(`${name} has no output`);
  return out;
}

/** The result type of an entry function, as written in messages: `f32[B, 3]`. */
export function typeOf(r: CompileResult, name: string): string {
  return formatType(result(r, name).type);
}

/** The data of a result that the checker computed at compile time (a literal). */
export function valueOf(r: CompileResult, name: string): readonly number[] {
  const out = result(r, name);
  if (out.kind !== "literal")
    throw new Error(`${name} is not a compile-time value (it is a ${out.kind})`);
  return out.data;
}

/** The type of `expr` in a function with the given typed parameters: `typeOfExpr("x: f32[B, 3]", "x + 1.0")`. */
export async function typeOfExpr(params: string, expr: string): Promise<string> {
  return typeOf(await checkOk(`fn t(${params}) = ${expr}\n`), "t");
}

/** Parameter paths and types of a checked model: `["l1.w: f32[2, 64]", ...]`. */
export function paramsOf(r: CompileResult, model: string): string[] {
  const m = r.checked?.models.find((x) => x.name === model);
  if (!m) throw new Error(`no model ${model}`);
  return m.params.map((p) => `${p.path}: ${formatType(p.type)}`);
}
