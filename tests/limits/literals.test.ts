/**
 * Tensor literals (issue 8, item 4): long flat lists of numbers take the
 * lexer-level fast path of `compiler/syntax/literals.ts` and give the very AST
 * and diagnostics the grammar gives for them; a literal over
 * MAX_LITERAL_ELEMENTS numbers is E0104 before it is parsed.
 */
import fc from "fast-check";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SourceFile } from "../../compiler/ast/span.js";
import { DiagnosticBag } from "../../compiler/diagnostics/diagnostic.js";
import { renderDiagnostics } from "../../compiler/diagnostics/render.js";
import { compile } from "../../compiler/pipeline.js";
import type { ModuleCstNode } from "../../compiler/syntax/cst.js";
import { parseModule } from "../../compiler/syntax/index.js";
import { COLLAPSE_MIN, collapseNumericLists } from "../../compiler/syntax/literals.js";
import { NestingLimitExceeded, parser } from "../../compiler/syntax/parser.js";
import { AstBuilder } from "../../compiler/syntax/toAst.js";
import { lex, NumericList } from "../../compiler/syntax/tokens.js";
import { MAX_LITERAL_ELEMENTS, MAX_NESTING_DEPTH } from "../../runtime/limits.js";
import { moduleFor } from "../programs/harness.js";

const PATH = join(import.meta.dirname, "literal.nn");

/** What the grammar alone makes of `text` (no fast path): the AST, or the first error. */
function viaGrammar(text: string): unknown {
  const file = new SourceFile(PATH, text);
  const bag = new DiagnosticBag();
  parser.input = lex(file, bag).tokens;
  try {
    const cst = parser.module() as ModuleCstNode;
    if (parser.errors.length > 0) return { error: parser.errors[0]!.message };
    const builder = new AstBuilder(file, bag);
    return builder.module(cst.children, file.span(0, text.length));
  } catch (e) {
    if (!(e instanceof NestingLimitExceeded)) throw e;
    parser.reset();
    return { nesting: e.token.startOffset };
  }
}

/** What nnc's front end makes of `text` (with the fast path), in the same form. */
function viaParseModule(text: string): unknown {
  const bag = new DiagnosticBag();
  const m = parseModule(new SourceFile(PATH, text), bag);
  if (m) return m;
  const d = bag.all()[0]!;
  return d.code === "E0104" ? { nesting: d.span.start } : { error: d.message };
}

/** How many tokens of `text` the fast path collapsed. */
function collapsed(text: string): number {
  const file = new SourceFile(PATH, text);
  const bag = new DiagnosticBag();
  return collapseNumericLists(file, lex(file, bag).tokens, bag).tokens.filter(
    (t) => t.tokenType === NumericList,
  ).length;
}

const number = fc.oneof(
  fc.nat({ max: 100000 }).map(String),
  fc
    .tuple(fc.nat({ max: 999 }), fc.nat({ max: 999 }), fc.constantFrom("", "e3", "E-2", "e+1"))
    .map(([a, b, e]) => `${a}.${b}${e}`),
);
const element = fc
  .tuple(fc.constantFrom("", "", "-", "+", "- "), number)
  .map(([sign, n]) => sign + n);
const space = fc.constantFrom("", " ", "\n", "  ", " // c\n", "/* c */");

/** A flat list literal, long enough for the fast path about half of the time. */
const flatList = fc
  .tuple(
    fc.array(fc.tuple(space, element, space), { minLength: 0, maxLength: COLLAPSE_MIN * 2 }),
    fc.boolean(),
  )
  .map(([items, trailing]) => {
    const body = items.map(([a, e, b]) => `${a}${e}${b}`).join(",");
    return `[${body}${trailing && items.length > 0 ? "," : ""}]`;
  });
const literal = fc.oneof(
  flatList,
  fc.array(flatList, { minLength: 1, maxLength: 4 }).map((rows) => `[${rows.join(", ")}]`),
);

