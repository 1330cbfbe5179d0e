/**
 * Layout of the generated module without Prettier: data literals (plans,
 * kernel tables) and the few statement shapes the module uses, laid out the
 * way Prettier 3 lays them out at `printWidth: 100` (two-space indentation,
 * trailing commas, double quotes), so that the module reads as formatted code
 * while `nnc build` neither loads nor runs a formatter (that cost seconds per
 * build: the plans and kernel tables are megabytes).
 *
 * Prettier's rules reproduced here, for literals of plain data: a group prints
 * on one line when it and what follows up to the next possible line break fit
 * in the width; otherwise one entry per line. A group that must break (an
 * array of two or more arrays, or of objects, each with two or more entries)
 * breaks every group around it. Arrays of number literals fill lines. An
 * object key is unquoted when it is an identifier name (and, in JavaScript, a
 * plain number). A string value whose key is five or more characters wide
 * moves to its own line when it does not fit. Strings take double quotes
 * unless they hold more double quotes than single ones. tests/codegen/layout.test.ts
 * checks the output against Prettier itself.
 */
import { InternalCompilerError } from "../diagnostics/diagnostic.js";

/** The line width of the generated module (the project's Prettier `printWidth`). */
export const WIDTH = 100;

/** An identifier or other expression printed as is (a kernel function's name). */
export class Raw {
  constructor(readonly text: string) {}
}

/** Which of Prettier's parsers the text is laid out for: they differ in unquoting numeric keys. */
export type Language = "ts" | "js";

// ------------------------------------------------------------------ widths

/** Prettier's display width of a string: wide East Asian characters count two, combining marks none. */
export function textWidth(s: string): number {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(s)) return s.length;
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0x300 && c <= 0x36f)) continue;
    const wide =
      (c >= 0x1100 && c <= 0x115f) ||
      (c >= 0x2e80 && c <= 0xa4cf && c !== 0x303f) ||
      (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xfe30 && c <= 0xfe4f) ||
      (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) ||
      (c >= 0x1f300 && c <= 0x1f64f) ||
      (c >= 0x20000 && c <= 0x3fffd);
    w += wide ? 2 : 1;
  }
  return w;
}

const PADS: string[] = [];
/** `n` spaces. */
export function pad(n: number): string {
  return (PADS[n] ??= " ".repeat(n));
}

// ------------------------------------------------------------------ atoms

/**
 * `JSON.stringify`, also escaping what it leaves raw but some readers of the
 * module do not take: U+2028 and U+2029 (line terminators in JavaScript
 * before ES2019 and to many tools), and `<` before `/` or `!`, so that no
 * string can close or open an HTML `<script>` element (`</script>`, `<!--`)
 * when the module is inlined into a page.
 */
function jsonString(s: string): string {
  const json = JSON.stringify(s);
  return /[\u2028\u2029<]/.test(json)
    ? json.replace(/[\u2028\u2029]|<(?=[/!])/g, (c) =>
        c === "<" ? "\\u003c" : `\\u${c.charCodeAt(0).toString(16)}`,
      )
    : json;
}

/** A string literal as Prettier prints it: double quotes unless the text holds more `"` than `'`. */
export function stringLiteral(s: string): string {
  const json = jsonString(s);
  if (!s.includes('"')) return json;
  let dq = 0;
  let sq = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34) dq++;
    else if (c === 39) sq++;
  }
  if (dq <= sq) return json;
  // single quotes: `\"` needs no escape, `'` does
  return `'${json.slice(1, -1).replace(/\\"|'/g, (m) => (m === "'" ? "\\'" : '"'))}'`;
}

/**
 * A finite non-negative number as Prettier prints it. JavaScript's shortest
 * round-trip form is already Prettier's normal form (lower case, no leading or
 * trailing zeros) but for the `+` of a positive exponent: `1e+21` is `1e21`.
 */
function numberText(v: number): string {
  const s = String(v);
  return s.includes("e+") ? s.replace("e+", "e") : s;
}

/** Prettier's test for keys it unquotes: ES5 identifier names (letters of the Basic Multilingual Plane). */
const IDENTIFIER_KEY =
  /^[$_\p{Lu}\p{Ll}\p{Lt}\p{Lm}\p{Lo}\p{Nl}][$_\p{Lu}\p{Ll}\p{Lt}\p{Lm}\p{Lo}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}\u200c\u200d]*$/u;
const NUMBER_KEY = /^(?:\d+|\d+\.\d+)$/;

/** An object key as Prettier prints it (`quoteProps: "as-needed"`). */
export function keyText(k: string, lang: Language): string {
  const quoted = stringLiteral(k);
  if (quoted.slice(1, -1) === k) {
    if (IDENTIFIER_KEY.test(k) && !/[\u{10000}-\u{10ffff}]/u.test(k)) return k;
    if (lang === "js" && NUMBER_KEY.test(k) && String(Number(k)) === k) return k;
  }
  return quoted;
}

