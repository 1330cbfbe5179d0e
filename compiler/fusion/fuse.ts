/**
 * The fusion stage: groups the nodes of an IR function into kernels and
 * lowers each group to the kernel IR (see docs/fusion.md for the rules).
 *
 * 1. *Materialization.* A node gets a buffer of its own when it is an output
 *    or state update, when it is a reduction or matrix product that cannot be
 *    absorbed into its consumer's kernel, when its value is needed by two or
 *    more kernels and recomputing it is not cheap, or when it feeds a matrix
 *    product (operands are staged through workgroup memory from buffers;
 *    only index remapping is fused into those loads). Everything else is
 *    inlined into the kernel of its consumers and recomputed per element.
 * 2. *Absorption.* A reduction or matrix product whose only consumer chain is
 *    elementwise at the same index (no movement) becomes the core of that
 *    consumer's kernel: the elementwise work runs as the kernel's epilogue on
 *    the accumulated value, with no buffer in between.
 * 3. *Kernels.* Each materialized node becomes one kernel: a `map`, or the
 *    `reduce`/`matmul` of its core with itself as the epilogue. Movement ops
 *    (broadcast, transpose, slice, pad, concat, gather, reshape) become index
 *    expressions of loads; no kernel ever just moves data.
 * 4. *Limits.* A kernel that would bind more storage buffers than the device
 *    allows gets one of its inlined producers materialized, and fusion runs
 *    again, until every kernel fits.
 * 5. *Buffers.* Temps are assigned to buffers by liveness in launch order; a
 *    buffer freed by its last reader is reused for a later value of the same
 *    dtype and size (never by the kernel that reads it).
 */
import type { BufferSpec, Launch, SizeExpr } from "../../runtime/plan.js";
import { Dims, rowMajorStrides, splitAt, type Dim } from "../core/dim.js";
import type { DType } from "../core/dtype.js";
import { invariant, InternalCompilerError } from "../diagnostics/diagnostic.js";
import { reachable } from "../ir/build.js";
import {
  functionRoots,
  type IrFunction,
  type Node,
  type NodeOf,
  type ParamInfo,
} from "../ir/ops.js";
import type {
  Binding,
  Block,
  KExpr,
  Kernel,
  KernelLimits,
  MatmulKernel,
  Stmt,
  Store,
} from "../kernel/kernelIr.js";
import { dimExpr, E, exprKey, exprSize } from "./exprs.js";
import { mergeKernels } from "./merge.js";

/** What fusion needs besides the function. */
export interface FuseContext {
  readonly limits: KernelLimits;
  readonly params: ReadonlyMap<string, ParamInfo>;
  /** The module-wide index of a (non-scalar) literal tensor. */
  constantIndex(n: NodeOf<"constant">): number;
  /** `toSizeExpr` of the planner (a dim over the function's symbols). */
  sizeExpr(d: Dim): SizeExpr;
}

/** A function as kernels, launches and buffers. `Launch.kernel` is the index of the kernel in `kernels`, as a string. */
export interface FusedFunction {
  readonly kernels: readonly Kernel[];
  readonly buffers: readonly BufferSpec[];
  readonly launches: readonly Launch[];
  readonly outputs: readonly number[];
  readonly updates: readonly { readonly path: string; readonly buffer: number }[];
  /** The IR node each launch computes into each of its write slots (parallel to `launches`), for source locations. */
  readonly writers: readonly (readonly Node[])[];
}

const CORE_OPS = new Set(["reduce", "argmax", "matmul", "scatter_add"]);

/**
 * Most nodes on one chain of inlined nodes in a kernel. Building a kernel and
 * printing it recurse once per inlined node, so an elementwise chain of any
 * length (a 100,000-term sum) is cut into kernels of at most this depth, which
 * also keeps generated shader expressions far from GPU compilers' nesting limits.
 */
const MAX_FUSED_DEPTH = 128;
/**
 * Largest index expression (in nodes, printed as a tree) used more than once
 * without a let: a larger one is bound to a let before it is decomposed into
 * coordinates (see {@link BlockBuilder.shareIndex}).
 */
const MAX_INDEX_EXPR = 48;
const ALIAS_OPS = new Set(["reshape", "stop_gradient"]);
const ELEMENTWISE = new Set(["unary", "binary", "select", "cast"]);
const MOVEMENT = new Set([
  "broadcast",
  "transpose",
  "slice",
  "pad",
  "concat",
  "gather",
  "reshape",
  "stop_gradient",
]);
/** Elementwise functions cheap enough to recompute in every kernel that needs them. */
const CHEAP_FNS = new Set([
  "neg",
  "not",
  "add",
  "sub",
  "mul",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "and",
  "or",
  "max",
  "min",
]);

/** The node behind reshapes and stop-gradients (same buffer, same flat index). */
function peel(n: Node): Node {
  while (ALIAS_OPS.has(n.op)) n = n.inputs[0]!;
  return n;
}

