/**
 * Syntax error messages, all of the form `expected <what>, found <token>`, built
 * for Chevrotain through its `errorMessageProvider` hook.
 */
import type { IParserErrorMessageProvider, IToken, TokenType } from "chevrotain";
import { EOF, tokenMatcher } from "./chevrotain.js";
import { Identifier, Keyword, NumberLit, NumericList, RCurly, StringLit } from "./tokens.js";

/** How a token the parser found is shown: `` `;` ``, ``identifier `foo` ``, `end of file`. */
export function describeToken(tok: IToken | undefined): string {
  if (tok === undefined || tok.tokenType === EOF) return "end of file";
  // a long list of numbers made one token (literals.ts): shown by its first token, as lexed
  if (tok.tokenType === NumericList) return "`[`";
  if (tokenMatcher(tok, Identifier)) return `identifier \`${tok.image}\``;
  if (tokenMatcher(tok, NumberLit)) return `number \`${tok.image}\``;
  if (tokenMatcher(tok, StringLit)) return `string \`${tok.image}\``;
  if (tokenMatcher(tok, Keyword)) return `keyword \`${tok.image}\``;
  return `\`${tok.image}\``;
}

/** How an expected token type is shown: its label (`` `;` ``, `identifier`, `` `fn` ``). */
export function describeTokenType(type: TokenType): string {
  if (type === EOF) return "end of file";
  return type.LABEL ?? type.name;
}

/** `a`, `a or b`, `a, b or c`. */
function oneOf(items: readonly string[]): string {
  const unique = [...new Set(items)];
  if (unique.length <= 1) return unique[0] ?? "something else";
  return `${unique.slice(0, -1).join(", ")} or ${unique[unique.length - 1]}`;
}

/** What the top-level repetition of a rule expects when it stops early. */
const repetitionExpectations: Readonly<Record<string, string>> = {
  module: "an item (`use`, `fn`, `loss`, `model`, `const` or `train`)",
};

/** What may come instead of the `}` that closes a rule's list of things. */
const beforeClosingCurly: Readonly<Record<string, string>> = {
  block: "a statement or `}`",
  modelDecl: "a model item (`param`, a field `name = ...`, `fn`, `loss` or `const`) or `}`",
  trainDecl: "an option `name = value` or `}`",
};

export const syntaxErrorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    let what = describeTokenType(expected);
    if (expected === EOF) what = repetitionExpectations[ruleName] ?? what;
    if (expected === RCurly) what = beforeClosingCurly[ruleName] ?? what;
    return `expected ${what}, found ${describeToken(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant, ruleName }) {
    const what = repetitionExpectations[ruleName] ?? "end of file";
    return `expected ${what}, found ${describeToken(firstRedundant)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, customUserDescription }) {
    const what =
      customUserDescription ??
      oneOf(
        expectedPathsPerAlt
          .flatMap((paths) => paths.flatMap((p) => p.slice(0, 1)))
          .map(describeTokenType),
      );
    return `expected ${what}, found ${describeToken(actual[0])}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, customUserDescription }) {
    const what =
      customUserDescription ??
      oneOf(expectedIterationPaths.flatMap((p) => p.slice(0, 1)).map(describeTokenType));
    return `expected ${what}, found ${describeToken(actual[0])}`;
  },
};
