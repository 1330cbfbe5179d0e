/**
 * `verify()` re-checks IR invariants after any stage: every node's type agrees
 * with its op's rule, inputs precede their users, and structurally equal nodes
 * have not been built twice. Failures are internal compiler errors.
 */
import { Dims, formatShape, shapesEqual } from "../core/dim.js";
import { invariant } from "../diagnostics/diagnostic.js";
import { reachable } from "./build.js";
import { functionRoots, type IrFunction, type Node } from "./ops.js";
import { inferType } from "./rules.js";

/** Checks one set of roots; throws an internal compiler error on the first violation. */
export function verifyNodes(roots: readonly Node[]): void {
  const nodes = reachable(roots);
  const ids = new Set<number>();
  for (const n of nodes) {
    invariant(!ids.has(n.id), `duplicate node id %${n.id}`);
    ids.add(n.id);
    invariant(Object.isFrozen(n), `node %${n.id} is mutable`);
    for (const i of n.inputs)
      invariant(i.id < n.id, `node %${n.id} (${n.op}) uses later node %${i.id}`);
    const t = inferType(n);
    invariant(
      t.dtype === n.dtype,
      `node %${n.id} (${n.op}): dtype ${n.dtype}, rule says ${t.dtype}`,
    );
    invariant(
      shapesEqual(t.shape, n.shape),
      () =>
        `node %${n.id} (${n.op}): shape ${formatShape(n.shape)}, rule says ${formatShape(t.shape)}`,
    );
    for (const d of n.shape)
      invariant(Dims.nonNegative(d), `node %${n.id}: negative dimension ${Dims.format(d)}`);
  }
}

/** Verifies a function: its graph, and that inputs are input nodes numbered in order. */
export function verifyFunction(fn: IrFunction): void {
  fn.inputs.forEach((inp, i) => {
    invariant(inp.op === "input" && inp.index === i, `${fn.name}: input ${i} is not input #${i}`);
  });
  const roots = functionRoots(fn);
  const declared = new Set(fn.inputs.map((i) => i.id));
  for (const n of reachable(roots)) {
    if (n.op === "input")
      invariant(declared.has(n.id), `${fn.name}: uses undeclared input ${n.name}`);
  }
  const known = new Set(fn.symbols);
  for (const n of reachable(roots)) {
    for (const d of n.shape) {
      for (const s of Dims.symbols(d))
        invariant(known.has(s), `${fn.name}: node %${n.id} uses unbound size symbol ${s}`);
    }
  }
  for (const u of fn.updates ?? [])
    invariant(u.node.op !== "input", `${fn.name}: update of ${u.path} is an input`);
  verifyNodes(roots);
}
