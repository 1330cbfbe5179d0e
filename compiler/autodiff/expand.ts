/**
 * The autodiff stage: replaces every `grad` and `jvp` placeholder by primitive
 * IR. Nodes are visited in topological order, so inner derivatives are
 * expanded before the derivatives that contain them, and an outer derivative
 * differentiates the inner one's expansion: derivatives nest to any order and
 * mix modes.
 */
import type { Graph } from "../ir/build.js";
import { reachable } from "../ir/build.js";
import type { Node } from "../ir/ops.js";
import { directional } from "./forward.js";
import { zeros } from "./helpers.js";
import { adjoints } from "./reverse.js";

/** The roots with every derivative placeholder beneath them expanded. */
export function expandDerivatives(g: Graph, roots: readonly Node[]): Node[] {
  const map = new Map<number, Node>();
  const reverseCache = new Map<number, Map<number, Node>>();
  for (const n of reachable(roots)) {
    const ins = n.inputs.map((i) => map.get(i.id)!);
    let out: Node;
    g.currentSpan = n.span;
    if (n.op === "grad") {
      const [l, w] = ins as [Node, Node];
      let adj = reverseCache.get(l.id);
      if (!adj) {
        adj = adjoints(g, l);
        reverseCache.set(l.id, adj);
      }
      out = adj.get(w.id) ?? zeros(g, w);
    } else if (n.op === "jvp") {
      const [y, x, t] = ins as [Node, Node, Node];
      out = directional(g, y, x, t);
    } else {
      out = g.rebuild(n, ins);
    }
    g.currentSpan = undefined;
    map.set(n.id, out);
  }
  return roots.map((r) => map.get(r.id)!);
}
