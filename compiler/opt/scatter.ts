/**
 * `scatter_add` with compile-time indices as an inverse gather and a short sum.
 *
 * A fused GPU kernel computes a `scatter_add` as a reduction in which every
 * output element visits every update and tests index equality:
 * O(outputs x updates) (there is no float atomic add in WebGPU). The adjoint
 * of conv2d's im2col gather is such a scatter, with a literal index tensor,
 * and it dominated a CNN training step. When the indices are a literal
 * tensor (possibly reshaped), the inverse map is known at compile time: for
 * each output position `s` along the axis, the update positions whose
 * clamped index is `s`, in increasing order. With `K` updates along the axis
 * and `M` the longest list, the scatter is
 *
 *     sum(gather(pad(updates flattened over the index dims, one zero slot), inv, axis), axis + 1)
 *
 * where `inv` is `[S, M]`, each row listing its update positions and filled
 * up with the zero slot `K`: O(outputs x M) work. `M = 1` needs no sum, a
 * table without short rows no zero slot, and the identity nothing at all.
 *
 * The rewrite is skipped when the table would be large compared with what it
 * replaces: when `S * M > 4 * max(K, S)` (many indices on one position, as in
 * a histogram, make `M` large and a sum over it no cheaper than the scatter).
 *
 * The planner applies it to the functions the GPU plan is made from only
 * (`compiler/codegen/plan.ts`): the CPU's `scatter_add` is a single O(updates)
 * pass, cheaper than a gather of `M` values per output and a sum, and stays
 * the reference the fused plan is checked against. On the CPU, the rewritten
 * form gives the same values: lists are in increasing update order and the
 * CPU's `sum` adds sequentially from zero as its `scatter_add` does (bit for
 * bit in f64 but for the sign of a zero where `M` is 1; in f32 the scatter
 * rounds after every addition and the sum only at the end).
 */
import { Dims } from "../core/dim.js";
import { reachable, type Graph } from "../ir/build.js";
import { functionRoots, type IrFunction, type Node, type NodeOf } from "../ir/ops.js";
import { rewriteToFixpoint, rule, type Rule } from "./rewrite.js";

/** The rewrite is skipped when the inverse table exceeds this many times `max(K, S)`. */
export const INVERSE_TABLE_FACTOR = 4;

/** The row-major values of a literal tensor seen through reshapes, if `n` is one. */
function literalData(n: Node): readonly number[] | undefined {
  while (n.op === "reshape") n = n.inputs[0]!;
  return n.op === "constant" ? n.data : undefined;
}

/**
 * The inverse of a constant index tensor into an axis of extent `extent`:
 * for each position, the positions of the indices that land on it (indices
 * clamped into `[0, extent)`, as `scatter_add` clamps them), in increasing order.
 */
export function invertIndices(indices: readonly number[], extent: number): number[][] {
  const lists: number[][] = Array.from({ length: extent }, () => []);
  indices.forEach((t, k) => lists[Math.min(Math.max(t, 0), extent - 1)]!.push(k));
  return lists;
}

/** The replacement of `n`, or null when its indices are not a literal or the table would be too large. */
export function scatterAsGather(g: Graph, n: NodeOf<"scatter_add">): Node | null {
  const [updates, idx] = n.inputs as [Node, Node];
  const data = literalData(idx);
  const extent = n.shape[n.axis]!;
  if (data === undefined || !Dims.isConst(extent) || extent === 0) return null;
  const S = extent;
  const K = data.length;
  const pre = n.shape.slice(0, n.axis);
  const post = n.shape.slice(n.axis + 1);
  if (K === 0) return g.full(0, n.dtype, n.shape);
  const lists = invertIndices(data, S);
  const M = lists.reduce((m, l) => Math.max(m, l.length), 0);
  if (S * M > INVERSE_TABLE_FACTOR * Math.max(K, S)) return null;
  // the updates with the index dims flattened into one axis of K positions
  const flat = g.reshape(updates, [...pre, K, ...post]);
  // the identity: every position receives exactly its own update
  if (M === 1 && K === S && lists.every((l, s) => l[0] === s)) return flat;
  const full = lists.every((l) => l.length === M);
  // position K reads zero, when some list is shorter than M
  const source = full
    ? flat
    : g.pad(
        flat,
        n.shape.map(() => 0),
        n.shape.map((_, a) => (a === n.axis ? 1 : 0)),
      );
  const table = lists.flatMap((l) => [...l, ...new Array<number>(M - l.length).fill(K)]);
  if (M === 1) return g.gather(source, g.constant(table, "i32", [S]), n.axis);
  const picked = g.gather(source, g.constant(table, "i32", [S, M]), n.axis);
  return g.reduce("sum", picked, [n.axis + 1]);
}

/** The rule, as a rewrite-engine table. */
export const SCATTER_RULES: readonly Rule[] = [
  rule("scatter-as-gather", "scatter_add", scatterAsGather),
];

/**
 * `fn` with its literal-index scatters rewritten (new nodes go into `g`, the
 * graph of `fn`); `fn` itself when it has none to rewrite.
 */
export function withScattersAsGathers(g: Graph, fn: IrFunction): IrFunction {
  const roots = functionRoots(fn);
  if (!reachable(roots).some((n) => n.op === "scatter_add")) return fn;
  const out = rewriteToFixpoint(g, roots, SCATTER_RULES);
  if (out.every((n, k) => n === roots[k])) return fn;
  let k = 0;
  const outputs = fn.outputs.map(() => out[k++]!);
  const updates = fn.updates?.map((u) => ({ path: u.path, node: out[k++]! }));
  return { ...fn, outputs, ...(updates ? { updates } : {}) };
}