describe("the literal fast path", () => {
  it("gives the grammar's AST for flat and nested lists of numbers (property)", () => {
    fc.assert(
      fc.property(
        literal,
        fc.constantFrom(
          (l: string) => `const c = ${l}`,
          (l: string) => `fn f() -> f32 = sum(${l}) + 1.0`,
          (l: string) => `fn f(x: f32[3]) -> f32 = x[${l}]`,
          (l: string) => `const c = g(-${l}, 2 * ${l})`,
          (l: string) => `fn f() -> f32 {\n  let a = 1\n  ${l}\n}`,
          (l: string) => `const c = [-${l}, ${l}[0]]`,
          (l: string) => `fn f(x: [${l}], y: f32[2, ${l}]) -> f32[${l}] = 1.0`,
        ),
        (lit, wrap) => {
          const text = wrap(lit);
          expect(viaParseModule(text)).toEqual(viaGrammar(text));
        },
      ),
      { seed: 8_4, numRuns: 300 },
    );
  });

  it("is taken for long flat lists in expression position only", () => {
    const long = `[${Array.from({ length: COLLAPSE_MIN }, (_, i) => `-${i}.5`).join(", ")}]`;
    const short = `[${Array.from({ length: COLLAPSE_MIN - 1 }, (_, i) => i).join(", ")}]`;
    expect(collapsed(`const c = ${long}`)).toBe(1);
    expect(collapsed(`const c = [${long}, ${long}]`)).toBe(2);
    expect(collapsed(`const c = ${short}`)).toBe(0);
    // an index, a type's dimensions, a sign before a list, a non-number inside
    expect(collapsed(`fn f(x: f32[3]) -> f32 = x${long}`)).toBe(0);
    expect(collapsed(`fn f(x: f32${long}) -> f32 = 1.0`)).toBe(0);
    expect(collapsed(`fn f(x: [${long}]) -> f32 = 1.0`)).toBe(0);
    // `-[…]` negates a list: the list inside is one
    expect(collapsed(`const c = [-${long}]`)).toBe(1);
    expect(collapsed(`const c = ${long.replace("]", ", x]")}`)).toBe(0);
    expect(collapsed(`const c = ${long.replace("]", ", (1)]")}`)).toBe(0);
  });

  it("keeps syntax errors and their messages", () => {
    const body = Array.from({ length: COLLAPSE_MIN }, (_, i) => i).join(", ");
    for (const text of [
      `const c = [${body}] ]`,
      `const c = [${body}] 3`,
      `fn f(x: [[${body}]]) -> f32 = 1.0`,
      `const c = [${body}`,
      `const c = [${body},, 1]`,
      `const c = [${body}, -]`,
    ])
      expect(viaParseModule(text), text).toEqual(viaGrammar(text));
  });

  it(`counts nesting levels as the grammar does (limit ${MAX_NESTING_DEPTH})`, () => {
    const list = (sign: string) =>
      `[${Array.from({ length: COLLAPSE_MIN }, (_, i) => `${i === 5 ? sign : ""}${i}`).join(", ")}]`;
    for (const depth of [MAX_NESTING_DEPTH - 2, MAX_NESTING_DEPTH - 1, MAX_NESTING_DEPTH])
      for (const sign of ["", "-"]) {
        const text = `const c = ${"(".repeat(depth)}${list(sign)}${")".repeat(depth)}`;
        expect(collapsed(text)).toBe(1);
        expect(viaParseModule(text), `${depth} ${sign}`).toEqual(viaGrammar(text));
      }
  });

  it("a literal of 100,000 numbers compiles to one constant and runs", async () => {
    const n = 100_000;
    const values = Array.from({ length: n }, (_, i) => ((i % 7) - 3) / 4);
    const src = `const c = [${values.join(", ")}]\nfn f(x: f32[1]) -> f32[1] = x * sum(c)`;
    const t = performance.now();
    const r = await compile(PATH, { stopAfter: "plan", entryText: src });
    expect(
      r.ok,
      renderDiagnostics(r.diagnostics, (p) => r.sources.get(p)),
    ).toBe(true);
    expect(performance.now() - t).toBeLessThan(15_000);
    const { module } = await moduleFor(r.planned!, "f", "f64", 0);
    const [y] = await module.call("f", [[2]]);
    expect([...y!.data]).toEqual([2 * values.reduce((a, b) => a + b, 0)]);
  }, 30_000);
});

describe(`literal size (limit ${MAX_LITERAL_ELEMENTS} numbers)`, () => {
  it("one number over the limit is E0104 on the whole literal, before parsing", async () => {
    // rows of 1024 numbers: the limit counts every number of a nested literal
    const row = `[${"1, ".repeat(1023)}1]`;
    const rows = MAX_LITERAL_ELEMENTS / 1024;
    const src = `fn f() -> f32 = 1.0\nconst c = [${`${row}, `.repeat(rows)}[7]]\n`;
    const r = await compile(PATH, { stopAfter: "check", entryText: src });
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([
      [
        "E0104",
        `tensor literal too large: ${MAX_LITERAL_ELEMENTS + 1} numbers, the limit is ${MAX_LITERAL_ELEMENTS} (2^20) per literal`,
      ],
    ]);
    const d = r.diagnostics[0]!;
    expect([d.span.start, d.span.end]).toEqual([src.indexOf("const c = ") + 10, src.length - 1]);
    expect(d.notes.map((n) => n.message).join("\n")).toMatch(/`file` source in a `train` block/);
  }, 30_000);

  it("a literal inside something else is reported as itself", async () => {
    const big = `[${"0, ".repeat(MAX_LITERAL_ELEMENTS)}0]`;
    const r = await compile(PATH, {
      stopAfter: "parse",
      entryText: `fn f(x: f32[3]) -> f32 = sum(x) + sum([x, ${big}])`,
    });
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      `tensor literal too large: ${MAX_LITERAL_ELEMENTS + 1} numbers, the limit is ${MAX_LITERAL_ELEMENTS} (2^20) per literal`,
    ]);
  }, 30_000);
});
