/**
 * Hostile names and strings for tests/codegen/injection.test.ts, and the
 * programs made from `template.nn` by giving each of its roles (model,
 * parameter, field, function, argument, `let`, `var`, loop variable, size
 * symbol, hyperparameter, constant, top-level function) a name.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Names that mean something to JavaScript, TypeScript, the generated module,
 * the runtime, WGSL or GLSL, or that differ only in case or are not ASCII.
 * Words that are nnc keywords (`let`, `var`, `fn`, `in`, ...) cannot be
 * names at all and are not listed.
 */
export const HOSTILE_NAMES: readonly string[] = [
  // Object.prototype and other properties every object has
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "prototype",
  "valueOf",
  "toJSON",
  "then",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
  "__defineGetter__",
  "__lookupSetter__",
  // JavaScript reserved and strict-mode words
  "default",
  "delete",
  "new",
  "class",
  "function",
  "arguments",
  "eval",
  "await",
  "yield",
  "enum",
  "this",
  "super",
  "null",
  "void",
  "typeof",
  "instanceof",
  "static",
  "implements",
  "package",
  "private",
  "protected",
  "public",
  "export",
  "import",
  "extends",
  "debugger",
  "switch",
  "case",
  "do",
  "while",
  "try",
  "catch",
  "finally",
  "throw",
  "break",
  "continue",
  "undefined",
  "NaN",
  "Infinity",
  // TypeScript keywords and type names
  "interface",
  "type",
  "declare",
  "any",
  "unknown",
  "never",
  "object",
  "string",
  "number",
  "boolean",
  "symbol",
  "bigint",
  "namespace",
  "module",
  "abstract",
  "readonly",
  "keyof",
  "infer",
  "is",
  "asserts",
  "global",
  "require",
  "get",
  "set",
  "of",
  "async",
  "satisfies",
  "accessor",
  "out",
  // names of the generated module, its classes and the runtime
  "Tensor",
  "TensorLike",
  "CompiledModule",
  "create",
  "dispose",
  "state",
  "setState",
  "parameters",
  "setParameters",
  "save",
  "load",
  "call",
  "plan",
  "backend",
  "adapter",
  "options",
  "values",
  "path",
  "name",
  "length",
  "training",
  "parameterShapes",
  "saveCheckpoint",
  "applyCheckpoint",
  "Arr",
  "Math",
  "Promise",
  "Record",
  "Readonly",
  "Float32Array",
  "Int32Array",
  "Object",
  "Array",
  "Number",
  "String",
  "JSON",
  "globalThis",
  "i",
  "o",
  "s",
  "x0",
  "s0",
  "k0",
  "g0",
  "buf0",
  "p",
  "n0",
  // WGSL and GLSL words and builtins
  "texture",
  "main",
  "array",
  "vec4",
  "sampler",
  "loop",
  "struct",
  "storage",
  "uniform",
  "workgroup",
  "bitcast",
  "ptr",
  "atomic",
  "alias",
  "enable",
  "override",
  "u32",
  "gl_FragColor",
  "gl_Position",
  "gl_FragCoord",
  "texelFetch",
  "sampler2D",
  "highp",
  "precision",
  "layout",
  "flat",
  "discard",
  "inout",
  "__x",
  "a__b",
  "_",
  "webgl_x",
  "_webgl_y",
  // not ASCII
  "θ",
  "Δx",
  "权重",
  "naïve",
  "x²",
  "ǅ",
  "ʰ",
  "ℕ",
  "𝑥",
  "Ωmega",
];

/** Role pairs given names that differ only in case (`Net` and `net`, `w` and `W`). */
export const CASE_PAIRS: readonly (readonly [string, string])[] = [
  ["Net", "net"],
  ["w", "W"],
  ["Constructor", "constructor"],
  ["Θ", "θ"],
];

/**
 * Strings for the `train` block (a data file's path and JSON field): comment
 * ends, line terminators, quotes, backslashes, template syntax, HTML.
 */
export const HOSTILE_STRINGS: readonly string[] = [
  "a */ b // c /* d \" ' ` ${x} \\ e",
  "line\nbreak\r\u2028\u2029end",
  "</script><script>alert(1)</script><!-- -->",
  "\u0000\u001b[31m\ufeff\u200b\u{1F600}",
];

/** The template program, with `{{Role}}` for each name and `{{str}}`, `{{field}}` for strings. */
export const TEMPLATE: string = readFileSync(
  fileURLToPath(new URL("template.nn", import.meta.url)),
  "utf8",
);

/** The roles of the template, in order of first appearance. */
export const ROLES: readonly string[] = [
  ...new Set([...TEMPLATE.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!)),
].filter((r) => r !== "str" && r !== "field");

