import { describe, expect, it, vi } from "vitest";
import { SourceFile } from "../../compiler/ast/span.js";
import { DiagnosticBag } from "../../compiler/diagnostics/diagnostic.js";
import { decodeString, lex } from "../../compiler/syntax/tokens.js";
import { diagnostics } from "./helpers.js";

function run(text: string) {
  const bag = new DiagnosticBag();
  const { tokens, ok } = lex(new SourceFile("lex.nn", text), bag);
  return { tokens, ok, errors: diagnostics(bag) };
}

/** Tokens as `Type:image`. */
function toks(text: string): string[] {
  const r = run(text);
  expect(r.errors).toEqual([]);
  return r.tokens.map((t) => `${t.tokenType.name}:${t.image}`);
}

function types(text: string): string[] {
  return run(text).tokens.map((t) => t.tokenType.name);
}

describe("lexer", () => {
  it("lexes every keyword", () => {
    const words =
      "use as fn loss model param const let var return for in if else train with true false";
    expect(types(words)).toEqual([
      "Use",
      "As",
      "Fn",
      "Loss",
      "Model",
      "Param",
      "Const",
      "Let",
      "Var",
      "Return",
      "For",
      "In",
      "If",
      "Else",
      "Train",
      "With",
      "True",
      "False",
    ]);
  });

  it("treats type names as identifiers, not keywords", () => {
    expect(toks("f32 i32 bool int float")).toEqual([
      "Identifier:f32",
      "Identifier:i32",
      "Identifier:bool",
      "Identifier:int",
      "Identifier:float",
    ]);
  });

  it("prefers identifiers that merely start with a keyword", () => {
    expect(toks("int inx fnord user asx lossy model_ returned _in for2 in")).toEqual([
      "Identifier:int",
      "Identifier:inx",
      "Identifier:fnord",
      "Identifier:user",
      "Identifier:asx",
      "Identifier:lossy",
      "Identifier:model_",
      "Identifier:returned",
      "Identifier:_in",
      "Identifier:for2",
      "In:in",
    ]);
  });

  it("lexes every operator and punctuation mark", () => {
    const text = "... .. -> == != <= >= && || = < > + - * / % ^ @ ! ( ) [ ] { } , : ; .";
    expect(types(text)).toEqual([
      "Ellipsis",
      "DotDot",
      "Arrow",
      "EqEq",
      "NotEq",
      "LtEq",
      "GtEq",
      "AndAnd",
      "OrOr",
      "Equals",
      "Lt",
      "Gt",
      "Plus",
      "Minus",
      "Star",
      "Slash",
      "Percent",
      "Caret",
      "At",
      "Bang",
      "LParen",
      "RParen",
      "LBracket",
      "RBracket",
      "LCurly",
      "RCurly",
      "Comma",
      "Colon",
      "Semicolon",
      "Dot",
    ]);
  });

  it("lexes longest operators without spaces", () => {
    expect(toks("a<=b->c...d==e")).toEqual([
      "Identifier:a",
      "LtEq:<=",
      "Identifier:b",
      "Arrow:->",
      "Identifier:c",
      "Ellipsis:...",
      "Identifier:d",
      "EqEq:==",
      "Identifier:e",
    ]);
    expect(toks("a=-b")).toEqual(["Identifier:a", "Equals:=", "Minus:-", "Identifier:b"]);
    expect(toks("!!x")).toEqual(["Bang:!", "Bang:!", "Identifier:x"]);
  });

  it("puts operators in their categories", () => {
    const cats = (text: string) =>
      run(text).tokens.map((t) => (t.tokenType.CATEGORIES ?? []).map((c) => c.name).join("+"));
    expect(cats("+ - * / % @ == != < <= > >= ! true fn")).toEqual([
      "AdditiveOp+UnaryOp",
      "AdditiveOp+UnaryOp",
      "MultiplicativeOp",
      "MultiplicativeOp",
      "MultiplicativeOp",
      "MultiplicativeOp",
      "ComparisonOp",
      "ComparisonOp",
      "ComparisonOp",
      "ComparisonOp",
      "ComparisonOp",
      "ComparisonOp",
      "UnaryOp",
      "Keyword+BoolLiteral",
      "Keyword",
    ]);
  });

  it("lexes unicode identifiers", () => {
    expect(toks("füße λ x₁ 変数 _x9 αβ_γ2 𝑥")).toEqual([
      "Identifier:füße",
      "Identifier:λ",
      // `₁` is a number (No), so it may continue an identifier
      "Identifier:x₁",
      "Identifier:変数",
      "Identifier:_x9",
      "Identifier:αβ_γ2",
      "Identifier:𝑥",
    ]);
  });

  it("does not start identifiers with digits", () => {
    expect(toks("3abc")).toEqual(["NumberLit:3", "Identifier:abc"]);
  });

  it("lexes numbers", () => {
    expect(toks("0 42 3.25 1e5 1E-3 2.5e+10 007")).toEqual([
      "NumberLit:0",
      "NumberLit:42",
      "NumberLit:3.25",
      "NumberLit:1e5",
      "NumberLit:1E-3",
      "NumberLit:2.5e+10",
      "NumberLit:007",
    ]);
  });

  it("does not take a range's dots into a number", () => {
    expect(toks("0..n")).toEqual(["NumberLit:0", "DotDot:..", "Identifier:n"]);
    expect(toks("1..2.5")).toEqual(["NumberLit:1", "DotDot:..", "NumberLit:2.5"]);
  });

  it("does not accept `1.` or `.5` as numbers", () => {
    expect(toks("1.")).toEqual(["NumberLit:1", "Dot:."]);
    expect(toks(".5")).toEqual(["Dot:.", "NumberLit:5"]);
    expect(toks("1e")).toEqual(["NumberLit:1", "Identifier:e"]);
    expect(toks("x.0")).toEqual(["Identifier:x", "Dot:.", "NumberLit:0"]);
  });

  it("lexes strings with escapes", () => {
    expect(toks(String.raw`"" "a b" "q\"q" "\\" "\n\t\r" "\u{1F600}"`)).toEqual([
      'StringLit:""',
      'StringLit:"a b"',
      'StringLit:"q\\"q"',
      'StringLit:"\\\\"',
      'StringLit:"\\n\\t\\r"',
      'StringLit:"\\u{1F600}"',
    ]);
    expect(decodeString(String.raw`"q\"q\\ \n\t\r\u{41}\u{1F600}é"`)).toEqual({
      value: 'q"q\\ \n\t\r' + "A\u{1F600}é",
      problems: [],
    });
  });

  it("skips whitespace and comments", () => {
    expect(toks("a // line comment\n\t b /* block\n comment */ c/**/d // end")).toEqual([
      "Identifier:a",
      "Identifier:b",
      "Identifier:c",
      "Identifier:d",
    ]);
    expect(toks("x /* not nested /* */ y")).toEqual(["Identifier:x", "Identifier:y"]);
    expect(toks("a/b")).toEqual(["Identifier:a", "Slash:/", "Identifier:b"]);
  });

  it("tracks lines across comments and CRLF line ends", () => {
    const { tokens } = run("a\r\n/* x\n y */ b\n  c");
    expect(tokens.map((t) => `${t.image}@${t.startLine}:${t.startColumn}`)).toEqual([
      "a@1:1",
      "b@3:7",
      "c@4:3",
    ]);
  });

  it("reports unexpected characters with their exact position", () => {
    const r = run("let x = a $ b\n  #y ` 😀");
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      "1:11 E0101 unexpected character '$'",
      "2:3 E0101 unexpected character '#'",
      "2:6 E0101 unexpected character '`'",
      "2:8 E0101 unexpected character '😀'",
    ]);
    // the rest still lexes
    expect(r.tokens.map((t) => t.image)).toEqual(["let", "x", "=", "a", "b", "y"]);
  });

  it("reports each character of a run of bad characters", () => {
    const bag = new DiagnosticBag();
    lex(new SourceFile("lex.nn", "a $$ b"), bag);
    expect(bag.all().map((d) => [d.span.start, d.span.end])).toEqual([
      [2, 3],
      [3, 4],
    ]);
  });

  it("shows invisible characters escaped", () => {
    expect(run("a \u0007 b").errors).toEqual(["1:3 E0101 unexpected character '\\u{7}'"]);
  });

  it("reports an unterminated block comment", () => {
    const r = run("a\n  /* no end\n b c");
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual(["2:3 E0103 unterminated block comment"]);
    expect(r.tokens.map((t) => t.image)).toEqual(["a"]);
  });

  it("reports an unterminated string and keeps it as a string", () => {
    const r = run('x = "abc\ny = "q\\"');
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      "1:5 E0103 unterminated string literal",
      "2:5 E0103 unterminated string literal",
    ]);
    expect(r.tokens.map((t) => `${t.tokenType.name}:${t.image}`)).toEqual([
      "Identifier:x",
      "Equals:=",
      'UnterminatedString:"abc',
      "Identifier:y",
      "Equals:=",
      'UnterminatedString:"q\\"',
    ]);
  });

  it("reports invalid escapes", () => {
    const r = run(String.raw`"a\qb" "\u{110000}" "\u{D800}" "\u12"`);
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      '1:3 E0101 invalid escape sequence `\\q` in string (expected `\\"`, `\\\\`, `\\n`, `\\t`, `\\r` or `\\u{XXXX}`)',
      "1:9 E0101 invalid unicode escape `\\u{110000}` (expected `\\u{XXXX}` with 1 to 6 hex digits naming a Unicode scalar value)",
      "1:22 E0101 invalid unicode escape `\\u{D800}` (expected `\\u{XXXX}` with 1 to 6 hex digits naming a Unicode scalar value)",
      "1:33 E0101 invalid unicode escape `\\u` (expected `\\u{XXXX}` with 1 to 6 hex digits naming a Unicode scalar value)",
    ]);
  });

  it("builds without printing Chevrotain warnings", async () => {
    vi.resetModules();
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      const syntax = await import("../../compiler/syntax/index.js");
      syntax.parseModule(new SourceFile("w.nn", "fn λ(x) = x"), new DiagnosticBag());
      expect(error).not.toHaveBeenCalled();
      expect(warn).not.toHaveBeenCalled();
      expect(log).not.toHaveBeenCalled();
    } finally {
      error.mockRestore();
      warn.mockRestore();
      log.mockRestore();
    }
  });
});
