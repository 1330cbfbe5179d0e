/**
 * Walking the kernel IR: what every kernel-IR pass needs (fusion's
 * multi-output merge, the fragment rewrites) in one place, so that a new
 * expression kind or kernel block is handled everywhere at once.
 */
import { assertNever } from "../diagnostics/diagnostic.js";
import type { KExpr, Kernel, Stmt } from "./kernelIr.js";

/** `e` with each direct operand replaced by `f(operand)` (leaves unchanged). */
export function mapOperands(e: KExpr, f: (x: KExpr) => KExpr): KExpr {
  switch (e.k) {
    case "lit":
    case "var":
    case "sym":
    case "ref":
    case "acc":
      return e;
    case "load":
      return { ...e, index: f(e.index) };
    case "idx":
    case "binary":
      return { ...e, a: f(e.a), b: f(e.b) };
    case "unary":
    case "cast":
      return { ...e, x: f(e.x) };
    case "select":
      return { ...e, cond: f(e.cond), a: f(e.a), b: f(e.b) };
    case "random":
      return { ...e, seed: f(e.seed), counter: f(e.counter) };
    default:
      return assertNever(e, "kernel expression");
  }
}

/** Calls `f` on each direct operand of `e`, in order (nothing for leaves). */
export function forEachOperand(e: KExpr, f: (x: KExpr) => void): void {
  switch (e.k) {
    case "lit":
    case "var":
    case "sym":
    case "ref":
    case "acc":
      return;
    case "load":
      return f(e.index);
    case "idx":
    case "binary":
      f(e.a);
      return f(e.b);
    case "unary":
    case "cast":
      return f(e.x);
    case "select":
      f(e.cond);
      f(e.a);
      return f(e.b);
    case "random":
      f(e.seed);
      return f(e.counter);
    default:
      return assertNever(e, "kernel expression");
  }
}

/** Rewrites every subexpression bottom-up with `f`. */
export function mapExpr(e: KExpr, f: (x: KExpr) => KExpr): KExpr {
  return f(mapOperands(e, (x) => mapExpr(x, f)));
}

/** Calls `f` on every subexpression of `e`, `e` first. */
export function visitExpr(e: KExpr, f: (x: KExpr) => void): void {
  f(e);
  forEachOperand(e, (x) => visitExpr(x, f));
}

/** Every let block of a kernel: epilogue, reduce prelude and body, matmul operands. */
export function kernelLets(k: Kernel): (readonly Stmt[])[] {
  const blocks: (readonly Stmt[])[] = [k.epilogue];
  if (k.kind === "reduce") blocks.push(k.prelude ?? [], k.body.lets);
  if (k.kind === "matmul") blocks.push(k.a.lets, k.b.lets);
  return blocks;
}

/** Every expression of a kernel: lets, block values and stored values. */
export function kernelExprs(k: Kernel): KExpr[] {
  const out = kernelLets(k).flatMap((lets) => lets.map((s) => s.expr));
  out.push(...k.stores.map((s) => s.value));
  if (k.kind === "reduce") out.push(k.body.value);
  if (k.kind === "matmul") out.push(k.a.value, k.b.value);
  return out;
}

/** The largest let id of a kernel (-1 when it has none). */
export function maxLetId(k: Kernel): number {
  let max = -1;
  for (const lets of kernelLets(k)) for (const s of lets) max = Math.max(max, s.id);
  return max;
}