/**
 * A key of an object literal: {@link keyText}, but `__proto__` computed
 * (`["__proto__"]`), since `__proto__: v` and `"__proto__": v` in a literal
 * set the object's prototype instead of defining a property (a model
 * parameter or function of that name).
 */
export function literalKeyText(k: string, lang: Language): string {
  return k === "__proto__" ? `[${stringLiteral(k)}]` : keyText(k, lang);
}

// ------------------------------------------------------------------ data tree

const enum Kind {
  Atom,
  Array,
  Object,
}

interface Atom {
  readonly kind: Kind.Atom;
  readonly text: string;
  readonly width: number;
  /** A string literal (its key decides whether it may move to its own line). */
  readonly string: boolean;
  /** A number literal: kept beside its key; arrays of them fill lines. */
  readonly number: boolean;
  /** A signed number literal (`-1`): fills lines, but is laid out like other expressions after a key. */
  readonly signed: boolean;
}

interface ArrayNode {
  readonly kind: Kind.Array;
  readonly items: readonly Node[];
  /** Width on one line. */
  readonly width: number;
  /** Must print broken (a break inside, or Prettier's rule for arrays of arrays or objects). */
  readonly broken: boolean;
  /** Every item a number literal: items fill lines. */
  readonly fill: boolean;
}

interface ObjectNode {
  readonly kind: Kind.Object;
  readonly keys: readonly string[];
  readonly values: readonly Node[];
  readonly width: number;
  readonly broken: boolean;
}

type Node = Atom | ArrayNode | ObjectNode;

function atom(text: string, string = false, number = false, signed = false): Atom {
  return { kind: Kind.Atom, text, width: textWidth(text), string, number, signed };
}

/** Whether building a tree met a key that the two languages print differently. */
interface Build {
  readonly lang: Language;
  numericKey: boolean;
}

function toNode(v: unknown, b: Build): Node {
  if (v instanceof Raw) return atom(v.text);
  switch (typeof v) {
    case "number":
      if (Number.isNaN(v)) return atom("NaN");
      if (!Number.isFinite(v)) return atom(v > 0 ? "Infinity" : "-Infinity");
      if (v < 0 || Object.is(v, -0)) return atom(`-${numberText(-v)}`, false, false, true);
      return atom(numberText(v), false, true);
    case "string":
      return atom(stringLiteral(v), true);
    case "boolean":
      return atom(String(v));
    case "object": {
      if (v === null) return atom("null");
      if (Array.isArray(v)) {
        const items = v.map((x: unknown) => {
          if (x === undefined)
            throw new InternalCompilerError("cannot print undefined in an array");
          return toNode(x, b);
        });
        let width = 2;
        let broken = false;
        let fill = items.length > 0;
        for (const [i, x] of items.entries()) {
          width += x.width + (i > 0 ? 2 : 0);
          if (x.kind !== Kind.Atom) broken ||= x.broken;
          if (x.kind !== Kind.Atom || !(x.number || x.signed)) fill = false;
        }
        const first = items[0];
        // Prettier breaks an array of two or more arrays (or objects), each with two or more entries
        if (
          items.length > 1 &&
          first !== undefined &&
          first.kind !== Kind.Atom &&
          items.every(
            (x) =>
              x.kind === first.kind &&
              (x.kind === Kind.Array
                ? x.items.length
                : x.kind === Kind.Object
                  ? x.keys.length
                  : 0) > 1,
          )
        )
          broken = true;
        return { kind: Kind.Array, items, width, broken, fill };
      }
      const keys: string[] = [];
      const values: Node[] = [];
      let width = 4;
      let broken = false;
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (x === undefined) continue;
        const key = literalKeyText(k, b.lang);
        if (b.lang === "ts" && NUMBER_KEY.test(k)) b.numericKey = true;
        const value = toNode(x, b);
        width += textWidth(key) + 2 + value.width + (keys.length > 0 ? 2 : 0);
        if (value.kind !== Kind.Atom) broken ||= value.broken;
        keys.push(key);
        values.push(value);
      }
      return { kind: Kind.Object, keys, values, width: keys.length === 0 ? 2 : width, broken };
    }
    default:
      throw new InternalCompilerError(`cannot print ${typeof v} as a literal`);
  }
}

// ------------------------------------------------------------------ printing

function flat(n: Node, out: string[]): void {
  if (n.kind === Kind.Atom) {
    out.push(n.text);
  } else if (n.kind === Kind.Array) {
    out.push("[");
    n.items.forEach((x, i) => {
      if (i > 0) out.push(", ");
      flat(x, out);
    });
    out.push("]");
  } else if (n.keys.length === 0) {
    out.push("{}");
  } else {
    out.push("{ ");
    n.keys.forEach((k, i) => {
      out.push(i > 0 ? `, ${k}: ` : `${k}: `);
      flat(n.values[i]!, out);
    });
    out.push(" }");
  }
}

