/**
 * The grammar of `.nn` as a pure Chevrotain {@link CstParser}: rules are typed
 * class fields without embedded actions, and the result is a concrete syntax tree
 * that `toAst.ts` turns into the AST. Error recovery is on, so one run reports
 * several syntax errors; {@link parser} is the one shared instance.
 *
 * Two checks the grammar accepts on purpose and `toAst.ts` rejects, for better
 * messages and recovery: expression statements that are not a block's last item,
 * and chained comparisons (`a < b < c`).
 */
import type { CstNode, IRuleConfig, IToken, TokenType } from "chevrotain";
import { MAX_NESTING_DEPTH } from "../../runtime/limits.js";
import { CstParser, tokenMatcher } from "./chevrotain.js";
import type { NumericListToken } from "./literals.js";
import { syntaxErrorMessages } from "./messages.js";
import {
  AdditiveOp,
  allTokens,
  AndAnd,
  Arrow,
  As,
  BoolLiteral,
  Caret,
  Colon,
  Comma,
  ComparisonOp,
  Const,
  Dot,
  DotDot,
  Ellipsis,
  Else,
  Equals,
  Fn,
  For,
  Identifier,
  If,
  In,
  Keyword,
  LBracket,
  LCurly,
  Let,
  Loss,
  LParen,
  Model,
  Optimizer,
  MultiplicativeOp,
  NumberLit,
  NumericList,
  OrOr,
  Param,
  RBracket,
  RCurly,
  Return,
  RParen,
  Semicolon,
  StringLit,
  Train,
  UnaryOp,
  Use,
  Var,
  With,
} from "./tokens.js";

/**
 * Thrown out of the parser when a construct opens nesting level
 * {@link MAX_NESTING_DEPTH} + 1; `parseWith` turns it into diagnostic E0104.
 * It is not a Chevrotain recognition exception, so it ends the parse instead of
 * starting error recovery (which would recurse just as deep).
 */
export class NestingLimitExceeded extends Error {
  constructor(readonly token: IToken) {
    super(`nesting deeper than ${MAX_NESTING_DEPTH} levels`);
  }
}

/** The token before the next one (`LA(0)`) and the next one (`LA(1)`). */
type Around = (k: 0 | 1) => IToken;

/**
 * The rules that open a nesting level (see {@link MAX_NESTING_DEPTH}): for
 * each, the token that opens the level, if this invocation opens one. Every
 * cycle of the grammar passes through one of them, so the parser's recursion
 * depth is at most a constant times the nesting depth.
 */
const NESTING_RULES: Readonly<Record<string, (la: Around) => IToken | undefined>> = {
  // a parenthesized expression (a list literal is `listExpr`)
  primary: (la) => opening(la(1), LParen) ?? opening(la(1), NumericList),
  listExpr: (la) => opening(la(1), LBracket),
  callSuffix: (la) => opening(la(1), LParen),
  indexSuffix: (la) => opening(la(1), LBracket),
  block: (la) => opening(la(1), LCurly),
  type: (la) => opening(la(1), LBracket),
  // a prefix operator, or the right operand of `^`
  unaryExpr: (la) => opening(la(1), UnaryOp) ?? opening(la(0), Caret),
  // `else if`
  ifStmt: (la) => opening(la(0), Else),
};

function opening(tok: IToken, type: TokenType): IToken | undefined {
  return tokenMatcher(tok, type) ? tok : undefined;
}

/** Whether `next` starts on the line where `prev` ends (false when either is missing). */
function sameLine(prev: IToken, next: IToken): boolean {
  return prev.endLine !== undefined && prev.endLine === next.startLine;
}

export class NnParser extends CstParser {
  constructor() {
    super([...allTokens], {
      recoveryEnabled: true,
      maxLookahead: 3,
      nodeLocationTracking: "onlyOffset",
      errorMessageProvider: syntaxErrorMessages,
    });
    this.performSelfAnalysis();
    this.analysed = true;
  }

  /** Open nesting levels at the current point of the parse. */
  private nesting = 0;
  /** False while Chevrotain records the grammar (rules then run without input). */
  private analysed = false;

  override reset(): void {
    super.reset();
    this.nesting = 0;
  }

