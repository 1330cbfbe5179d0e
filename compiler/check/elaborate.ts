/**
 * The checker proper: an elaborator that evaluates everything known at compile
 * time (hyperparameters, consts, lists, `for`, `if`, function values), binds
 * size symbols, checks types and shapes, and inlines every call specialized for
 * its arguments. What remains for run time is a typed DAG of tensor operations
 * per entry function (`TExpr`), handed to lowering.
 *
 * Errors are reported to the bag and evaluation continues with an `error`
 * value that silently absorbs later errors depending on it, so one run reports
 * every independent mistake.
 */
import type {
  Arg,
  BinaryExpr,
  Block,
  CallExpr,
  DimExpr,
  Expr,
  FnDecl,
  IndexExpr,
  MemberExpr,
  ModelDecl,
  Param,
  Stmt,
  TypeExpr,
} from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { binaryChain } from "../ast/chain.js";
import { MAX_TENSOR_ELEMENTS } from "../../runtime/limits.js";
import { Dims, type Dim } from "../core/dim.js";
import { hashString } from "../core/numbers.js";
import { isDType, isNumeric, type DType } from "../core/dtype.js";
import { assertNever, type DiagnosticBag, type Note } from "../diagnostics/diagnostic.js";
import { BUILTINS, type CallArgs, type Services } from "./builtins.js";
import { Env, type Ctx } from "./env.js";
import { TrainChecker } from "./train.js";
import {
  INITIALIZER_NAMES,
  type LoadedProgram,
  type ModuleInfo,
  type ScopeEntry,
} from "./resolve.js";
import { broadcastShapes, matmulShape } from "./shapes.js";
import { suggest } from "./suggest.js";
import {
  describeValue,
  formatType,
  valueKey,
  type CheckedFunction,
  type CheckedModel,
  type CheckedProgram,
  type IndexSpec,
  type Initializer,
  type ModelInstance,
  type ParamInfo,
  type Prim,
  type TExpr,
  type TInput,
  type TensorType,
  type Value,
} from "./types.js";

const ERROR: Value = Object.freeze({ kind: "error" });

/** The class of the generated module that exports a file's top-level functions. */
export const FUNCTIONS_CLASS = "Functions";
const MAX_DEPTH = 200;
const MAX_UNROLL = 100_000;

export const int = (d: Dim): Value => ({ kind: "int", dim: d });
const float = (x: number): Value => ({ kind: "float", value: x });
const bool = (b: boolean): Value => ({ kind: "bool", value: b });

type Flow = { readonly value: Value } | null;

/** Where a value is checked against a declared type, and how a mismatch is worded. */
export interface MatchSite {
  /** The message for a mismatch, given the expected and the found type or value. */
  readonly say: (expected: string, found: string) => string;
  /** Where the mismatch is reported. */
  readonly span: Span;
  readonly mode: "param" | "hyper" | "return" | "value";
  /** The caller's context, whose call-site trail the report carries (arguments). */
  readonly callerCtx?: Ctx;
  /** The declaration of the type, shown in a note. */
  readonly declSpan?: Span;
}

/** Size symbols bound while matching a call's arguments against parameter types. */
export type Bindings = Map<string, Dim | readonly Dim[]>;

export class Elaborator implements Services {
  private readonly constValues = new Map<object, Value>();
  /** Constants being evaluated, outermost first (to report a cycle through them). */
  private readonly constsInProgress: { decl: object; name: string }[] = [];
  /** Parameters registered while instantiating the current root model. */
  private params: ParamInfo[] = [];
  private readonly claimedPaths = new Map<string, Span>();
  private saltCounter = 0;

  constructor(
    private readonly program: LoadedProgram,
    readonly bag: DiagnosticBag,
  ) {}

  // ---------------------------------------------------------------- program

  /** Checks the entry module: its models (with default hyperparameters) and entry functions. */
  checkProgram(): CheckedProgram {
    const mod = this.program.entry;
    const models: CheckedModel[] = [];
    const functions: CheckedFunction[] = [];
    for (const item of mod.ast.items) {
      switch (item.kind) {
        case "model":
          if (item.hyperparams.every((h) => h.default !== null)) {
            const m = this.checkRootModel(item, mod);
            if (m) models.push(m);
          }
          break;
        case "fn":
          if (isEntry(item)) {
            const f = this.checkEntry(item, mod, null, item.name.name);
            if (f) functions.push(f);
          }
          break;
        case "const":
          this.constValue(item, this.rootCtx(mod));
          break;
        case "use":
        case "train":
        // optimizers are checked where a `train` uses them (not yet: see docs/language.md)
        case "optimizer":
          break;
        default:
          assertNever(item, "item");
      }
    }
    // `train` declarations add a training step to their model
    const trainer = new TrainChecker(this);
    for (const item of mod.ast.items) {
      if (item.kind !== "train") continue;
      const name = item.target[0]!.name;
      const k = models.findIndex((m) => m.name === name);
      if (k < 0) {
        const decl = mod.ast.items.find((i) => i.kind === "model" && i.name.name === name);
        if (decl)
          this.error(
            "E0501",
            `\`train\` needs a model whose hyperparameters all have defaults, so it can be instantiated; \`${name}\` has some without`,
            item.target[0]!.span,
            null,
          );
        continue;
      }
      if (models[k]!.train) {
        this.error("E0501", `model \`${name}\` has two \`train\` declarations`, item.span, null);
        continue;
      }
      const trained = trainer.check(item, models[k]!, mod);
      if (trained) models[k] = trained;
    }
    const clash = models.find((m) => m.name === FUNCTIONS_CLASS);
    if (clash && functions.length > 0) {
      this.error(
        "E0506",
        `a model cannot be named \`${FUNCTIONS_CLASS}\` in a file with top-level entry functions: the generated module exports those as class \`${FUNCTIONS_CLASS}\``,
        clash.decl.name.span,
        null,
      );
    }
    return { name: mod.name, models, functions };
  }

  rootCtx(module: ModuleInfo, self: ModelInstance | null = null): Ctx {
    return { env: new Env(null), module, self, trail: [], field: null, init: false, depth: 0 };
  }

  private checkRootModel(decl: ModelDecl, module: ModuleInfo): CheckedModel | null {
    this.params = [];
    this.claimedPaths.clear();
    const ctx = this.rootCtx(module);
    const inst = this.instantiate(
      decl,
      module,
      { positional: [], named: new Map() },
      "",
      decl.name.span,
      ctx,
    );
    if (!inst) return null;
    const functions: CheckedFunction[] = [];
    for (const item of decl.items) {
      if (item.kind === "fn" && isEntry(item)) {
        const f = this.checkEntry(item, module, inst, item.name.name);
        if (f) functions.push(f);
      }
    }
    return {
      name: decl.name.name,
      decl,
      instance: inst,
      params: this.params,
      functions,
      train: null,
    };
  }

  /** Elaborates an entry function with symbolic sizes for its inputs. */
  private checkEntry(
    decl: FnDecl,
    module: ModuleInfo,
    self: ModelInstance | null,
    name: string,
  ): CheckedFunction | null {
    const qualified = self ? `${self.decl.name.name}.${name}` : name;
    const env = new Env(null);
    const ctx: Ctx = { env, module, self, trail: [], field: null, init: false, depth: 0 };
    const inputs: TInput[] = [];
    const symbols: string[] = [];
    const bindings: Bindings = new Map();
    let failed = false;
    // bare names bind first, so a compound dim may use a symbol bound by a later parameter
    for (const p of decl.params) {
      for (const d of (p.type as TypeExpr & { kind: "namedType" }).dims ?? []) {
        if (d.kind === "dimExpr" && d.expr.kind === "name")
          this.entryDim(d.expr, bindings, symbols, ctx);
      }
    }
    decl.params.forEach((p, index) => {
      const t = p.type as TypeExpr & { kind: "namedType" };
      const dtype = t.path[0]!.name as DType;
      const shape: Dim[] = [];
      for (const d of t.dims ?? []) {
        if (d.kind === "dimRest") {
          this.error(
            "E0318",
            "an entry function's parameter types cannot contain `...`: the rank of its inputs must be known",
            d.span,
            ctx,
          );
          failed = true;
          continue;
        }
        const dim = this.entryDim(d.expr, bindings, symbols, ctx);
        if (dim === null) failed = true;
        else shape.push(dim);
      }
      const input: TInput = {
        kind: "input",
        index,
        name: p.name.name,
        type: { dtype, shape },
        span: p.span,
      };
      if (this.tooLarge(input.type, t.span, ctx)) failed = true;
      inputs.push(input);
      env.define(p.name.name, { kind: "tensor", expr: input });
    });
    if (failed) return null;
    for (const [s, d] of bindings) if (!env.has(s)) env.define(s, int(d as Dim));
    const result = this.evalBody(decl, ctx);
    if (result.kind === "error") return null;
    const out = this.checkReturn(decl, result, bindings, ctx, qualified);
    if (!out) return null;
    if (decl.flavor === "loss" && !(out.type.dtype === "f32" && out.type.shape.length === 0)) {
      const scalar = out.type.shape.length === 0;
      const what = scalar
        ? `${out.type.dtype === "bool" ? "a" : "an"} ${out.type.dtype} scalar`
        : formatType(out.type);
      this.error(
        "E0314",
        `a loss must return a scalar f32, but \`${qualified}\` returns ${what}`,
        bodySpan(decl),
        ctx,
        [
          {
            message: scalar
              ? "convert it with `f32(...)`"
              : "reduce it to a scalar, for example with `mean(...)` or `sum(...)`",
          },
        ],
      );
      return null;
    }
    return {
      name,
      qualifiedName: qualified,
      flavor: decl.flavor,
      inputs,
      symbols,
      outputs: [out],
      span: decl.span,
    };
  }

  /** A dimension of an entry parameter: a constant, a compile-time name, or a new size symbol. */
  private entryDim(e: Expr, bindings: Bindings, symbols: string[], ctx: Ctx): Dim | null {
    if (e.kind === "name") {
      const known = this.lookupQuiet(e.name, ctx);
      if (known) return this.expectDim(known, e.span, ctx);
      const bound = bindings.get(e.name);
      if (bound !== undefined) return bound as Dim;
      const d = Dims.sym(e.name);
      bindings.set(e.name, d);
      symbols.push(e.name);
      return d;
    }
    if (this.unboundSize(e, bindings, ctx)) return null;
    const env = ctx.env.child();
    for (const [s, d] of bindings) env.define(s, int(d as Dim));
    const v = this.evalExpr(e, { ...ctx, env });
    return this.expectDim(v, e.span, ctx);
  }

