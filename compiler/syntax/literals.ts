/**
 * Tensor literals between the lexer and the parser. One linear pass over the
 * tokens:
 *
 * - reports a literal of more than {@link MAX_LITERAL_ELEMENTS} numbers
 *   (E0104) before anything is parsed, so a literal of millions of numbers
 *   costs a scan, not a syntax tree;
 * - replaces each long flat list of numbers (`[1, -2.5, 3]`, at least
 *   {@link COLLAPSE_MIN} of them) by one {@link NumericList} token, which the
 *   parser takes as a primary expression and `toAst.ts` expands into the very
 *   AST the grammar builds for it. The grammar walks about ten rules for each
 *   number of a list; the token costs one.
 *
 * A literal here is a bracket nest in expression position holding only
 * numbers, signs `-` and `+`, commas and brackets, well formed
 * (`[el, el, …,?]` at every level). A `[` right after an identifier, a
 * keyword, a literal, `)` or `]` may index or give a type's dimensions, and
 * one after `:` or `->` (or right inside such a `[`) may be a list type, so
 * these never start one.
 */
import type { IToken, TokenType } from "chevrotain";
import { tokenMatcher } from "./chevrotain.js";
import type { SourceFile } from "../ast/span.js";
import type { DiagnosticBag } from "../diagnostics/diagnostic.js";
import { MAX_LITERAL_ELEMENTS } from "../../runtime/limits.js";
import {
  AndAnd,
  Arrow,
  Colon,
  BoolLiteral,
  Caret,
  Comma,
  ComparisonOp,
  DotDot,
  Equals,
  Identifier,
  Keyword,
  LBracket,
  LCurly,
  LParen,
  Minus,
  MultiplicativeOp,
  NumberLit,
  NumericList,
  OrOr,
  Plus,
  RBracket,
  RParen,
  Semicolon,
  StringLit,
  UnaryOp,
} from "./tokens.js";

/** Fewest numbers in a flat list that becomes a {@link NumericList} token. */
export const COLLAPSE_MIN = 16;

/** A {@link NumericList} token: `image` is the source text from `[` to `]`. */
export interface NumericListToken extends IToken {
  /** The tokens between the brackets: numbers, signs and commas, as lexed. */
  readonly elements: readonly IToken[];
  /** The first sign (`-` or `+`) among them, which opens a nesting level of its own. */
  readonly firstSign: IToken | undefined;
  /** The closing `]`. */
  readonly close: IToken;
}

/** Tokens after which `[` starts an expression: operators and openers, never an operand's end. */
const OPENS_EXPRESSION: readonly TokenType[] = [
  Equals,
  Comma,
  LParen,
  LBracket,
  LCurly,
  Semicolon,
  UnaryOp,
  MultiplicativeOp,
  ComparisonOp,
  AndAnd,
  OrOr,
  Caret,
  DotDot,
];

/** Tokens whose `[` after them is an index or a type's dimensions (checked first: `-` is also UnaryOp). */
const ENDS_OPERAND: readonly TokenType[] = [
  Identifier,
  Keyword,
  NumberLit,
  StringLit,
  BoolLiteral,
  RParen,
  RBracket,
];

function isAny(tok: IToken, types: readonly TokenType[]): boolean {
  return types.some((t) => tokenMatcher(tok, t));
}

/** Where a list's element parse stands: before an element, after a sign, after an element. */
type State = "start" | "afterComma" | "afterSign" | "afterElement";

/** A literal over the limit: its brackets' token indices and its count. */
interface TooBig {
  readonly open: number;
  readonly close: number;
  readonly count: number;
}

interface Frame {
  /** Index of the `[` in the token array. */
  readonly open: number;
  /** Whether this `[` may start a list type. */
  readonly type: boolean;
  /** Still a well-formed literal (false for an index or a type's dimensions from the start). */
  pure: boolean;
  /** No nested list. */
  flat: boolean;
  state: State;
  /** Numbers in the literal, nested lists included. */
  count: number;
  firstSign: IToken | undefined;
  /** Literals over the limit inside this one, reported unless this one is a bigger literal. */
  tooBig: TooBig[];
}

/**
 * The tokens for the parser, with long flat lists of numbers collapsed (see
 * the module comment); literals over {@link MAX_LITERAL_ELEMENTS} numbers are
 * reported to `bag` as E0104 and make the result `ok: false`.
 */
