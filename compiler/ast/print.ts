/**
 * A readable, deterministic S-expression dump of the AST (spans left out), used by
 * `nnc build --dump-after=parse` and by tests. A form that fits in the line width
 * is printed on one line; otherwise its children go on their own indented lines:
 *
 *     (fn logits (param x (type f32 [B 2])) (return-type (type f32 [B 3]))
 *       (call (name out) (call (name relu) (name h))))
 */
import { assertNever } from "../diagnostics/diagnostic.js";
import { binaryChain } from "./chain.js";
import type {
  Arg,
  Block,
  DimExpr,
  Expr,
  IndexItem,
  Item,
  ModelItem,
  OptimizerItem,
  Module,
  Name,
  NamedArg,
  Param,
  Stmt,
  TypeExpr,
  UseName,
} from "./nodes.js";

/** Any node that {@link printAst} can print. */
export type AstNode = Module | Item | ModelItem | OptimizerItem | TypeExpr | Block | Stmt | Expr;

/** An S-expression: an atom, or a list printed as `(a b c)`; `bracket` lists print as `[a b]`. */
type Sexp = string | { readonly items: readonly Sexp[]; readonly bracket?: boolean };

const WIDTH = 100;

function list(...items: Sexp[]): Sexp {
  return { items };
}

/** Prints `node` as an S-expression; lines are at most ~100 columns where possible. */
export function printAst(node: AstNode): string {
  return render(toSexp(node), 0);
}

// ---------------------------------------------------------------- rendering

/**
 * `s` on one line, written in one pass with an explicit stack of what is left
 * to print: a left-assoc chain of 100,000 terms (`a + b + …`) nests that deep.
 */
function flat(s: Sexp): string {
  const out: string[] = [];
  const todo: Sexp[] = [s];
  while (todo.length > 0) {
    const t = todo.pop()!;
    if (typeof t === "string") {
      out.push(t);
      continue;
    }
    todo.push(t.bracket ? "]" : ")");
    for (let k = t.items.length - 1; k >= 0; k--) {
      todo.push(t.items[k]!);
      if (k > 0) todo.push(" ");
    }
    todo.push(t.bracket ? "[" : "(");
  }
  return out.join("");
}

/** Below this indentation lists print on one line: deep nesting stays linear in output size. */
const MAX_INDENT = 2 * WIDTH;

function render(s: Sexp, indent: number): string {
  const oneLine = flat(s);
  if (
    typeof s === "string" ||
    indent + oneLine.length <= WIDTH ||
    s.items.length <= 1 ||
    indent >= MAX_INDENT
  )
    return oneLine;
  const [open, close] = s.bracket ? ["[", "]"] : ["(", ")"];
  // keep the head and the atoms that follow it (`fn name`, `let x`) on the first line,
  // and a call's callee or an index's target when it is short
  let head = 0;
  while (head < s.items.length && (head === 0 || typeof s.items[head] === "string")) head++;
  const next = s.items[head];
  const keepsFirst = s.items[0] === "call" || s.items[0] === "index";
  if (
    keepsFirst &&
    head === 1 &&
    next !== undefined &&
    s.items.length > 2 &&
    flat(next).length <= 40
  ) {
    head++;
  }
  const first = s.items.slice(0, head).map(flat).join(" ");
  const pad = " ".repeat(indent + 2);
  const rest = s.items.slice(head).map((c) => `\n${pad}${render(c, indent + 2)}`);
  return `${open}${first}${rest.join("")}${close}`;
}

// ---------------------------------------------------------------- nodes

function toSexp(node: AstNode): Sexp {
  switch (node.kind) {
    case "module":
      return list("module", JSON.stringify(node.file), ...node.items.map(toSexp));
    case "use":
      return list(
        "use",
        path(node.path),
        ...(node.names ? [list(...node.names.map(useName))] : []),
      );
    case "fn":
      return list(
        node.flavor,
        node.name.name,
        ...node.params.map(param),
        ...(node.returnType ? [list("return-type", typeSexp(node.returnType))] : []),
        toSexp(node.body),
      );
    case "model":
      return list(
        "model",
        node.name.name,
        ...node.hyperparams.map(param),
        ...node.items.map(toSexp),
      );
    case "optimizer":
      return list(
        "optimizer",
        node.name.name,
        ...node.hyperparams.map(param),
        ...node.items.map(toSexp),
      );
    case "state":
      return list("state", node.name.name, exprSexp(node.init));
    case "param":
      return list("model-param", node.name.name, typeSexp(node.type), exprSexp(node.init));
    case "field":
      return list("field", node.name.name, exprSexp(node.value));
    case "const":
      return list("const", node.name.name, ...optType(node.type), exprSexp(node.value));
    case "train":
      return list(
        "train",
        path(node.target),
        exprSexp(node.optimizer),
        ...node.options.map(option),
      );
    case "namedType":
    case "fnType":
    case "listType":
      return typeSexp(node);
    case "block":
      return block(node);
    case "let":
    case "assign":
    case "return":
    case "for":
    case "if":
      return stmt(node);
    default:
      return exprSexp(node);
  }
}

