/**
 * Lowering: the checker's typed DAGs (calls already specialized and inlined)
 * to tensor IR, one IR function per entry function, plus one `init` function
 * per model computing every parameter from a seed.
 */
import { Dims } from "../core/dim.js";
import { hashString } from "../core/numbers.js";
import { assertNever, invariant } from "../diagnostics/diagnostic.js";
import { Graph } from "../ir/build.js";
import {
  functionRoots,
  type InputNode,
  type IrFunction,
  type Node,
  type ParamInfo as IrParamInfo,
} from "../ir/ops.js";
import type {
  CheckedFunction,
  CheckedProgram,
  CheckedTrain,
  ParamInfo,
  TExpr,
} from "../check/types.js";
import { lowerPrim } from "./prims.js";

/** A model after lowering: its parameters, their initializer, and its functions. */
export interface IrModel {
  readonly name: string;
  readonly params: readonly IrParamInfo[];
  /** Computes every parameter (outputs in `params` order) from an i32 seed; null without parameters. */
  readonly init: IrFunction | null;
  readonly functions: readonly IrFunction[];
  /** `fn` or `loss`, by function name. */
  readonly flavors: ReadonlyMap<string, "fn" | "loss">;
  /** The model's training configuration, when it has a `train` declaration. */
  readonly train: CheckedTrain | null;
}

export interface IrProgram {
  readonly name: string;
  readonly graph: Graph;
  readonly models: readonly IrModel[];
  /** Top-level entry functions. */
  readonly functions: readonly IrFunction[];
}

/** Lowers typed expressions to IR nodes, sharing the lowering of shared subexpressions. */
export class Lowerer {
  private readonly memo = new Map<TExpr, Node>();
  constructor(readonly graph: Graph) {}

  /** Iterative post-order, so deep expression chains do not exhaust the stack. */
  lower(root: TExpr): Node {
    const g = this.graph;
    const stack: TExpr[] = [root];
    while (stack.length) {
      const e = stack[stack.length - 1]!;
      if (this.memo.has(e)) {
        stack.pop();
        continue;
      }
      if (e.kind === "prim") {
        const pending = e.args.filter((a) => !this.memo.has(a));
        if (pending.length) {
          stack.push(...pending);
          continue;
        }
      }
      stack.pop();
      g.currentSpan = e.span;
      this.memo.set(e, this.lowerOne(e));
      g.currentSpan = undefined;
    }
    return this.memo.get(root)!;
  }

  private lowerOne(e: TExpr): Node {
    const g = this.graph;
    switch (e.kind) {
      case "input":
        return g.input(e.name, e.index, e.type.dtype, e.type.shape);
      case "param":
        return g.param(e.path, e.type.dtype, e.type.shape);
      case "literal":
        invariant(e.type.shape.every(Dims.isConst), "literal with symbolic shape");
        return g.constant(e.data, e.type.dtype, e.type.shape as number[]);
      case "prim": {
        const args = e.args.map((a) => this.memo.get(a)!);
        const n = lowerPrim(g, e, args);
        invariant(
          n.dtype === e.type.dtype &&
            n.shape.length === e.type.shape.length &&
            n.shape.every((d, i) => Dims.equal(d, e.type.shape[i]!)),
          () => `lowering ${e.prim.op} gave ${n.dtype}[${n.shape.map(Dims.format).join(", ")}]`,
        );
        return n;
      }
      default:
        return assertNever(e, "typed expression");
    }
  }
}

function lowerFunction(f: CheckedFunction, lowerer: Lowerer): IrFunction {
  const inputs = f.inputs.map((i) => lowerer.lower(i) as InputNode);
  const outputs = f.outputs.map((o) => lowerer.lower(o));
  const updates = f.updates?.map((u) => ({ path: u.path, node: lowerer.lower(u.expr) }));
  return { name: f.name, inputs, outputs, symbols: f.symbols, ...(updates ? { updates } : {}) };
}

