/** A readable listing of IR functions, used by `--dump-after` and in tests. */
import { Dims, formatShape } from "../core/dim.js";
import { assertNever } from "../diagnostics/diagnostic.js";
import { reachable } from "./build.js";
import { functionRoots, type IrFunction, type Node } from "./ops.js";

export function typeString(n: Node): string {
  return `${n.dtype}${formatShape(n.shape)}`;
}

function attrs(n: Node): string {
  switch (n.op) {
    case "input":
      return `${n.name}#${n.index}`;
    case "param":
      return n.path;
    case "constant":
      return n.data.length <= 8
        ? `[${n.data.join(", ")}]`
        : `[${n.data.slice(0, 8).join(", ")}, … ${n.data.length} values]`;
    case "dim":
      return Dims.format(n.dim);
    case "iota":
    case "argmax":
    case "concat":
    case "gather":
    case "scatter_add":
      return `axis=${n.axis}`;
    case "random":
      return `${n.dist} salt=${n.salt}`;
    case "unary":
    case "binary":
      return n.fn;
    case "reduce":
      return `${n.fn} axes=[${n.axes.join(", ")}]`;
    case "transpose":
      return `perm=[${n.perm.join(", ")}]`;
    case "slice":
      return `starts=[${n.starts.map(Dims.format).join(", ")}] steps=[${n.steps.join(", ")}]`;
    case "pad":
      return `low=[${n.low.map(Dims.format).join(", ")}] high=[${n.high.map(Dims.format).join(", ")}] interior=[${n.interior.join(", ")}] value=${n.value}`;
    case "select":
    case "cast":
    case "broadcast":
    case "reshape":
    case "matmul":
    case "stop_gradient":
    case "grad":
    case "jvp":
      return "";
    default:
      return assertNever(n, "IR op");
  }
}

/** One line per node: `%7 = binary add %5, %6 : f32[B, 64]`. */
export function printNode(n: Node): string {
  const a = attrs(n);
  const ins = n.inputs.map((i) => `%${i.id}`).join(", ");
  const body = [n.op, a, ins].filter((s) => s.length > 0).join(" ");
  return `%${n.id} = ${body} : ${typeString(n)}`;
}

export function printFunction(fn: IrFunction): string {
  const sig = fn.inputs.map((i) => `${i.name}: ${typeString(i)}`).join(", ");
  const lines = [`fn ${fn.name}(${sig}) -> (${fn.outputs.map(typeString).join(", ")}) {`];
  for (const n of reachable(functionRoots(fn))) lines.push(`  ${printNode(n)}`);
  for (const u of fn.updates ?? []) lines.push(`  ${u.path} := %${u.node.id}`);
  lines.push(`  return ${fn.outputs.map((o) => `%${o.id}`).join(", ")}`);
  lines.push("}");
  return lines.join("\n");
}
