/**
 * Mutations of `.nn` source text for the front-end fuzzer: token deletion,
 * duplication, swap and replacement, random characters (non-ASCII, NUL, CR,
 * lone UTF-16 surrogates), line moves and truncation. Tokens come from a
 * forgiving regexp tokenizer, not nnc's lexer, so that text nnc cannot lex
 * still mutates.
 */
import type { Rng } from "./rng.js";

/** One piece of source text; `trivia` is whitespace or a comment. */
export interface Piece {
  readonly text: string;
  readonly trivia: boolean;
}

const TOKEN =
  /\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\\n]|\\.)*"?|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[\p{L}_][\p{L}\p{N}_]*|\.\.\.|\.\.|->|==|!=|<=|>=|&&|\|\||[\s\S]/gu;

/** Splits text into tokens and trivia; joining the pieces gives the text back. */
export function tokenize(text: string): Piece[] {
  const out: Piece[] = [];
  for (const m of text.matchAll(TOKEN)) {
    const t = m[0];
    out.push({ text: t, trivia: /^\s/u.test(t) || t.startsWith("//") || t.startsWith("/*") });
  }
  return out;
}

/** Tokens a replacement or insertion may use besides the file's own. */
export const TOKEN_POOL: readonly string[] = [
  ..."use as fn loss model optimizer param state const let var return for in if else train with true false".split(
    " ",
  ),
  ..."... .. -> == != <= >= && || = < > + - * / % ^ @ ! ( ) [ ] { } , : ; .".split(" "),
  ..."x y w N B f32 i32 bool int float fn self params grad d laplacian jacobian sum mean reshape tanh".split(
    " ",
  ),
  "0",
  "1",
  "-1",
  "2",
  "0.0",
  "1e-3",
  "1e309",
  "4294967296",
  "99999999999999999999",
  '""',
  '"\\u{110000}"',
  '"\\q"',
  "std.nn",
  "std.optim.{adam}",
];

/** Characters inserted at random places: control characters, non-ASCII, lone surrogates. */
const ODD_CHARS: readonly string[] = [
  "\0",
  "\r",
  "\r\n",
  "\t",
  "\v",
  "\f",
  "\x7f",
  "\u00a0",
  "\u00e9",
  "σ",
  "²",
  "٣",
  "\u200b",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\ufffd",
  "\ud800",
  "\udc00",
  "\udbff",
  "😀",
  "𝑥",
  "\\",
  "`",
  "#",
  "$",
  "'",
  '"',
  "?",
  "~",
  "|",
  "&",
];

export type MutationKind =
  | "delete"
  | "duplicate"
  | "swap"
  | "replace"
  | "insert-token"
  | "insert-char"
  | "truncate"
  | "line";

function tokenIndices(pieces: readonly Piece[]): number[] {
  const idx: number[] = [];
  pieces.forEach((p, i) => {
    if (!p.trivia) idx.push(i);
  });
  return idx;
}

/** A random character: mostly the odd ones, sometimes any UTF-16 code unit. */
function oddChar(rng: Rng): string {
  if (rng.chance(0.3)) return String.fromCharCode(rng.int(0, 0xffff));
  return rng.pick(ODD_CHARS);
}

/** Applies one mutation of `kind`; returns the new text. */
export function mutateOnce(text: string, kind: MutationKind, rng: Rng): string {
  const pieces = tokenize(text);
  const toks = tokenIndices(pieces);
  const join = (ps: readonly Piece[]) => ps.map((p) => p.text).join("");
  const anyToken = (): string =>
    toks.length > 0 && rng.chance(0.5)
      ? (pieces[rng.pick(toks)]?.text ?? "x")
      : rng.pick(TOKEN_POOL);
  switch (kind) {
    case "delete": {
      if (toks.length === 0) return text;
      const at = rng.int(0, toks.length - 1);
      const n = rng.weighted([
        [6, 1],
        [2, 2],
        [1, rng.int(3, 8)],
      ]);
      const drop = new Set(toks.slice(at, at + n));
      return join(pieces.filter((_, i) => !drop.has(i)));
    }
    case "duplicate": {
      if (toks.length === 0) return text;
      const at = rng.int(0, toks.length - 1);
      const n = rng.weighted([
        [6, 1],
        [2, rng.int(2, 6)],
      ]);
      const from = toks[at] ?? 0;
      const to = toks[Math.min(at + n - 1, toks.length - 1)] ?? from;
      const copy = pieces.slice(from, to + 1);
      return join([
        ...pieces.slice(0, to + 1),
        { text: " ", trivia: true },
        ...copy,
        ...pieces.slice(to + 1),
      ]);
    }
    case "swap": {
      if (toks.length < 2) return text;
      const a = rng.pick(toks);
      const b = rng.chance(0.5) ? rng.pick(toks) : (toks[toks.indexOf(a) + 1] ?? rng.pick(toks));
      const ps = [...pieces];
      const pa = ps[a];
      const pb = ps[b];
      if (!pa || !pb) return text;
      ps[a] = pb;
      ps[b] = pa;
      return join(ps);
    }
    case "replace": {
      if (toks.length === 0) return text;
      const ps = [...pieces];
      ps[rng.pick(toks)] = { text: anyToken(), trivia: false };
      return join(ps);
    }
    case "insert-token": {
      const at = rng.int(0, pieces.length);
      return join([
        ...pieces.slice(0, at),
        { text: ` ${anyToken()} `, trivia: false },
        ...pieces.slice(at),
      ]);
    }
    case "insert-char": {
      const at = rng.int(0, text.length);
      return text.slice(0, at) + oddChar(rng) + text.slice(at);
    }
    case "truncate":
      return text.slice(0, rng.int(0, text.length));
    case "line": {
      const lines = text.split("\n");
      const i = rng.int(0, lines.length - 1);
      const j = rng.int(0, lines.length - 1);
      const li = lines[i] ?? "";
      switch (rng.int(0, 2)) {
        case 0:
          lines.splice(i, 1);
          break;
        case 1:
          lines.splice(j, 0, li);
          break;
        default:
          lines[i] = lines[j] ?? "";
          lines[j] = li;
      }
      return lines.join("\n");
    }
  }
}

const KINDS: readonly (readonly [number, MutationKind])[] = [
  [4, "delete"],
  [3, "duplicate"],
  [3, "swap"],
  [4, "replace"],
  [2, "insert-token"],
  [3, "insert-char"],
  [1, "truncate"],
  [2, "line"],
];

/** One to three random mutations of `text`; returns the text and what was done. */
export function mutate(text: string, rng: Rng): { text: string; kinds: MutationKind[] } {
  const n = rng.weighted([
    [6, 1],
    [3, 2],
    [1, 3],
  ]);
  const kinds: MutationKind[] = [];
  let out = text;
  for (let i = 0; i < n; i++) {
    const kind = rng.weighted(KINDS);
    kinds.push(kind);
    out = mutateOnce(out, kind, rng);
  }
  return { text: out, kinds };
}
