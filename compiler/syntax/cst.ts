/**
 * Types of the concrete syntax tree built by `parser.ts`, generated from its grammar
 * with Chevrotain's `generateCstDts`. Do not edit: `tests/syntax/cst.test.ts` checks
 * that this file is current; regenerate it with `npx vitest run tests/syntax/cst.test.ts -u`.
 */
import type { CstNode, IToken } from "chevrotain";

export interface ModuleCstNode extends CstNode {
  name: "module";
  children: ModuleCstChildren;
}

export type ModuleCstChildren = {
  item?: ItemCstNode[];
};

export interface ItemCstNode extends CstNode {
  name: "item";
  children: ItemCstChildren;
}

export type ItemCstChildren = {
  useDecl?: UseDeclCstNode[];
  fnDecl?: FnDeclCstNode[];
  modelDecl?: ModelDeclCstNode[];
  optimizerDecl?: OptimizerDeclCstNode[];
  constDecl?: ConstDeclCstNode[];
  trainDecl?: TrainDeclCstNode[];
  Semicolon?: IToken[];
};

export interface UseDeclCstNode extends CstNode {
  name: "useDecl";
  children: UseDeclCstChildren;
}

export type UseDeclCstChildren = {
  Use: IToken[];
  Identifier: IToken[];
  Dot?: IToken[];
  pathSegment?: PathSegmentCstNode[];
  LCurly?: IToken[];
  useName?: UseNameCstNode[];
  Comma?: IToken[];
  RCurly?: IToken[];
};

export interface UseNameCstNode extends CstNode {
  name: "useName";
  children: UseNameCstChildren;
}

export type UseNameCstChildren = {
  Identifier: IToken[];
  As?: IToken[];
  alias?: IToken[];
};

export interface ConstDeclCstNode extends CstNode {
  name: "constDecl";
  children: ConstDeclCstChildren;
}

export type ConstDeclCstChildren = {
  Const: IToken[];
  Identifier: IToken[];
  Colon?: IToken[];
  type?: TypeCstNode[];
  Equals: IToken[];
  expr: ExprCstNode[];
};

export interface FnDeclCstNode extends CstNode {
  name: "fnDecl";
  children: FnDeclCstChildren;
}

export type FnDeclCstChildren = {
  Fn?: IToken[];
  Loss?: IToken[];
  Identifier: IToken[];
  paramList: ParamListCstNode[];
  Arrow?: IToken[];
  type?: TypeCstNode[];
  Equals?: IToken[];
  expr?: ExprCstNode[];
  block?: BlockCstNode[];
};

export interface ParamListCstNode extends CstNode {
  name: "paramList";
  children: ParamListCstChildren;
}

export type ParamListCstChildren = {
  LParen: IToken[];
  param?: ParamCstNode[];
  Comma?: IToken[];
  RParen: IToken[];
};

export interface ParamCstNode extends CstNode {
  name: "param";
  children: ParamCstChildren;
}

export type ParamCstChildren = {
  Identifier: IToken[];
  Colon?: IToken[];
  type?: TypeCstNode[];
  Equals?: IToken[];
  expr?: ExprCstNode[];
};

export interface ModelDeclCstNode extends CstNode {
  name: "modelDecl";
  children: ModelDeclCstChildren;
}

export type ModelDeclCstChildren = {
  Model: IToken[];
  Identifier: IToken[];
  paramList?: ParamListCstNode[];
  LCurly: IToken[];
  modelItem?: ModelItemCstNode[];
  RCurly: IToken[];
};

export interface ModelItemCstNode extends CstNode {
  name: "modelItem";
  children: ModelItemCstChildren;
}

export type ModelItemCstChildren = {
  paramDecl?: ParamDeclCstNode[];
  fieldDecl?: FieldDeclCstNode[];
  fnDecl?: FnDeclCstNode[];
  constDecl?: ConstDeclCstNode[];
  Semicolon?: IToken[];
};

export interface OptimizerDeclCstNode extends CstNode {
  name: "optimizerDecl";
  children: OptimizerDeclCstChildren;
}

export type OptimizerDeclCstChildren = {
  Optimizer: IToken[];
  Identifier: IToken[];
  paramList?: ParamListCstNode[];
  LCurly: IToken[];
  optimizerItem?: OptimizerItemCstNode[];
  RCurly: IToken[];
};

export interface OptimizerItemCstNode extends CstNode {
  name: "optimizerItem";
  children: OptimizerItemCstChildren;
}

export type OptimizerItemCstChildren = {
  stateDecl?: StateDeclCstNode[];
  fnDecl?: FnDeclCstNode[];
  constDecl?: ConstDeclCstNode[];
  Semicolon?: IToken[];
};

export interface StateDeclCstNode extends CstNode {
  name: "stateDecl";
  children: StateDeclCstChildren;
}

export type StateDeclCstChildren = {
  stateKeyword: IToken[];
  Identifier: IToken[];
  Equals: IToken[];
  expr: ExprCstNode[];
};