/** Nodes whose value already lives in a buffer of the module: inputs, parameters, literal tensors. */
function isBufferBacked(n: Node): boolean {
  return (
    n.op === "input" || n.op === "param" || (n.op === "constant" && Dims.product(n.shape) !== 1)
  );
}

// ---------------------------------------------------------------- grouping

interface Grouping {
  /** Nodes with a buffer written by a kernel (peeled, never buffer-backed). */
  readonly materialized: ReadonlySet<number>;
  /** Materialized node id -> the core absorbed into its kernel. */
  readonly coreOf: ReadonlyMap<number, Node>;
}

/**
 * The grouping of one function's nodes (which are materialized, which cores
 * are absorbed), kept up to date as splits force nodes to be materialized.
 *
 * Nodes are decided from the last to the first (topological order), each from
 * its users' decisions and from whether it is forced. So forcing the node at
 * position `p` changes no decision after `p`: {@link force} undoes and redoes
 * only positions `p` down to 0, giving what grouping from scratch gives.
 */
class Grouper implements Grouping {
  readonly materialized = new Set<number>();
  readonly coreOf = new Map<number, Node>();
  readonly forced = new Set<number>();
  private readonly positionOf = new Map<number, number>();
  /** Positions of each node's users, each once, in node order. */
  private readonly users: number[][];
  private readonly cheap: Uint8Array;
  private readonly rootSet: ReadonlySet<number>;
  private readonly coreIds: ReadonlySet<number>;
  // per position: kernels (materialized node ids) the node is inlined into;
  // whether its value reaches a matmul operand through movement only; whether
  // every use is elementwise at the same flat index up to its kernel's node;
  // the target whose kernel absorbed it (a core)
  private readonly kroots: (Set<number> | undefined)[];
  private readonly feedsMatmul: Uint8Array;
  private readonly ident: Uint8Array;
  private readonly absorbedInto: (number | undefined)[];
  // per position: the longest chain of inlined nodes from it up to its kernel's node
  private readonly depth: Uint32Array;

  constructor(
    private readonly nodes: readonly Node[],
    roots: readonly Node[],
  ) {
    const count = nodes.length;
    nodes.forEach((n, k) => this.positionOf.set(n.id, k));
    this.users = nodes.map(() => []);
    nodes.forEach((n, k) => {
      for (const i of new Set(n.inputs)) this.users[this.positionOf.get(i.id)!]!.push(k);
    });
    this.rootSet = new Set(roots.map((r) => peel(r).id));
    this.coreIds = new Set(nodes.filter((n) => CORE_OPS.has(n.op)).map((n) => n.id));
    this.cheap = new Uint8Array(count);
    nodes.forEach((n, k) => {
      // cheapness only looks at inputs (topological order)
      if (
        n.op === "iota" ||
        n.op === "dim" ||
        n.op === "random" ||
        (n.op === "constant" && !isBufferBacked(n)) ||
        isBufferBacked(n) ||
        (MOVEMENT.has(n.op) && n.op !== "gather") ||
        (n.op === "gather" && this.isCheap(n.inputs[1]!)) ||
        ((n.op === "cast" ||
          n.op === "select" ||
          ((n.op === "unary" || n.op === "binary") && CHEAP_FNS.has(n.fn))) &&
          n.inputs.every((i) => this.isCheap(i)))
      )
        this.cheap[k] = 1;
    });
    this.kroots = new Array<Set<number> | undefined>(count);
    this.feedsMatmul = new Uint8Array(count);
    this.ident = new Uint8Array(count);
    this.absorbedInto = new Array<number | undefined>(count);
    this.depth = new Uint32Array(count);
    this.decide(count - 1);
  }

  private isCheap(n: Node): boolean {
    return this.cheap[this.positionOf.get(n.id)!] === 1;
  }

  /** Materializes node `id` and regroups. */
  force(id: number): void {
    this.forced.add(id);
    const from = this.positionOf.get(id)!;
    for (let k = from; k >= 0; k--) {
      const n = this.nodes[k]!;
      this.materialized.delete(n.id);
      const t = this.absorbedInto[k];
      if (t !== undefined) this.coreOf.delete(t);
      this.absorbedInto[k] = undefined;
      this.kroots[k] = undefined;
      this.feedsMatmul[k] = 0;
      this.ident[k] = 0;
      this.depth[k] = 0;
    }
    this.decide(from);
  }