  /** Every rule, wrapped to count the nesting levels it opens (see {@link NESTING_RULES}). */
  protected override RULE<F extends () => void>(
    name: string,
    implementation: F,
    config?: IRuleConfig<CstNode>,
  ) {
    const opens = NESTING_RULES[name];
    if (!opens) return super.RULE(name, implementation, config);
    const counted = (() => {
      if (!this.analysed) return implementation();
      const tok = opens((k) => this.LA(k));
      if (!tok) return implementation();
      if (this.nesting >= MAX_NESTING_DEPTH) throw new NestingLimitExceeded(tok);
      this.nesting++;
      try {
        return implementation();
      } finally {
        this.nesting--;
      }
    }) as F;
    return super.RULE(name, counted, config);
  }

  // ------------------------------------------------------------ items

  /**
   * Called with each top-level item's CST as soon as it is parsed, so that
   * `parseModule` turns it into AST and drops it: the CST of a whole big file
   * at once is about a kilobyte per token, and holding it made garbage
   * collection most of the parse time.
   */
  onItem: ((item: CstNode) => void) | undefined = undefined;

  readonly module = this.RULE("module", () => {
    this.MANY(() => {
      const item = this.SUBRULE(this.item);
      this.ACTION(() => this.onItem?.(item));
    });
  });

  readonly item = this.RULE("item", () => {
    this.OR({
      ERR_MSG: "an item (`use`, `fn`, `loss`, `model`, `optimizer`, `const` or `train`)",
      DEF: [
        { ALT: () => this.SUBRULE(this.useDecl) },
        { ALT: () => this.SUBRULE(this.fnDecl) },
        { ALT: () => this.SUBRULE(this.modelDecl) },
        { ALT: () => this.SUBRULE(this.optimizerDecl) },
        { ALT: () => this.SUBRULE(this.constDecl) },
        { ALT: () => this.SUBRULE(this.trainDecl) },
      ],
    });
    this.OPTION(() => this.CONSUME(Semicolon));
  });

