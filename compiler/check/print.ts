/** A readable dump of the checker's output (`--dump-after=check`): typed entry functions. */
import { Dims } from "../core/dim.js";
import { assertNever } from "../diagnostics/diagnostic.js";
import {
  formatType,
  type CheckedFunction,
  type CheckedProgram,
  type Initializer,
  type TExpr,
} from "./types.js";

function primLabel(e: TExpr & { kind: "prim" }): string {
  const p = e.prim;
  switch (p.op) {
    case "unary":
    case "binary":
      return `${p.op} ${p.fn}`;
    case "reduce":
      return `reduce ${p.fn} axes=[${p.axes.join(", ")}]${p.keepdims ? " keepdims" : ""}`;
    case "argmax":
      return `${p.fn} axis=${p.axis}${p.keepdims ? " keepdims" : ""}`;
    case "transpose":
      return `transpose perm=[${p.perm.join(", ")}]`;
    case "index":
      return `index [${p.items
        .map((it) =>
          it.kind === "at"
            ? Dims.format(it.index)
            : it.kind === "slice"
              ? `${Dims.format(it.start)}+${Dims.format(it.size)}*${it.step}`
              : it.kind === "take"
                ? `take#${it.arg}`
                : ":",
        )
        .join(", ")}]`;
    case "concat":
    case "stack":
    case "gather":
    case "scatter_add":
    case "iota":
      return `${p.op} axis=${p.axis}`;
    case "pad":
      return `pad low=[${p.low.map(Dims.format).join(", ")}] high=[${p.high.map(Dims.format).join(", ")}] value=${p.value}`;
    case "fill":
      return `fill ${p.value}`;
    case "size":
      return `size ${Dims.format(p.dim)}`;
    case "random":
      return `random ${p.dist} salt=${p.salt}`;
    case "conv2d":
      return `conv2d stride=[${p.stride.join(", ")}] padding=[${p.padding.join(", ")}]`;
    case "where":
    case "cast":
    case "matmul":
    case "reshape":
    case "broadcast":
    case "one_hot":
    case "grad":
    case "jvp":
    case "stop_gradient":
      return p.op;
    default:
      return assertNever(p, "prim");
  }
}

/** Prints a function as a list of typed bindings, sharing repeated subexpressions. */
export function printCheckedFunction(f: CheckedFunction): string {
  const ids = new Map<TExpr, string>();
  const lines: string[] = [];
  const label = (e: TExpr): string => {
    switch (e.kind) {
      case "input":
        return `input ${e.name}`;
      case "param":
        return `param ${e.path}`;
      case "literal":
        return e.data.length <= 6
          ? `literal [${e.data.join(", ")}]`
          : `literal [${e.data.slice(0, 6).join(", ")}, … ${e.data.length} values]`;
      case "prim":
        return `${primLabel(e)} ${e.args.map((a) => ids.get(a)!).join(", ")}`.trimEnd();
      default:
        return assertNever(e, "typed expression");
    }
  };
  // numbered in post-order (arguments first, left to right), with an explicit
  // stack: a 100,000-term sum is that deep
  const name = (root: TExpr): string => {
    const stack: { e: TExpr; open: boolean }[] = [{ e: root, open: false }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (ids.has(top.e)) {
        stack.pop();
        continue;
      }
      if (top.e.kind === "prim" && !top.open) {
        top.open = true;
        for (let k = top.e.args.length - 1; k >= 0; k--)
          if (!ids.has(top.e.args[k]!)) stack.push({ e: top.e.args[k]!, open: false });
        continue;
      }
      stack.pop();
      const id = `%${ids.size}`;
      const text = label(top.e);
      ids.set(top.e, id);
      lines.push(`  ${id} = ${text} : ${formatType(top.e.type)}`);
    }
    return ids.get(root)!;
  };
  const outs = f.outputs.map(name);
  const sig = f.inputs.map((i) => `${i.name}: ${formatType(i.type)}`).join(", ");
  return [
    `${f.flavor} ${f.qualifiedName}(${sig}) {`,
    ...lines,
    `  return ${outs.join(", ")}`,
    "}",
  ].join("\n");
}

function initLabel(i: Initializer): string {
  switch (i.kind) {
    case "normal":
      return `normal(std=${i.std}, mean=${i.mean})`;
    case "uniform":
      return `uniform(${i.low}, ${i.high})`;
    case "constant":
      return `constant(${i.value})`;
    case "literal":
      return `literal(${i.data.length} values)`;
    default:
      return i.kind;
  }
}

export function printCheckedProgram(p: CheckedProgram): string {
  const parts: string[] = [];
  for (const m of p.models) {
    parts.push(`model ${m.name} {`);
    for (const prm of m.params)
      parts.push(`  param ${prm.path}: ${formatType(prm.type)} = ${initLabel(prm.init)}`);
    parts.push("}");
    for (const f of m.functions) parts.push(printCheckedFunction(f));
  }
  for (const f of p.functions) parts.push(printCheckedFunction(f));
  return parts.join("\n");
}