function path(names: readonly Name[]): string {
  return names.map((n) => n.name).join(".");
}

function useName(u: UseName): Sexp {
  return u.alias ? list(u.name.name, "as", u.alias.name) : u.name.name;
}

function param(p: Param): Sexp {
  return list(
    "param",
    p.name.name,
    ...optType(p.type),
    ...(p.default ? [list("default", exprSexp(p.default))] : []),
  );
}

function option(a: NamedArg): Sexp {
  return list("option", a.name.name, exprSexp(a.value));
}

function optType(t: TypeExpr | null): Sexp[] {
  return t ? [typeSexp(t)] : [];
}

function typeSexp(t: TypeExpr): Sexp {
  switch (t.kind) {
    case "namedType":
      return list(
        "type",
        path(t.path),
        ...(t.dims ? [{ items: t.dims.map(dim), bracket: true }] : []),
      );
    case "fnType":
      return list("type", "fn");
    case "listType":
      return list("list-type", typeSexp(t.element));
    default:
      return assertNever(t, "type");
  }
}

/** Dimensions print names and integers bare: `[B 2]`, `[...S (index (name sizes) 0)]`. */
function dim(d: DimExpr): Sexp {
  switch (d.kind) {
    case "dimRest":
      return `...${d.name?.name ?? ""}`;
    case "dimExpr":
      return d.expr.kind === "name" ? d.expr.name : exprSexp(d.expr);
    default:
      return assertNever(d, "dimension");
  }
}

function block(b: Block): Sexp {
  return list(
    "block",
    ...b.stmts.map(stmt),
    ...(b.result ? [list("result", exprSexp(b.result))] : []),
  );
}

function stmt(s: Stmt): Sexp {
  switch (s.kind) {
    case "let":
      return list(s.mutable ? "var" : "let", s.name.name, ...optType(s.type), exprSexp(s.value));
    case "assign":
      return list("assign", s.name.name, exprSexp(s.value));
    case "return":
      return list("return", exprSexp(s.value));
    case "for":
      return list("for", s.variable.name, exprSexp(s.iterable), block(s.body));
    case "if":
      return list(
        "if",
        exprSexp(s.cond),
        block(s.then),
        ...(s.else ? [list("else", s.else.kind === "block" ? block(s.else) : stmt(s.else))] : []),
      );
    default:
      return assertNever(s, "statement");
  }
}

function arg(a: Arg): Sexp {
  return a.name ? list("arg", a.name.name, exprSexp(a.value)) : exprSexp(a.value);
}

function indexItem(i: IndexItem): Sexp {
  switch (i.kind) {
    case "at":
      return exprSexp(i.expr);
    case "slice":
      return list("slice", ...[i.start, i.stop, i.step].map((e) => (e ? exprSexp(e) : "_")));
    case "ellipsis":
      return "...";
    default:
      return assertNever(i, "index item");
  }
}

function exprSexp(e: Expr): Sexp {
  switch (e.kind) {
    case "number":
      return e.text;
    case "bool":
      return e.value ? "true" : "false";
    case "string":
      return JSON.stringify(e.value);
    case "name":
      return list("name", e.name);
    case "unary":
      return list(e.op, exprSexp(e.operand));
    case "binary": {
      // along the chain's spine without recursion: `a + b + …` is as deep as it is long
      const chain = binaryChain(e);
      let out = exprSexp(chain.first);
      for (const link of chain.links) out = list(link.op, out, exprSexp(link.right));
      return out;
    }
    case "call":
      return list("call", exprSexp(e.callee), ...e.args.map(arg));
    case "index":
      return list("index", exprSexp(e.target), ...e.indices.map(indexItem));
    case "member":
      return list("member", exprSexp(e.target), e.name.name);
    case "list":
      return list("list", ...e.elements.map(exprSexp));
    case "comprehension":
      return list("comprehension", exprSexp(e.element), e.variable.name, exprSexp(e.iterable));
    case "range":
      return list("range", exprSexp(e.start), exprSexp(e.end));
    default:
      return assertNever(e, "expression");
  }
}
