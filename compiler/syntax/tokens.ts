/**
 * The lexer of `.nn` source: Chevrotain token types (with categories for operator
 * classes) and {@link lex}, which turns a {@link SourceFile} into tokens and reports
 * lexical errors (E0101 unexpected character or bad escape, E0103 unterminated
 * string or block comment) to a {@link DiagnosticBag}.
 */
import type { IToken, TokenType } from "chevrotain";
import { createToken, Lexer, tokenMatcher } from "./chevrotain.js";
import type { SourceFile } from "../ast/span.js";
import type { DiagnosticBag } from "../diagnostics/diagnostic.js";

// ---------------------------------------------------------------- categories

/** Every keyword; used to describe tokens in error messages (`keyword \`fn\``). */
export const Keyword = createToken({ name: "Keyword", pattern: Lexer.NA, label: "keyword" });
/** `+ -` between operands. */
export const AdditiveOp = createToken({
  name: "AdditiveOp",
  pattern: Lexer.NA,
  label: "`+` or `-`",
});
/** `* / % @` between operands. */
export const MultiplicativeOp = createToken({
  name: "MultiplicativeOp",
  pattern: Lexer.NA,
  label: "`*`, `/`, `%` or `@`",
});
/** `== != < <= > >=`. */
export const ComparisonOp = createToken({
  name: "ComparisonOp",
  pattern: Lexer.NA,
  label: "a comparison operator",
});
/** Prefix `- + !`. */
export const UnaryOp = createToken({
  name: "UnaryOp",
  pattern: Lexer.NA,
  label: "`-`, `+` or `!`",
});
/** `true false`. */
export const BoolLiteral = createToken({
  name: "BoolLiteral",
  pattern: Lexer.NA,
  label: "boolean",
});

// ---------------------------------------------------------------- trivia

const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /\s+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});
const LineComment = createToken({
  name: "LineComment",
  pattern: /\/\/[^\n]*/,
  group: Lexer.SKIPPED,
});
const BlockComment = createToken({
  name: "BlockComment",
  pattern: /\/\*[\s\S]*?\*\//,
  group: Lexer.SKIPPED,
  line_breaks: true,
});
/** Group of tokens that are lexical errors kept out of the parser's input. */
const UNTERMINATED = "unterminated";
/** `/*` without its `*\/`: runs to the end of the file; reported as E0103. */
export const UnterminatedBlockComment = createToken({
  name: "UnterminatedBlockComment",
  pattern: /\/\*[\s\S]*/,
  group: UNTERMINATED,
  line_breaks: true,
});

// ---------------------------------------------------------------- literals

/**
 * An identifier: Unicode's default identifier syntax (UAX #31: an `ID_Start`
 * character or `_`, then `ID_Continue` characters, which take in combining
 * marks, so a name typed in decomposed form lexes), widened to every letter
 * and number (`x²`). Chevrotain drops the `u` flag of regexp patterns, so
 * identifiers use a custom matcher over a sticky unicode regexp. The name an
 * identifier stands for is its NFC normal form ({@link identifierName}).
 */
const identifierRegExp = /[\p{ID_Start}\p{L}_][\p{ID_Continue}\p{L}\p{N}]*/uy;

/**
 * The name an identifier token stands for: its text in Unicode normalization
 * form NFC, so that `é` typed precomposed or as `e` and a combining accent is
 * one name (as in Rust). Spans still cover the text as written.
 */
export function identifierName(image: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(image) ? image : image.normalize("NFC");
}

function matchIdentifier(text: string, offset: number): RegExpExecArray | null {
  identifierRegExp.lastIndex = offset;
  return identifierRegExp.exec(text);
}

/**
 * First-char hints for the custom identifier matcher, so the lexer keeps its
 * first-char optimization: ASCII letters, `_`, and every non-ASCII UTF-16 code unit
 * (a superset of the letters and of the high surrogates that start astral letters;
 * the matcher itself decides).
 */
function identifierStartHints(): number[] {
  const hints: number[] = [0x5f];
  for (let c = 0x41; c <= 0x5a; c++) hints.push(c, c + 0x20);
  for (let c = 0x80; c <= 0xffff; c++) hints.push(c);
  return hints;
}

export const Identifier = createToken({
  name: "Identifier",
  pattern: matchIdentifier,
  line_breaks: false,
  start_chars_hint: identifierStartHints(),
  label: "identifier",
});

export const NumberLit = createToken({
  name: "NumberLit",
  pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/,
  label: "number",
});