  /**
   * Reports a name in a compound dimension (`2 * N`) that is neither known nor
   * bound by a bare dimension (`f32[N]`): sizes are inferred only from bare ones.
   */
  private unboundSize(e: Expr, bindings: Bindings, ctx: Ctx): boolean {
    const free: { name: string; span: Span }[] = [];
    const walk = (x: Expr): void => {
      if (x.kind === "name") {
        if (!bindings.has(x.name) && !this.lookupQuiet(x.name, ctx))
          free.push({ name: x.name, span: x.span });
      } else if (x.kind === "binary") {
        const { first, links } = binaryChain(x);
        walk(first);
        for (const b of links) walk(b.right);
      } else if (x.kind === "unary") walk(x.operand);
      else if (x.kind === "call") x.args.forEach((a) => walk(a.value));
    };
    walk(e);
    const first = free[0];
    if (!first) return false;
    const file = this.program.sources.get(e.span.file);
    const text = file ? file.text.slice(e.span.start, e.span.end) : "this dimension";
    this.error(
      "E0317",
      `cannot infer the size \`${first.name}\` from the dimension \`${text}\``,
      first.span,
      ctx,
      [
        {
          message: `a size symbol is bound only where it is a whole dimension, as in \`f32[${first.name}]\`; use \`${first.name}\` alone in some parameter's type`,
        },
      ],
    );
    return true;
  }

  private expectDim(v: Value, span: Span, ctx: Ctx): Dim | null {
    if (v.kind === "error") return null;
    if (v.kind !== "int") {
      this.error(
        "E0317",
        `a dimension must be an integer known at compile time, found ${describeValue(v)}`,
        span,
        ctx,
      );
      return null;
    }
    if (!Dims.nonNegative(v.dim)) {
      this.error("E0317", `a dimension cannot be negative, found ${Dims.format(v.dim)}`, span, ctx);
      return null;
    }
    return v.dim;
  }

  // ---------------------------------------------------------------- diagnostics

  error(
    code: string,
    message: string,
    span: Span,
    ctx: Ctx | null,
    notes: readonly Note[] = [],
  ): Value {
    this.bag.error(code, message, span, [...notes, ...compressTrail(ctx?.trail ?? []).slice(0, 4)]);
    return ERROR;
  }

  warning(
    code: string,
    message: string,
    span: Span,
    ctx: Ctx | null,
    notes: readonly Note[] = [],
  ): void {
    this.bag.warning(code, message, span, [
      ...notes,
      ...compressTrail(ctx?.trail ?? []).slice(0, 4),
    ]);
  }

  /** Every parameter tensor of a model instance and its sub-models, in declaration order. */
  modelParams(inst: ModelInstance): TExpr[] {
    const out: TExpr[] = [];
    const seen = new Set<string>();
    const walk = (v: Value): void => {
      if (v.kind === "tensor" && v.expr.kind === "param" && !seen.has(v.expr.path)) {
        seen.add(v.expr.path);
        out.push(v.expr);
      } else if (v.kind === "model") {
        for (const m of v.inst.members.values()) walk(m);
      } else if (v.kind === "list") {
        for (const m of v.items) walk(m);
      }
    };
    walk({ kind: "model", inst });
    return out;
  }

  // ---------------------------------------------------------------- names

  /** Looks a name up without reporting; undefined if it is not defined. */
  private lookupQuiet(name: string, ctx: Ctx): Value | undefined {
    const local = ctx.env.lookup(name);
    if (local) return local;
    if (ctx.self) {
      const m = this.memberOf(ctx.self, name, null, ctx);
      if (m) return m;
      // a member not evaluated yet shadows outer names all the same (`lookup` reports E0402)
      if (ctx.self.decl.items.some((i) => i.name.name === name)) return undefined;
      // the instance itself, and the list of its parameters (for `grad(L, params)`)
      if (name === "self") return { kind: "model", inst: ctx.self };
      if (name === "params")
        return {
          kind: "list",
          items: this.modelParams(ctx.self).map((expr) => ({ kind: "tensor" as const, expr })),
        };
    }
    const entry = ctx.module.scope.get(name);
    if (entry) return this.entryValue(entry, ctx);
    if (ctx.init && INITIALIZER_NAMES.includes(name)) return this.initializerValue(name);
    const b = BUILTINS.get(name);
    if (b) return b.constant ?? { kind: "builtin", name };
    return undefined;
  }

  private lookup(name: string, span: Span, ctx: Ctx): Value {
    const v = this.lookupQuiet(name, ctx);
    if (v) return v;
    const later = ctx.self?.decl.items.find((i) => i.name.name === name);
    if (ctx.self && later) {
      return this.error(
        "E0402",
        `\`${name}\` is used before its definition in model \`${ctx.self.decl.name.name}\``,
        span,
        ctx,
        [
          { message: `\`${name}\` is defined here, later in the model`, span: later.name.span },
          {
            message: `a model's fields, parameters and constants are evaluated in order; move \`${name}\` above its first use`,
          },
        ],
      );
    }
    // Names in size positions that are not defined (a dimension symbol used in a body, say).
    return this.error("E0201", `unknown name \`${name}\``, span, ctx);
  }

  private entryValue(entry: ScopeEntry, ctx: Ctx): Value {
    switch (entry.kind) {
      case "fn":
        return { kind: "fn", decl: entry.decl, module: entry.module, self: null };
      case "model":
        return { kind: "modelDecl", decl: entry.decl, module: entry.module };
      case "optimizer":
        return { kind: "optimizer", decl: entry.decl, module: entry.module };
      case "const":
        return this.constValue(entry.decl, { ...this.rootCtx(entry.module), trail: ctx.trail });
      case "module":
        return { kind: "module", module: entry.module };
      case "builtin": {
        const b = BUILTINS.get(entry.name)!;
        return b.constant ?? { kind: "builtin", name: entry.name };
      }
      default:
        return assertNever(entry, "scope entry");
    }
  }

  /** A top-level constant, evaluated once. */
  constValue(
    decl: { name: { name: string; span: Span }; type: TypeExpr | null; value: Expr },
    ctx: Ctx,
  ): Value {
    const memo = this.constValues.get(decl);
    if (memo) return memo;
    const v = this.evalConst(decl, ctx);
    this.constValues.set(decl, v);
    return v;
  }

