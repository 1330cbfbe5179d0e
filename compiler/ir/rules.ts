/**
 * Shape and dtype rules of the IR ops: one function per op that computes the
 * result type of a node from its inputs and attributes, or throws an internal
 * compiler error. Factories (`build.ts`) and `verify()` share these rules.
 */
import { Dims, formatShape, shapesEqual, type Dim } from "../core/dim.js";
import { isFloat, isNumeric, type DType } from "../core/dtype.js";
import { assertNever, invariant } from "../diagnostics/diagnostic.js";
import { COMPARISON_FNS, LOGICAL_FNS, type Node } from "./ops.js";

/** A node's fields without identity: what a rule looks at. */
export type NodeSpec = Node extends infer N
  ? N extends Node
    ? Omit<N, "id" | "span">
    : never
  : never;

export interface TypeOf {
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

function describe(n: { dtype: DType; shape: readonly Dim[] }): string {
  return `${n.dtype}${formatShape(n.shape)}`;
}

function checkAxis(axis: number, rank: number, what: string): void {
  invariant(
    Number.isInteger(axis) && axis >= 0 && axis < rank,
    `${what}: axis ${axis} out of range for rank ${rank}`,
  );
}

/** Computes (and checks) the type of a node; throws an internal compiler error if ill-formed. */
export function inferType(n: NodeSpec): TypeOf {
  const ins = n.inputs;
  const arity = (k: number) =>
    invariant(ins.length === k, `${n.op} expects ${k} input(s), got ${ins.length}`);
  switch (n.op) {
    case "input":
    case "param":
      arity(0);
      return { dtype: n.dtype, shape: n.shape };
    case "constant": {
      arity(0);
      invariant(n.shape.every(Dims.isConst), "constant: shape must be concrete");
      const size = Dims.product(n.shape);
      invariant(
        n.data.length === size,
        `constant: ${n.data.length} values for shape ${formatShape(n.shape)}`,
      );
      return { dtype: n.dtype, shape: n.shape };
    }
    case "dim":
      arity(0);
      invariant(n.shape.length === 0, "dim: result is a scalar");
      invariant(isNumeric(n.dtype), "dim: numeric dtype");
      return { dtype: n.dtype, shape: [] };
    case "iota":
      arity(0);
      checkAxis(n.axis, n.shape.length, "iota");
      invariant(n.dtype === "i32", "iota: dtype i32");
      return { dtype: "i32", shape: n.shape };
    case "random": {
      arity(1);
      const seed = ins[0]!;
      invariant(
        seed.dtype === "i32" && seed.shape.length === 0,
        `random: seed must be an i32 scalar, got ${describe(seed)}`,
      );
      invariant(n.dtype === "f32", "random: dtype f32");
      return { dtype: "f32", shape: n.shape };
    }
    case "unary": {
      arity(1);
      const x = ins[0]!;
      if (n.fn === "not") invariant(x.dtype === "bool", `not: bool operand, got ${x.dtype}`);
      else if (n.fn === "neg" || n.fn === "abs" || n.fn === "sign")
        invariant(isNumeric(x.dtype), `${n.fn}: numeric operand, got ${x.dtype}`);
      else invariant(isFloat(x.dtype), `${n.fn}: float operand, got ${x.dtype}`);
      return { dtype: x.dtype, shape: x.shape };
    }
    case "binary": {
      arity(2);
      const [a, b] = ins as [Node, Node];
      invariant(
        shapesEqual(a.shape, b.shape),
        () => `binary ${n.fn}: shapes differ ${describe(a)} vs ${describe(b)}`,
      );
      invariant(
        a.dtype === b.dtype,
        () => `binary ${n.fn}: dtypes differ ${a.dtype} vs ${b.dtype}`,
      );
      if (LOGICAL_FNS.has(n.fn)) {
        invariant(a.dtype === "bool", `${n.fn}: bool operands`);
        return { dtype: "bool", shape: a.shape };
      }
      if (COMPARISON_FNS.has(n.fn)) {
        invariant(
          n.fn === "eq" || n.fn === "ne" || isNumeric(a.dtype),
          `${n.fn}: numeric operands`,
        );
        return { dtype: "bool", shape: a.shape };
      }
      invariant(isNumeric(a.dtype), `${n.fn}: numeric operands, got ${a.dtype}`);
      if (n.fn === "pow") invariant(isFloat(a.dtype), "pow: float operands");
      return { dtype: a.dtype, shape: a.shape };
    }
    case "select": {
      arity(3);
      const [c, a, b] = ins as [Node, Node, Node];
      invariant(c.dtype === "bool", `select: condition must be bool, got ${c.dtype}`);
      invariant(
        shapesEqual(c.shape, a.shape) && shapesEqual(a.shape, b.shape),
        () => `select: shapes differ ${describe(c)}, ${describe(a)}, ${describe(b)}`,
      );
      invariant(a.dtype === b.dtype, "select: branch dtypes differ");
      return { dtype: a.dtype, shape: a.shape };
    }
    case "cast":
      arity(1);
      return { dtype: n.dtype, shape: ins[0]!.shape };
    case "reduce": {
      arity(1);
      const x = ins[0]!;
      invariant(isNumeric(x.dtype), `reduce: numeric operand, got ${x.dtype}`);
      const axes = n.axes;
      axes.forEach((a, i) => {
        checkAxis(a, x.shape.length, "reduce");
        invariant(i === 0 || a > axes[i - 1]!, "reduce: axes sorted and distinct");
      });
      return { dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) };
    }
    case "argmax": {
      arity(1);
      const x = ins[0]!;
      checkAxis(n.axis, x.shape.length, "argmax");
      invariant(isNumeric(x.dtype), "argmax: numeric operand");
      return { dtype: "i32", shape: x.shape.filter((_, i) => i !== n.axis) };
    }
    case "broadcast": {
      arity(1);
      const x = ins[0]!;
      const off = n.shape.length - x.shape.length;
      invariant(
        off >= 0,
        () => `broadcast: cannot broadcast ${describe(x)} to lower rank ${formatShape(n.shape)}`,
      );
      x.shape.forEach((d, i) => {
        invariant(
          Dims.equal(d, 1) || Dims.equal(d, n.shape[off + i]!),
          () => `broadcast: ${describe(x)} does not broadcast to ${formatShape(n.shape)}`,
        );
      });
      invariant(n.dtype === x.dtype, "broadcast: dtype preserved");
      return { dtype: x.dtype, shape: n.shape };
    }
    case "reshape": {
      arity(1);
      const x = ins[0]!;
      invariant(
        Dims.equal(Dims.product(x.shape), Dims.product(n.shape)),
        () => `reshape: ${describe(x)} to ${formatShape(n.shape)} changes the size`,
      );
      invariant(n.dtype === x.dtype, "reshape: dtype preserved");
      return { dtype: x.dtype, shape: n.shape };
    }
    case "transpose": {
      arity(1);
      const x = ins[0]!;
      invariant(n.perm.length === x.shape.length, "transpose: permutation rank");
      invariant(
        [...n.perm].sort((a, b) => a - b).every((p, i) => p === i),
        `transpose: [${n.perm.join(", ")}] is not a permutation`,
      );
      return { dtype: x.dtype, shape: n.perm.map((p) => x.shape[p]!) };
    }
    case "slice": {
      arity(1);
      const x = ins[0]!;
      const r = x.shape.length;
      invariant(
        n.starts.length === r && n.steps.length === r && n.shape.length === r,
        "slice: attribute ranks",
      );
      for (let i = 0; i < r; i++) {
        const step = n.steps[i]!;
        invariant(Number.isInteger(step) && step >= 1, "slice: steps are positive integers");
        const size = n.shape[i]!;
        // the last element read, start + (size-1)*step, must be inside the input
        if (!(Dims.isConst(size) && size === 0)) {
          const last = Dims.add(n.starts[i]!, Dims.mul(Dims.sub(size, 1), step));
          invariant(
            Dims.nonNegative(n.starts[i]!) &&
              Dims.nonNegative(Dims.sub(Dims.sub(x.shape[i]!, 1), last)),
            () => `slice: axis ${i} reads past ${describe(x)}`,
          );
        }
      }
      invariant(n.dtype === x.dtype, "slice: dtype preserved");
      return { dtype: x.dtype, shape: n.shape };
    }
    case "pad": {
      arity(1);
      const x = ins[0]!;
      const r = x.shape.length;
      invariant(
        n.low.length === r && n.high.length === r && n.interior.length === r,
        "pad: attribute ranks",
      );
      const shape = x.shape.map((d, i) => {
        const inner =
          Dims.isConst(d) && d === 0 ? 0 : Dims.add(d, Dims.mul(Dims.sub(d, 1), n.interior[i]!));
        return Dims.add(Dims.add(n.low[i]!, inner), n.high[i]!);
      });
      return { dtype: x.dtype, shape };
    }
    case "concat": {
      invariant(ins.length >= 1, "concat: at least one input");
      const first = ins[0]!;
      checkAxis(n.axis, first.shape.length, "concat");
      let total: Dim = 0;
      for (const x of ins) {
        invariant(x.dtype === first.dtype, "concat: dtypes differ");
        invariant(x.shape.length === first.shape.length, "concat: ranks differ");
        x.shape.forEach((d, i) =>
          invariant(
            i === n.axis || Dims.equal(d, first.shape[i]!),
            () => `concat: ${describe(x)} vs ${describe(first)} off axis ${n.axis}`,
          ),
        );
        total = Dims.add(total, x.shape[n.axis]!);
      }
      return { dtype: first.dtype, shape: first.shape.map((d, i) => (i === n.axis ? total : d)) };
    }
    case "gather": {
      arity(2);
      const [x, idx] = ins as [Node, Node];
      checkAxis(n.axis, x.shape.length, "gather");
      invariant(idx.dtype === "i32", `gather: indices must be i32, got ${idx.dtype}`);
      return {
        dtype: x.dtype,
        shape: [...x.shape.slice(0, n.axis), ...idx.shape, ...x.shape.slice(n.axis + 1)],
      };
    }
    case "scatter_add": {
      arity(2);
      const [u, idx] = ins as [Node, Node];
      invariant(idx.dtype === "i32", "scatter_add: indices must be i32");
      checkAxis(n.axis, n.shape.length, "scatter_add");
      const expected = [...n.shape.slice(0, n.axis), ...idx.shape, ...n.shape.slice(n.axis + 1)];
      invariant(
        shapesEqual(u.shape, expected),
        () => `scatter_add: updates ${describe(u)} do not match ${formatShape(expected)}`,
      );
      invariant(isNumeric(u.dtype) && n.dtype === u.dtype, "scatter_add: numeric, dtype preserved");
      return { dtype: u.dtype, shape: n.shape };
    }
    case "matmul": {
      arity(2);
      const [a, b] = ins as [Node, Node];
      const ra = a.shape.length;
      const rb = b.shape.length;
      invariant(
        ra >= 2 && ra === rb,
        () => `matmul: operands ${describe(a)} and ${describe(b)} need equal rank >= 2`,
      );
      invariant(
        shapesEqual(a.shape.slice(0, -2), b.shape.slice(0, -2)),
        () => `matmul: batch dims differ ${describe(a)} vs ${describe(b)}`,
      );
      invariant(
        Dims.equal(a.shape[ra - 1]!, b.shape[rb - 2]!),
        () => `matmul: inner dims differ ${describe(a)} @ ${describe(b)}`,
      );
      invariant(a.dtype === b.dtype && isNumeric(a.dtype), "matmul: numeric operands of one dtype");
      return { dtype: a.dtype, shape: [...a.shape.slice(0, -1), b.shape[rb - 1]!] };
    }
    case "stop_gradient":
      arity(1);
      return { dtype: ins[0]!.dtype, shape: ins[0]!.shape };
    case "grad": {
      arity(2);
      const [l, w] = ins as [Node, Node];
      invariant(
        l.dtype === "f32" && l.shape.length === 0,
        () => `grad: the differentiated value must be an f32 scalar, got ${describe(l)}`,
      );
      invariant(w.dtype === "f32", () => `grad: with respect to an f32 tensor, got ${describe(w)}`);
      return { dtype: "f32", shape: w.shape };
    }
    case "jvp": {
      arity(3);
      const [y, x, t] = ins as [Node, Node, Node];
      invariant(
        y.dtype === "f32" && x.dtype === "f32",
        () => `jvp: f32 values, got ${describe(y)} and ${describe(x)}`,
      );
      invariant(
        t.dtype === "f32" && shapesEqual(t.shape, x.shape),
        () => `jvp: tangent ${describe(t)} must be shaped like ${describe(x)}`,
      );
      return { dtype: "f32", shape: y.shape };
    }
    default:
      return assertNever(n, "IR op");
  }
}