export interface ParamDeclCstNode extends CstNode {
  name: "paramDecl";
  children: ParamDeclCstChildren;
}

export type ParamDeclCstChildren = {
  Param: IToken[];
  Identifier: IToken[];
  Colon: IToken[];
  type: TypeCstNode[];
  Equals: IToken[];
  expr: ExprCstNode[];
};

export interface FieldDeclCstNode extends CstNode {
  name: "fieldDecl";
  children: FieldDeclCstChildren;
}

export type FieldDeclCstChildren = {
  Identifier: IToken[];
  Equals: IToken[];
  expr: ExprCstNode[];
};

export interface TrainDeclCstNode extends CstNode {
  name: "trainDecl";
  children: TrainDeclCstChildren;
}

export type TrainDeclCstChildren = {
  Train: IToken[];
  Identifier: IToken[];
  Dot?: IToken[];
  pathSegment?: PathSegmentCstNode[];
  With: IToken[];
  expr: ExprCstNode[];
  LCurly?: IToken[];
  namedArg?: NamedArgCstNode[];
  Comma?: IToken[];
  Semicolon?: IToken[];
  RCurly?: IToken[];
};

export interface PathSegmentCstNode extends CstNode {
  name: "pathSegment";
  children: PathSegmentCstChildren;
}

export type PathSegmentCstChildren = {
  Identifier?: IToken[];
  Keyword?: IToken[];
};

export interface NamedArgCstNode extends CstNode {
  name: "namedArg";
  children: NamedArgCstChildren;
}

export type NamedArgCstChildren = {
  Identifier: IToken[];
  Equals: IToken[];
  expr: ExprCstNode[];
};

export interface TypeCstNode extends CstNode {
  name: "type";
  children: TypeCstChildren;
}

export type TypeCstChildren = {
  Fn?: IToken[];
  LBracket?: IToken[];
  type?: TypeCstNode[];
  RBracket?: IToken[];
  namedType?: NamedTypeCstNode[];
};

export interface NamedTypeCstNode extends CstNode {
  name: "namedType";
  children: NamedTypeCstChildren;
}

export type NamedTypeCstChildren = {
  Identifier: IToken[];
  Dot?: IToken[];
  pathSegment?: PathSegmentCstNode[];
  LBracket?: IToken[];
  dimItem?: DimItemCstNode[];
  Comma?: IToken[];
  RBracket?: IToken[];
};

export interface DimItemCstNode extends CstNode {
  name: "dimItem";
  children: DimItemCstChildren;
}

export type DimItemCstChildren = {
  Ellipsis?: IToken[];
  Identifier?: IToken[];
  expr?: ExprCstNode[];
};

export interface BlockCstNode extends CstNode {
  name: "block";
  children: BlockCstChildren;
}

export type BlockCstChildren = {
  LCurly: IToken[];
  blockItem?: BlockItemCstNode[];
  RCurly: IToken[];
};

export interface BlockItemCstNode extends CstNode {
  name: "blockItem";
  children: BlockItemCstChildren;
}

export type BlockItemCstChildren = {
  letStmt?: LetStmtCstNode[];
  assignStmt?: AssignStmtCstNode[];
  returnStmt?: ReturnStmtCstNode[];
  forStmt?: ForStmtCstNode[];
  ifStmt?: IfStmtCstNode[];
  expr?: ExprCstNode[];
  Semicolon?: IToken[];
};

export interface LetStmtCstNode extends CstNode {
  name: "letStmt";
  children: LetStmtCstChildren;
}

export type LetStmtCstChildren = {
  Let?: IToken[];
  Var?: IToken[];
  Identifier: IToken[];
  Colon?: IToken[];
  type?: TypeCstNode[];
  Equals: IToken[];
  expr: ExprCstNode[];
};

export interface AssignStmtCstNode extends CstNode {
  name: "assignStmt";
  children: AssignStmtCstChildren;
}

export type AssignStmtCstChildren = {
  Identifier: IToken[];
  Equals: IToken[];
  expr: ExprCstNode[];
};

export interface ReturnStmtCstNode extends CstNode {
  name: "returnStmt";
  children: ReturnStmtCstChildren;
}

export type ReturnStmtCstChildren = {
  Return: IToken[];
  expr: ExprCstNode[];
};

export interface ForStmtCstNode extends CstNode {
  name: "forStmt";
  children: ForStmtCstChildren;
}

export type ForStmtCstChildren = {
  For: IToken[];
  Identifier: IToken[];
  In: IToken[];
  expr: ExprCstNode[];
  block: BlockCstNode[];
};

export interface IfStmtCstNode extends CstNode {
  name: "ifStmt";
  children: IfStmtCstChildren;
}

export type IfStmtCstChildren = {
  If: IToken[];
  expr: ExprCstNode[];
  block: BlockCstNode[];
  Else?: IToken[];
  ifStmt?: IfStmtCstNode[];
};

