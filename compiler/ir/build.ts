/**
 * IR factories. A {@link Graph} owns an intern table: building a node that is
 * structurally equal to an existing one (same op, attributes, dtype, shape and
 * input nodes) returns the existing node. Factories also apply trivial
 * canonicalizations (a reshape to the same shape is its input, and so on), so
 * no pass ever has to look for them.
 */
import type { Span } from "../ast/span.js";
import { Dims, shapesEqual, type Dim } from "../core/dim.js";
import type { DType } from "../core/dtype.js";
import { assertNever, invariant } from "../diagnostics/diagnostic.js";
import type {
  BinaryFn,
  InputNode,
  Node,
  NodeOf,
  Op,
  ParamNode,
  RandomDist,
  ReduceFn,
  UnaryFn,
} from "./ops.js";
import { inferType, type NodeSpec } from "./rules.js";

function dimsKey(ds: readonly Dim[]): string {
  return ds.map(Dims.key).join(",");
}

/** A number in a key: `-0` is not `0` (they differ under division), so it keeps its sign. */
function numKey(x: number): string {
  return Object.is(x, -0) ? "-0" : String(x);
}

/** A canonical key of a node's attributes (every field but identity, type and inputs). */
function attrsKey(spec: NodeSpec): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(spec).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (
      k === "op" ||
      k === "inputs" ||
      k === "dtype" ||
      k === "shape" ||
      k === "id" ||
      k === "span"
    )
      continue;
    if (Array.isArray(v))
      parts.push(
        `${k}=[${(v as readonly Dim[]).map((x) => (typeof x === "number" ? numKey(x) : Dims.key(x))).join(",")}]`,
      );
    else if (typeof v === "object" && v !== null) parts.push(`${k}=${Dims.key(v as Dim)}`);
    else parts.push(`${k}=${typeof v === "number" ? numKey(v) : String(v)}`);
  }
  return parts.join(";");
}

/**
 * The identity of a node for deduplication: op, dtype, shape, attributes and
 * the ids of its inputs. Two nodes of one graph never share a key.
 */
export function structuralKey(n: NodeSpec | Node): string {
  return `${n.op}|${n.dtype}|${dimsKey(n.shape)}|${attrsKey(n)}|${n.inputs.map((i) => i.id).join(",")}`;
}

/** Owns the nodes of one compilation unit and deduplicates them. */
export class Graph {
  private readonly table = new Map<string, Node>();
  private nextId = 0;
  /** Span given to nodes created while it is set (the source construct being lowered). */
  currentSpan: Span | undefined = undefined;

  /** Number of distinct nodes created so far. */
  get size(): number {
    return this.nextId;
  }

  /** Builds (or finds) a node; all factories go through here. */
  make<O extends Op>(spec: Extract<NodeSpec, { op: O }>): NodeOf<O> {
    const t = inferType(spec);
    const full = { ...spec, dtype: t.dtype, shape: t.shape } as NodeSpec;
    const key = structuralKey(full);
    const found = this.table.get(key);
    if (found) return found as NodeOf<O>;
    const node = Object.freeze({
      ...full,
      shape: Object.freeze([...full.shape]),
      inputs: Object.freeze([...full.inputs]),
      id: this.nextId++,
      span: this.currentSpan,
    }) as unknown as NodeOf<O>;
    this.table.set(key, node);
    return node;
  }

  // ---------------------------------------------------------------- sources

  input(name: string, index: number, dtype: DType, shape: readonly Dim[]): InputNode {
    return this.make({ op: "input", name, index, dtype, shape, inputs: [] });
  }

  param(path: string, dtype: DType, shape: readonly Dim[]): ParamNode {
    return this.make({ op: "param", path, dtype, shape, inputs: [] });
  }

  /** A tensor literal; `data` is row-major and its length the shape's size. */
  constant(data: readonly number[], dtype: DType, shape: readonly number[] = []): Node {
    // f32 keeps -0: 1 / -0 is -inf
    const norm = data.map((v) => (dtype === "bool" ? (v ? 1 : 0) : dtype === "i32" ? v | 0 : v));
    return this.make({ op: "constant", data: Object.freeze(norm), dtype, shape, inputs: [] });
  }

  /** A scalar constant. */
  scalar(value: number, dtype: DType = "f32"): Node {
    return this.constant([value], dtype, []);
  }

  /** A constant filling `shape` with `value` (a broadcast scalar). */
  full(value: number, dtype: DType, shape: readonly Dim[]): Node {
    return this.broadcast(this.scalar(value, dtype), shape);
  }

