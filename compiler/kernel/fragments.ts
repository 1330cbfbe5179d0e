/**
 * Kernel-IR rewrites for targets that run one fragment per output element
 * (WebGL2's fragment shaders): fragments share no memory and write at most a
 * few render targets, so before printing
 *
 * - a `tree` reduce becomes a `serial` one (one fragment loops over `r`);
 * - a `matmul` becomes a serial `reduce`: `sum over r < K of a(b, m, r) *
 *   b(b, r, n)`, with `b`, `m`, `n` derived from `i = (b * M + m) * N + n`,
 *   in the same order of summation as the matrix product;
 * - the loop-invariant part of a reduction's body moves to its prelude,
 *   evaluated once per fragment (see {@link hoistInvariants});
 * - the stores are split into groups of at most `maxOutputs`, one kernel per
 *   group, each recomputing what its stores need (a group that does not need
 *   the reduction's result becomes a `map`).
 *
 * Every rewrite keeps the kernel's meaning: the same values are stored at the
 * same elements (tests/kernel/fragments.test.ts checks it with the kernel-IR
 * interpreter on every test program).
 */
import { assertNever, invariant } from "../diagnostics/diagnostic.js";
import {
  exprDtype,
  type Block,
  type KExpr,
  type KVar,
  type Kernel,
  type MapKernel,
  type MatmulKernel,
  type ReduceKernel,
  type Stmt,
  type Store,
} from "./kernelIr.js";
import { mapExpr, mapOperands, maxLetId, visitExpr } from "./walk.js";

/** The `threads` recorded in kernels made here; fragment shaders have no workgroups. */
const FRAGMENT_THREADS = 64;

/**
 * `kernel` as kernels that a fragment-shader target prints: maps and serial
 * reductions, each storing at most `maxOutputs` slots. Run in order, they
 * store what `kernel` stores. All keep `kernel`'s bindings, so one launch's
 * buffers serve every one of them.
 */
export function forFragments(kernel: Kernel, maxOutputs = 4): Kernel[] {
  invariant(maxOutputs >= 1, "fragments: a pass must have an output");
  const k = serialize(kernel);
  return splitStores(k.kind === "reduce" ? hoistInvariants(k) : k, maxOutputs);
}

/** A tree reduce or a matmul as a serial reduce; a map or serial reduce unchanged. */
export function serialize(k: Kernel): MapKernel | ReduceKernel {
  switch (k.kind) {
    case "map":
      return k;
    case "reduce":
      return k.schedule.kind === "serial"
        ? k
        : { ...k, schedule: { kind: "serial", threads: k.schedule.threads } };
    case "matmul":
      return matmulAsReduce(k);
    default:
      return assertNever(k, "kernel kind");
  }
}

// ---------------------------------------------------------------- matmul

/**
 * `acc[b, m, n] = sum_k a(b, m, k) * b(b, k, n)` as a serial sum over `r = k`
 * per output element `i`. The operand blocks are inlined into the body (their
 * lets renumbered past every id of the kernel, so ids stay unique), with `b`,
 * `m`, `n` bound to lets computed from `i` in the body and in the epilogue.
 */
function matmulAsReduce(k: MatmulKernel): ReduceKernel {
  let next = maxLetId(k) + 1;
  const fresh = (): number => next++;
  const i: KExpr = { k: "var", name: "i" };
  const idx = (fn: "div" | "mod" | "mul", a: KExpr, b: KExpr): KExpr => ({ k: "idx", fn, a, b });
  /** Lets binding b, m and n from i, and the variables as refs to them. */
  const coords = (): { lets: Stmt[]; vars: Partial<Record<KVar, KExpr>> } => {
    const ids = { b: fresh(), m: fresh(), n: fresh() };
    const lets: Stmt[] = [
      { id: ids.b, expr: idx("div", i, idx("mul", k.m, k.n)) },
      { id: ids.m, expr: idx("mod", idx("div", i, k.n), k.m) },
      { id: ids.n, expr: idx("mod", i, k.n) },
    ];
    const ref = (id: number): KExpr => ({ k: "ref", id, dtype: "i32" });
    return { lets, vars: { b: ref(ids.b), m: ref(ids.m), n: ref(ids.n) } };
  };
  const inBody = coords();
  const r: KExpr = { k: "var", name: "r" };
  const a = inline(k.a, { ...inBody.vars, k: r }, fresh);
  const b = inline(k.b, { ...inBody.vars, k: r }, fresh);
  const value: KExpr = { k: "binary", fn: "mul", a: a.value, b: b.value, dtype: k.dtype };
  const body: Block = {
    lets: liveLets([...inBody.lets, ...a.lets, ...b.lets], [value]),
    value,
  };
  const inEpilogue = coords();
  const epilogue = k.epilogue.map((s) => ({ id: s.id, expr: subst(s.expr, inEpilogue.vars) }));
  const stores = k.stores.map((s) => ({ slot: s.slot, value: subst(s.value, inEpilogue.vars) }));
  return {
    kind: "reduce",
    bindings: k.bindings,
    symbols: k.symbols,
    size: k.size,
    fn: "sum",
    dtype: k.dtype,
    extent: k.kk,
    body,
    epilogue: liveLets(
      [...inEpilogue.lets, ...epilogue],
      stores.map((s) => s.value),
    ),
    stores,
    schedule: { kind: "serial", threads: FRAGMENT_THREADS },
  };
}

