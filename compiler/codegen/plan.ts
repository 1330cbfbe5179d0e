/**
 * The execution planner: turns IR functions into a {@link ProgramPlan} (which
 * buffers exist, how large, which kernel writes each) plus the CPU kernel
 * sources the plan names. Deterministic: the same input gives the same plan
 * and the same kernel names.
 *
 * Per function: inputs, params and constants are buffers with a source and no
 * step; a reshape aliases its input's buffer (row-major data does not move);
 * every other node reachable from the outputs gets a temp buffer and a step.
 */
import type {
  BufferSpec,
  ConstantSpec,
  DTypeName,
  FunctionPlan,
  KernelPlan,
  ParamSpec,
  ProgramPlan,
  SizeExpr,
  SourceLocation,
  StepSpec,
  TensorSig,
} from "../../runtime/plan.js";
import type { SourceFile } from "../ast/span.js";
import { Dims, shapesEqual, type Dim } from "../core/dim.js";
import { invariant } from "../diagnostics/diagnostic.js";
import { reachable, type Graph } from "../ir/build.js";
import { functionRoots, type IrFunction, type Node, type ParamInfo } from "../ir/ops.js";
import { verifyFunction } from "../ir/verify.js";
import { renderKernelBody, type KernelSource } from "./ts.js";
import { fuseFunction } from "../fusion/fuse.js";
import { DEFAULT_LIMITS, type Kernel, type KernelLimits } from "../kernel/kernelIr.js";
import { withScattersAsGathers } from "../opt/scatter.js";

/** What the planner is given: the callable functions, the module state and its initializer. */
export interface PlanInput {
  readonly functions: readonly IrFunction[];
  readonly params: readonly ParamInfo[];
  /** One input (the `i32` seed scalar), one output per param in `params` order. */
  readonly init: IrFunction | null;
  /** Device limits the GPU kernels must respect (WebGPU's defaults when absent). */
  readonly limits?: KernelLimits;
  /**
   * The graph the functions live in. When given, the GPU plan of a function
   * is made from it with its literal-index scatters rewritten as inverse
   * gathers (`compiler/opt/scatter.ts`); the CPU plan keeps them.
   */
  readonly graph?: Graph;
  /** The source files by the path spans record, for the expression text of source locations. */
  readonly sources?: (path: string) => SourceFile | undefined;
}

/** A fused GPU kernel of the plan, named as its launches name it. */
export interface NamedKernel {
  readonly name: string;
  readonly kernel: Kernel;
}

/** A plan and the CPU kernels its steps name. */
export interface PlanResult {
  readonly plan: ProgramPlan;
  readonly kernels: readonly KernelSource[];
  /** The fused kernels the functions' `gpu` plans launch, named `g0, g1, …`. */
  readonly gpuKernels: readonly NamedKernel[];
}

/** A dim as a plan size expression over the indices of `symbols`. */
export function toSizeExpr(d: Dim, symbols: readonly string[]): SizeExpr {
  if (Dims.isConst(d)) return d;
  return d.terms.map((t) => [
    t.coef,
    ...t.syms.map((s) => {
      const k = symbols.indexOf(s);
      invariant(k >= 0, `size symbol ${s} is not bound by the function`);
      return k;
    }),
  ]);
}

/** A type as written in source: `f32[B, 3]`, or `f32` for a scalar. */
export function displayType(dtype: DTypeName, shape: readonly Dim[]): string {
  return shape.length === 0 ? dtype : `${dtype}[${shape.map(Dims.format).join(", ")}]`;
}

/** Kernel bodies by text, so equal bodies share one kernel; names in order of first use. */
class KernelTable {
  private readonly byBody = new Map<string, string>();
  readonly list: KernelSource[] = [];

  nameOf(body: string): string {
    const known = this.byBody.get(body);
    if (known !== undefined) return known;
    const name = `k${this.list.length}`;
    this.byBody.set(body, name);
    this.list.push({ name, body });
    return name;
  }
}

/** The module's literal tensors, deduplicated by dtype, shape and data. */
class ConstantTable {
  private readonly byKey = new Map<string, number>();
  readonly list: ConstantSpec[] = [];

  indexOf(n: Extract<Node, { op: "constant" }>): number {
    // -0 is kept apart from 0: they print differently and divide differently
    const data = n.data.map((v) => (Object.is(v, -0) ? "-0" : String(v))).join(",");
    const key = `${n.dtype}|${n.shape.join(",")}|${data}`;
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    const index = this.list.length;
    this.byKey.set(key, index);
    this.list.push({ dtype: n.dtype, data: n.data });
    return index;
  }
}

/** Fused kernels by structure, so equal kernels are shared; names in order of first use. */
class GpuKernelTable {
  private readonly byKey = new Map<string, string>();
  readonly list: NamedKernel[] = [];