  /** A constant's value, checked against its declared type; a model's constants are evaluated per instance. */
  private evalConst(
    decl: { name: { name: string; span: Span }; type: TypeExpr | null; value: Expr },
    ctx: Ctx,
  ): Value {
    const at = this.constsInProgress.findIndex((c) => c.decl === decl);
    if (at >= 0) {
      const chain = [...this.constsInProgress.slice(at).map((c) => c.name), decl.name.name];
      const via = chain.length > 2 ? `: ${chain.map((n) => `\`${n}\``).join(" -> ")}` : "";
      return this.error(
        "E0403",
        `\`${decl.name.name}\` is defined in terms of itself${via}`,
        decl.name.span,
        ctx,
      );
    }
    this.constsInProgress.push({ decl, name: decl.name.name });
    let v = this.evalExpr(decl.value, ctx);
    if (decl.type && v.kind !== "error")
      v = this.matchType(decl.type, v, new Map(), ctx, {
        say: (want, got) =>
          `constant \`${decl.name.name}\` is declared as ${want}, but its value is ${got}`,
        span: decl.value.span,
        mode: "value",
      });
    this.constsInProgress.pop();
    return v;
  }

  // ---------------------------------------------------------------- expressions

  evalExpr(e: Expr, ctx: Ctx): Value {
    switch (e.kind) {
      case "number":
        if (e.isInt) {
          if (!Number.isSafeInteger(e.value))
            return this.error("E0317", `integer literal ${e.text} is too large`, e.span, ctx);
          return int(e.value);
        }
        return float(e.value);
      case "bool":
        return bool(e.value);
      case "string":
        return { kind: "string", value: e.value };
      case "name":
        return this.lookup(e.name, e.span, ctx);
      case "unary":
        return this.evalUnary(e.op, this.evalExpr(e.operand, ctx), e.span, ctx);
      case "binary":
        return this.evalBinary(e, ctx);
      case "call":
        return this.evalCall(e, ctx);
      case "index":
        return this.evalIndex(e, ctx);
      case "member":
        return this.evalMember(e, ctx);
      case "list":
        return {
          kind: "list",
          items: e.elements.map((x, i) =>
            this.evalExpr(x, ctx.field !== null ? { ...ctx, field: `${ctx.field}.${i}` } : ctx),
          ),
        };
      case "comprehension": {
        const it = this.iterate(this.evalExpr(e.iterable, ctx), e.iterable.span, ctx);
        if (!it) return ERROR;
        const items: Value[] = [];
        it.forEach((v, i) => {
          const env = ctx.env.child();
          env.define(e.variable.name, v);
          items.push(
            this.evalExpr(e.element, {
              ...ctx,
              env,
              field: ctx.field !== null ? `${ctx.field}.${i}` : null,
            }),
          );
        });
        return { kind: "list", items };
      }
      case "range": {
        const a = this.constInt(this.evalExpr(e.start, ctx), e.start.span, ctx, "a range bound");
        const b = this.constInt(this.evalExpr(e.end, ctx), e.end.span, ctx, "a range bound");
        if (a === null || b === null) return ERROR;
        return { kind: "range", start: a, end: b };
      }
      default:
        return assertNever(e, "expression");
    }
  }

  /** A constant integer (not a run-time size), or null after reporting. */
  constInt(v: Value, span: Span, ctx: Ctx, what: string): number | null {
    if (v.kind === "error") return null;
    if (v.kind === "int" && Dims.isConst(v.dim)) return v.dim;
    if (v.kind === "int") {
      this.error(
        "E0403",
        `${what} must be known at compile time, but \`${Dims.format(v.dim)}\` is a size known only at run time`,
        span,
        ctx,
      );
      return null;
    }
    this.error("E0301", `${what} must be an integer, found ${describeValue(v)}`, span, ctx);
    return null;
  }

  private iterate(v: Value, span: Span, ctx: Ctx): Value[] | null {
    if (v.kind === "error") return null;
    if (v.kind === "range") {
      const n = Math.max(0, v.end - v.start);
      if (n > MAX_UNROLL) {
        this.error(
          "E0404",
          `this loop would unroll ${n} times; the limit is ${MAX_UNROLL}`,
          span,
          ctx,
        );
        return null;
      }
      return Array.from({ length: n }, (_, i) => int(v.start + i));
    }
    if (v.kind === "list") return [...v.items];
    this.error(
      "E0301",
      `can only iterate over a range \`a..b\` or a list, found ${describeValue(v)}`,
      span,
      ctx,
    );
    return null;
  }

  private evalUnary(op: "-" | "+" | "!", v: Value, span: Span, ctx: Ctx): Value {
    if (v.kind === "error") return v;
    if (op === "!") {
      if (v.kind === "bool") return bool(!v.value);
      if (v.kind === "tensor" && v.expr.type.dtype === "bool")
        return this.prim({ op: "unary", fn: "not" }, [v.expr], v.expr.type, span);
      return this.error("E0303", `\`!\` needs a bool, found ${describeValue(v)}`, span, ctx);
    }
    if (v.kind === "int") return op === "-" ? int(Dims.sub(0, v.dim)) : v;
    if (v.kind === "float") return op === "-" ? float(-v.value) : v;
    if (v.kind === "tensor" && isNumeric(v.expr.type.dtype)) {
      return op === "-" ? this.prim({ op: "unary", fn: "neg" }, [v.expr], v.expr.type, span) : v;
    }
    return this.error(
      "E0303",
      `unary \`${op}\` needs a number, found ${describeValue(v)}`,
      span,
      ctx,
    );
  }

  /** A chain `a + b + …`, one link at a time: it can be long (see `binaryChain`). */
  private evalBinary(e: BinaryExpr, ctx: Ctx): Value {
    const { first, links } = binaryChain(e);
    let v = this.evalExpr(first, ctx);
    for (const b of links) v = this.evalBinaryLink(b, v, ctx);
    return v;
  }

  /** One link `l op e.right` of a chain, `l` the value of `e.left`. */
  private evalBinaryLink(e: BinaryExpr, l: Value, ctx: Ctx): Value {
    if (l.kind === "bool" && (e.op === "&&" || e.op === "||")) {
      // compile-time short circuit
      if (e.op === "&&" && !l.value) return l;
      if (e.op === "||" && l.value) return l;
      const r = this.evalExpr(e.right, ctx);
      if (r.kind === "bool" || r.kind === "error") return r;
    }
    const r = this.evalExpr(e.right, ctx);
    return this.binary(e.op, l, r, e.span, ctx, e.left.span, e.right.span);
  }

  /** A binary operator on two values; shared by operators and builtins like `maximum`. */
  binary(
    op: BinaryExpr["op"] | "max" | "min",
    l: Value,
    r: Value,
    span: Span,
    ctx: Ctx,
    lspan: Span = span,
    rspan: Span = span,
  ): Value {
    if (l.kind === "error" || r.kind === "error") return ERROR;
    if (l.kind !== "tensor" && r.kind !== "tensor") {
      const folded = this.foldBinary(op, l, r, span, ctx);
      if (folded) return folded;
    }
    if (l.kind !== "tensor" && r.kind !== "tensor" && !isTensorish(l) && !isTensorish(r)) {
      return this.error(
        "E0301",
        `\`${op}\` cannot combine ${describeValue(l)} and ${describeValue(r)}`,
        span,
        ctx,
      );
    }
    // a float next to an i32 tensor: name both sides rather than just "expected i32"
    const intTensor = (x: Value): x is Value & { kind: "tensor" } =>
      x.kind === "tensor" && x.expr.type.dtype === "i32";
    if ((intTensor(l) && r.kind === "float") || (intTensor(r) && l.kind === "float")) {
      const [t, tspan, f, fspan] = intTensor(l)
        ? [l, lspan, r, rspan]
        : [r as Value & { kind: "tensor" }, rspan, l, lspan];
      return this.error(
        "E0303",
        `\`${op}\` cannot combine ${describeValue(t)} with ${describeValue(f)}`,
        span,
        ctx,
        [
          { message: `this is ${describeValue(t)}`, span: tspan },
          { message: `this is ${describeValue(f)}`, span: fspan },
          {
            message:
              "floats are f32 and do not become i32 implicitly; convert the tensor with `f32(...)`, or write an integer",
          },
        ],
      );
    }
    // at least one side is a tensor (or a list that becomes one): convert the other with its dtype
    const hint =
      l.kind === "tensor" ? l.expr.type.dtype : r.kind === "tensor" ? r.expr.type.dtype : undefined;
    const a = this.toTensor(l, lspan, ctx, hint);
    const b = this.toTensor(r, rspan, ctx, hint ?? (a ? a.type.dtype : undefined));
    if (!a || !b) return ERROR;
    if (op === "@") {
      const s = matmulShape(a.type.shape, b.type.shape);
      if (a.type.dtype !== b.type.dtype || !isNumeric(a.type.dtype)) {
        return this.error(
          "E0303",
          `\`@\` needs numeric operands of one dtype, found ${formatType(a.type)} and ${formatType(b.type)}`,
          span,
          ctx,
        );
      }
      if (!s.ok) {
        return this.error(
          "E0307",
          `matrix product of ${formatType(a.type)} and ${formatType(b.type)}: ${s.reason}`,
          span,
          ctx,
          [
            { message: `left is ${formatType(a.type)}`, span: lspan },
            { message: `right is ${formatType(b.type)}`, span: rspan },
          ],
        );
      }
      return this.prim({ op: "matmul" }, [a, b], { dtype: a.type.dtype, shape: s.value }, span);
    }
    const fn = BINARY_FN[op];
    if (a.type.dtype !== b.type.dtype) {
      return this.error(
        "E0303",
        `\`${op}\` needs operands of one dtype, found ${formatType(a.type)} and ${formatType(b.type)}`,
        span,
        ctx,
        [
          { message: `left is ${formatType(a.type)}`, span: lspan },
          { message: `right is ${formatType(b.type)}`, span: rspan },
          { message: `convert one side, for example with \`f32(...)\` or \`i32(...)\`` },
        ],
      );
    }
    const dt = a.type.dtype;
    const logical = fn === "and" || fn === "or";
    if (logical ? dt !== "bool" : fn !== "eq" && fn !== "ne" && !isNumeric(dt)) {
      return this.error("E0303", `\`${op}\` is not defined for ${dt} tensors`, span, ctx);
    }
    if ((fn === "div" || fn === "pow") && dt !== "f32") {
      return this.error(
        "E0303",
        `\`${op}\` on ${dt} tensors is not supported; convert with \`f32(...)\` first`,
        span,
        ctx,
      );
    }
    const shape = broadcastShapes(a.type.shape, b.type.shape);
    if (!shape.ok) {
      return this.error(
        "E0302",
        `cannot broadcast ${formatType(a.type)} with ${formatType(b.type)} in \`${op}\``,
        span,
        ctx,
        [
          { message: `left is ${formatType(a.type)}`, span: lspan },
          { message: `right is ${formatType(b.type)}`, span: rspan },
          { message: shape.reason },
        ],
      );
    }
    const comparison =
      fn === "eq" || fn === "ne" || fn === "lt" || fn === "le" || fn === "gt" || fn === "ge";
    return this.prim(
      { op: "binary", fn },
      [a, b],
      { dtype: comparison ? "bool" : dt, shape: shape.value },
      span,
    );
  }

  /** Compile-time arithmetic; null when the operands are not compile-time scalars or lists. */
  private foldBinary(op: string, l: Value, r: Value, span: Span, ctx: Ctx): Value | null {
    if (l.kind === "bool" && r.kind === "bool") {
      switch (op) {
        case "&&":
          return bool(l.value && r.value);
        case "||":
          return bool(l.value || r.value);
        case "==":
          return bool(l.value === r.value);
        case "!=":
          return bool(l.value !== r.value);
      }
      return null;
    }
    if (l.kind === "string" && r.kind === "string") {
      if (op === "==") return bool(l.value === r.value);
      if (op === "!=") return bool(l.value !== r.value);
      if (op === "+") return { kind: "string", value: l.value + r.value };
      return null;
    }
    const isNum = (v: Value) => v.kind === "int" || v.kind === "float";
    if (!isNum(l) || !isNum(r)) return null;
    if (l.kind === "int" && r.kind === "int") {
      const a = l.dim;
      const b = r.dim;
      switch (op) {
        case "+":
          return int(Dims.add(a, b));
        case "-":
          return int(Dims.sub(a, b));
        case "*":
          return int(Dims.mul(a, b));
        case "==":
        case "!=": {
          if (Dims.equal(a, b)) return bool(op === "==");
          if (Dims.isConst(a) && Dims.isConst(b)) return bool(op === "!=");
          return this.error(
            "E0403",
            `cannot compare the run-time size ${Dims.format(a)} with ${Dims.format(b)} at compile time`,
            span,
            ctx,
          );
        }
        case "max":
        case "min":
          if (Dims.equal(a, b)) return l;
          break;
      }
      if (!Dims.isConst(a) || !Dims.isConst(b)) {
        return this.error(
          "E0403",
          `\`${op}\` on the run-time size ${Dims.format(Dims.isConst(a) ? b : a)} cannot be computed at compile time`,
          span,
          ctx,
        );
      }
      switch (op) {
        case "/":
          if (b === 0) return this.error("E0405", "division by zero", span, ctx);
          return float(a / b);
        case "%":
          if (b === 0) return this.error("E0405", "division by zero", span, ctx);
          return int(a - Math.floor(a / b) * b);
        case "^":
          return b >= 0 ? int(a ** b) : float(a ** b);
        case "max":
          return int(Math.max(a, b));
        case "min":
          return int(Math.min(a, b));
      }
      return compareNumbers(op, a, b);
    }
    const a =
      l.kind === "int"
        ? this.constInt(l, span, ctx, "this operand")
        : (l as { value: number }).value;
    const b =
      r.kind === "int"
        ? this.constInt(r, span, ctx, "this operand")
        : (r as { value: number }).value;
    if (a === null || b === null) return ERROR;
    switch (op) {
      case "+":
        return float(a + b);
      case "-":
        return float(a - b);
      case "*":
        return float(a * b);
      case "/":
        return float(a / b);
      case "%":
        return float(a - Math.floor(a / b) * b);
      case "^":
        return float(a ** b);
      case "max":
        return float(Math.max(a, b));
      case "min":
        return float(Math.min(a, b));
      case "==":
        return bool(a === b);
      case "!=":
        return bool(a !== b);
    }
    return compareNumbers(op, a, b);
  }

  // ---------------------------------------------------------------- tensors

  prim(prim: Prim, args: readonly TExpr[], type: TensorType, span: Span): Value {
    const negative = type.shape.find((d) => !Dims.nonNegative(d));
    if (negative !== undefined) {
      this.error(
        "E0317",
        `sizes cannot be negative: the result would be ${formatType(type)}, and ${Dims.format(negative)} ${typeof negative === "number" ? "is" : "can be"} negative`,
        span,
        null,
      );
      return ERROR;
    }
    if (this.tooLarge(type, span, null)) return ERROR;
    return { kind: "tensor", expr: { kind: "prim", prim, args, type, span } };
  }

  /**
   * Reports E0319 when a tensor of `type` would hold more than
   * {@link MAX_TENSOR_ELEMENTS} elements, counting its known dimensions (a
   * size symbol counts as 1 here; the runtime checks the actual sizes).
   */
  tooLarge(type: TensorType, span: Span, ctx: Ctx | null): boolean {
    let known = 1;
    for (const d of type.shape) if (Dims.isConst(d)) known *= d;
    if (known <= MAX_TENSOR_ELEMENTS) return false;
    const all = type.shape.every((d) => Dims.isConst(d));
    this.error(
      "E0319",
      `tensor too large: ${formatType(type)} has ${all ? "" : "at least "}${known} elements, the limit is ${MAX_TENSOR_ELEMENTS} (2^31 - 1) per tensor`,
      span,
      ctx,
    );
    return true;
  }

  literal(data: readonly number[], dtype: DType, shape: readonly number[], span: Span): TExpr {
    return { kind: "literal", data, type: { dtype, shape }, span };
  }

  /**
   * The salt of a random draw: unique per draw site of the program (the
   * counter), and independent of where the source files lie, so builds are
   * byte-identical across folders and machines (the file's name, not its path).
   */
  nextSalt(span: Span): number {
    const name = span.file.split(/[\\/]/).pop() ?? span.file;
    return hashString(`${name}:${span.start}:${this.saltCounter++}`);
  }

  /**
   * Converts a value to a tensor: tensors pass through; compile-time numbers
   * and (nested) lists become literals of `dtype` (default i32 for ints, f32 for
   * floats); lists holding tensors are stacked; sizes become run-time scalars.
   */
  toTensor(v: Value, span: Span, ctx: Ctx, dtype?: DType): TExpr | null {
    switch (v.kind) {
      case "error":
        return null;
      case "tensor":
        return v.expr;
      case "int":
        if (!Dims.isConst(v.dim)) {
          const dt = dtype ?? "i32";
          if (dt === "bool") break;
          return {
            kind: "prim",
            prim: { op: "size", dim: v.dim },
            args: [],
            type: { dtype: dt, shape: [] },
            span,
          };
        }
        if (dtype === "bool") break;
        return this.literal([v.dim], dtype ?? "i32", [], span);
      case "float":
        if (dtype === "i32" || dtype === "bool") {
          this.error("E0303", `expected ${dtype}, found ${describeValue(v)}`, span, ctx);
          return null;
        }
        return this.literal([v.value], "f32", [], span);
      case "bool":
        if (dtype && dtype !== "bool") break;
        return this.literal([v.value ? 1 : 0], "bool", [], span);
      case "list":
        return this.listToTensor(v, span, ctx, dtype);
      default:
        break;
    }
    this.error(
      "E0301",
      `expected ${dtype ? `a ${dtype} tensor` : "a tensor"}, found ${describeValue(v)}`,
      span,
      ctx,
    );
    return null;
  }

  private listToTensor(
    v: Value & { kind: "list" },
    span: Span,
    ctx: Ctx,
    dtype?: DType,
  ): TExpr | null {
    const hasTensor = (x: Value): boolean =>
      x.kind === "tensor" ||
      (x.kind === "int" && !Dims.isConst(x.dim)) ||
      (x.kind === "list" && x.items.some(hasTensor));
    if (v.items.length === 0) {
      this.error(
        "E0312",
        "an empty list `[]` cannot become a tensor: it has no element type or shape",
        span,
        ctx,
      );
      return null;
    }
    if (!hasTensor(v)) {
      // a literal: rectangular nested lists of compile-time scalars
      const shape: number[] = [];
      let probe: Value = v;
      while (probe.kind === "list") {
        shape.push(probe.items.length);
        probe = probe.items[0] ?? ERROR;
      }
      const data: number[] = [];
      let sawInt = false;
      let sawFloat = false;
      let sawBool = false;
      let bad: string | null = null;
      const walk = (x: Value, axis: number, path: readonly number[]): void => {
        if (bad) return;
        if (axis === shape.length) {
          if (x.kind === "int") {
            sawInt = true;
            data.push(x.dim as number);
          } else if (x.kind === "float") {
            sawFloat = true;
            data.push(x.value);
          } else if (x.kind === "bool") {
            sawBool = true;
            data.push(x.value ? 1 : 0);
          } else bad = `element ${describeValue(x)} is not a number`;
          return;
        }
        if (x.kind !== "list" || x.items.length !== shape[axis]) {
          const first = `[${path.map(() => 0).join(", ")}]`;
          const found =
            x.kind === "list"
              ? `${x.items.length} element${x.items.length === 1 ? "" : "s"}`
              : `no elements (it is ${describeValue(x)})`;
          bad = `ragged tensor literal: [${path.join(", ")}] has ${found}, but ${first} has ${shape[axis]}`;
          return;
        }
        x.items.forEach((y, i) => walk(y, axis + 1, [...path, i]));
      };
      walk(v, 0, []);
      if (!bad && sawBool && (sawInt || sawFloat))
        bad = "a tensor literal cannot mix booleans and numbers";
      if (bad) {
        this.error("E0312", bad, span, ctx);
        return null;
      }
      const kind = sawBool ? "bool" : sawFloat ? "float" : "int";
      const dt: DType = dtype ?? (kind === "float" ? "f32" : kind === "bool" ? "bool" : "i32");
      if (kind === "float" && dt !== "f32") {
        this.error("E0303", `expected ${dt} values, found floats in this literal`, span, ctx);
        return null;
      }
      if (kind === "bool" && dt !== "bool") {
        this.error("E0303", `expected ${dt} values, found booleans in this literal`, span, ctx);
        return null;
      }
      return this.literal(data, dt, shape, span);
    }
    // a stack of tensors along a new leading axis
    const parts = v.items.map((x) => this.toTensor(x, span, ctx, dtype));
    if (parts.some((p) => p === null)) return null;
    const ts = parts as TExpr[];
    const dt = dtype ?? ts.find((t) => t.type.dtype === "f32")?.type.dtype ?? ts[0]!.type.dtype;
    // a compile-time number among tensors takes their element type (the item, not the
    // whole list: converting the list again recursed forever on `[x, i32(2)]`)
    const conv = ts.map((t, i) =>
      t.kind === "literal" && t.type.dtype !== dt ? this.toTensor(v.items[i]!, span, ctx, dt) : t,
    );
    if (conv.some((p) => p === null)) return null;
    return this.stack(conv as TExpr[], 0, span, ctx);
  }

  /** `stack` of tensors of one shape along a new axis. */
  stack(ts: readonly TExpr[], axis: number, span: Span, ctx: Ctx): TExpr | null {
    const first = ts[0]!;
    for (const t of ts) {
      if (
        t.type.dtype !== first.type.dtype ||
        t.type.shape.length !== first.type.shape.length ||
        !t.type.shape.every((d, i) => Dims.equal(d, first.type.shape[i]!))
      ) {
        this.error(
          "E0313",
          `cannot stack ${formatType(first.type)} and ${formatType(t.type)}: all elements need the same element type and shape`,
          span,
          ctx,
        );
        return null;
      }
    }
    const shape = [...first.type.shape];
    shape.splice(axis, 0, ts.length);
    return {
      kind: "prim",
      prim: { op: "stack", axis },
      args: ts,
      type: { dtype: first.type.dtype, shape },
      span,
    };
  }

  // ---------------------------------------------------------------- members and indexing

  private evalMember(e: MemberExpr, ctx: Ctx): Value {
    const target = this.evalExpr(e.target, ctx);
    return this.member(
      target,
      e.name.name,
      e.name.span,
      ctx,
      e.target.kind === "name" ? e.target.name : null,
    );
  }

  /** `target.name`; `targetName` is how the target was written, when it is a plain name. */
  private member(
    target: Value,
    name: string,
    span: Span,
    ctx: Ctx,
    targetName: string | null = null,
  ): Value {
    switch (target.kind) {
      case "error":
        return target;
      case "module": {
        const entry = target.module.exports.get(name);
        if (entry) return this.entryValue(entry, ctx);
        // standard-library modules re-export the builtins, as `use std.nn.{tanh}` does
        const builtin = target.module.name.startsWith("std.") ? BUILTINS.get(name) : undefined;
        if (builtin) return builtin.constant ?? { kind: "builtin", name };
        const names = [...target.module.exports.keys()];
        return this.error(
          "E0316",
          `module \`${target.module.name}\` has no declaration named \`${name}\``,
          span,
          ctx,
          candidatesNote(name, names, `\`${target.module.name}\` declares`),
        );
      }
      case "model": {
        const m = this.memberOf(target.inst, name, span, ctx);
        if (m) return m;
        const names = [
          ...target.inst.decl.hyperparams.map((h) => h.name.name),
          ...target.inst.decl.items.map((i) => i.name.name),
        ];
        const subject =
          targetName && targetName !== target.inst.decl.name.name
            ? `\`${targetName}\` (an instance of model \`${target.inst.decl.name.name}\`)`
            : `model \`${target.inst.decl.name.name}\``;
        return this.error(
          "E0316",
          `${subject} has no member named \`${name}\``,
          span,
          ctx,
          candidatesNote(name, names, `its members are`),
        );
      }
      case "tensor": {
        const t = target.expr.type;
        if (name === "shape") return { kind: "list", items: t.shape.map(int) };
        if (name === "rank") return int(t.shape.length);
        const fn = BUILTINS.has(name) && !BUILTINS.get(name)!.constant;
        return this.error(
          "E0316",
          `a tensor has no member \`${name}\` (it has \`shape\` and \`rank\`)`,
          span,
          ctx,
          fn
            ? [{ message: `\`${name}\` is a function: write \`${name}(${targetName ?? "x"})\`` }]
            : [],
        );
      }
      default:
        return this.error("E0316", `${describeValue(target)} has no member \`${name}\``, span, ctx);
    }
  }

  /** A model instance's member: hyperparameter, field, parameter, const or function. */
  private memberOf(
    inst: ModelInstance,
    name: string,
    _span: Span | null,
    _ctx: Ctx,
  ): Value | undefined {
    const h = inst.hyper.get(name);
    if (h) return h;
    const m = inst.members.get(name);
    if (m) return m;
    const fn = inst.decl.items.find((i): i is FnDecl => i.kind === "fn" && i.name.name === name);
    if (fn) return { kind: "fn", decl: fn, module: inst.module, self: inst };
    return undefined;
  }

  private evalIndex(e: IndexExpr, ctx: Ctx): Value {
    const target = this.evalExpr(e.target, ctx);
    if (target.kind === "error") return target;
    if (target.kind === "list") return this.indexList(target, e, ctx);
    const t = this.toTensor(target, e.target.span, ctx);
    if (!t) return ERROR;
    return this.indexTensor(t, e, ctx);
  }

  private indexList(list: Value & { kind: "list" }, e: IndexExpr, ctx: Ctx): Value {
    if (e.indices.length !== 1) return this.error("E0310", "a list takes one index", e.span, ctx);
    const it = e.indices[0]!;
    const n = list.items.length;
    if (it.kind === "at") {
      const i = this.constInt(this.evalExpr(it.expr, ctx), it.expr.span, ctx, "a list index");
      if (i === null) return ERROR;
      const k = i < 0 ? i + n : i;
      if (k < 0 || k >= n)
        return this.error("E0310", `index ${i} is out of range for a list of ${n}`, it.span, ctx);
      return list.items[k]!;
    }
    if (it.kind === "slice") {
      const s = this.sliceBounds(it, n, ctx);
      if (!s) return ERROR;
      const items: Value[] = [];
      for (let j = 0; j < (s.size as number); j++)
        items.push(list.items[(s.start as number) + j * s.step]!);
      return { kind: "list", items };
    }
    return this.error("E0310", "`...` cannot index a list", it.span, ctx);
  }

  /** Start, size and step of a slice over an axis of length `n` (Python rules for constant `n`). */
  private sliceBounds(
    it: { start: Expr | null; stop: Expr | null; step: Expr | null; span: Span },
    n: Dim,
    ctx: Ctx,
  ): { start: Dim; size: Dim; step: number } | null {
    const ev = (x: Expr | null): Dim | null | undefined => {
      if (!x) return undefined;
      const v = this.evalExpr(x, ctx);
      if (v.kind === "error") return null;
      if (v.kind !== "int") {
        this.error(
          "E0310",
          `slice bounds must be integers known at compile time, found ${describeValue(v)}`,
          x.span,
          ctx,
        );
        return null;
      }
      return v.dim;
    };
    const a = ev(it.start);
    const b = ev(it.stop);
    const c = ev(it.step);
    if (a === null || b === null || c === null) return null;
    let step = 1;
    if (c !== undefined) {
      if (!Dims.isConst(c) || c <= 0) {
        this.error(
          "E0310",
          `slice steps must be positive constants, found ${Dims.format(c)}`,
          it.step!.span,
          ctx,
        );
        return null;
      }
      step = c;
    }
    const norm = (x: Dim | undefined, dflt: Dim): Dim => {
      if (x === undefined) return dflt;
      if (Dims.isConst(x) && x < 0) return Dims.add(n, x);
      return x;
    };
    let start = norm(a, 0);
    let stop = norm(b, n);
    if (Dims.isConst(n)) {
      if (!Dims.isConst(start) || !Dims.isConst(stop)) {
        this.error(
          "E0310",
          "slice bounds over a dimension of known length must be constants",
          it.span,
          ctx,
        );
        return null;
      }
      start = Math.min(Math.max(start, 0), n);
      stop = Math.min(Math.max(stop, 0), n);
      const len = Math.max(0, stop - start);
      return { start, size: Math.ceil(len / step), step };
    }
    const len = Dims.sub(stop, start);
    if (
      !Dims.nonNegative(start) ||
      !Dims.nonNegative(len) ||
      !Dims.nonNegative(Dims.sub(n, stop))
    ) {
      this.error(
        "E0310",
        `slice ${Dims.format(start)}:${Dims.format(stop)} does not fit an axis of length ${Dims.format(n)} for every size`,
        it.span,
        ctx,
      );
      return null;
    }
    if (step !== 1) {
      // ceil(len / step) is len / step exactly when step divides len for every size
      const size = Dims.divExact(len, step);
      if (size === undefined) {
        this.error(
          "E0310",
          `a strided slice of an axis of run-time length ${Dims.format(n)} must have a length divisible by its step`,
          it.span,
          ctx,
        );
        return null;
      }
      return { start, size, step };
    }
    return { start, size: len, step };
  }

  private indexTensor(t: TExpr, e: IndexExpr, ctx: Ctx): Value {
    const shape = t.type.shape;
    const items = e.indices;
    const ellipses = items.filter((i) => i.kind === "ellipsis").length;
    if (ellipses > 1)
      return this.error("E0310", "an index can contain `...` only once", e.span, ctx);
    const explicit = items.length - ellipses;
    if (explicit > shape.length) {
      return this.error(
        "E0310",
        `too many indices: ${formatType(t.type)} has ${shape.length} dimension${shape.length === 1 ? "" : "s"}, indexed with ${explicit}`,
        e.span,
        ctx,
      );
    }
    const specs: IndexSpec[] = [];
    const args: TExpr[] = [t];
    const outShape: Dim[] = [];
    let axis = 0;
    for (const it of items) {
      if (it.kind === "ellipsis") {
        const fill = shape.length - explicit;
        for (let k = 0; k < fill; k++) {
          specs.push({ kind: "all" });
          outShape.push(shape[axis++]!);
        }
        continue;
      }
      const n = shape[axis]!;
      if (it.kind === "slice") {
        const s = this.sliceBounds(it, n, ctx);
        if (!s) return ERROR;
        specs.push({ kind: "slice", ...s });
        outShape.push(s.size);
        axis++;
        continue;
      }
      const v = this.evalExpr(it.expr, ctx);
      if (v.kind === "error") return v;
      if (v.kind === "int") {
        let k = v.dim;
        if (Dims.isConst(k) && k < 0) k = Dims.add(n, k);
        const inRange =
          Dims.isConst(k) && Dims.isConst(n)
            ? k >= 0 && k < n
            : Dims.nonNegative(k) && Dims.nonNegative(Dims.sub(Dims.sub(n, 1), k));
        if (!inRange) {
          const note = Dims.isConst(n)
            ? n === 0
              ? `dimension ${axis} has length 0: it has no elements to index`
              : `dimension ${axis} has length ${n}: valid indices are 0 to ${n - 1}, or -${n} to -1`
            : `the length \`${Dims.format(n)}\` is known only at run time and may be too small (even 0); an index must be in range for every length`;
          return this.error(
            "E0310",
            `index ${Dims.format(v.dim)} is out of range for dimension ${axis} of ${formatType(t.type)}`,
            it.span,
            ctx,
            [{ message: note }],
          );
        }
        specs.push({ kind: "at", index: k });
        axis++;
        continue;
      }
      const idx = this.toTensor(v, it.span, ctx, "i32");
      if (!idx) return ERROR;
      if (idx.type.dtype !== "i32")
        return this.error(
          "E0303",
          `tensor indices must be i32, found ${formatType(idx.type)}`,
          it.span,
          ctx,
        );
      specs.push({ kind: "take", arg: args.length });
      args.push(idx);
      outShape.push(...idx.type.shape);
      axis++;
    }
    while (axis < shape.length) {
      specs.push({ kind: "all" });
      outShape.push(shape[axis++]!);
    }
    if (specs.every((s) => s.kind === "all")) return { kind: "tensor", expr: t };
    return this.prim(
      { op: "index", items: specs },
      args,
      { dtype: t.type.dtype, shape: outShape },
      e.span,
    );
  }

  // ---------------------------------------------------------------- calls

  evalArgs(args: readonly Arg[], ctx: Ctx): CallArgs {
    const positional: { value: Value; span: Span }[] = [];
    const named = new Map<string, { value: Value; span: Span; nameSpan: Span }>();
    args.forEach((a, i) => {
      const sub = ctx.field !== null ? { ...ctx, field: `${ctx.field}.${a.name?.name ?? i}` } : ctx;
      const value = this.evalExpr(a.value, sub);
      if (a.name) {
        const prev = named.get(a.name.name);
        if (prev)
          this.error("E0305", `argument \`${a.name.name}\` is given twice`, a.name.span, ctx, [
            { message: "first given here", span: prev.nameSpan },
          ]);
        named.set(a.name.name, { value, span: a.value.span, nameSpan: a.name.span });
      } else {
        if (named.size > 0)
          this.error("E0305", "positional arguments must come before named ones", a.span, ctx);
        positional.push({ value, span: a.value.span });
      }
    });
    return { positional, named };
  }

  private evalCall(e: CallExpr, ctx: Ctx): Value {
    const callee = this.evalExpr(e.callee, ctx);
    if (callee.kind === "error") {
      // still check the arguments, for their own errors
      this.evalArgs(e.args, { ...ctx, field: null });
      return ERROR;
    }
    const args = this.evalArgs(e.args, callee.kind === "modelDecl" ? ctx : { ...ctx, field: null });
    if (e.callee.kind === "name" && !isCallable(callee)) {
      const hint =
        callee.kind === "optimizer"
          ? [
              {
                message: `an optimizer is used by \`train\`, as in \`train Model.loss with ${e.callee.name}(...)\``,
              },
            ]
          : [];
      return this.error(
        "E0306",
        `\`${e.callee.name}\` is not a function: it is ${describeValue(callee)}`,
        e.callee.span,
        ctx,
        hint,
      );
    }
    return this.call(callee, args, e.span, ctx);
  }

  /** Calls any callable value. */
  call(callee: Value, args: CallArgs, span: Span, ctx: Ctx): Value {
    if ([...args.positional, ...args.named.values()].some((a) => a.value.kind === "error"))
      return ERROR;
    switch (callee.kind) {
      case "builtin": {
        const b = BUILTINS.get(callee.name)!;
        return b.call(args, span, ctx, this);
      }
      case "fn":
        return this.callFn(callee, args, span, ctx);
      case "modelDecl": {
        if (ctx.field === null) {
          return this.error(
            "E0503",
            `model \`${callee.decl.name.name}\` can only be instantiated in a model's field, like \`layer = ${callee.decl.name.name}(...)\``,
            span,
            ctx,
          );
        }
        const inst = this.instantiate(callee.decl, callee.module, args, ctx.field, span, ctx);
        return inst ? { kind: "model", inst } : ERROR;
      }
      case "model": {
        const fwd = callee.inst.decl.items.find(
          (i): i is FnDecl => i.kind === "fn" && i.name.name === "forward",
        );
        if (!fwd) {
          return this.error(
            "E0306",
            `an instance of model \`${callee.inst.decl.name.name}\` is not callable: the model has no \`forward\` function`,
            span,
            ctx,
          );
        }
        return this.callFn(
          { kind: "fn", decl: fwd, module: callee.inst.module, self: callee.inst },
          args,
          span,
          ctx,
        );
      }
      case "init":
        return this.error(
          "E0306",
          `initializer \`${callee.init.kind}\` takes no arguments`,
          span,
          ctx,
        );
      default:
        return this.error("E0306", `${describeValue(callee)} is not callable`, span, ctx);
    }
  }

  /** Matches call arguments to declared parameters (by position, then name, then defaults). */
  bindParams(
    params: readonly Param[],
    args: CallArgs,
    what: string,
    span: Span,
    ctx: Ctx,
    declSpan: Span | null = null,
  ): Map<string, { value: Value | null; span: Span; param: Param }> | null {
    const out = new Map<string, { value: Value | null; span: Span; param: Param }>();
    let ok = true;
    const declared: Note[] = declSpan
      ? [{ message: `${what} is declared here`, span: declSpan }]
      : [];
    if (args.positional.length > params.length) {
      const upTo = params.some((p) => p.default) ? "at most " : "";
      this.error(
        "E0304",
        `${what} takes ${upTo}${params.length} argument${params.length === 1 ? "" : "s"}, but ${args.positional.length} were given`,
        args.positional[params.length]!.span,
        ctx,
        [
          ...(declSpan
            ? declared
            : [{ message: `parameters: ${params.map((p) => p.name.name).join(", ") || "none"}` }]),
        ],
      );
      return null;
    }
    args.positional.forEach((a, i) =>
      out.set(params[i]!.name.name, { value: a.value, span: a.span, param: params[i]! }),
    );
    for (const [name, a] of args.named) {
      const p = params.find((q) => q.name.name === name);
      if (!p) {
        const hint = suggest(
          name,
          params.map((q) => q.name.name),
        );
        this.error(
          "E0305",
          `${what} has no parameter named \`${name}\``,
          a.nameSpan,
          ctx,
          hint ? [{ message: `did you mean \`${hint}\`?` }] : declared,
        );
        ok = false;
        continue;
      }
      const prev = out.get(name);
      if (prev) {
        this.error("E0305", `argument \`${name}\` is given twice`, a.nameSpan, ctx, [
          { message: "first given here, by position", span: prev.span },
        ]);
        ok = false;
        continue;
      }
      out.set(name, { value: a.value, span: a.span, param: p });
    }
    const missing = params.filter((p) => !out.has(p.name.name) && !p.default);
    if (missing.length) {
      this.error(
        "E0304",
        `${what} is missing argument${missing.length === 1 ? "" : "s"} ${missing.map((p) => `\`${p.name.name}\``).join(", ")}`,
        span,
        ctx,
        declared,
      );
      return null;
    }
    for (const p of params)
      if (!out.has(p.name.name))
        out.set(p.name.name, { value: null, span: p.default!.span, param: p });
    return ok ? out : null;
  }

  fnName(fn: Value & { kind: "fn" }): string {
    return fn.self ? `${fn.self.decl.name.name}.${fn.decl.name.name}` : fn.decl.name.name;
  }

  /**
   * Specializes and inlines a user function for these arguments. `outer`, when
   * given, is the parent of the function's parameter scope (an optimizer's
   * hyperparameters and per-parameter state).
   */
  callFn(
    fn: Value & { kind: "fn" },
    args: CallArgs,
    span: Span,
    ctx: Ctx,
    outer: Env | null = null,
  ): Value {
    const name = this.fnName(fn);
    if (ctx.depth >= MAX_DEPTH) {
      return this.error(
        "E0406",
        `calls nest more than ${MAX_DEPTH} deep (unbounded recursion in \`${name}\`?)`,
        span,
        ctx,
      );
    }
    const bound = this.bindParams(
      fn.decl.params,
      args,
      `\`${name}\``,
      span,
      ctx,
      fn.decl.name.span,
    );
    if (!bound) return ERROR;
    const env = new Env(outer);
    const trail: Note[] = [{ message: `in the call of \`${name}\` here`, span }, ...ctx.trail];
    const inner: Ctx = {
      env,
      module: fn.module,
      self: fn.self,
      trail,
      field: null,
      init: false,
      depth: ctx.depth + 1,
    };
    const bindings: Bindings = new Map();
    let failed = false;
    const match = (p: Param, v: Value): Value => {
      if (!p.type || v.kind === "error") return v;
      const b = bound.get(p.name.name)!;
      return this.matchType(p.type, v, bindings, inner, {
        say: (want, got) =>
          `\`${name}\` expects argument \`${p.name.name}\` to be ${want}, found ${got}`,
        span: b.span,
        mode: "param",
        callerCtx: ctx,
        declSpan: p.span,
      });
    };
    // parameters whose types have compound dims (`f32[2 * N]`) are matched last, when
    // the bare dims of the others (`f32[N]`) have bound their symbols
    const later: { p: Param; v: Value }[] = [];
    for (const p of fn.decl.params) {
      const b = bound.get(p.name.name)!;
      // defaults are evaluated where the function is declared, seeing earlier parameters
      let v = b.value ?? this.evalExpr(p.default!, { ...inner, env: env.child() });
      if (hasCompoundDim(p.type)) later.push({ p, v });
      else v = match(p, v);
      if (v.kind === "error") failed = true;
      env.define(p.name.name, v);
    }
    for (const { p, v } of later) {
      const m = match(p, v);
      if (m.kind === "error") failed = true;
      env.define(p.name.name, m);
    }
    if (failed) return ERROR;
    for (const [s, d] of bindings)
      if (!env.has(s))
        env.define(
          s,
          Array.isArray(d) ? { kind: "list", items: (d as Dim[]).map(int) } : int(d as Dim),
        );
    const result = this.evalBody(fn.decl, inner);
    if (result.kind === "error") return ERROR;
    if (!fn.decl.returnType) return result;
    const out = this.matchType(fn.decl.returnType, result, bindings, inner, {
      say: (want, got) => `\`${name}\` should return ${want}, but its result is ${got}`,
      span: bodySpan(fn.decl),
      mode: "return",
      declSpan: fn.decl.returnType.span,
    });
    return out;
  }

  private checkReturn(
    decl: FnDecl,
    result: Value,
    bindings: Bindings,
    ctx: Ctx,
    name: string,
  ): TExpr | null {
    let v = result;
    if (decl.returnType) {
      v = this.matchType(decl.returnType, result, bindings, ctx, {
        say: (want, got) => `\`${name}\` should return ${want}, but its result is ${got}`,
        span: bodySpan(decl),
        mode: "return",
        declSpan: decl.returnType.span,
      });
    }
    if (v.kind === "error") return null;
    const t = this.toTensor(v, bodySpan(decl), ctx, decl.flavor === "loss" ? "f32" : undefined);
    return t;
  }

  // ---------------------------------------------------------------- bodies and statements

  private evalBody(decl: FnDecl, ctx: Ctx): Value {
    if (decl.body.kind !== "block") return this.evalExpr(decl.body, ctx);
    const flow = this.execBlock(decl.body, ctx);
    if (flow) return flow.value;
    // point at the closing `}`, where the value is missing
    const end = decl.body.span.end;
    const file = this.program.sources.get(decl.body.span.file);
    const at = file ? file.span(end - 1, end) : decl.body.span;
    return this.error("E0315", `\`${decl.name.name}\` does not return a value`, at, ctx, [
      { message: "end the body with `return <expr>` or a final expression" },
    ]);
  }

  /** Runs a block's statements; a `return` or a trailing expression ends the function. */
  private execBlock(block: Block, ctx: Ctx): Flow {
    const inner: Ctx = { ...ctx, env: ctx.env.child() };
    for (const s of block.stmts) {
      const flow = this.execStmt(s, inner);
      if (flow) return flow;
    }
    if (block.result) return { value: this.evalExpr(block.result, inner) };
    return null;
  }

  private execStmt(s: Stmt, ctx: Ctx): Flow {
    switch (s.kind) {
      case "let": {
        let v = this.evalExpr(s.value, ctx);
        if (s.type && v.kind !== "error") {
          const bindings: Bindings = new Map();
          v = this.matchType(s.type, v, bindings, ctx, {
            say: (want, got) =>
              `\`${s.name.name}\` is declared as ${want}, but its value is ${got}`,
            span: s.value.span,
            mode: "value",
            declSpan: s.type.span,
          });
          for (const [sym, d] of bindings)
            if (!ctx.env.has(sym))
              ctx.env.define(
                sym,
                Array.isArray(d) ? { kind: "list", items: (d as Dim[]).map(int) } : int(d as Dim),
              );
        }
        ctx.env.define(s.name.name, v, s.mutable);
        return null;
      }
      case "assign": {
        const v = this.evalExpr(s.value, ctx);
        const old = ctx.env.lookup(s.name.name);
        if (
          old &&
          old.kind === "tensor" &&
          v.kind === "tensor" &&
          old.expr.type.dtype !== v.expr.type.dtype
        ) {
          this.error(
            "E0303",
            `\`${s.name.name}\` holds ${formatType(old.expr.type)}; cannot assign ${formatType(v.expr.type)}`,
            s.value.span,
            ctx,
          );
        }
        if (!ctx.env.assign(s.name.name, v)) {
          this.error(
            "E0206",
            `cannot assign to \`${s.name.name}\`: it is not a \`var\``,
            s.name.span,
            ctx,
          );
        }
        return null;
      }
      case "return":
        return { value: this.evalExpr(s.value, ctx) };
      case "for": {
        const items = this.iterate(this.evalExpr(s.iterable, ctx), s.iterable.span, ctx);
        // after an error, a loop that may return ends the function quietly (no "does not return")
        if (!items) return mayReturn(s) ? { value: ERROR } : null;
        for (const item of items) {
          const env = ctx.env.child();
          env.define(s.variable.name, item);
          const inner: Ctx = { ...ctx, env };
          for (const st of s.body.stmts) {
            const flow = this.execStmt(st, inner);
            if (flow) return flow;
          }
          if (s.body.result) {
            this.error(
              "E0407",
              "a `for` body cannot end in a value; use `return` or an assignment",
              s.body.result.span,
              ctx,
            );
            return null;
          }
        }
        return null;
      }
      case "if": {
        const c = this.evalExpr(s.cond, ctx);
        if (c.kind === "error") return mayReturn(s) ? { value: ERROR } : null;
        if (c.kind !== "bool") {
          if (c.kind === "tensor") {
            this.error(
              "E0403",
              `an \`if\` condition must be a bool known at compile time, but this one is a run-time tensor of type ${formatType(c.expr.type)}`,
              s.cond.span,
              ctx,
              [
                {
                  message:
                    "`if` is decided at compile time; for a run-time choice per element use `where(cond, a, b)`",
                },
              ],
            );
          } else
            this.error(
              "E0301",
              `an \`if\` condition must be a bool, found ${describeValue(c)}`,
              s.cond.span,
              ctx,
            );
          return mayReturn(s) ? { value: ERROR } : null;
        }
        if (c.value) return this.execBlock(s.then, ctx);
        if (s.else?.kind === "block") return this.execBlock(s.else, ctx);
        if (s.else) return this.execStmt(s.else, ctx);
        return null;
      }
      default:
        return assertNever(s, "statement");
    }
  }

  // ---------------------------------------------------------------- types

  /**
   * Checks a value against a declared type, binding size symbols in
   * `bindings`, and converts it (numbers and lists to tensors) when the type
   * asks for a tensor. Reports mismatches at `site.span`.
   */
  matchType(t: TypeExpr, v: Value, bindings: Bindings, ctx: Ctx, site: MatchSite): Value {
    if (v.kind === "error") return v;
    const reportCtx = site.callerCtx ?? ctx;
    const notes: Note[] = site.declSpan ? [{ message: "declared here", span: site.declSpan }] : [];
    const mismatch = (expected: string, extra: Note[] = []): Value =>
      this.error("E0301", site.say(expected, describeValue(v)), site.span, reportCtx, [
        ...extra,
        ...notes,
      ]);
    switch (t.kind) {
      case "fnType": {
        if (v.kind === "fn" || v.kind === "builtin") return v;
        // an instance whose model declares `forward` is called like a function, so it is one
        const fwd =
          v.kind === "model"
            ? v.inst.decl.items.find(
                (i): i is FnDecl => i.kind === "fn" && i.name.name === "forward",
              )
            : undefined;
        return v.kind === "model" && fwd
          ? { kind: "fn", decl: fwd, module: v.inst.module, self: v.inst }
          : mismatch("a function");
      }
      case "listType": {
        if (v.kind !== "list") return mismatch(`a list`);
        const items = v.items.map((x) => this.matchType(t.element, x, bindings, ctx, site));
        return items.some((x) => x.kind === "error") ? ERROR : { kind: "list", items };
      }
      case "namedType": {
        const head = t.path[0]!.name;
        if (
          t.path.length === 1 &&
          isDType(head) &&
          !(site.mode === "hyper" && head === "bool" && t.dims === null)
        ) {
          return this.matchTensor(t, head, v, bindings, ctx, site, notes);
        }
        if (t.path.length === 1 && t.dims === null) {
          if (head === "int") return v.kind === "int" ? v : mismatch("an int");
          if (head === "float")
            return v.kind === "float"
              ? v
              : v.kind === "int" && Dims.isConst(v.dim)
                ? float(v.dim)
                : mismatch("a float");
          if (head === "bool") return v.kind === "bool" ? v : mismatch("a bool");
          if (head === "string") return v.kind === "string" ? v : mismatch("a string");
        }
        // a model type
        let tv: Value | undefined = this.lookupQuiet(head, ctx);
        for (const seg of t.path.slice(1))
          tv = tv && tv.kind === "module" ? this.member(tv, seg.name, seg.span, ctx) : undefined;
        if (tv && tv.kind === "modelDecl" && t.dims === null) {
          if (v.kind === "model" && v.inst.decl === tv.decl) return v;
          return mismatch(`an instance of model \`${tv.decl.name.name}\``);
        }
        return this.error(
          "E0207",
          `unknown type \`${t.path.map((p) => p.name).join(".")}\``,
          t.span,
          ctx,
          [
            {
              message:
                "types are f32, i32 or bool tensors (`f32[N, 3]`), int, float, bool, fn, lists `[int]`, and model names",
            },
          ],
        );
      }
      default:
        return assertNever(t, "type");
    }
  }

  private matchTensor(
    t: TypeExpr & { kind: "namedType" },
    dtype: DType,
    v: Value,
    bindings: Bindings,
    ctx: Ctx,
    site: MatchSite,
    notes: Note[],
  ): Value {
    const reportCtx = site.callerCtx ?? ctx;
    // a compile-time value that cannot become this tensor: say so in the site's words
    const convertible =
      v.kind === "tensor" ||
      v.kind === "list" ||
      (v.kind === "int" && dtype !== "bool") ||
      (v.kind === "float" && dtype === "f32") ||
      (v.kind === "bool" && dtype === "bool");
    if (!convertible) {
      const hint =
        v.kind === "float" && dtype === "i32"
          ? [
              {
                message:
                  "a float does not become an i32 implicitly; write an integer, or convert with `i32(...)`",
              },
            ]
          : [];
      return this.error(
        "E0301",
        site.say(this.formatTypeExpr(t, bindings, ctx), describeValue(v)),
        site.span,
        reportCtx,
        [...hint, ...notes],
      );
    }
    const x = this.toTensor(v, site.span, reportCtx, dtype);
    if (!x) return ERROR;
    const fail = (detail: string | null): Value =>
      this.error(
        "E0301",
        site.say(this.formatTypeExpr(t, bindings, ctx), formatType(x.type)),
        site.span,
        reportCtx,
        [...(detail ? [{ message: detail }] : []), ...notes],
      );
    if (x.type.dtype !== dtype)
      return fail(`the element type is ${x.type.dtype}, expected ${dtype}`);
    const dims = t.dims ?? [];
    const shape = x.type.shape;
    const restAt = dims.findIndex((d) => d.kind === "dimRest");
    if (dims.filter((d) => d.kind === "dimRest").length > 1) {
      return this.error("E0318", "a type can contain `...` only once", t.span, ctx);
    }
    const fixed = dims.length - (restAt >= 0 ? 1 : 0);
    if (restAt < 0 ? shape.length !== dims.length : shape.length < fixed) {
      return fail(
        `the rank is ${shape.length}, expected ${restAt < 0 ? dims.length : `at least ${fixed}`}`,
      );
    }
    // pair declared dims with actual dims
    const pairs: { d: DimExpr; actual: Dim; axis: number }[] = [];
    dims.forEach((d, i) => {
      if (d.kind === "dimRest") return;
      const axis = restAt >= 0 && i > restAt ? shape.length - (dims.length - i) : i;
      pairs.push({ d, actual: shape[axis]!, axis });
    });
    if (restAt >= 0) {
      const rest = dims[restAt] as DimExpr & { kind: "dimRest" };
      const actual = shape.slice(restAt, shape.length - (dims.length - restAt - 1));
      if (rest.name) {
        const prev = bindings.get(rest.name.name);
        if (prev !== undefined) {
          const p = prev as readonly Dim[];
          if (
            !Array.isArray(p) ||
            p.length !== actual.length ||
            !p.every((d, i) => Dims.equal(d, actual[i]!))
          ) {
            const before = Array.isArray(p)
              ? `[${p.map(Dims.format).join(", ")}]`
              : Dims.format(p as unknown as Dim);
            return fail(
              `\`...${rest.name.name}\` is ${before} from an earlier argument, but [${actual.map(Dims.format).join(", ")}] here`,
            );
          }
        } else bindings.set(rest.name.name, actual);
      }
    }
    // bare names bind first, so compound dims may use symbols bound later in the list
    const deferred: typeof pairs = [];
    for (const p of pairs) {
      if (p.d.kind !== "dimExpr") continue;
      const e = p.d.expr;
      if (e.kind === "name" && !this.lookupQuiet(e.name, ctx)) {
        const prev = bindings.get(e.name);
        if (prev === undefined) {
          bindings.set(e.name, p.actual);
          continue;
        }
        if (Array.isArray(prev) || !Dims.equal(prev as Dim, p.actual)) {
          const was = Array.isArray(prev) ? "a list of sizes" : Dims.format(prev as Dim);
          return fail(
            site.mode === "param"
              ? `\`${e.name}\` is ${was} from an earlier argument, but dimension ${p.axis} of this one is ${Dims.format(p.actual)}`
              : `dimension ${p.axis} is ${Dims.format(p.actual)}, but \`${e.name}\` is already ${was}`,
          );
        }
        continue;
      }
      deferred.push(p);
    }
    for (const p of deferred) {
      const e = (p.d as DimExpr & { kind: "dimExpr" }).expr;
      if (this.unboundSize(e, bindings, ctx)) return ERROR;
      const env = ctx.env.child();
      for (const [s, d] of bindings)
        if (!Array.isArray(d) && !ctx.env.has(s)) env.define(s, int(d as Dim));
      const ev = this.evalExpr(e, { ...ctx, env });
      const want = this.expectDim(ev, e.span, ctx);
      if (want === null) return ERROR;
      if (!Dims.equal(want, p.actual))
        return fail(
          `dimension ${p.axis} is ${Dims.format(p.actual)}, expected ${Dims.format(want)}`,
        );
    }
    return { kind: "tensor", expr: x };
  }

  /** A declared type with the sizes known so far filled in: `f32[B, 3]`. */
  private formatTypeExpr(t: TypeExpr, bindings: Bindings, ctx: Ctx): string {
    if (t.kind === "fnType") return "fn";
    if (t.kind === "listType") return `[${this.formatTypeExpr(t.element, bindings, ctx)}]`;
    const head = t.path.map((p) => p.name).join(".");
    if (t.dims === null) return head;
    const file = this.program.sources.get(t.span.file);
    const dims = t.dims.flatMap((d) => {
      if (d.kind === "dimRest") {
        // a rest pattern bound by an earlier argument is shown expanded
        const b = d.name ? bindings.get(d.name.name) : undefined;
        return Array.isArray(b)
          ? (b as readonly Dim[]).map(Dims.format)
          : [`...${d.name?.name ?? ""}`];
      }
      const e = d.expr;
      if (e.kind === "number") return e.text;
      if (e.kind === "name") {
        const known = this.lookupQuiet(e.name, ctx);
        if (known?.kind === "int") return Dims.format(known.dim);
        const b = bindings.get(e.name);
        if (b !== undefined && !Array.isArray(b)) return Dims.format(b as Dim);
        return e.name;
      }
      return file ? file.text.slice(e.span.start, e.span.end) : "?";
    });
    return `${head}[${dims.join(", ")}]`;
  }

  // ---------------------------------------------------------------- models

  private instantiate(
    decl: ModelDecl,
    module: ModuleInfo,
    args: CallArgs,
    path: string,
    span: Span,
    ctx: Ctx,
  ): ModelInstance | null {
    const what = `model \`${decl.name.name}\``;
    if (ctx.depth >= MAX_DEPTH) {
      this.error(
        "E0406",
        `models nest more than ${MAX_DEPTH} deep (does \`${decl.name.name}\` contain itself?)`,
        span,
        ctx,
      );
      return null;
    }
    const claimed = this.claimedPaths.get(path);
    if (claimed && path !== "") {
      this.error(
        "E0504",
        `two sub-models would both own the parameters under \`${path}\``,
        span,
        ctx,
        [
          { message: "the other one", span: claimed },
          {
            message:
              "a field's parameters are named by its path; instantiate each model in a field of its own, or as an element of a list",
          },
        ],
      );
      return null;
    }
    this.claimedPaths.set(path, span);
    const bound = this.bindParams(decl.hyperparams, args, what, span, ctx, decl.name.span);
    if (!bound) return null;
    const hyper = new Map<string, Value>();
    const env = new Env(null);
    const trail: readonly Note[] =
      path === ""
        ? ctx.trail
        : [{ message: `in the instantiation of ${what} here`, span }, ...ctx.trail];
    const inner: Ctx = {
      env,
      module,
      self: null,
      trail,
      field: null,
      init: false,
      depth: ctx.depth + 1,
    };
    let failed = false;
    for (const h of decl.hyperparams) {
      const b = bound.get(h.name.name)!;
      let v = b.value ?? this.evalExpr(h.default!, { ...inner, env: env.child() });
      if (h.type && v.kind !== "error")
        v = this.matchType(h.type, v, new Map(), inner, {
          say: (want, got) =>
            `${what} expects hyperparameter \`${h.name.name}\` to be ${want}, found ${got}`,
          span: b.span,
          mode: "hyper",
          callerCtx: ctx,
          declSpan: h.span,
        });
      if (v.kind === "tensor") {
        v = this.error(
          "E0505",
          `hyperparameter \`${h.name.name}\` of ${what} must be known at compile time, found a run-time tensor ${formatType(v.expr.type)}`,
          b.span,
          ctx,
          [
            {
              message:
                "hyperparameters are fixed when the model is built; pass tensors to its functions instead, or make this one a `param`",
            },
          ],
        );
      }
      if (v.kind === "error") failed = true;
      hyper.set(h.name.name, v);
      env.define(h.name.name, v);
    }
    if (failed) return null;
    const key = `${module.name}.${decl.name.name}(${[...hyper.values()].map(valueKey).join(",")})@${path}`;
    const inst: ModelInstance = { decl, module, path, hyper, members: new Map(), key };
    const self: Ctx = { ...inner, env: new Env(null), self: inst };
    for (const item of decl.items) {
      const child = path ? `${path}.${item.name.name}` : item.name.name;
      switch (item.kind) {
        case "param": {
          const p = this.declareParam(item.name.name, item.type, item.init, child, item.span, self);
          inst.members.set(item.name.name, p);
          break;
        }
        case "field":
          inst.members.set(item.name.name, this.evalExpr(item.value, { ...self, field: child }));
          break;
        case "const":
          // not memoized: the value depends on this instance's hyperparameters
          inst.members.set(item.name.name, this.evalConst(item, self));
          break;
        case "fn":
          break;
        default:
          assertNever(item, "model item");
      }
    }
    return inst;
  }

  private declareParam(
    name: string,
    type: TypeExpr,
    initExpr: Expr,
    path: string,
    span: Span,
    ctx: Ctx,
  ): Value {
    if (type.kind !== "namedType" || type.path.length !== 1 || !isDType(type.path[0]!.name)) {
      return this.error(
        "E0502",
        `parameter \`${name}\` must have a tensor type such as \`f32[3, 4]\``,
        type.span,
        ctx,
      );
    }
    const dtype = type.path[0]!.name as DType;
    if (dtype !== "f32")
      return this.error(
        "E0502",
        `parameter \`${name}\` must be f32 (trainable), found ${dtype}`,
        type.span,
        ctx,
      );
    const shape: number[] = [];
    for (const d of type.dims ?? []) {
      if (d.kind === "dimRest")
        return this.error(
          "E0502",
          `parameter \`${name}\` needs a fixed shape; \`...\` is not allowed`,
          d.span,
          ctx,
        );
      const e = d.expr;
      if (
        e.kind === "name" &&
        !this.lookupQuiet(e.name, ctx) &&
        !ctx.self?.decl.items.some((i) => i.name.name === e.name)
      ) {
        // a size symbol such as `B` is bound per call of a function, never for a parameter
        return this.error(
          "E0502",
          `parameter \`${name}\` needs a shape known at compile time, but \`${e.name}\` is not a hyperparameter or constant`,
          e.span,
          ctx,
          [
            {
              message: `a size symbol such as \`${e.name}\` is bound by each call of a function; a parameter's shape uses numbers, constants and hyperparameters, as in \`model M(n: int) { param w: f32[n, 3] = zeros }\``,
            },
          ],
        );
      }
      const v = this.evalExpr(e, ctx);
      const dim = this.expectDim(v, d.expr.span, ctx);
      if (dim === null) return ERROR;
      if (!Dims.isConst(dim))
        return this.error(
          "E0502",
          `parameter \`${name}\` needs a shape known at compile time, but a dimension is the run-time size ${Dims.format(dim)}`,
          d.expr.span,
          ctx,
        );
      shape.push(dim);
    }
    if (this.tooLarge({ dtype, shape }, type.span, ctx)) return ERROR;
    const init = this.initializer(initExpr, shape, ctx);
    if (!init) return ERROR;
    const info: ParamInfo = { path, type: { dtype, shape }, init, span };
    this.params.push(info);
    return { kind: "tensor", expr: { kind: "param", path, type: info.type, span } };
  }

  private initializerValue(name: string): Value {
    switch (name) {
      case "zeros":
      case "ones":
      case "glorot":
      case "glorot_normal":
      case "he":
      case "he_uniform":
      case "lecun":
        return { kind: "init", init: { kind: name } };
      default:
        return { kind: "builtin", name: `init.${name}` };
    }
  }

  initializer(e: Expr, shape: readonly number[], ctx: Ctx): Initializer | null {
    const ictx: Ctx = { ...ctx, init: true };
    // `normal(0.1)`, `uniform(-1, 1)`, `constant(0.5)`
    if (
      e.kind === "call" &&
      e.callee.kind === "name" &&
      ["normal", "uniform", "constant"].includes(e.callee.name) &&
      !ctx.module.scope.has(e.callee.name)
    ) {
      const args = this.evalArgs(e.args, { ...ictx, field: null });
      const spec =
        e.callee.name === "normal"
          ? ["std", "mean"]
          : e.callee.name === "uniform"
            ? ["low", "high"]
            : ["value"];
      const params: Param[] = spec.map((n, i) => ({
        name: { name: n, span: e.span },
        type: null,
        default:
          i > 0 && e.callee.kind === "name" && e.callee.name === "normal"
            ? ({ kind: "number", value: 0, isInt: false, text: "0.0", span: e.span } as Expr)
            : null,
        span: e.span,
      }));
      const bound = this.bindParams(params, args, `initializer \`${e.callee.name}\``, e.span, ctx);
      if (!bound) return null;
      const nums: number[] = [];
      for (const n of spec) {
        const b = bound.get(n)!;
        const v = b.value ?? float(0);
        if (v.kind === "error") return null;
        if (v.kind === "int" && Dims.isConst(v.dim)) nums.push(v.dim);
        else if (v.kind === "float") nums.push(v.value);
        else {
          this.error(
            "E0301",
            `initializer argument \`${n}\` must be a number known at compile time, found ${describeValue(v)}`,
            b.span,
            ctx,
          );
          return null;
        }
      }
      if (e.callee.name === "normal") return { kind: "normal", std: nums[0]!, mean: nums[1]! };
      if (e.callee.name === "uniform") return { kind: "uniform", low: nums[0]!, high: nums[1]! };
      return { kind: "constant", value: nums[0]! };
    }
    const v = this.evalExpr(e, ictx);
    if (v.kind === "error") return null;
    if (v.kind === "init") return v.init;
    if (v.kind === "int" && Dims.isConst(v.dim)) return { kind: "constant", value: v.dim };
    if (v.kind === "float") return { kind: "constant", value: v.value };
    if (v.kind === "list") {
      const t = this.toTensor(v, e.span, ctx, "f32");
      if (!t) return null;
      if (
        t.kind !== "literal" ||
        t.type.shape.length !== shape.length ||
        !t.type.shape.every((d, i) => d === shape[i])
      ) {
        this.error(
          "E0301",
          `the initial value has shape ${formatType(t.type)}, but the parameter is f32[${shape.join(", ")}]`,
          e.span,
          ctx,
        );
        return null;
      }
      return { kind: "literal", data: t.data };
    }
    this.error(
      "E0301",
      `expected an initializer (zeros, ones, constant(v), normal(std), uniform(a, b), glorot, glorot_normal, he, he_uniform, lecun, a number or a literal), found ${describeValue(v)}`,
      e.span,
      ctx,
    );
    return null;
  }
}