/** Width of `n`'s first line when it breaks: `{` or `[`, or all of an atom or empty group. */
function firstLineWidth(n: Node, trail: number): number {
  if (n.kind === Kind.Atom) return n.width + trail;
  const empty = n.kind === Kind.Array ? n.items.length === 0 : n.keys.length === 0;
  return empty ? 2 + trail : 1;
}

/**
 * Prints `n` starting at column `col` on a line indented by `indent`, followed
 * on the same line by `trail` characters (`,` or `;`) up to the next line break.
 */
function print(n: Node, indent: number, col: number, trail: number, out: string[]): void {
  if (n.kind === Kind.Atom || (!n.broken && col + n.width + trail <= WIDTH)) {
    flat(n, out);
    return;
  }
  const inner = indent + 2;
  if (n.kind === Kind.Array) {
    if (n.items.length === 0) {
      out.push("[]");
      return;
    }
    out.push("[\n", pad(inner));
    if (n.fill) {
      // Prettier's fill: the next item joins the line when it fits there with its comma
      let pos = inner;
      n.items.forEach((x, i) => {
        const w = x.width + 1;
        out.push((x as Atom).text, ",");
        const next = n.items[i + 1];
        if (next === undefined) return;
        if (pos + w + 1 + next.width + 1 <= WIDTH) {
          out.push(" ");
          pos += w + 1;
        } else {
          out.push("\n", pad(inner));
          pos = inner;
        }
      });
    } else {
      n.items.forEach((x, i) => {
        if (i > 0) out.push("\n", pad(inner));
        print(x, inner, inner, 1, out);
        out.push(",");
      });
    }
    out.push("\n", pad(indent), "]");
    return;
  }
  if (n.keys.length === 0) {
    out.push("{}");
    return;
  }
  out.push("{\n", pad(inner));
  n.keys.forEach((k, i) => {
    if (i > 0) out.push("\n", pad(inner));
    property(k, n.values[i]!, inner, out);
    out.push(",");
  });
  out.push("\n", pad(indent), "}");
}

/** `key: value` in a broken object, with Prettier's choice of whether the value may move to its own line. */
function property(key: string, value: Node, indent: number, out: string[]): void {
  const keyWidth = textWidth(key);
  const col = indent + keyWidth + 2;
  out.push(key, ":");
  const fitsFlat = (value.kind === Kind.Atom || !value.broken) && col + value.width + 1 <= WIDTH;
  const shortKey = keyWidth < 5;
  let own: boolean; // the value on its own line, indented
  if (fitsFlat) own = false;
  else if (value.kind === Kind.Atom && value.string) own = !shortKey;
  else if (
    shortKey ||
    (value.kind === Kind.Atom && (value.number || value.text === "true" || value.text === "false"))
  )
    own = false;
  else own = col + firstLineWidth(value, 1) > WIDTH;
  if (own) {
    out.push("\n", pad(indent + 2));
    print(value, indent + 2, indent + 2, 1, out);
  } else {
    out.push(" ");
    print(value, indent, col, 1, out);
  }
}

/** A value prepared once for printing in both languages (see {@link layoutData}). */
export class DataTree {
  private constructor(
    private readonly ts: Node,
    private readonly js: Node,
  ) {}

  static of(value: unknown): DataTree {
    const b: Build = { lang: "ts", numericKey: false };
    const ts = toNode(value, b);
    return new DataTree(ts, b.numericKey ? toNode(value, { lang: "js", numericKey: false }) : ts);
  }

  node(lang: Language): Node {
    return lang === "ts" ? this.ts : this.js;
  }
}

/**
 * The text of a data value laid out by Prettier's rules: objects, arrays,
 * strings, numbers (NaN and infinities as identifiers, -0 kept), booleans,
 * null and {@link Raw} expressions; keys with undefined values are left out.
 * `prefix` is what precedes it on its line (`const $plan0: $ProgramPlan = `,
 * indentation included) and `suffix` what follows (`;`); the result contains
 * neither. `value` may be a {@link DataTree} (prepared once for both files).
 */