  nameOf(kernel: Kernel): string {
    const key = JSON.stringify(kernel);
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    const name = `g${this.list.length}`;
    this.byKey.set(key, name);
    this.list.push({ name, kernel });
    return name;
  }
}

/** Operators shown as written; other ops by their name. */
const OPERATOR: Readonly<Record<string, string>> = {
  add: "+",
  sub: "-",
  mul: "*",
  div: "/",
  pow: "^",
  mod: "%",
  eq: "==",
  ne: "!=",
  lt: "<",
  le: "<=",
  gt: ">",
  ge: ">=",
  and: "&&",
  or: "||",
};

/** What a node computes, for run-time reports: `log`, `/`, `sum`, `matmul`. */
function opName(n: Node): string {
  switch (n.op) {
    case "unary":
      return n.fn === "neg" ? "unary -" : n.fn;
    case "binary":
      return OPERATOR[n.fn] ?? n.fn;
    case "reduce":
      return `${n.fn} over axes ${n.axes.join(", ")}`;
    default:
      return n.op;
  }
}

/** Longest expression text kept in a source location. */
const MAX_TEXT = 60;

/**
 * The nodes' source locations, deduplicated, in order of first use. A file is
 * named without its folders (a standard-library file as `stdlib/<name>`), so
 * the module is the same wherever its sources lie.
 */
class SourceTable {
  private readonly byKey = new Map<string, number>();
  readonly list: SourceLocation[] = [];

  constructor(private readonly sources: PlanInput["sources"]) {}

  indexOf(n: Node): number {
    const span = n.span;
    if (span === undefined || span.line < 1) return -1;
    const op = opName(n);
    const key = `${span.file}\0${span.start}\0${span.end}\0${op}`;
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    const parts = span.file.split(/[\\/]/);
    const name = parts[parts.length - 1] ?? span.file;
    const file = parts[parts.length - 2] === "stdlib" ? `stdlib/${name}` : name;
    const source = this.sources?.(span.file)?.text.slice(span.start, span.end);
    const text =
      source !== undefined &&
      source.length > 0 &&
      source.length <= MAX_TEXT &&
      !/[\r\n]/.test(source)
        ? source
        : undefined;
    const index = this.list.length;
    this.byKey.set(key, index);
    this.list.push({
      file,
      line: span.line,
      col: span.col,
      op,
      ...(text !== undefined ? { text } : {}),
    });
    return index;
  }
}

interface Tables {
  readonly sourceTable: SourceTable;
  readonly kernels: KernelTable;
  readonly gpuKernels: GpuKernelTable;
  readonly limits: KernelLimits;
  readonly constants: ConstantTable;
  readonly params: ReadonlyMap<string, ParamInfo>;
  readonly graph: Graph | undefined;
}

function planFunction(fn: IrFunction, t: Tables): FunctionPlan {
  verifyFunction(fn);
  // the runtime binds each symbol from the first input dimension that is exactly it
  for (const s of fn.symbols) {
    const bindable = fn.inputs.some((inp) => inp.shape.some((d) => Dims.equal(d, Dims.sym(s))));
    invariant(bindable, `${fn.name}: size symbol ${s} is not the size of any input dimension`);
  }
  const buffers: BufferSpec[] = [];
  const steps: StepSpec[] = [];
  const bufferOf = new Map<number, number>();
  const add = (n: Node, source: BufferSpec["source"]): number => {
    const index = buffers.length;
    buffers.push({ dtype: n.dtype, size: toSizeExpr(Dims.product(n.shape), fn.symbols), source });
    bufferOf.set(n.id, index);
    return index;
  };
  const bufferFor = (n: Node): number => {
    const b = bufferOf.get(n.id);
    invariant(b !== undefined, `${fn.name}: node %${n.id} used before it has a buffer`);
    return b;
  };
  // declared inputs all get buffers, used or not, so buffer k is input k
  for (const inp of fn.inputs) add(inp, { kind: "input", index: inp.index });
  const paramBuffers = new Map<string, number>();
  for (const n of reachable(functionRoots(fn))) {
    switch (n.op) {
      case "input":
        invariant(bufferOf.has(n.id), `${fn.name}: input ${n.name} is not declared`);
        break;
      case "param": {
        const info = t.params.get(n.path);
        invariant(info !== undefined, `${fn.name}: unknown parameter ${n.path}`);
        invariant(
          info.dtype === n.dtype && shapesEqual(info.shape, n.shape),
          `${fn.name}: parameter ${n.path} used with another type`,
        );
        const known = paramBuffers.get(n.path);
        if (known !== undefined) bufferOf.set(n.id, known);
        else paramBuffers.set(n.path, add(n, { kind: "param", path: n.path }));
        break;
      }
      case "constant":
        add(n, { kind: "const", index: t.constants.indexOf(n) });
        break;
      case "reshape":
      case "stop_gradient":
        bufferOf.set(n.id, bufferFor(n.inputs[0]!));
        break;
      default: {
        const kernel = t.kernels.nameOf(renderKernelBody(n, fn.symbols));
        const inputs = n.inputs.map(bufferFor);
        const at = t.sourceTable.indexOf(n);
        steps.push({
          kernel,
          inputs,
          output: add(n, { kind: "temp" }),
          ...(at >= 0 ? { at } : {}),
        });
      }
    }
  }
  const fused = fuseFunction(t.graph ? withScattersAsGathers(t.graph, fn) : fn, {
    limits: t.limits,
    params: t.params,
    constantIndex: (n) => t.constants.indexOf(n),
    sizeExpr: (d) => toSizeExpr(d, fn.symbols),
  });
  const gpu: KernelPlan = {
    buffers: fused.buffers,
    launches: fused.launches.map((l, k) => {
      const at = (fused.writers[k] ?? []).map((n) => t.sourceTable.indexOf(n));
      return {
        ...l,
        kernel: t.gpuKernels.nameOf(fused.kernels[Number(l.kernel)]!),
        ...(at.some((i) => i >= 0) ? { at } : {}),
      };
    }),
    outputs: fused.outputs,
    updates: fused.updates,
  };
  const sig = (name: string, n: Node): TensorSig => ({
    name,
    dtype: n.dtype,
    shape: n.shape.map((d) => toSizeExpr(d, fn.symbols)),
    display: displayType(n.dtype, n.shape),
  });
  return {
    name: fn.name,
    symbols: [...fn.symbols],
    inputs: fn.inputs.map((inp) => sig(inp.name, inp)),
    buffers,
    steps,
    outputs: fn.outputs.map((n, k) => ({ buffer: bufferFor(n), sig: sig(`out${k}`, n) })),
    ...(fn.updates && fn.updates.length > 0
      ? {
          updates: fn.updates.map((u) => {
            const info = t.params.get(u.path);
            invariant(
              info !== undefined &&
                info.dtype === u.node.dtype &&
                shapesEqual(info.shape, u.node.shape),
              `${fn.name}: update of unknown or mistyped state ${u.path}`,
            );
            return { path: u.path, buffer: bufferFor(u.node) };
          }),
        }
      : {}),
    gpu,
  };
}