  /** Decides positions `from` down to 0. */
  private decide(from: number): void {
    const { nodes, materialized } = this;
    for (let k = from; k >= 0; k--) {
      const n = nodes[k]!;
      if (isBufferBacked(n)) continue;
      const targets = new Set<number>();
      let viaMatmul = false;
      let identical = true;
      let depth = 1;
      for (const p of this.users[k]!) {
        const u = nodes[p]!;
        const uMaterialized = materialized.has(u.id);
        if (!uMaterialized) depth = Math.max(depth, this.depth[p]! + 1);
        if (uMaterialized) targets.add(u.id);
        else for (const t of this.kroots[p] ?? []) targets.add(t);
        if (u.op === "matmul" || (this.feedsMatmul[p] === 1 && !uMaterialized)) viaMatmul = true;
        const sameIndex = ELEMENTWISE.has(u.op) || ALIAS_OPS.has(u.op);
        if (!sameIndex || !(uMaterialized || this.ident[p] === 1)) identical = false;
      }
      let inline: boolean;
      if (this.rootSet.has(n.id) && !ALIAS_OPS.has(n.op)) inline = false;
      // aliases are never materialized themselves; their input is, when they are
      else if (ALIAS_OPS.has(n.op)) inline = true;
      else if (this.forced.has(n.id)) inline = false;
      else if (CORE_OPS.has(n.op)) {
        const [t] = targets;
        if (
          targets.size === 1 &&
          t !== undefined &&
          identical &&
          !this.coreOf.has(t) &&
          !viaMatmul &&
          !this.coreIds.has(t)
        ) {
          this.coreOf.set(t, n);
          this.absorbedInto[k] = t;
          this.kroots[k] = targets;
          this.depth[k] = depth;
          continue;
        }
        inline = false;
      } else {
        const cheap = this.cheap[k] === 1;
        if (viaMatmul && !MOVEMENT.has(n.op) && !(cheap && n.op !== "random")) inline = false;
        else inline = targets.size <= 1 || cheap || MOVEMENT.has(n.op);
        // a long chain (`y = y * a + b` many times) is cut into kernels of bounded depth:
        // the kernel builder and the renderers recurse once per inlined node
        if (depth > MAX_FUSED_DEPTH) inline = false;
      }
      if (inline) {
        this.depth[k] = depth;
        this.kroots[k] = targets;
        if (viaMatmul) this.feedsMatmul[k] = 1;
        if (identical) this.ident[k] = 1;
      } else materialized.add(n.id);
    }
  }
}

// ---------------------------------------------------------------- kernel builder

/** Builds the expressions of one kernel: slots shared, lets per block. */
class KernelBuilder {
  readonly reads: number[] = [];
  private readonly slotOf = new Map<number, number>();
  private nextLet = 0;

  constructor(
    readonly fn: IrFunction,
    readonly grouping: Grouping,
    readonly bufferOf: (n: Node) => number,
    /** The node this kernel computes (its own value is never loaded). */
    readonly target: Node,
    readonly core: Node | null,
  ) {}

  /** The slot of a plan buffer read by this kernel. */
  slot(buffer: number): number {
    const known = this.slotOf.get(buffer);
    if (known !== undefined) return known;
    const s = this.reads.length;
    this.reads.push(buffer);
    this.slotOf.set(buffer, s);
    return s;
  }

  block(): BlockBuilder {
    return new BlockBuilder(this, () => this.nextLet++);
  }
}

/** One straight-line scope (an operand, a reduction body, an epilogue). */
class BlockBuilder {
  readonly lets: Stmt[] = [];
  private readonly memo = new Map<string, KExpr>();
  private readonly indexLets = new Map<string, KExpr>();
  /** Whether `acc` stands for the kernel's core at index `i` in this block. */
  accAtI = false;

  constructor(
    private readonly k: KernelBuilder,
    private readonly fresh: () => number,
  ) {}

  private bind(expr: KExpr, dtype: DType): KExpr {
    if (expr.k === "lit" || expr.k === "var" || expr.k === "sym" || expr.k === "ref") return expr;
    const id = this.fresh();
    this.lets.push({ id, expr });
    return { k: "ref", id, dtype };
  }

  private dim(d: Dim): KExpr {
    return dimExpr(d, this.k.fn.symbols);
  }

  /**
   * `idx`, or a let of it when it is large: an index used several times (once
   * per coordinate) is printed once per use, so a chain of movement ops would
   * otherwise print index expressions whose size is exponential in the chain.
   * The same index gets the same let, so values at it are still memoized.
   */
  shareIndex(idx: KExpr, uses: number): KExpr {
    if (uses <= 1 || exprSize(idx) <= MAX_INDEX_EXPR) return idx;
    const key = exprKey(idx);
    const known = this.indexLets.get(key);
    if (known !== undefined) return known;
    const ref = this.bind(idx, "i32");
    this.indexLets.set(key, ref);
    return ref;
  }

  /** Coordinates of flat index `idx` in `shape` (row-major). */
  coords(idx: KExpr, shape: readonly Dim[]): KExpr[] {
    idx = this.shareIndex(idx, shape.filter((d) => !Dims.equal(d, 1)).length);
    const st = rowMajorStrides(shape);
    return shape.map((d, a) => {
      if (Dims.equal(d, 1)) return E.int(0);
      const q = E.div(idx, this.dim(st[a]!));
      return a === 0 ? q : E.mod(q, this.dim(d));
    });
  }

  /** The flat index of `coords` in `shape`. */
  flat(coords: readonly KExpr[], shape: readonly Dim[]): KExpr {
    const st = rowMajorStrides(shape);
    let acc: KExpr = E.int(0);
    coords.forEach((c, a) => {
      if (!Dims.equal(shape[a]!, 1)) acc = E.add(acc, E.mul(c, this.dim(st[a]!)));
    });
    return acc;
  }