  dim(d: Dim, dtype: DType = "i32"): Node {
    if (Dims.isConst(d)) return this.scalar(d, dtype);
    return this.make({ op: "dim", dim: d, dtype, shape: [], inputs: [] });
  }

  iota(shape: readonly Dim[], axis: number): Node {
    return this.make({ op: "iota", axis, dtype: "i32", shape, inputs: [] });
  }

  random(dist: RandomDist, seed: Node, salt: number, shape: readonly Dim[]): Node {
    return this.make({ op: "random", dist, salt: salt >>> 0, dtype: "f32", shape, inputs: [seed] });
  }

  // ---------------------------------------------------------------- elementwise

  unary(fn: UnaryFn, x: Node): Node {
    return this.make({ op: "unary", fn, dtype: x.dtype, shape: x.shape, inputs: [x] });
  }

  binary(fn: BinaryFn, a: Node, b: Node): Node {
    // commutative operands in id order, so `a + b` and `b + a` are one node
    if (COMMUTATIVE.has(fn) && b.id < a.id) [a, b] = [b, a];
    return this.make({ op: "binary", fn, dtype: a.dtype, shape: a.shape, inputs: [a, b] });
  }

  select(cond: Node, a: Node, b: Node): Node {
    return this.make({ op: "select", dtype: a.dtype, shape: a.shape, inputs: [cond, a, b] });
  }

  cast(x: Node, dtype: DType): Node {
    if (x.dtype === dtype) return x;
    return this.make({ op: "cast", dtype, shape: x.shape, inputs: [x] });
  }

  // ---------------------------------------------------------------- reductions

  reduce(fn: ReduceFn, x: Node, axes: readonly number[]): Node {
    const sorted = [...new Set(axes)].sort((a, b) => a - b);
    if (sorted.length === 0) return x;
    return this.make({
      op: "reduce",
      fn,
      axes: sorted,
      dtype: x.dtype,
      shape: x.shape,
      inputs: [x],
    });
  }

  argmax(x: Node, axis: number): Node {
    return this.make({ op: "argmax", axis, dtype: "i32", shape: x.shape, inputs: [x] });
  }

  // ---------------------------------------------------------------- movement

  broadcast(x: Node, shape: readonly Dim[]): Node {
    if (shapesEqual(x.shape, shape)) return x;
    return this.make({ op: "broadcast", dtype: x.dtype, shape, inputs: [x] });
  }

  reshape(x: Node, shape: readonly Dim[]): Node {
    if (shapesEqual(x.shape, shape)) return x;
    // reshape of a reshape is one reshape
    const src = x.op === "reshape" ? x.inputs[0]! : x;
    if (shapesEqual(src.shape, shape)) return src;
    return this.make({ op: "reshape", dtype: x.dtype, shape, inputs: [src] });
  }

  transpose(x: Node, perm: readonly number[]): Node {
    if (perm.length === x.shape.length && perm.every((p, i) => p === i)) return x;
    if (x.op === "transpose") {
      const inner = x.perm;
      return this.transpose(
        x.inputs[0]!,
        perm.map((p) => inner[p]!),
      );
    }
    return this.make({ op: "transpose", perm, dtype: x.dtype, shape: x.shape, inputs: [x] });
  }

  /** `sizes` are the output extents per axis. */
  slice(x: Node, starts: readonly Dim[], sizes: readonly Dim[], steps?: readonly number[]): Node {
    const st = steps ?? x.shape.map(() => 1);
    const whole =
      starts.length === x.shape.length &&
      sizes.length === x.shape.length &&
      x.shape.every(
        (d, i) =>
          Dims.equal(starts[i]!, 0) &&
          Dims.equal(sizes[i]!, d) &&
          (st[i] === 1 || Dims.equal(d, 1)),
      );
    if (whole) return x;
    return this.make({
      op: "slice",
      starts,
      steps: st.map((s, i) => (Dims.equal(sizes[i]!, 1) ? 1 : s)),
      dtype: x.dtype,
      shape: sizes,
      inputs: [x],
    });
  }

  pad(
    x: Node,
    low: readonly Dim[],
    high: readonly Dim[],
    interior?: readonly number[],
    value = 0,
  ): Node {
    const inter = interior ?? x.shape.map(() => 0);
    if (
      low.length === x.shape.length &&
      high.length === x.shape.length &&
      low.every((d) => Dims.equal(d, 0)) &&
      high.every((d) => Dims.equal(d, 0)) &&
      inter.every((d) => d === 0)
    )
      return x;
    return this.make({
      op: "pad",
      low,
      high,
      interior: inter,
      value,
      dtype: x.dtype,
      shape: x.shape,
      inputs: [x],
    });
  }