/** The state paths the optimizer adds use these segments: a name here would make the path mapping ambiguous. */
const STATE_SEGMENTS = new Set(["train", "m", "v", "step"]);

/** A name for each role, and the two strings. */
export interface Filling {
  readonly names: Readonly<Record<string, string>>;
  readonly str: string;
  readonly field: string;
}

/** The reference: a plain name per role (`nModel`, `nP1`, ...), plain strings. */
export const PLAIN: Filling = {
  names: Object.fromEntries(ROLES.map((r) => [r, `n${r}`])),
  str: "data.json",
  field: "y",
};

/** An nnc string literal for `s` (every character that is not plain printable ASCII escaped). */
export function nnString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else out += `\\u{${c.toString(16)}}`;
  }
  return `${out}"`;
}

/** The program for a filling. */
export function fill(f: Filling): string {
  return TEMPLATE.replace(/\{\{(\w+)\}\}/g, (_, role: string) => {
    if (role === "str") return nnString(f.str);
    if (role === "field") return nnString(f.field);
    const name = f.names[role];
    if (name === undefined) throw new Error(`no name for role ${role}`);
    return name;
  });
}

/**
 * Fillings that together give every hostile name a role, and each case pair
 * to two roles that share a scope (two models, two parameters, two
 * arguments): the names in order, `ROLES.length` per filling.
 */
export function hostileFillings(): Filling[] {
  const names = HOSTILE_NAMES.filter((n) => !STATE_SEGMENTS.has(n));
  const out: Filling[] = [];
  // role pairs sharing a scope, for the case pairs
  const pairRoles: readonly (readonly [string, string])[] = [
    ["Model", "Sub"],
    ["Lower", "Upper"],
    ["A1", "A2"],
    ["L1", "L2"],
  ];
  const per = ROLES.length - 2;
  for (let start = 0, k = 0; start < names.length; start += per, k++) {
    const chunk = names.slice(start, start + per);
    const [pa, pb] = CASE_PAIRS[k % CASE_PAIRS.length]!;
    const [ra, rb] = pairRoles[k % pairRoles.length]!;
    const free = ROLES.filter((r) => r !== ra && r !== rb);
    // a chunk shorter than the roles (the last) is topped up from the start of the list
    const pool = [...chunk, ...names.filter((n) => !chunk.includes(n))].filter(
      (n) => n.toLowerCase() !== pa.toLowerCase(),
    );
    const assigned: Record<string, string> = { [ra]: pa, [rb]: pb };
    free.forEach((r, i) => (assigned[r] = pool[i]!));
    out.push({
      names: assigned,
      str: HOSTILE_STRINGS[k % HOSTILE_STRINGS.length]!,
      field: HOSTILE_STRINGS[(k + 1) % HOSTILE_STRINGS.length]!,
    });
  }
  return out;
}

/**
 * One program that gives every hostile name every role with a known result:
 * a model per name (`f(x) = x + k`), a model `Params` with a parameter per
 * name (`total(x) = x + Σ k`), and a model `Fns` with a function per
 * name whose argument is named after the next name (`n_k(a) = 2a + k`).
 * The k-th name's value is k + 1.
 */
export function wideProgram(names: readonly string[], models: readonly string[]): string {
  const lines: string[] = [];
  models.forEach((n, k) =>
    lines.push(`model ${n} {`, `  fn f(x: f32[1]) -> f32[1] = x + ${k + 1}.0`, "}"),
  );
  lines.push("model Params {");
  names.forEach((n, k) => lines.push(`  param ${n}: f32[1] = ${k + 1}.0`));
  lines.push(`  fn total(x: f32[1]) -> f32[1] = x + ${names.join(" + ")}`);
  lines.push("}", "", "model Fns {", "  param w: f32[1] = 2.0");
  names.forEach((n, k) => {
    const arg = names[(k + 1) % names.length]!;
    lines.push(`  fn ${n}(${arg}: f32[1]) -> f32[1] = ${arg} * w + ${k + 1}.0`);
  });
  lines.push("}", "");
  return lines.join("\n");
}

/**
 * The hostile names that matter most as class names: the names the module
 * uses at its top level, TypeScript's type names, reserved words, names
 * every object has, and non-ASCII ones.
 */
export const CLASS_NAMES: readonly string[] = [
  "Math",
  "Arr",
  "Promise",
  "Record",
  "Readonly",
  "Float32Array",
  "Int32Array",
  "Object",
  "Array",
  "Number",
  "String",
  "JSON",
  "globalThis",
  "Tensor",
  "CompiledModule",
  "any",
  "string",
  "number",
  "object",
  "never",
  "unknown",
  "boolean",
  "symbol",
  "bigint",
  "undefined",
  "NaN",
  "Infinity",
  "default",
  "interface",
  "__proto__",
  "constructor",
  "then",
  "θ",
  "𝑥",
];