export interface ExprCstNode extends CstNode {
  name: "expr";
  children: ExprCstChildren;
}

export type ExprCstChildren = {
  orExpr: OrExprCstNode[];
  DotDot?: IToken[];
};

export interface OrExprCstNode extends CstNode {
  name: "orExpr";
  children: OrExprCstChildren;
}

export type OrExprCstChildren = {
  andExpr: AndExprCstNode[];
  OrOr?: IToken[];
};

export interface AndExprCstNode extends CstNode {
  name: "andExpr";
  children: AndExprCstChildren;
}

export type AndExprCstChildren = {
  cmpExpr: CmpExprCstNode[];
  AndAnd?: IToken[];
};

export interface CmpExprCstNode extends CstNode {
  name: "cmpExpr";
  children: CmpExprCstChildren;
}

export type CmpExprCstChildren = {
  addExpr: AddExprCstNode[];
  ComparisonOp?: IToken[];
};

export interface AddExprCstNode extends CstNode {
  name: "addExpr";
  children: AddExprCstChildren;
}

export type AddExprCstChildren = {
  mulExpr: MulExprCstNode[];
  AdditiveOp?: IToken[];
};

export interface MulExprCstNode extends CstNode {
  name: "mulExpr";
  children: MulExprCstChildren;
}

export type MulExprCstChildren = {
  unaryExpr: UnaryExprCstNode[];
  MultiplicativeOp?: IToken[];
};

export interface UnaryExprCstNode extends CstNode {
  name: "unaryExpr";
  children: UnaryExprCstChildren;
}

export type UnaryExprCstChildren = {
  UnaryOp?: IToken[];
  unaryExpr?: UnaryExprCstNode[];
  powExpr?: PowExprCstNode[];
};

export interface PowExprCstNode extends CstNode {
  name: "powExpr";
  children: PowExprCstChildren;
}

export type PowExprCstChildren = {
  postfixExpr: PostfixExprCstNode[];
  Caret?: IToken[];
  unaryExpr?: UnaryExprCstNode[];
};

export interface PostfixExprCstNode extends CstNode {
  name: "postfixExpr";
  children: PostfixExprCstChildren;
}

export type PostfixExprCstChildren = {
  primary: PrimaryCstNode[];
  suffix?: SuffixCstNode[];
};

export interface SuffixCstNode extends CstNode {
  name: "suffix";
  children: SuffixCstChildren;
}

export type SuffixCstChildren = {
  callSuffix?: CallSuffixCstNode[];
  indexSuffix?: IndexSuffixCstNode[];
  Dot?: IToken[];
  pathSegment?: PathSegmentCstNode[];
};

export interface CallSuffixCstNode extends CstNode {
  name: "callSuffix";
  children: CallSuffixCstChildren;
}

export type CallSuffixCstChildren = {
  LParen: IToken[];
  arg?: ArgCstNode[];
  Comma?: IToken[];
  RParen: IToken[];
};

export interface ArgCstNode extends CstNode {
  name: "arg";
  children: ArgCstChildren;
}

export type ArgCstChildren = {
  Identifier?: IToken[];
  Equals?: IToken[];
  expr: ExprCstNode[];
};

export interface IndexSuffixCstNode extends CstNode {
  name: "indexSuffix";
  children: IndexSuffixCstChildren;
}

export type IndexSuffixCstChildren = {
  LBracket: IToken[];
  indexItem: IndexItemCstNode[];
  Comma?: IToken[];
  RBracket: IToken[];
};

export interface IndexItemCstNode extends CstNode {
  name: "indexItem";
  children: IndexItemCstChildren;
}

export type IndexItemCstChildren = {
  Ellipsis?: IToken[];
  start?: ExprCstNode[];
  sliceTail?: SliceTailCstNode[];
};

export interface SliceTailCstNode extends CstNode {
  name: "sliceTail";
  children: SliceTailCstChildren;
}

export type SliceTailCstChildren = {
  Colon: IToken[];
  stop?: ExprCstNode[];
  step?: ExprCstNode[];
};

export interface PrimaryCstNode extends CstNode {
  name: "primary";
  children: PrimaryCstChildren;
}

export type PrimaryCstChildren = {
  NumberLit?: IToken[];
  StringLit?: IToken[];
  BoolLiteral?: IToken[];
  Identifier?: IToken[];
  LParen?: IToken[];
  expr?: ExprCstNode[];
  RParen?: IToken[];
  listExpr?: ListExprCstNode[];
  NumericList?: IToken[];
};

export interface ListExprCstNode extends CstNode {
  name: "listExpr";
  children: ListExprCstChildren;
}

export type ListExprCstChildren = {
  LBracket: IToken[];
  expr?: ExprCstNode[];
  For?: IToken[];
  Identifier?: IToken[];
  In?: IToken[];
  iterable?: ExprCstNode[];
  Comma?: IToken[];
  RBracket: IToken[];
};