  concat(xs: readonly Node[], axis: number): Node {
    invariant(xs.length > 0, "concat of nothing");
    const nonEmpty = xs.filter((x) => !Dims.equal(x.shape[axis]!, 0));
    if (nonEmpty.length === 1) return nonEmpty[0]!;
    if (nonEmpty.length === 0) return xs[0]!;
    return this.make({
      op: "concat",
      axis,
      dtype: nonEmpty[0]!.dtype,
      shape: nonEmpty[0]!.shape,
      inputs: nonEmpty,
    });
  }

  gather(x: Node, idx: Node, axis: number): Node {
    return this.make({ op: "gather", axis, dtype: x.dtype, shape: x.shape, inputs: [x, idx] });
  }

  scatterAdd(updates: Node, idx: Node, axis: number, shape: readonly Dim[]): Node {
    return this.make({
      op: "scatter_add",
      axis,
      dtype: updates.dtype,
      shape,
      inputs: [updates, idx],
    });
  }

  matmul(a: Node, b: Node): Node {
    return this.make({ op: "matmul", dtype: a.dtype, shape: a.shape, inputs: [a, b] });
  }

  // ---------------------------------------------------------------- derivatives

  stopGradient(x: Node): Node {
    if (x.op === "stop_gradient" || x.op === "constant" || x.dtype !== "f32") return x;
    return this.make({ op: "stop_gradient", dtype: x.dtype, shape: x.shape, inputs: [x] });
  }

  /** Placeholder for dL/dw, expanded by the autodiff stage. */
  grad(l: Node, w: Node): Node {
    return this.make({ op: "grad", dtype: "f32", shape: w.shape, inputs: [l, w] });
  }

  /** Placeholder for the derivative of `y` along tangent `t` of `x`, expanded by the autodiff stage. */
  jvp(y: Node, x: Node, t: Node): Node {
    return this.make({ op: "jvp", dtype: "f32", shape: y.shape, inputs: [y, x, t] });
  }

  /**
   * The node `n` with new inputs (same op and attributes), through the
   * factories so their canonicalizations apply. Returns `n` itself when the
   * inputs are unchanged.
   */
  rebuild(n: Node, ins: readonly Node[]): Node {
    if (ins.length === n.inputs.length && ins.every((x, i) => x === n.inputs[i])) return n;
    const [a, b, c] = ins as [Node, Node, Node];
    switch (n.op) {
      case "input":
      case "param":
      case "constant":
      case "dim":
      case "iota":
        return n;
      case "random":
        return this.random(n.dist, a, n.salt, n.shape);
      case "unary":
        return this.unary(n.fn, a);
      case "binary":
        return this.binary(n.fn, a, b);
      case "select":
        return this.select(a, b, c);
      case "cast":
        return this.cast(a, n.dtype);
      case "reduce":
        return this.reduce(n.fn, a, n.axes);
      case "argmax":
        return this.argmax(a, n.axis);
      case "broadcast":
        return this.broadcast(a, n.shape);
      case "reshape":
        return this.reshape(a, n.shape);
      case "transpose":
        return this.transpose(a, n.perm);
      case "slice":
        return this.slice(a, n.starts, n.shape, n.steps);
      case "pad":
        return this.pad(a, n.low, n.high, n.interior, n.value);
      case "concat":
        return this.concat(ins, n.axis);
      case "gather":
        return this.gather(a, b, n.axis);
      case "scatter_add":
        return this.scatterAdd(a, b, n.axis, n.shape);
      case "matmul":
        return this.matmul(a, b);
      case "stop_gradient":
        return this.stopGradient(a);
      case "grad":
        return this.grad(a, b);
      case "jvp":
        return this.jvp(a, b, c);
      default:
        return assertNever(n, "IR op");
    }
  }
}

const COMMUTATIVE: ReadonlySet<BinaryFn> = new Set([
  "add",
  "mul",
  "max",
  "min",
  "eq",
  "ne",
  "and",
  "or",
]);

/** All nodes reachable from `roots`, in topological (id) order. */
export function reachable(roots: readonly Node[]): Node[] {
  const seen = new Map<number, Node>();
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n.id)) continue;
    seen.set(n.id, n);
    for (const i of n.inputs) if (!seen.has(i.id)) stack.push(i);
  }
  return [...seen.values()].sort((a, b) => a.id - b.id);
}
