/**
 * `verify()` re-checks IR invariants after any stage: every node's type agrees
 * with its op's rule, inputs precede their users, and structurally equal nodes
 * have not been built twice. Failures are internal compiler errors.
 */
import { Dims, formatShape, shapesEqual } from "../core/dim.js";
import { invariant } from "../diagnostics/diagnostic.js";
import { structuralKey } from "./build.js";
import { functionRoots, type IrFunction, type Node } from "./ops.js";
import { inferType } from "./rules.js";

/**
 * Every node object reachable from `roots`, by identity (not by id, so that
 * two distinct objects with one id are both seen), in id order.
 */
function collect(roots: readonly Node[]): Node[] {
  const seen = new Set<Node>();
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const i of n.inputs) if (!seen.has(i)) stack.push(i);
  }
  return [...seen].sort((a, b) => a.id - b.id);
}

/** Checks one set of roots; throws an internal compiler error on the first violation. */
export function verifyNodes(roots: readonly Node[]): void {
  const nodes = collect(roots);
  const ids = new Set<number>();
  const keys = new Map<string, Node>();
  for (const n of nodes) {
    invariant(!ids.has(n.id), `duplicate node id %${n.id}: two different nodes share it`);
    ids.add(n.id);
    invariant(
      Object.isFrozen(n) && Object.isFrozen(n.shape) && Object.isFrozen(n.inputs),
      `node %${n.id} is mutable`,
    );
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
    const key = structuralKey(n);
    const twin = keys.get(key);
    invariant(
      twin === undefined,
      () => `node %${n.id} (${n.op}) duplicates %${twin?.id}: built twice`,
    );
    keys.set(key, n);
  }
}

/** Verifies a function: its graph, and that inputs are input nodes numbered in order. */
const verified = new WeakSet<IrFunction>();

export function verifyFunction(fn: IrFunction): void {
  // IR functions and nodes are immutable: one verified stays valid (stages that
  // change nothing hand the same object on, and planning verifies it again)
  if (verified.has(fn)) return;
  fn.inputs.forEach((inp, i) => {
    invariant(inp.op === "input" && inp.index === i, `${fn.name}: input ${i} is not input #${i}`);
  });
  const roots = functionRoots(fn);
  const nodes = collect(roots);
  const declared = new Set<Node>(fn.inputs);
  for (const n of nodes) {
    if (n.op === "input") invariant(declared.has(n), `${fn.name}: uses undeclared input ${n.name}`);
  }
  const known = new Set(fn.symbols);
  for (const n of nodes) {
    for (const d of n.shape) {
      for (const s of Dims.symbols(d))
        invariant(known.has(s), `${fn.name}: node %${n.id} uses unbound size symbol ${s}`);
    }
  }
  for (const u of fn.updates ?? [])
    invariant(u.node.op !== "input", `${fn.name}: update of ${u.path} is an input`);
  verifyNodes(roots);
  verified.add(fn);
}