/**
 * Plans a whole module. Every function becomes a {@link FunctionPlan}; kernels
 * with equal bodies are shared across all of them and named `k0, k1, …` in
 * order of first use (functions in the given order, then `init`).
 */
export function planProgram(input: PlanInput): PlanResult {
  const params: ParamSpec[] = input.params.map((p) => {
    invariant(
      p.shape.every(Dims.isConst),
      () => `parameter ${p.path} has a symbolic shape ${displayType(p.dtype, p.shape)}`,
    );
    return {
      path: p.path,
      ...(p.kind === "state" ? { kind: "state" as const } : {}),
      dtype: p.dtype,
      shape: p.shape.filter(Dims.isConst),
    };
  });
  const byPath = new Map<string, ParamInfo>();
  for (const p of input.params) {
    invariant(!byPath.has(p.path), `parameter ${p.path} declared twice`);
    byPath.set(p.path, p);
  }
  const t: Tables = {
    sourceTable: new SourceTable(input.sources),
    kernels: new KernelTable(),
    gpuKernels: new GpuKernelTable(),
    limits: input.limits ?? DEFAULT_LIMITS,
    constants: new ConstantTable(),
    params: byPath,
    graph: input.graph,
  };

  // by name: built with fromEntries, so that a function named `__proto__` is a property
  const planned: [string, FunctionPlan][] = [];
  for (const fn of input.functions) {
    invariant(!planned.some(([n]) => n === fn.name), `function ${fn.name} planned twice`);
    planned.push([fn.name, planFunction(fn, t)]);
  }
  const functions: Record<string, FunctionPlan> = Object.fromEntries(planned);

  let init: FunctionPlan | null = null;
  if (input.init !== null) {
    const fn = input.init;
    const seed = fn.inputs[0];
    invariant(
      fn.inputs.length === 1 &&
        seed !== undefined &&
        seed.dtype === "i32" &&
        seed.shape.length === 0,
      `${fn.name}: init takes one i32 scalar seed`,
    );
    invariant(
      fn.outputs.length === input.params.length,
      `${fn.name}: ${fn.outputs.length} outputs for ${input.params.length} parameters`,
    );
    fn.outputs.forEach((o, k) => {
      const p = input.params[k]!;
      invariant(
        o.dtype === p.dtype && shapesEqual(o.shape, p.shape),
        () => `${fn.name}: output ${k} does not match parameter ${p.path}`,
      );
    });
    init = planFunction(fn, t);
  }

  return {
    plan: {
      params,
      constants: t.constants.list,
      functions,
      init,
      ...(t.sourceTable.list.length > 0 ? { sources: t.sourceTable.list } : {}),
    },
    kernels: t.kernels.list,
    gpuKernels: t.gpuKernels.list,
  };
}
