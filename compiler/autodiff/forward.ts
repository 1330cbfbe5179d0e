/**
 * Forward mode: one generic walk in topological order from `x` to `y`,
 * carrying tangents with the rules of `jvp.ts`. Nodes that do not depend on
 * `x` have a zero tangent and are skipped.
 */
import type { Graph } from "../ir/build.js";
import { reachable } from "../ir/build.js";
import type { Node } from "../ir/ops.js";
import { zeros } from "./helpers.js";
import { jvp } from "./jvp.js";

/** The derivative of `y` along tangent `t` of `x` (zero when `y` does not depend on `x`). */
export function directional(g: Graph, y: Node, x: Node, t: Node): Node {
  const tangents = new Map<number, Node>([[x.id, t]]);
  for (const n of reachable([y])) {
    if (n.id === x.id || n.id < x.id) continue;
    if (!n.inputs.some((i) => tangents.has(i.id))) continue;
    const r = jvp(
      g,
      n,
      n.inputs.map((i) => tangents.get(i.id) ?? null),
    );
    if (r) tangents.set(n.id, r);
  }
  return tangents.get(y.id) ?? zeros(g, y);
}