  /** The value of node `n` at flat element index `idx`. */
  value(n: Node, idx: KExpr): KExpr {
    const key = `${n.id}@${exprKey(idx)}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const v = this.compute(n, idx);
    const bound = this.bind(v, n.dtype);
    this.memo.set(key, bound);
    return bound;
  }

  private compute(n: Node, idx: KExpr): KExpr {
    const k = this.k;
    if (n === k.core && this.accAtI) {
      invariant(idx.k === "var" && idx.name === "i", "kernel core read at another index");
      return { k: "acc", dtype: n.dtype };
    }
    if (isBufferBacked(n) || (k.grouping.materialized.has(n.id) && n !== k.target)) {
      return { k: "load", slot: k.slot(k.bufferOf(n)), index: idx, dtype: n.dtype };
    }
    switch (n.op) {
      case "constant":
        return E.lit(n.dtype, n.data[0] ?? 0);
      case "dim": {
        const d = this.dim(n.dim);
        return n.dtype === "i32" ? d : { k: "cast", x: d, dtype: n.dtype };
      }
      case "iota":
        return this.coords(idx, n.shape)[n.axis]!;
      case "random":
        return {
          k: "random",
          dist: n.dist,
          salt: n.salt,
          seed: this.value(n.inputs[0]!, E.int(0)),
          counter: idx,
        };
      case "unary":
        return { k: "unary", fn: n.fn, x: this.value(n.inputs[0]!, idx), dtype: n.dtype };
      case "binary":
        return {
          k: "binary",
          fn: n.fn,
          a: this.value(n.inputs[0]!, idx),
          b: this.value(n.inputs[1]!, idx),
          dtype: n.dtype,
        };
      case "select":
        return {
          k: "select",
          cond: this.value(n.inputs[0]!, idx),
          a: this.value(n.inputs[1]!, idx),
          b: this.value(n.inputs[2]!, idx),
          dtype: n.dtype,
        };
      case "cast":
        return { k: "cast", x: this.value(n.inputs[0]!, idx), dtype: n.dtype };
      case "reshape":
      case "stop_gradient":
        return this.value(n.inputs[0]!, idx);
      case "broadcast": {
        const x = n.inputs[0]!;
        const c = this.coords(idx, n.shape);
        const off = n.shape.length - x.shape.length;
        const inC = x.shape.map((d, a) => (Dims.equal(d, 1) ? E.int(0) : c[a + off]!));
        return this.value(x, this.flat(inC, x.shape));
      }
      case "transpose": {
        const x = n.inputs[0]!;
        const c = this.coords(idx, n.shape);
        const inC: KExpr[] = new Array<KExpr>(x.shape.length);
        n.perm.forEach((p, j) => (inC[p] = c[j]!));
        return this.value(x, this.flat(inC, x.shape));
      }
      case "slice": {
        const x = n.inputs[0]!;
        const c = this.coords(idx, n.shape);
        const inC = c.map((cj, a) => E.add(this.dim(n.starts[a]!), E.mul(cj, E.int(n.steps[a]!))));
        return this.value(x, this.flat(inC, x.shape));
      }
      case "pad":
        return this.pad(n, idx);
      case "concat":
        return this.concat(n, idx);
      case "gather": {
        const [x, ix] = n.inputs as [Node, Node];
        const { outer, mid, inner } = splitAt(x.shape, n.axis);
        const p = Dims.product(ix.shape);
        idx = this.shareIndex(idx, Dims.equal(outer, 1) ? 2 : 3);
        const q = E.mod(idx, this.dim(inner));
        const r = E.mod(E.div(idx, this.dim(inner)), this.dim(p));
        const o = Dims.equal(outer, 1) ? E.int(0) : E.div(idx, this.dim(Dims.mul(inner, p)));
        const j = this.clampIndex(this.value(ix, r), mid);
        const at = E.add(E.mul(E.add(E.mul(o, this.dim(mid)), j), this.dim(inner)), q);
        return this.value(x, at);
      }
      case "input":
      case "param":
      case "reduce":
      case "argmax":
      case "matmul":
      case "scatter_add":
      case "grad":
      case "jvp":
        throw new InternalCompilerError(
          `fusion: node %${n.id} (${n.op}) is neither a buffer nor computable inline`,
        );
    }
  }

  /** An `i32` index value clamped into `[0, extent)` (the gather/scatter convention). */
  clampIndex(v: KExpr, extent: Dim): KExpr {
    return E.idx("min", E.idx("max", v, E.int(0)), E.sub(this.dim(extent), E.int(1)));
  }

  private pad(n: NodeOf<"pad">, idx: KExpr): KExpr {
    const x = n.inputs[0]!;
    const c = this.coords(idx, n.shape);
    let valid: KExpr | null = null;
    const inC = c.map((cj, a) => {
      const gap = n.interior[a]! + 1;
      const low = n.low[a]!;
      const size = x.shape[a]!;
      if (Dims.equal(low, 0) && gap === 1 && Dims.equal(n.high[a]!, 0)) return cj;
      // t = c - low may be negative: compare before clamping
      const t = E.sub(cj, this.dim(low));
      const tc = E.idx("max", t, E.int(0));
      const conds: KExpr[] = [
        { k: "binary", fn: "ge", a: t, b: E.int(0), dtype: "bool" },
        {
          k: "binary",
          fn: "lt",
          a: E.div(tc, E.int(gap)),
          b: this.dim(size),
          dtype: "bool",
        },
      ];
      if (gap > 1)
        conds.push({ k: "binary", fn: "eq", a: E.mod(tc, E.int(gap)), b: E.int(0), dtype: "bool" });
      for (const cond of conds)
        valid =
          valid === null ? cond : { k: "binary", fn: "and", a: valid, b: cond, dtype: "bool" };
      return E.idx("min", E.div(tc, E.int(gap)), E.sub(this.dim(size), E.int(1)));
    });
    if (Dims.equal(Dims.product(x.shape), 0)) return E.lit(n.dtype, n.value);
    const inner = this.value(x, this.flat(inC, x.shape));
    if (valid === null) return inner;
    return { k: "select", cond: valid, a: inner, b: E.lit(n.dtype, n.value), dtype: n.dtype };
  }

  private concat(n: NodeOf<"concat">, idx: KExpr): KExpr {
    const c = this.coords(idx, n.shape);
    const along = c[n.axis]!;
    const parts: { start: Dim; x: Node }[] = [];
    let start: Dim = 0;
    for (const x of n.inputs) {
      if (!Dims.equal(Dims.product(x.shape), 0)) parts.push({ start, x });
      start = Dims.add(start, x.shape[n.axis]!);
    }
    invariant(parts.length > 0, "concat of empty tensors has no elements to compute");
    let out: KExpr | null = null;
    for (let p = parts.length - 1; p >= 0; p--) {
      const { start: s, x } = parts[p]!;
      const local = E.idx(
        "min",
        E.idx("max", E.sub(along, this.dim(s)), E.int(0)),
        E.sub(this.dim(x.shape[n.axis]!), E.int(1)),
      );
      const inC = c.map((cj, a) => (a === n.axis ? local : cj));
      const v = this.value(x, this.flat(inC, x.shape));
      out =
        out === null
          ? v
          : {
              k: "select",
              cond: {
                k: "binary",
                fn: "lt",
                a: along,
                b: this.dim(parts[p + 1]!.start),
                dtype: "bool",
              },
              a: v,
              b: out,
              dtype: n.dtype,
            };
    }
    return out!;
  }

  finish(value: KExpr): Block {
    return { lets: this.lets, value };
  }
}

// ---------------------------------------------------------------- scheduling

const MAP_THREADS = 64;

function reduceSchedule(extent: Dim): { kind: "serial" | "tree"; threads: number } {
  if (Dims.isConst(extent) && extent <= 64) return { kind: "serial", threads: MAP_THREADS };
  if (Dims.isConst(extent) && extent < 4096) return { kind: "tree", threads: 64 };
  return { kind: "tree", threads: 256 };
}

/** The smallest power of two at least `n`. */
function pow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Matmul tiles: 64 x 64 (256 invocations of 4 x 4 on GPUs; 16 invocations of
 * 16 x 16 on CPU-based devices), narrowed to the matrix when a side is a
 * small constant (a layer with one output, a batch of one row), so that no
 * invocation computes only masked-out elements. Measured on lavapipe:
 * docs/benchmarks.md.
 */
function matmulSchedule(m: Dim, n: Dim): MatmulKernel["schedule"] {
  if (Dims.isConst(n) && n <= 16) {
    const tileN = pow2(n);
    const threadN = Math.min(4, tileN);
    return {
      tileM: 128,
      tileN,
      tileK: 16,
      threadM: 4,
      threadN,
      software: { threadM: 16, threadN: tileN },
    };
  }
  if (Dims.isConst(m) && m <= 16) {
    const tileM = pow2(m);
    const threadM = Math.min(4, tileM);
    return {
      tileM,
      tileN: 128,
      tileK: 16,
      threadM,
      threadN: 4,
      software: { threadM: tileM, threadN: 16 },
    };
  }
  return {
    tileM: 64,
    tileN: 64,
    tileK: 16,
    threadM: 4,
    threadN: 4,
    software: { threadM: 16, threadN: 16 },
  };
}

// ---------------------------------------------------------------- the stage

export interface Built {
  readonly kernel: Kernel;
  readonly reads: readonly number[];
  readonly grid: Launch["grid"];
  /** Logical buffers the kernel writes, in the order of its write slots. */
  readonly writes: readonly number[];
}

/** Fuses one function. */
export function fuseFunction(fn: IrFunction, ctx: FuseContext): FusedFunction {
  const roots = functionRoots(fn);
  const nodes = reachable(roots);
  const grouper = new Grouper(nodes, roots);
  const keyOf = (n: Node): string => (n.op === "param" ? `p:${n.path}` : `n${n.id}`);
  const sizes = new Map<number, SizeExpr>();
  const sizeOf = (n: Node): SizeExpr => {
    let s = sizes.get(n.id);
    if (s === undefined) sizes.set(n.id, (s = ctx.sizeExpr(Dims.product(n.shape))));
    return s;
  };
  // logical buffers: inputs, params, constants (the same in every attempt), then one per materialized node
  const buffers: BufferSpec[] = [];
  const valueBuffer = new Map<string, number>();
  const add = (key: string, n: Node, source: BufferSpec["source"]): void => {
    valueBuffer.set(key, buffers.length);
    buffers.push({ dtype: n.dtype, size: sizeOf(n), source });
  };
  for (const inp of fn.inputs) add(`n${inp.id}`, inp, { kind: "input", index: inp.index });
  for (const n of nodes) {
    if (n.op === "param" && !valueBuffer.has(keyOf(n))) {
      invariant(ctx.params.has(n.path), `${fn.name}: unknown parameter ${n.path}`);
      add(keyOf(n), n, { kind: "param", path: n.path });
    } else if (n.op === "constant" && isBufferBacked(n)) {
      add(keyOf(n), n, { kind: "const", index: ctx.constantIndex(n) });
    } else if (n.op === "input") {
      invariant(valueBuffer.has(keyOf(n)), `${fn.name}: input ${n.name} is not declared`);
    }
  }
  for (;;) {
    const attempt = tryFuse(fn, nodes, grouper, ctx, {
      buffers: [...buffers],
      valueBuffer: new Map(valueBuffer),
      keyOf,
      sizeOf,
    });
    if (attempt.kind === "ok") return attempt.result;
    invariant(!grouper.forced.has(attempt.split), "fusion: buffer limit split made no progress");
    grouper.force(attempt.split);
  }
}

/** The buffers every attempt starts from, and how nodes map to them. */
interface BufferTable {
  readonly buffers: BufferSpec[];
  readonly valueBuffer: Map<string, number>;
  readonly keyOf: (n: Node) => string;
  readonly sizeOf: (n: Node) => SizeExpr;
}

function tryFuse(
  fn: IrFunction,
  nodes: readonly Node[],
  grouping: Grouper,
  ctx: FuseContext,
  table: BufferTable,
): { kind: "ok"; result: FusedFunction } | { kind: "split"; split: number } {
  const { buffers, valueBuffer, keyOf, sizeOf } = table;
  const forced = grouping.forced;
  const add = (key: string, n: Node, source: BufferSpec["source"]): number => {
    const index = buffers.length;
    buffers.push({ dtype: n.dtype, size: sizeOf(n), source });
    valueBuffer.set(key, index);
    return index;
  };
  const bufferOf = (n: Node): number => {
    const p = peel(n);
    const b = valueBuffer.get(keyOf(p));
    invariant(b !== undefined, `${fn.name}: node %${p.id} has no buffer`);
    return b;
  };

  // Every kernel is checked against the buffer limit before any is built: a
  // split restarts fusion, and building kernels only to throw them away made
  // fusion of a large function (a transformer's training step) slow. The
  // count here is of every buffer the kernel's inlined region could read, a
  // superset of what it does read, so a kernel within it is within the limit;
  // one over it is built to know for sure. Splits are therefore the ones that
  // building every kernel in order finds.
  const limit = ctx.limits.maxStorageBuffersPerShaderStage;
  const writerOf = new Map<number, Node>();
  for (const n of nodes) {
    if (!grouping.materialized.has(n.id)) continue;
    writerOf.set(add(keyOf(n), n, { kind: "temp" }), n);
    if (readBound(n, grouping, bufferOf, limit) + 1 <= limit) continue;
    const core = CORE_OPS.has(n.op) ? n : (grouping.coreOf.get(n.id) ?? null);
    const kb = new KernelBuilder(fn, grouping, bufferOf, n, core);
    buildKernel(kb, n, core, (i) => buffers[i]!.dtype, ctx.sizeExpr, bufferOf(n));
    if (kb.reads.length + 1 > limit) {
      const split = pickSplit(n, grouping, forced);
      if (split !== undefined) return { kind: "split", split };
      throw new InternalCompilerError(
        `${fn.name}: a kernel needs ${kb.reads.length + 1} storage buffers, more than the device limit of ${limit}, and cannot be split`,
      );
    }
  }

  const built: Built[] = [];
  for (const n of nodes) {
    if (!grouping.materialized.has(n.id)) continue;
    const core = CORE_OPS.has(n.op) ? n : (grouping.coreOf.get(n.id) ?? null);
    const kb = new KernelBuilder(fn, grouping, bufferOf, n, core);
    const b = buildKernel(kb, n, core, (i) => buffers[i]!.dtype, ctx.sizeExpr, bufferOf(n));
    invariant(kb.reads.length + 1 <= limit, `${fn.name}: kernel of %${n.id} over the buffer limit`);
    built.push(b);
  }
  const merged = mergeKernels(built, limit);

  // liveness: the last launch reading each logical buffer; outputs and updates live to the end
  const lastRead = new Map<number, number>();
  merged.forEach((b, k) => b.reads.forEach((r) => lastRead.set(r, k)));
  const pinned = new Set<number>([
    ...fn.outputs.map(bufferOf),
    ...(fn.updates ?? []).map((u) => bufferOf(u.node)),
  ]);
  // physical temp buffers, reused when freed
  const physical: BufferSpec[] = buffers.filter((b) => b.source.kind !== "temp");
  const remap = new Map<number, number>();
  buffers.forEach((b, i) => {
    if (b.source.kind !== "temp") remap.set(i, i);
  });
  // reuse is by dtype and size: a WebGL2 texture's format is its dtype's (R32F or R32I)
  const reuseKey = (spec: BufferSpec): string => `${spec.dtype} ${JSON.stringify(spec.size)}`;
  const free = new Map<string, number[]>();
  const launches: Launch[] = [];
  const writers: Node[][] = [];
  const release = (logical: number): void => {
    const key = reuseKey(buffers[logical]!);
    const list = free.get(key);
    if (list) list.push(remap.get(logical)!);
    else free.set(key, [remap.get(logical)!]);
  };
  merged.forEach((b, k) => {
    const outs = b.writes.map((logical) => {
      const spec = buffers[logical]!;
      let phys = free.get(reuseKey(spec))?.pop();
      if (phys === undefined) {
        phys = physical.length;
        physical.push({ dtype: spec.dtype, size: spec.size, source: { kind: "temp" } });
      }
      remap.set(logical, phys);
      return phys;
    });
    launches.push({
      kernel: String(k),
      buffers: [...b.reads.map((r) => remap.get(r)!), ...outs],
      grid: b.grid,
    });
    writers.push(
      b.writes.map((logical) => {
        const n = writerOf.get(logical);
        invariant(
          n !== undefined,
          `${fn.name}: a kernel writes buffer ${logical}, which no node owns`,
        );
        return n;
      }),
    );
    for (const r of new Set(b.reads))
      if (lastRead.get(r) === k && !pinned.has(r) && buffers[r]!.source.kind === "temp") release(r);
    // a value nobody reads (and no output) frees its buffer at once
    for (const w of b.writes) if (!lastRead.has(w) && !pinned.has(w)) release(w);
  });
  const phys = (n: Node): number => remap.get(bufferOf(n))!;
  return {
    kind: "ok",
    result: {
      kernels: merged.map((b) => b.kernel),
      buffers: physical,
      launches,
      outputs: fn.outputs.map(phys),
      updates: (fn.updates ?? []).map((u) => ({ path: u.path, buffer: phys(u.node) })),
      writers,
    },
  };
}

/**
 * The number of distinct buffers the kernel of materialized node `target`
 * could read: those of the buffer-backed and other materialized nodes its
 * inlined region reaches (through its core too). Stops counting past `limit`.
 */
function readBound(
  target: Node,
  g: Grouping,
  bufferOf: (n: Node) => number,
  limit: number,
): number {
  const reads = new Set<number>();
  const seen = new Set<number>();
  const stack: Node[] = [target];
  while (stack.length > 0 && reads.size <= limit) {
    const n = stack.pop()!;
    if (seen.has(n.id)) continue;
    seen.add(n.id);
    if (isBufferBacked(n) || (g.materialized.has(n.id) && n !== target)) reads.add(bufferOf(n));
    else for (const i of n.inputs) stack.push(i);
  }
  return reads.size;
}

/** The inlined producer to materialize when a kernel binds too many buffers: the one reading the most distinct buffers. */
function pickSplit(target: Node, g: Grouping, forced: ReadonlySet<number>): number | undefined {
  let best: { id: number; reads: number } | undefined;
  const readsOf = new Map<number, Set<string>>();
  const visit = (n: Node): Set<string> => {
    const known = readsOf.get(n.id);
    if (known) return known;
    const s = new Set<string>();
    if (isBufferBacked(n) || (g.materialized.has(n.id) && n !== target)) s.add(`n${n.id}`);
    else for (const i of n.inputs) for (const r of visit(i)) s.add(r);
    readsOf.set(n.id, s);
    if (
      n !== target &&
      !isBufferBacked(n) &&
      !g.materialized.has(n.id) &&
      !forced.has(n.id) &&
      !ALIAS_OPS.has(n.op) &&
      !CORE_OPS.has(n.op) &&
      s.size >= 2 &&
      (best === undefined || s.size > best.reads)
    )
      best = { id: n.id, reads: s.size };
    return s;
  };
  visit(target);
  return best?.id;
}

function buildKernel(
  kb: KernelBuilder,
  target: Node,
  core: Node | null,
  dtypeOf: (buffer: number) => DType,
  sizeE: (d: Dim) => SizeExpr,
  output: number,
): Built {
  const fn = kb.fn;
  const dim = (d: Dim): KExpr => dimExpr(d, fn.symbols);
  const size = Dims.product(target.shape);
  const epilogue = kb.block();
  epilogue.accAtI = core !== null;
  const storeValue = epilogue.value(target, E.v("i"));
  const base = {
    symbols: fn.symbols.length,
    size: dim(size),
    epilogue: epilogue.lets,
    // filled in below, once every read is known
    bindings: [] as Binding[],
    stores: [] as Store[],
  };

  let kernel: Kernel;
  let grid: Launch["grid"];
  if (core === null) {
    kernel = {
      kind: "map",
      ...base,
      schedule: { threads: MAP_THREADS },
    };
    grid = [{ size: sizeE(size), per: MAP_THREADS }];
  } else if (core.op === "matmul") {
    const [x, y] = core.inputs as [Node, Node];
    const r = x.shape.length;
    const M = x.shape[r - 2]!;
    const K = x.shape[r - 1]!;
    const N = y.shape[r - 1]!;
    const batch = Dims.product(x.shape.slice(0, -2));
    const a = kb.block();
    const av = a.value(x, E.add(E.mul(E.add(E.mul(E.v("b"), dim(M)), E.v("m")), dim(K)), E.v("k")));
    const bb = kb.block();
    const bv = bb.value(
      y,
      E.add(E.mul(E.add(E.mul(E.v("b"), dim(K)), E.v("k")), dim(N)), E.v("n")),
    );
    const schedule = matmulSchedule(M, N);
    kernel = {
      kind: "matmul",
      ...base,
      dtype: core.dtype,
      batch: dim(batch),
      m: dim(M),
      n: dim(N),
      kk: dim(K),
      a: a.finish(av),
      b: bb.finish(bv),
      schedule,
    };
    grid = [
      { size: sizeE(N), per: schedule.tileN },
      { size: sizeE(M), per: schedule.tileM },
      { size: sizeE(batch), per: 1 },
    ];
  } else {
    const body = kb.block();
    let value: KExpr;
    let extent: Dim;
    let fnName: "sum" | "prod" | "max" | "min" | "argmax";
    let dtype: DType;
    if (core.op === "reduce") {
      const x = core.inputs[0]!;
      const kept = x.shape.map((_, a) => a).filter((a) => !core.axes.includes(a));
      const keptC = body.coords(
        E.v("i"),
        kept.map((a) => x.shape[a]!),
      );
      const redShape = core.axes.map((a) => x.shape[a]!);
      const redC = body.coords(E.v("r"), redShape);
      const inC: KExpr[] = new Array<KExpr>(x.shape.length);
      kept.forEach((a, j) => (inC[a] = keptC[j]!));
      core.axes.forEach((a, j) => (inC[a] = redC[j]!));
      value = body.value(x, body.flat(inC, x.shape));
      extent = Dims.product(redShape);
      fnName = core.fn;
      dtype = x.dtype;
    } else if (core.op === "argmax") {
      const x = core.inputs[0]!;
      const { mid, inner } = splitAt(x.shape, core.axis);
      const i = E.v("i");
      const o = E.div(i, dim(inner));
      const q = E.mod(i, dim(inner));
      value = body.value(x, E.add(E.mul(E.add(E.mul(o, dim(mid)), E.v("r")), dim(inner)), q));
      extent = mid;
      fnName = "argmax";
      dtype = x.dtype;
    } else {
      invariant(core.op === "scatter_add", `unexpected core ${core.op}`);
      const [upd, ix] = core.inputs as [Node, Node];
      const { mid, inner } = splitAt(core.shape, core.axis);
      const p = Dims.product(ix.shape);
      const i = E.v("i");
      const q = E.mod(i, dim(inner));
      const j = E.mod(E.div(i, dim(inner)), dim(mid));
      const o = E.div(i, dim(Dims.mul(mid, inner)));
      const r = E.v("r");
      const at = body.clampIndex(body.value(ix, r), mid);
      const u = body.value(upd, E.add(E.mul(E.add(E.mul(o, dim(p)), r), dim(inner)), q));
      value = {
        k: "select",
        cond: { k: "binary", fn: "eq", a: at, b: j, dtype: "bool" },
        a: u,
        b: E.lit(core.dtype, 0),
        dtype: core.dtype,
      };
      extent = p;
      fnName = "sum";
      dtype = core.dtype;
    }
    const schedule = reduceSchedule(extent);
    kernel = {
      kind: "reduce",
      ...base,
      fn: fnName,
      dtype,
      extent: dim(extent),
      body: body.finish(value),
      schedule,
    };
    grid =
      schedule.kind === "tree"
        ? [{ size: sizeE(size), per: 1 }]
        : [{ size: sizeE(size), per: schedule.threads }];
  }
  const reads = [...kb.reads];
  const bindings: Binding[] = [
    ...reads.map((b) => ({ dtype: dtypeOf(b), access: "read" as const })),
    { dtype: target.dtype, access: "write" },
  ];
  const stores: Store[] = [{ slot: reads.length, value: storeValue }];
  return { kernel: { ...kernel, bindings, stores }, reads, grid, writes: [output] };
}