export function collapseNumericLists(
  file: SourceFile,
  tokens: readonly IToken[],
  bag: DiagnosticBag,
): { tokens: IToken[]; ok: boolean } {
  const stack: Frame[] = [];
  const collapse: { open: number; close: number; firstSign: IToken | undefined }[] = [];
  let ok = true;
  const report = (bigs: readonly TooBig[]): void => {
    for (const big of bigs) {
      ok = false;
      const open = tokens[big.open]!;
      const close = tokens[big.close]!;
      bag.error(
        "E0104",
        `tensor literal too large: ${big.count} numbers, the limit is ${MAX_LITERAL_ELEMENTS} (2^20) per literal`,
        file.span(open.startOffset, close.startOffset + close.image.length),
        [
          {
            message:
              "read data this large from a file: a `file` source in a `train` block, or an argument at run time",
          },
        ],
      );
    }
  };
  /** Feeds one element to `f`: a number (after an optional sign) or a nested list. */
  const element = (f: Frame, list: boolean): void => {
    if (f.state === "start" || f.state === "afterComma" || (f.state === "afterSign" && !list))
      f.state = "afterElement";
    else f.pure = false;
  };

  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    const top = stack[stack.length - 1];
    if (tokenMatcher(tok, LBracket)) {
      const prev = tokens[i - 1];
      // `[` after `:` or `->` may start a list type `[T]`, and so may a `[` right inside it
      const type =
        prev !== undefined &&
        (tokenMatcher(prev, Colon) ||
          tokenMatcher(prev, Arrow) ||
          (tokenMatcher(prev, LBracket) && top?.type === true));
      const literal =
        !type &&
        (prev === undefined || (!isAny(prev, ENDS_OPERAND) && isAny(prev, OPENS_EXPRESSION)));
      if (top) top.flat = false;
      stack.push({
        open: i,
        type,
        pure: literal,
        flat: true,
        state: "start",
        count: 0,
        firstSign: undefined,
        tooBig: [],
      });
      continue;
    }
    if (top === undefined) continue;
    if (tokenMatcher(tok, RBracket)) {
      stack.pop();
      const parent = stack[stack.length - 1];
      // `[`, `[1,` and `[1` may close; `[-` may not
      if (top.pure && top.state !== "afterSign") {
        if (top.count > MAX_LITERAL_ELEMENTS)
          top.tooBig = [{ open: top.open, close: i, count: top.count }];
        else if (top.flat && top.count >= COLLAPSE_MIN)
          collapse.push({ open: top.open, close: i, firstSign: top.firstSign });
        if (parent?.pure) {
          element(parent, true);
          parent.count += top.count;
          parent.tooBig.push(...top.tooBig);
          continue;
        }
      }
      report(top.tooBig);
      if (parent) parent.pure = false;
      continue;
    }
    if (!top.pure) continue;
    if (tokenMatcher(tok, NumberLit)) {
      element(top, false);
      top.count++;
    } else if (tokenMatcher(tok, Minus) || tokenMatcher(tok, Plus)) {
      if (top.state === "start" || top.state === "afterComma") {
        top.state = "afterSign";
        top.firstSign ??= tok;
      } else top.pure = false;
    } else if (tokenMatcher(tok, Comma)) {
      if (top.state === "afterElement") top.state = "afterComma";
      else top.pure = false;
    } else top.pure = false;
  }
  // unclosed brackets (a syntax error the parser reports): their big literals still count
  for (const f of stack) report(f.tooBig);
  if (!ok) return { tokens: [...tokens], ok };
  if (collapse.length === 0) return { tokens: [...tokens], ok };

  const out: IToken[] = [];
  let next = 0;
  for (const c of collapse) {
    for (let k = next; k < c.open; k++) out.push(tokens[k]!);
    const open = tokens[c.open]!;
    const close = tokens[c.close]!;
    const token: NumericListToken = {
      image: file.text.slice(open.startOffset, close.startOffset + close.image.length),
      startOffset: open.startOffset,
      endOffset: close.startOffset + close.image.length - 1,
      ...lines(open.startLine, open.startColumn, close.endLine, close.endColumn),
      tokenType: NumericList,
      tokenTypeIdx: NumericList.tokenTypeIdx!,
      elements: tokens.slice(c.open + 1, c.close),
      firstSign: c.firstSign,
      close,
    };
    out.push(token);
    next = c.close + 1;
  }
  for (let k = next; k < tokens.length; k++) out.push(tokens[k]!);
  return { tokens: out, ok };
}

/** A token's line and column fields, those the lexer set. */
function lines(
  startLine: number | undefined,
  startColumn: number | undefined,
  endLine: number | undefined,
  endColumn: number | undefined,
): Pick<IToken, "startLine" | "startColumn" | "endLine" | "endColumn"> {
  return {
    ...(startLine === undefined ? {} : { startLine }),
    ...(startColumn === undefined ? {} : { startColumn }),
    ...(endLine === undefined ? {} : { endLine }),
    ...(endColumn === undefined ? {} : { endColumn }),
  };
}