  readonly useDecl = this.RULE("useDecl", () => {
    this.CONSUME(Use);
    this.CONSUME(Identifier);
    this.MANY(() => {
      this.CONSUME(Dot);
      this.SUBRULE(this.pathSegment);
    });
    this.OPTION(() => {
      this.CONSUME2(Dot);
      this.CONSUME(LCurly);
      this.SUBRULE(this.useName);
      this.MANY2(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.useName);
      });
      this.OPTION2(() => this.CONSUME2(Comma));
      this.CONSUME(RCurly);
    });
  });

  readonly useName = this.RULE("useName", () => {
    this.CONSUME(Identifier);
    this.OPTION(() => {
      this.CONSUME(As);
      this.CONSUME2(Identifier, { LABEL: "alias" });
    });
  });

  readonly constDecl = this.RULE("constDecl", () => {
    this.CONSUME(Const);
    this.CONSUME(Identifier);
    this.OPTION(() => {
      this.CONSUME(Colon);
      this.SUBRULE(this.type);
    });
    this.CONSUME(Equals);
    this.SUBRULE(this.expr);
  });

  readonly fnDecl = this.RULE("fnDecl", () => {
    this.OR([{ ALT: () => this.CONSUME(Fn) }, { ALT: () => this.CONSUME(Loss) }]);
    this.CONSUME(Identifier);
    this.SUBRULE(this.paramList);
    this.OPTION(() => {
      this.CONSUME(Arrow);
      this.SUBRULE(this.type);
    });
    this.OR2({
      ERR_MSG: "`=` or `{`",
      DEF: [
        {
          ALT: () => {
            this.CONSUME(Equals);
            this.SUBRULE(this.expr);
          },
        },
        { ALT: () => this.SUBRULE(this.block) },
      ],
    });
  });

  /** `( p, q, )` of functions and models. */
  readonly paramList = this.RULE("paramList", () => {
    this.CONSUME(LParen);
    this.OPTION(() => {
      this.SUBRULE(this.param);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.param);
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RParen);
  });

  readonly param = this.RULE("param", () => {
    this.CONSUME(Identifier);
    this.OPTION(() => {
      this.CONSUME(Colon);
      this.SUBRULE(this.type);
    });
    this.OPTION2(() => {
      this.CONSUME(Equals);
      this.SUBRULE(this.expr);
    });
  });

  readonly modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(Model);
    this.CONSUME(Identifier);
    this.OPTION(() => this.SUBRULE(this.paramList));
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.modelItem));
    this.CONSUME(RCurly);
  });

  readonly modelItem = this.RULE("modelItem", () => {
    this.OR({
      ERR_MSG: "a model item (`param`, a field `name = ...`, `fn`, `loss` or `const`)",
      DEF: [
        { ALT: () => this.SUBRULE(this.paramDecl) },
        { ALT: () => this.SUBRULE(this.fieldDecl) },
        { ALT: () => this.SUBRULE(this.fnDecl) },
        { ALT: () => this.SUBRULE(this.constDecl) },
      ],
    });
    this.OPTION(() => this.CONSUME(Semicolon));
  });

  readonly optimizerDecl = this.RULE("optimizerDecl", () => {
    this.CONSUME(Optimizer);
    this.CONSUME(Identifier);
    this.OPTION(() => this.SUBRULE(this.paramList));
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.optimizerItem));
    this.CONSUME(RCurly);
  });

  readonly optimizerItem = this.RULE("optimizerItem", () => {
    this.OR({
      ERR_MSG: "an optimizer item (`state name = init`, `fn` or `const`)",
      DEF: [
        { ALT: () => this.SUBRULE(this.stateDecl) },
        { ALT: () => this.SUBRULE(this.fnDecl) },
        { ALT: () => this.SUBRULE(this.constDecl) },
      ],
    });
    this.OPTION(() => this.CONSUME(Semicolon));
  });

  /** `state m = zeros`: `state` is a keyword only here, so it stays usable as a name elsewhere. */
  readonly stateDecl = this.RULE("stateDecl", () => {
    this.CONSUME(Identifier, { LABEL: "stateKeyword" });
    this.CONSUME2(Identifier);
    this.CONSUME(Equals);
    this.SUBRULE(this.expr);
  });

  readonly paramDecl = this.RULE("paramDecl", () => {
    this.CONSUME(Param);
    this.CONSUME(Identifier);
    this.CONSUME(Colon);
    this.SUBRULE(this.type);
    this.CONSUME(Equals);
    this.SUBRULE(this.expr);
  });

  readonly fieldDecl = this.RULE("fieldDecl", () => {
    this.CONSUME(Identifier);
    this.CONSUME(Equals);
    this.SUBRULE(this.expr);
  });

  readonly trainDecl = this.RULE("trainDecl", () => {
    this.CONSUME(Train);
    this.CONSUME(Identifier);
    this.MANY(() => {
      this.CONSUME(Dot);
      this.SUBRULE(this.pathSegment);
    });
    this.CONSUME(With);
    this.SUBRULE(this.expr);
    this.OPTION(() => {
      this.CONSUME(LCurly);
      this.MANY2(() => {
        this.SUBRULE(this.namedArg);
        this.OPTION2(() =>
          this.OR([{ ALT: () => this.CONSUME(Comma) }, { ALT: () => this.CONSUME(Semicolon) }]),
        );
      });
      this.CONSUME(RCurly);
    });
  });

  /**
   * A name after `.`: an identifier, or a keyword used as a name (`use std.loss`,
   * `m.loss`), which is unambiguous there.
   */
  readonly pathSegment = this.RULE("pathSegment", () => {
    this.OR({
      ERR_MSG: "a name",
      DEF: [{ ALT: () => this.CONSUME(Identifier) }, { ALT: () => this.CONSUME(Keyword) }],
    });
  });

  readonly namedArg = this.RULE("namedArg", () => {
    this.CONSUME(Identifier);
    this.CONSUME(Equals);
    this.SUBRULE(this.expr);
  });

  // ------------------------------------------------------------ types

  readonly type = this.RULE("type", () => {
    this.OR({
      ERR_MSG: "a type",
      DEF: [
        { ALT: () => this.CONSUME(Fn) },
        {
          ALT: () => {
            this.CONSUME(LBracket);
            this.SUBRULE(this.type);
            this.CONSUME(RBracket);
          },
        },
        { ALT: () => this.SUBRULE(this.namedType) },
      ],
    });
  });

  readonly namedType = this.RULE("namedType", () => {
    this.CONSUME(Identifier);
    this.MANY(() => {
      this.CONSUME(Dot);
      this.SUBRULE(this.pathSegment);
    });
    this.OPTION(() => {
      this.CONSUME(LBracket);
      this.OPTION2(() => {
        this.SUBRULE(this.dimItem);
        this.MANY2(() => {
          this.CONSUME(Comma);
          this.SUBRULE2(this.dimItem);
        });
        this.OPTION3(() => this.CONSUME2(Comma));
      });
      this.CONSUME(RBracket);
    });
  });

  readonly dimItem = this.RULE("dimItem", () => {
    this.OR({
      ERR_MSG: "a dimension",
      DEF: [
        {
          ALT: () => {
            this.CONSUME(Ellipsis);
            this.OPTION(() => this.CONSUME(Identifier));
          },
        },
        { ALT: () => this.SUBRULE(this.expr) },
      ],
    });
  });

  // ------------------------------------------------------------ statements

  readonly block = this.RULE("block", () => {
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.blockItem));
    this.CONSUME(RCurly);
  });

  /** A statement, or an expression (valid only as the block's last item, checked later). */
  readonly blockItem = this.RULE("blockItem", () => {
    this.OR({
      ERR_MSG: "a statement or an expression",
      DEF: [
        { ALT: () => this.SUBRULE(this.letStmt) },
        { ALT: () => this.SUBRULE(this.assignStmt) },
        { ALT: () => this.SUBRULE(this.returnStmt) },
        { ALT: () => this.SUBRULE(this.forStmt) },
        { ALT: () => this.SUBRULE(this.ifStmt) },
        { ALT: () => this.SUBRULE(this.expr) },
      ],
    });
    this.OPTION(() => this.CONSUME(Semicolon));
  });

  readonly letStmt = this.RULE("letStmt", () => {
    this.OR([{ ALT: () => this.CONSUME(Let) }, { ALT: () => this.CONSUME(Var) }]);
    this.CONSUME(Identifier);
    this.OPTION(() => {
      this.CONSUME(Colon);
      this.SUBRULE(this.type);
    });
    this.CONSUME(Equals);
    this.SUBRULE(this.expr);
  });

  readonly assignStmt = this.RULE("assignStmt", () => {
    this.CONSUME(Identifier);
    this.CONSUME(Equals);
    this.SUBRULE(this.expr);
  });

  readonly returnStmt = this.RULE("returnStmt", () => {
    this.CONSUME(Return);
    this.SUBRULE(this.expr);
  });

  readonly forStmt = this.RULE("forStmt", () => {
    this.CONSUME(For);
    this.CONSUME(Identifier);
    this.CONSUME(In);
    this.SUBRULE(this.expr);
    this.SUBRULE(this.block);
  });

  readonly ifStmt = this.RULE("ifStmt", () => {
    this.CONSUME(If);
    this.SUBRULE(this.expr);
    this.SUBRULE(this.block);
    this.OPTION(() => {
      this.CONSUME(Else);
      this.OR({
        ERR_MSG: "`if` or `{`",
        DEF: [{ ALT: () => this.SUBRULE(this.ifStmt) }, { ALT: () => this.SUBRULE2(this.block) }],
      });
    });
  });

  // ------------------------------------------------------------ expressions

  /** `a..b` binds loosest. */
  readonly expr = this.RULE("expr", () => {
    this.SUBRULE(this.orExpr);
    this.OPTION(() => {
      this.CONSUME(DotDot);
      this.SUBRULE2(this.orExpr);
    });
  });

  readonly orExpr = this.RULE("orExpr", () => {
    this.SUBRULE(this.andExpr);
    this.MANY(() => {
      this.CONSUME(OrOr);
      this.SUBRULE2(this.andExpr);
    });
  });

  readonly andExpr = this.RULE("andExpr", () => {
    this.SUBRULE(this.cmpExpr);
    this.MANY(() => {
      this.CONSUME(AndAnd);
      this.SUBRULE2(this.cmpExpr);
    });
  });

  /** Comparisons do not chain; a second operator is accepted here and rejected in `toAst.ts`. */
  readonly cmpExpr = this.RULE("cmpExpr", () => {
    this.SUBRULE(this.addExpr);
    this.MANY(() => {
      this.CONSUME(ComparisonOp);
      this.SUBRULE2(this.addExpr);
    });
  });

  readonly addExpr = this.RULE("addExpr", () => {
    this.SUBRULE(this.mulExpr);
    this.MANY(() => {
      this.CONSUME(AdditiveOp);
      this.SUBRULE2(this.mulExpr);
    });
  });

  readonly mulExpr = this.RULE("mulExpr", () => {
    this.SUBRULE(this.unaryExpr);
    this.MANY(() => {
      this.CONSUME(MultiplicativeOp);
      this.SUBRULE2(this.unaryExpr);
    });
  });

  readonly unaryExpr = this.RULE("unaryExpr", () => {
    this.OR({
      ERR_MSG: "an expression",
      DEF: [
        {
          ALT: () => {
            this.CONSUME(UnaryOp);
            this.SUBRULE(this.unaryExpr);
          },
        },
        { ALT: () => this.SUBRULE(this.powExpr) },
      ],
    });
  });

  /** `a ^ b` is right-associative and binds tighter than prefix operators on its left. */
  readonly powExpr = this.RULE("powExpr", () => {
    this.SUBRULE(this.postfixExpr);
    this.OPTION(() => {
      this.CONSUME(Caret);
      this.SUBRULE(this.unaryExpr);
    });
  });

  readonly postfixExpr = this.RULE("postfixExpr", () => {
    this.SUBRULE(this.primary);
    this.MANY({
      // a `(` or `[` at the start of a line begins a new statement, not a call or index
      GATE: () => this.suffixContinues(),
      DEF: () => this.SUBRULE(this.suffix),
    });
  });

  readonly suffix = this.RULE("suffix", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.callSuffix) },
      { ALT: () => this.SUBRULE(this.indexSuffix) },
      {
        ALT: () => {
          this.CONSUME(Dot);
          this.SUBRULE(this.pathSegment);
        },
      },
    ]);
  });

  readonly callSuffix = this.RULE("callSuffix", () => {
    this.CONSUME(LParen);
    this.OPTION(() => {
      this.SUBRULE(this.arg);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.arg);
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RParen);
  });

  readonly arg = this.RULE("arg", () => {
    this.OPTION(() => {
      this.CONSUME(Identifier);
      this.CONSUME(Equals);
    });
    this.SUBRULE(this.expr);
  });

  readonly indexSuffix = this.RULE("indexSuffix", () => {
    this.CONSUME(LBracket);
    this.SUBRULE(this.indexItem);
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.indexItem);
    });
    this.OPTION(() => this.CONSUME2(Comma));
    this.CONSUME(RBracket);
  });

  readonly indexItem = this.RULE("indexItem", () => {
    this.OR({
      ERR_MSG: "an index, a slice or `...`",
      DEF: [
        { ALT: () => this.CONSUME(Ellipsis) },
        {
          ALT: () => {
            this.SUBRULE(this.expr, { LABEL: "start" });
            this.OPTION(() => this.SUBRULE(this.sliceTail));
          },
        },
        { ALT: () => this.SUBRULE2(this.sliceTail) },
      ],
    });
  });

  /** `: stop? (: step?)?` of a slice. */
  readonly sliceTail = this.RULE("sliceTail", () => {
    this.CONSUME(Colon);
    this.OPTION(() => this.SUBRULE(this.expr, { LABEL: "stop" }));
    this.OPTION2(() => {
      this.CONSUME2(Colon);
      this.OPTION3(() => this.SUBRULE2(this.expr, { LABEL: "step" }));
    });
  });

  readonly primary = this.RULE("primary", () => {
    this.OR({
      ERR_MSG: "an expression",
      DEF: [
        { ALT: () => this.CONSUME(NumberLit) },
        { ALT: () => this.CONSUME(StringLit) },
        { ALT: () => this.CONSUME(BoolLiteral) },
        { ALT: () => this.CONSUME(Identifier) },
        {
          ALT: () => {
            this.CONSUME(LParen);
            this.SUBRULE(this.expr);
            this.CONSUME(RParen);
          },
        },
        { ALT: () => this.SUBRULE(this.listExpr) },
        {
          ALT: () => {
            const list = this.CONSUME(NumericList) as NumericListToken;
            // its `[` opened a level (NESTING_RULES); a sign inside opens one more, as in `listExpr`
            if (this.analysed && list.firstSign && this.nesting >= MAX_NESTING_DEPTH)
              throw new NestingLimitExceeded(list.firstSign);
          },
        },
      ],
    });
  });

  /** `[]`, `[a, b,]` or `[e for i in xs]`. */
  readonly listExpr = this.RULE("listExpr", () => {
    this.CONSUME(LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expr);
      this.OR([
        {
          ALT: () => {
            this.CONSUME(For);
            this.CONSUME(Identifier);
            this.CONSUME(In);
            this.SUBRULE2(this.expr, { LABEL: "iterable" });
          },
        },
        {
          ALT: () => {
            this.MANY(() => {
              this.CONSUME(Comma);
              this.SUBRULE3(this.expr);
            });
            this.OPTION2(() => this.CONSUME2(Comma));
          },
        },
      ]);
    });
    this.CONSUME(RBracket);
  });

  /** The gate of postfix suffixes: `(` and `[` continue an expression only on the same line. */
  private suffixContinues(): boolean {
    const next = this.LA(1);
    if (next.tokenType === LParen || next.tokenType === LBracket) return sameLine(this.LA(0), next);
    return true;
  }
}

/** The shared parser instance; set `input` before invoking a rule. */
export const parser = new NnParser();
