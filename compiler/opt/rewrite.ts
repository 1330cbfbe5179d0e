/**
 * A rewrite engine for the IR. A pass rebuilds the graph under `roots` in
 * topological order with rewritten inputs; every rebuilt node goes through
 * the factories, so structurally equal nodes merge (CSE) and nodes no root
 * reaches are simply not rebuilt (DCE). Local rules are data: an op and a
 * function that returns a replacement or null (tinygrad's PatternMatcher).
 */
import type { Graph } from "../ir/build.js";
import { reachable } from "../ir/build.js";
import type { Node, NodeOf, Op } from "../ir/ops.js";

export interface Rule<O extends Op = Op> {
  readonly name: string;
  readonly op: O;
  readonly apply: (g: Graph, n: NodeOf<O>) => Node | null;
}

/** Declares a rule with its node type narrowed to `op`. */
export function rule<O extends Op>(
  name: string,
  op: O,
  apply: (g: Graph, n: NodeOf<O>) => Node | null,
): Rule {
  return { name, op, apply: apply as unknown as Rule["apply"] };
}

/** Applies rules to one node until none matches (bounded). */
function settle(
  g: Graph,
  n: Node,
  byOp: ReadonlyMap<Op, readonly Rule[]>,
  fired: Map<string, number>,
): Node {
  let cur = n;
  for (let step = 0; step < 32; step++) {
    const rules = byOp.get(cur.op);
    if (!rules) return cur;
    let next: Node | null = null;
    for (const r of rules) {
      next = r.apply(g, cur);
      if (next && next !== cur) {
        fired.set(r.name, (fired.get(r.name) ?? 0) + 1);
        break;
      }
      next = null;
    }
    if (!next) return cur;
    cur = next;
  }
  return cur;
}

/** One pass over the graph; returns the new roots and how often each rule fired. */
export function rewritePass(
  g: Graph,
  roots: readonly Node[],
  rules: readonly Rule[],
): { roots: Node[]; fired: Map<string, number> } {
  const byOp = new Map<Op, Rule[]>();
  for (const r of rules) byOp.set(r.op, [...(byOp.get(r.op) ?? []), r]);
  const fired = new Map<string, number>();
  const map = new Map<number, Node>();
  for (const n of reachable(roots)) {
    const rebuilt = g.rebuild(
      n,
      n.inputs.map((i) => map.get(i.id)!),
    );
    map.set(n.id, settle(g, rebuilt, byOp, fired));
  }
  return { roots: roots.map((r) => map.get(r.id)!), fired };
}

/** Passes until the graph stops changing (at most `maxPasses`). */
export function rewriteToFixpoint(
  g: Graph,
  roots: readonly Node[],
  rules: readonly Rule[],
  maxPasses = 8,
): Node[] {
  let cur = [...roots];
  for (let i = 0; i < maxPasses; i++) {
    const { roots: next, fired } = rewritePass(g, cur, rules);
    const same = next.every((n, k) => n === cur[k]);
    cur = next;
    if (same && fired.size === 0) break;
  }
  return cur;
}