/** Fan-in and fan-out: [in, out] for matrices, [O, C, ...k] for convolution kernels. */
function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  if (shape.length === 2) return { fanIn: shape[0]!, fanOut: shape[1]! };
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/** The IR computing one parameter's initial value from the seed. */
function initParam(g: Graph, p: ParamInfo, seed: Node): Node {
  const shape = p.type.shape as number[];
  const init = p.init;
  const salt = hashString(p.path);
  const affine = (x: Node, scale: number, shift: number): Node =>
    g.binary("add", g.binary("mul", x, g.full(scale, "f32", shape)), g.full(shift, "f32", shape));
  const normal = (std: number, mean = 0) =>
    affine(g.random("normal", seed, salt, shape), std, mean);
  const uniform = (lo: number, hi: number) =>
    affine(g.random("uniform", seed, salt, shape), hi - lo, lo);
  const { fanIn, fanOut } = fans(shape);
  switch (init.kind) {
    case "zeros":
      return g.full(0, "f32", shape);
    case "ones":
      return g.full(1, "f32", shape);
    case "constant":
      return g.full(init.value, "f32", shape);
    case "literal":
      return g.constant(init.data, "f32", shape);
    case "normal":
      return normal(init.std, init.mean);
    case "uniform":
      return uniform(init.low, init.high);
    case "glorot": {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return uniform(-limit, limit);
    }
    case "glorot_normal":
      return normal(Math.sqrt(2 / (fanIn + fanOut)));
    case "he":
      return normal(Math.sqrt(2 / fanIn));
    case "he_uniform": {
      const limit = Math.sqrt(6 / fanIn);
      return uniform(-limit, limit);
    }
    case "lecun":
      return normal(Math.sqrt(1 / fanIn));
    default:
      return assertNever(init, "initializer");
  }
}

/** Lowers a checked program to IR. */
export function lowerProgram(program: CheckedProgram): IrProgram {
  const graph = new Graph();
  const lowerer = new Lowerer(graph);
  const models: IrModel[] = program.models.map((m) => {
    // the kind travels on: optimizer state is not a parameter (parameters() leaves it out)
    const params: IrParamInfo[] = m.params.map((p) => ({
      path: p.path,
      ...(p.kind === "state" ? { kind: "state" as const } : {}),
      dtype: p.type.dtype,
      shape: p.type.shape,
    }));
    let init: IrFunction | null = null;
    if (m.params.length > 0) {
      const seed = graph.input("seed", 0, "i32", []);
      const outputs = m.params.map((p) => {
        graph.currentSpan = p.span;
        const n = initParam(graph, p, seed);
        graph.currentSpan = undefined;
        return n;
      });
      init = { name: "init", inputs: [seed], outputs, symbols: [] };
    }
    return {
      name: m.name,
      params,
      init,
      functions: m.functions.map((f) => lowerFunction(f, lowerer)),
      flavors: new Map(m.functions.map((f) => [f.name, f.flavor])),
      train: m.train,
    };
  });
  const functions = program.functions.map((f) => lowerFunction(f, lowerer));
  return { name: program.name, graph, models, functions };
}

/**
 * Applies a graph transformation to every function of a program at once
 * (they share one graph, so shared work stays shared).
 */
export function transformProgram(
  ir: IrProgram,
  f: (g: Graph, roots: readonly Node[]) => Node[],
): IrProgram {
  const fns: IrFunction[] = [
    ...ir.models.flatMap((m) => [...(m.init ? [m.init] : []), ...m.functions]),
    ...ir.functions,
  ];
  const roots = fns.flatMap((fn) => functionRoots(fn));
  const out = f(ir.graph, roots);
  const replaced = new Map<IrFunction, IrFunction>();
  let k = 0;
  for (const fn of fns) {
    const outputs = fn.outputs.map(() => out[k++]!);
    const updates = fn.updates?.map((u) => ({ path: u.path, node: out[k++]! }));
    replaced.set(fn, { ...fn, outputs, ...(updates ? { updates } : {}) });
  }
  return {
    ...ir,
    models: ir.models.map((m) => ({
      ...m,
      init: m.init ? replaced.get(m.init)! : null,
      functions: m.functions.map((fn) => replaced.get(fn)!),
    })),
    functions: ir.functions.map((fn) => replaced.get(fn)!),
  };
}
