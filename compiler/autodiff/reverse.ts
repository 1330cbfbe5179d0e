/**
 * Reverse mode: one generic walk over the graph of a scalar `L` in reverse
 * topological order, accumulating adjoints with the rules of `vjp.ts`.
 * Broadcasts are explicit IR nodes, so un-broadcasting is the broadcast rule.
 */
import type { Graph } from "../ir/build.js";
import { reachable } from "../ir/build.js";
import type { Node } from "../ir/ops.js";
import { add } from "./helpers.js";
import { vjp } from "./vjp.js";

/** Whether each node can carry a derivative: an f32 node that depends on an input or parameter. */
export function activeNodes(nodes: readonly Node[]): Set<number> {
  const active = new Set<number>();
  for (const n of nodes) {
    if (n.dtype !== "f32") continue;
    if (n.op === "input" || n.op === "param" || n.inputs.some((i) => active.has(i.id)))
      active.add(n.id);
  }
  return active;
}

/**
 * Adjoints dL/dn of every node `n` that `L` depends on through differentiable
 * paths, by node id. Nodes without an entry have a zero adjoint.
 */
export function adjoints(g: Graph, l: Node): Map<number, Node> {
  const nodes = reachable([l]);
  const active = activeNodes(nodes);
  const adj = new Map<number, Node>([[l.id, g.full(1, "f32", l.shape)]]);
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k]!;
    const a = adj.get(n.id);
    if (!a || !n.inputs.some((i) => active.has(i.id))) continue;
    // the nodes of a rule carry the span of the expression they differentiate (run-time reports)
    const outer = g.currentSpan;
    g.currentSpan = n.span ?? outer;
    const contribs = vjp(g, n, a);
    n.inputs.forEach((x, i) => {
      const c = contribs[i];
      if (c && active.has(x.id)) adj.set(x.id, add(g, adj.get(x.id) ?? null, c)!);
    });
    g.currentSpan = outer;
  }
  return adj;
}