/** A function callable from the generated module: all parameters are typed tensors of fixed rank. */
export function isEntry(decl: FnDecl): boolean {
  return decl.params.every(
    (p) =>
      p.type !== null &&
      p.type.kind === "namedType" &&
      p.type.path.length === 1 &&
      isDType(p.type.path[0]!.name) &&
      (p.type.dims ?? []).every((d) => d.kind === "dimExpr"),
  );
}

/** "did you mean `x`?" when a name is close; otherwise the list of names when it is short. */
export function candidatesNote(name: string, names: readonly string[], intro: string): Note[] {
  const hint = suggest(name, names);
  if (hint) return [{ message: `did you mean \`${hint}\`?` }];
  if (names.length === 0 || names.length > 12) return [];
  return [{ message: `${intro}: ${names.map((n) => `\`${n}\``).join(", ")}` }];
}

/** Whether a statement contains a `return` (or a block with a final value), in any branch. */
function mayReturn(s: Stmt): boolean {
  const block = (b: Block): boolean => b.result !== null || b.stmts.some(mayReturn);
  switch (s.kind) {
    case "return":
      return true;
    case "for":
      return block(s.body);
    case "if":
      return (
        block(s.then) ||
        (s.else !== null && (s.else.kind === "block" ? block(s.else) : mayReturn(s.else)))
      );
    case "let":
    case "assign":
      return false;
    default:
      return assertNever(s, "statement");
  }
}

/** Call-site notes with runs of the same site (recursion) folded into one note with a count. */
function compressTrail(trail: readonly Note[]): Note[] {
  const out: Note[] = [];
  let i = 0;
  while (i < trail.length) {
    const note = trail[i]!;
    let j = i + 1;
    const same = (n: Note): boolean =>
      n.message === note.message &&
      n.span?.file === note.span?.file &&
      n.span?.start === note.span?.start &&
      n.span?.end === note.span?.end;
    while (j < trail.length && same(trail[j]!)) j++;
    out.push(j - i > 1 ? { ...note, message: `${note.message} (${j - i} times, nested)` } : note);
    i = j;
  }
  return out;
}

function bodySpan(decl: FnDecl): Span {
  if (decl.body.kind === "block") return decl.body.result?.span ?? decl.body.span;
  return decl.body.span;
}

/** Whether a type has a dimension that is an expression other than a bare name (`f32[2 * N]`). */
function hasCompoundDim(t: TypeExpr | null): boolean {
  if (!t) return false;
  if (t.kind === "listType") return hasCompoundDim(t.element);
  if (t.kind !== "namedType") return false;
  return (t.dims ?? []).some(
    (d) => d.kind === "dimExpr" && d.expr.kind !== "name" && d.expr.kind !== "number",
  );
}

/** Values that `call` accepts (an `init` reports its own message). */
function isCallable(v: Value): boolean {
  return (
    v.kind === "fn" ||
    v.kind === "builtin" ||
    v.kind === "modelDecl" ||
    v.kind === "model" ||
    v.kind === "init" ||
    v.kind === "error"
  );
}

function isTensorish(v: Value): boolean {
  return v.kind === "list";
}

function compareNumbers(op: string, a: number, b: number): Value | null {
  switch (op) {
    case "<":
      return bool(a < b);
    case "<=":
      return bool(a <= b);
    case ">":
      return bool(a > b);
    case ">=":
      return bool(a >= b);
    case "==":
      return bool(a === b);
    case "!=":
      return bool(a !== b);
  }
  return null;
}

const BINARY_FN = {
  "+": "add",
  "-": "sub",
  "*": "mul",
  "/": "div",
  "%": "mod",
  "^": "pow",
  "==": "eq",
  "!=": "ne",
  "<": "lt",
  "<=": "le",
  ">": "gt",
  ">=": "ge",
  "&&": "and",
  "||": "or",
  max: "max",
  min: "min",
  "@": "add",
} as const;