export const StringLit = createToken({
  name: "StringLit",
  // the unrolled loop `a*(\\b a*)*`: one alternation per character made V8's
  // backtracking regexp engine overflow its stack on a string of a few megabytes
  pattern: /"[^"\\\n]*(?:\\[^\n][^"\\\n]*)*"/,
  label: "string",
});
/**
 * A string missing its closing quote (up to the end of the line). It is a
 * {@link StringLit} to the parser, so the rest of the file parses normally; the
 * lexer reports it as E0103.
 */
export const UnterminatedString = createToken({
  name: "UnterminatedString",
  pattern: /"[^"\\\n]*(?:\\[^\n][^"\\\n]*)*\\?/,
  categories: [StringLit],
  label: "string",
});

/**
 * A flat list of numbers (`[1, -2.5, 3e4]`), made by {@link collapseNumericLists}
 * from the tokens of a long literal after lexing, never by the lexer: the
 * parser takes it as one primary expression instead of a rule per number.
 * Its {@link NumericListToken.elements} are the original tokens between the brackets.
 */
export const NumericList = createToken({
  name: "NumericList",
  pattern: Lexer.NA,
  label: "`[`",
});

// ---------------------------------------------------------------- keywords

function keyword(word: string, categories: TokenType[] = []): TokenType {
  return createToken({
    name: word.charAt(0).toUpperCase() + word.slice(1),
    pattern: new RegExp(word),
    longer_alt: Identifier,
    categories: [Keyword, ...categories],
    label: `\`${word}\``,
  });
}

export const Use = keyword("use");
export const As = keyword("as");
export const Fn = keyword("fn");
export const Loss = keyword("loss");
export const Model = keyword("model");
export const Optimizer = keyword("optimizer");
export const Param = keyword("param");
export const Const = keyword("const");
export const Let = keyword("let");
export const Var = keyword("var");
export const Return = keyword("return");
export const For = keyword("for");
export const In = keyword("in");
export const If = keyword("if");
export const Else = keyword("else");
export const Train = keyword("train");
export const With = keyword("with");
export const True = keyword("true", [BoolLiteral]);
export const False = keyword("false", [BoolLiteral]);

// ---------------------------------------------------------------- punctuation

function punct(name: string, text: string, categories: TokenType[] = []): TokenType {
  return createToken({ name, pattern: text, categories, label: `\`${text}\`` });
}

export const Ellipsis = punct("Ellipsis", "...");
export const DotDot = punct("DotDot", "..");
export const Arrow = punct("Arrow", "->");
export const EqEq = punct("EqEq", "==", [ComparisonOp]);
export const NotEq = punct("NotEq", "!=", [ComparisonOp]);
export const LtEq = punct("LtEq", "<=", [ComparisonOp]);
export const GtEq = punct("GtEq", ">=", [ComparisonOp]);
export const AndAnd = punct("AndAnd", "&&");
export const OrOr = punct("OrOr", "||");
export const Equals = punct("Equals", "=");
export const Lt = punct("Lt", "<", [ComparisonOp]);
export const Gt = punct("Gt", ">", [ComparisonOp]);
export const Plus = punct("Plus", "+", [AdditiveOp, UnaryOp]);
export const Minus = punct("Minus", "-", [AdditiveOp, UnaryOp]);
export const Star = punct("Star", "*", [MultiplicativeOp]);
export const Slash = punct("Slash", "/", [MultiplicativeOp]);
export const Percent = punct("Percent", "%", [MultiplicativeOp]);
export const Caret = punct("Caret", "^");
export const At = punct("At", "@", [MultiplicativeOp]);
export const Bang = punct("Bang", "!", [UnaryOp]);
export const LParen = punct("LParen", "(");
export const RParen = punct("RParen", ")");
export const LBracket = punct("LBracket", "[");
export const RBracket = punct("RBracket", "]");
export const LCurly = punct("LCurly", "{");
export const RCurly = punct("RCurly", "}");
export const Comma = punct("Comma", ",");
export const Colon = punct("Colon", ":");
export const Semicolon = punct("Semicolon", ";");
export const Dot = punct("Dot", ".");

/** Every token type, in lexer priority order (first match wins; longer operators first). */
export const allTokens: readonly TokenType[] = [
  WhiteSpace,
  LineComment,
  BlockComment,
  UnterminatedBlockComment,
  StringLit,
  UnterminatedString,
  NumberLit,
  Use,
  As,
  Fn,
  Loss,
  Model,
  Optimizer,
  Param,
  Const,
  Let,
  Var,
  Return,
  For,
  In,
  If,
  Else,
  Train,
  With,
  True,
  False,
  Identifier,
  Ellipsis,
  DotDot,
  Dot,
  Arrow,
  EqEq,
  NotEq,
  LtEq,
  GtEq,
  AndAnd,
  OrOr,
  Equals,
  Lt,
  Gt,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Caret,
  At,
  Bang,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LCurly,
  RCurly,
  Comma,
  Colon,
  Semicolon,
  // categories: never matched by the lexer, listed so the parser knows them
  Keyword,
  AdditiveOp,
  MultiplicativeOp,
  ComparisonOp,
  UnaryOp,
  BoolLiteral,
  NumericList,
];

const nnLexer = new Lexer([...allTokens], {
  ensureOptimizations: true,
  // Lines end at `\n` only, as in SourceFile; `\r\n` counts once.
  lineTerminatorsPattern: /\n/g,
  lineTerminatorCharacters: ["\n"],
});

// ---------------------------------------------------------------- strings

/** A problem inside a string literal, at offsets relative to the literal's start. */
export interface StringProblem {
  readonly start: number;
  readonly end: number;
  readonly message: string;
}

const simpleEscapes: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  n: "\n",
  t: "\t",
  r: "\r",
};

/**
 * Decodes a string literal as written (with its quotes; the closing one may be
 * missing) into its value, listing invalid escape sequences.
 */
export function decodeString(image: string): { value: string; problems: StringProblem[] } {
  const end = image.length > 1 && image.endsWith('"') && !isEscapedQuote(image) ? -1 : undefined;
  const body = image.slice(1, end);
  if (!body.includes("\\")) return { value: body, problems: [] };
  let value = "";
  const problems: StringProblem[] = [];
  for (let i = 0; i < body.length; i++) {
    const ch = body.charAt(i);
    if (ch !== "\\") {
      value += ch;
      continue;
    }
    const next = body.charAt(i + 1);
    const simple = simpleEscapes[next];
    if (simple !== undefined) {
      value += simple;
      i++;
      continue;
    }
    if (next === "u") {
      const m = /^\{([0-9a-fA-F]{1,6})\}/.exec(body.slice(i + 2));
      const code = m?.[1] === undefined ? NaN : parseInt(m[1], 16);
      if (m && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)) {
        value += String.fromCodePoint(code);
        i += 1 + m[0].length;
        continue;
      }
      const len = m ? 2 + m[0].length : 2;
      problems.push({
        start: i + 1,
        end: i + 1 + len,
        message: `invalid unicode escape \`${body.slice(i, i + len)}\` (expected \`\\u{XXXX}\` with 1 to 6 hex digits naming a Unicode scalar value)`,
      });
      i += len - 1;
      continue;
    }
    const len = next === "" ? 1 : 1 + codePointLength(body, i + 1);
    problems.push({
      start: i + 1,
      end: i + 1 + len,
      message: `invalid escape sequence \`${body.slice(i, i + len)}\` in string (expected \`\\"\`, \`\\\\\`, \`\\n\`, \`\\t\`, \`\\r\` or \`\\u{XXXX}\`)`,
    });
    i += len - 1;
  }
  return { value, problems };
}