export function layoutData(
  value: unknown,
  prefix: string,
  suffix: string,
  lang: Language,
  indent = 0,
): string {
  const n =
    value instanceof DataTree ? value.node(lang) : toNode(value, { lang, numericKey: false });
  const out: string[] = [];
  const col = textWidth(prefix);
  const trail = textWidth(suffix);
  // Prettier's "fluid" assignment: the value stays after `=` when its first line fits there
  const fits = (n.kind === Kind.Atom || !n.broken) && col + n.width + trail <= WIDTH;
  if (!fits && col + firstLineWidth(n, trail) > WIDTH) {
    out.push("\n", pad(indent + 2));
    print(n, indent + 2, indent + 2, trail, out);
    return out.join("");
  }
  if (fits || n.kind === Kind.Atom) {
    print(n, indent, col, trail, out);
    return out.join("");
  }
  // broken, its text depends only on the indentation: the .ts and .js share it
  const known = brokenText.get(n)?.get(indent);
  if (known !== undefined) return known;
  print(n, indent, col, trail, out);
  const text = out.join("");
  const byIndent = brokenText.get(n) ?? new Map<number, string>();
  byIndent.set(indent, text);
  brokenText.set(n, byIndent);
  return text;
}

/** Texts of broken top-level values, by indentation (reused between the .ts and the .js). */
const brokenText = new WeakMap<Node, Map<number, string>>();

/** A value on one line, Prettier's spacing (`{ a: 1, b: [2, 3] }`). */
export function flatData(value: unknown, lang: Language): string {
  const out: string[] = [];
  flat(toNode(value, { lang, numericKey: false }), out);
  return out.join("");
}

// ------------------------------------------------------------------ statements

/**
 * A bracketed list as Prettier prints parameters, arguments and import
 * specifiers: `head` + items + `tail` on one line when it fits, otherwise one
 * item per line with a trailing comma. `head` starts at column `indent`.
 */
export function list(
  head: string,
  items: readonly string[],
  tail: string,
  indent: number,
  trailingComma = true,
): string {
  const one = `${head}${items.join(", ")}${tail}`;
  if (items.length === 0 || indent + textWidth(one) <= WIDTH) return one;
  const inner = pad(indent + 2);
  return `${head}\n${items.map((x, i) => `${inner}${x}${trailingComma || i < items.length - 1 ? "," : ""}`).join("\n")}\n${pad(indent)}${tail}`;
}

/** An array or object literal argument of {@link call}: its items are short expressions. */
export interface LiteralArg {
  readonly open: "[" | "{";
  readonly items: readonly string[];
}

function literalText(a: LiteralArg, indent: number, trail: number): string {
  const close = a.open === "[" ? "]" : "}";
  if (a.items.length === 0) return `${a.open}${close}`;
  const one = a.open === "[" ? `[${a.items.join(", ")}]` : `{ ${a.items.join(", ")} }`;
  if (indent + textWidth(one) + trail <= WIDTH) return one;
  return `${a.open}\n${a.items.map((x) => `${pad(indent + 2)}${x},`).join("\n")}\n${pad(indent)}${close}`;
}

/**
 * A call `head(args)` followed by `tail` (`;`), as Prettier prints it: on one
 * line when it fits; else, when the last argument is a non-empty array or
 * object literal, that argument broken one item per line after
 * `head(args..., [`; else every argument on its own line. `head` starts at
 * column `indent` and cannot break.
 */
export function call(
  head: string,
  args: readonly (string | LiteralArg)[],
  tail: string,
  indent: number,
): string {
  const flatArg = (a: string | LiteralArg): string =>
    typeof a === "string" ? a : literalText(a, 0, -Infinity);
  const one = `${head}(${args.map(flatArg).join(", ")})${tail}`;
  if (indent + textWidth(one) <= WIDTH) return one;
  const last = args[args.length - 1];
  const before = args.slice(0, -1);
  const penultimate = before[before.length - 1];
  if (
    last !== undefined &&
    typeof last !== "string" &&
    last.items.length > 0 &&
    (penultimate === undefined || typeof penultimate === "string" || penultimate.open !== last.open)
  ) {
    const hugged = `${head}(${[...before.map(flatArg), last.open].join(", ")}`;
    if (indent + textWidth(hugged) <= WIDTH) {
      const close = last.open === "[" ? "]" : "}";
      return `${hugged}\n${last.items.map((x) => `${pad(indent + 2)}${x},`).join("\n")}\n${pad(indent)}${close})${tail}`;
    }
  }
  const inner = indent + 2;
  const lines = args.map(
    (a) => `${pad(inner)}${typeof a === "string" ? a : literalText(a, inner, 1)},`,
  );
  return `${head}(\n${lines.join("\n")}\n${pad(indent)})${tail}`;
}

/**
 * `head = value` followed by `tail`, where `head` cannot break and `value` is
 * an expression that cannot break (an `await import("...")`): on one line when
 * it fits, else the value on the next line, indented.
 */
export function assignment(head: string, value: string, tail: string, indent: number): string {
  const one = `${head} = ${value}${tail}`;
  if (indent + textWidth(one) <= WIDTH) return one;
  return `${head} =\n${pad(indent + 2)}${value}${tail}`;
}