/** A block's lets under fresh ids, with kernel variables replaced by `vars`. */
function inline(block: Block, vars: Partial<Record<KVar, KExpr>>, fresh: () => number): Block {
  const ids = new Map<number, number>();
  const lets = block.lets.map((s) => {
    const expr = subst(s.expr, vars, ids);
    const id = fresh();
    ids.set(s.id, id);
    return { id, expr };
  });
  return { lets, value: subst(block.value, vars, ids) };
}

/** `e` with variables replaced by `vars` and let ids renamed by `ids` (others kept). */
function subst(
  e: KExpr,
  vars: Partial<Record<KVar, KExpr>>,
  ids: ReadonlyMap<number, number> = new Map(),
): KExpr {
  return mapExpr(e, (x) => {
    if (x.k === "var") return vars[x.name] ?? x;
    if (x.k === "ref") {
      const id = ids.get(x.id);
      return id === undefined ? x : { ...x, id };
    }
    return x;
  });
}

// ---------------------------------------------------------------- loop invariants

/**
 * Loop-invariant code motion for a reduction: the lets of the body that do
 * not depend on `r` move to the prelude, and so does every largest
 * subexpression of the rest that does not depend on `r` and costs something
 * (not a literal, variable, size symbol or let), as a new let shared by equal
 * subexpressions. Software renderers (SwiftShader) do not hoist it
 * themselves: a matrix product as a reduction recomputed `b`, `m`, `n` and
 * the operands' row offsets, with integer divisions, at every `k`. Values are
 * unchanged (every expression is pure); only where they are computed moves.
 */
export function hoistInvariants(k: ReduceKernel): ReduceKernel {
  let next = maxLetId(k) + 1;
  const prelude: Stmt[] = [...(k.prelude ?? [])];
  /** Body lets that depend on `r`. */
  const variant = new Set<number>();
  const varies = new Map<KExpr, boolean>();
  /** Memoized per node, so that hoisting (which asks of every subexpression) stays linear. */
  const dependsOnR = (e: KExpr): boolean => {
    let known = varies.get(e);
    if (known === undefined) {
      let d = (e.k === "var" && e.name === "r") || (e.k === "ref" && variant.has(e.id));
      mapOperands(e, (x) => {
        d = dependsOnR(x) || d;
        return x;
      });
      known = d;
      varies.set(e, known);
    }
    return known;
  };
  const hoisted = new Map<string, KExpr>();
  const hoist = (e: KExpr): KExpr => {
    if (!dependsOnR(e)) {
      if (e.k === "lit" || e.k === "var" || e.k === "sym" || e.k === "ref" || e.k === "acc")
        return e;
      const key = JSON.stringify(e);
      let ref = hoisted.get(key);
      if (ref === undefined) {
        const id = next++;
        prelude.push({ id, expr: e });
        ref = { k: "ref", id, dtype: exprDtype(e) };
        hoisted.set(key, ref);
      }
      return ref;
    }
    return mapOperands(e, hoist);
  };
  const lets: Stmt[] = [];
  for (const s of k.body.lets) {
    if (!dependsOnR(s.expr)) {
      prelude.push(s);
      continue;
    }
    variant.add(s.id);
    lets.push({ id: s.id, expr: hoist(s.expr) });
  }
  const value = hoist(k.body.value);
  if (prelude.length === 0) return k;
  return { ...k, prelude, body: { lets, value } };
}

// ---------------------------------------------------------------- stores

/** The lets that `roots` need, directly or through other lets, in their order. */
function liveLets(lets: readonly Stmt[], roots: readonly KExpr[]): Stmt[] {
  const live = new Set<number>();
  const mark = (e: KExpr): void =>
    visitExpr(e, (x) => {
      if (x.k === "ref") live.add(x.id);
    });
  roots.forEach(mark);
  // a let refers only to earlier lets, so one backward pass finds them all
  for (let j = lets.length - 1; j >= 0; j--) {
    const s = lets[j]!;
    if (live.has(s.id)) mark(s.expr);
  }
  return lets.filter((s) => live.has(s.id));
}

function usesAcc(exprs: readonly KExpr[]): boolean {
  let found = false;
  for (const e of exprs)
    visitExpr(e, (x) => {
      if (x.k === "acc") found = true;
    });
  return found;
}

/**
 * One kernel per group of at most `max` stores, in store order, each with
 * the epilogue lets its stores need. A reduction whose group does not use
 * `acc` is a map (its loop would compute nothing that group stores).
 */
function splitStores(k: MapKernel | ReduceKernel, max: number): Kernel[] {
  if (k.stores.length <= max) return [k];
  const out: Kernel[] = [];
  for (let at = 0; at < k.stores.length; at += max) {
    const stores: Store[] = k.stores.slice(at, at + max);
    const epilogue = liveLets(
      k.epilogue,
      stores.map((s) => s.value),
    );
    const exprs = [...epilogue.map((s) => s.expr), ...stores.map((s) => s.value)];
    if (k.kind === "reduce" && usesAcc(exprs)) {
      out.push({ ...k, epilogue, stores });
    } else {
      out.push({
        kind: "map",
        bindings: k.bindings,
        symbols: k.symbols,
        size: k.size,
        epilogue,
        stores,
        schedule: k.kind === "map" ? k.schedule : { threads: FRAGMENT_THREADS },
      });
    }
  }
  return out;
}
