/**
 * A readable listing of kernel-IR kernels (`nnc build --dump-after=plan`,
 * tests and debugging). One line per let, C-like expressions.
 */
import { assertNever } from "../diagnostics/diagnostic.js";
import type { Block, KExpr, Kernel, Stmt } from "./kernelIr.js";

const IDX_OPS = { add: "+", sub: "-", mul: "*", div: "/", mod: "%", min: "min", max: "max" };

export function printExpr(e: KExpr): string {
  switch (e.k) {
    case "lit":
      return e.dtype === "f32" ? `${Object.is(e.value, -0) ? "-0" : e.value}f` : String(e.value);
    case "var":
      return e.name;
    case "sym":
      return `$${e.index}`;
    case "ref":
      return `t${e.id}`;
    case "acc":
      return "acc";
    case "load":
      return `in${e.slot}[${printExpr(e.index)}]`;
    case "idx": {
      const op = IDX_OPS[e.fn];
      return op.length === 1
        ? `(${printExpr(e.a)} ${op} ${printExpr(e.b)})`
        : `${op}(${printExpr(e.a)}, ${printExpr(e.b)})`;
    }
    case "unary":
      return `${e.fn}(${printExpr(e.x)})`;
    case "binary":
      return `${e.fn}(${printExpr(e.a)}, ${printExpr(e.b)})`;
    case "select":
      return `select(${printExpr(e.cond)}, ${printExpr(e.a)}, ${printExpr(e.b)})`;
    case "cast":
      return `${e.dtype}(${printExpr(e.x)})`;
    case "random":
      return `random_${e.dist}(${e.salt}, ${printExpr(e.seed)}, ${printExpr(e.counter)})`;
    default:
      return assertNever(e, "kernel expression");
  }
}

function lets(out: string[], indent: string, ls: readonly Stmt[]): void {
  for (const s of ls) out.push(`${indent}t${s.id} = ${printExpr(s.expr)}`);
}

function block(out: string[], indent: string, name: string, b: Block): void {
  out.push(`${indent}${name}:`);
  lets(out, `${indent}  `, b.lets);
  out.push(`${indent}  -> ${printExpr(b.value)}`);
}

/** The listing of one kernel, named `name`. */
export function printKernel(name: string, k: Kernel): string {
  const out: string[] = [];
  const slots = k.bindings.map((b, s) => `${b.access === "read" ? "in" : "out"}${s}: ${b.dtype}`);
  switch (k.kind) {
    case "map":
      out.push(
        `${name} = map[${printExpr(k.size)}](${slots.join(", ")}) threads ${k.schedule.threads}`,
      );
      break;
    case "reduce":
      out.push(
        `${name} = reduce ${k.fn} ${k.dtype} [${printExpr(k.size)}] over r < ${printExpr(k.extent)} (${slots.join(", ")}) ${k.schedule.kind} ${k.schedule.threads}`,
      );
      if (k.prelude !== undefined && k.prelude.length > 0) {
        out.push("  prelude:");
        lets(out, "    ", k.prelude);
      }
      block(out, "  ", "body", k.body);
      break;
    case "matmul": {
      const s = k.schedule;
      out.push(
        `${name} = matmul ${k.dtype} [${printExpr(k.batch)} x ${printExpr(k.m)} x ${printExpr(k.n)}] k < ${printExpr(k.kk)} (${slots.join(", ")}) tile ${s.tileM}x${s.tileN}x${s.tileK} thread ${s.threadM}x${s.threadN}`,
      );
      block(out, "  ", "a(b, m, k)", k.a);
      block(out, "  ", "b(b, k, n)", k.b);
      break;
    }
    default:
      return assertNever(k, "kernel kind");
  }
  out.push("  epilogue:");
  lets(out, "    ", k.epilogue);
  for (const s of k.stores) out.push(`    out${s.slot}[i] = ${printExpr(s.value)}`);
  return out.join("\n");
}