/** Whether the final `"` of `image` is preceded by an odd number of backslashes. */
function isEscapedQuote(image: string): boolean {
  let n = 0;
  for (let i = image.length - 2; i >= 1 && image.charAt(i) === "\\"; i--) n++;
  return n % 2 === 1;
}

function codePointLength(text: string, index: number): number {
  const cp = text.codePointAt(index);
  return cp !== undefined && cp > 0xffff ? 2 : 1;
}

// ---------------------------------------------------------------- lexing

/** How a character is shown in a message: itself, or `\u{..}` when invisible. */
function showChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return /[\p{L}\p{N}\p{P}\p{S}]/u.test(ch) ? ch : `\\u{${cp.toString(16).toUpperCase()}}`;
}

/** The tokens of a file, and whether it lexed without errors. */
export interface LexResult {
  readonly tokens: IToken[];
  readonly ok: boolean;
}

/**
 * Splits `file` into tokens for the parser. Lexical errors go to `bag`; the
 * returned tokens still cover the rest of the file (bad characters dropped,
 * unterminated strings kept as strings) so the parser can report syntax errors too.
 */
export function lex(file: SourceFile, bag: DiagnosticBag): LexResult {
  const result = nnLexer.tokenize(file.text);
  let ok = result.errors.length === 0;
  for (const err of result.errors) {
    // Chevrotain reports one error per run of unmatched characters; report each character.
    const run = file.text.slice(err.offset, err.offset + err.length);
    let offset = err.offset;
    for (const ch of run) {
      bag.error(
        "E0101",
        `unexpected character '${showChar(ch)}'`,
        file.span(offset, offset + ch.length),
      );
      offset += ch.length;
    }
  }
  for (const tok of result.groups[UNTERMINATED] ?? []) {
    ok = false;
    bag.error(
      "E0103",
      "unterminated block comment",
      file.span(tok.startOffset, tok.startOffset + 2),
      [{ message: "the comment starting here has no closing `*/`" }],
    );
  }
  for (const tok of result.tokens) {
    if (tokenMatcher(tok, UnterminatedString)) {
      ok = false;
      bag.error(
        "E0103",
        "unterminated string literal",
        file.span(tok.startOffset, tok.startOffset + 1),
        [{ message: 'the string starting here has no closing `"` on its line' }],
      );
    } else if (tokenMatcher(tok, StringLit)) {
      for (const p of decodeString(tok.image).problems) {
        ok = false;
        bag.error(
          "E0101",
          p.message,
          file.span(tok.startOffset + p.start, tok.startOffset + p.end),
        );
      }
    }
  }
  return { tokens: result.tokens, ok };
}
