/**
 * `train Model.loss with optimizer(...) { options }`: elaborates the training
 * step of a model. The step is an ordinary typed function of the loss's
 * inputs: it computes the loss, its gradient with respect to every trainable
 * parameter (`grad` prims, expanded later by the autodiff stage), and applies
 * the optimizer's `update` (nnc code) to each parameter, with per-parameter
 * state tensors and a step counter as module state. Options choose the number
 * of steps, the learning-rate schedule (an expression of the step `t`), the
 * data of each loss input, and the evaluation against a known solution.
 */
import type { Expr, FnDecl, NamedArg, OptimizerDecl, TrainDecl } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { Dims } from "../core/dim.js";
import type { DataSpec } from "../../runtime/train/data.js";
import { assertNever } from "../diagnostics/diagnostic.js";
import type { CallArgs } from "./args.js";
import type { Elaborator } from "./elaborate.js";
import { Env, type Ctx } from "./env.js";
import type { ModuleInfo } from "./resolve.js";
import { suggest } from "./suggest.js";
import {
  describeValue,
  formatType,
  type CheckedFunction,
  type CheckedModel,
  type CheckedTrain,
  type ParamInfo,
  type TrainCall,
  type TExpr,
  type TInput,
  type TParam,
  type Value,
} from "./types.js";

/** Train options with a fixed meaning; every other option names an input of the loss. */
const OPTIONS = [
  "steps",
  "lr",
  "seed",
  "batch",
  "keep_best",
  "log_every",
  "predict",
  "exact",
  "test",
  "accuracy",
  "evaluate",
  "eval_every",
  "eval_batch",
  "show",
] as const;

/** Data sources usable as train options (`x = uniform(64, [-1.0], [1.0])`). */
export const DATA_SOURCES = [
  "uniform",
  "lhs",
  "boundary",
  "grid",
  "randint",
  "random_seed",
  "spiral_points",
  "spiral_labels",
  "mnist_images",
  "mnist_labels",
  "csv",
  "json",
  "npy",
] as const;

/** Rows per evaluation call when `eval_batch` is not given. */
const EVAL_BATCH = 1000;

/** The name of the step counter in the module's state. */
const STEP_COUNTER = "train.step";

type OptimizerValue = { decl: OptimizerDecl; module: ModuleInfo; env: Env; display: string };

export class TrainChecker {
  constructor(private readonly el: Elaborator) {}

  /** Adds `step` (and `exact`) to the model; returns the model with its training config, or null after errors. */
  check(decl: TrainDecl, model: CheckedModel, module: ModuleInfo): CheckedModel | null {
    const el = this.el;
    const ctx: Ctx = el.rootCtx(module, model.instance);
    const lossName = decl.target[1]!.name;
    const loss = model.functions.find((f) => f.name === lossName && f.flavor === "loss");
    if (!loss) {
      el.error(
        "E0508",
        `\`${model.name}.${lossName}\` cannot be trained: its parameters need tensor types with a known rank, like \`x: f32[N, 1]\``,
        decl.target[1]!.span,
        ctx,
      );
      return null;
    }
    for (const reserved of ["step", "exact"]) {
      const clash = model.decl.items.find((i) => i.name.name === reserved);
      if (clash) {
        el.error(
          "E0507",
          `model \`${model.name}\` has a \`train\` declaration, so its member \`${reserved}\` would clash with the generated \`${reserved}\` function; rename the member`,
          clash.name.span,
          ctx,
        );
        return null;
      }
    }
    const opt = this.optimizer(decl.optimizer, ctx);
    if (!opt) return null;
    const options = new Map<string, NamedArg>();
    for (const o of decl.options) {
      if (options.has(o.name.name)) {
        el.error("E0512", `option \`${o.name.name}\` is given twice`, o.name.span, ctx);
        return null;
      }
      options.set(o.name.name, o);
    }
    const inputNames = loss.inputs.map((i) => i.name);
    const clash = loss.inputs.find((i) => (OPTIONS as readonly string[]).includes(i.name));
    if (clash) {
      el.error(
        "E0512",
        `input \`${clash.name}\` of \`${model.name}.${lossName}\` has the name of the train option \`${clash.name}\`, so \`${clash.name} = ...\` could not give its data; rename the input`,
        options.get(clash.name)?.name.span ?? clash.span,
        ctx,
        [{ message: `the input is declared here`, span: clash.span }],
      );
      return null;
    }
    for (const [name, o] of options) {
      if ((OPTIONS as readonly string[]).includes(name) || inputNames.includes(name)) continue;
      const hint = suggest(name, [...OPTIONS, ...inputNames]);
      el.error(
        "E0512",
        `\`${name}\` is neither a train option nor an input of \`${model.name}.${lossName}\``,
        o.name.span,
        ctx,
        [
          ...(hint ? [{ message: `did you mean \`${hint}\`?` }] : []),
          {
            message: `options: ${OPTIONS.join(", ")}; inputs of the loss: ${inputNames.join(", ")}`,
          },
        ],
      );
      return null;
    }

    // the step counter: t is 1 at the first step
    const counter: TParam = {
      kind: "param",
      path: STEP_COUNTER,
      type: { dtype: "f32", shape: [] },
      span: decl.span,
    };
    const t: TExpr = {
      kind: "prim",
      prim: { op: "binary", fn: "add" },
      args: [counter, el.literal([1], "f32", [], decl.span)],
      type: counter.type,
      span: decl.span,
    };
    const lr = this.learningRate(options.get("lr"), opt, t, ctx, decl.span);
    if (!lr) return null;

    const update = opt.decl.items.find(
      (i): i is FnDecl => i.kind === "fn" && i.name.name === "update",
    );
    if (!update || update.params.length !== 4) {
      el.error(
        "E0509",
        `optimizer \`${opt.decl.name.name}\` needs \`fn update(p, g, t, lr)\`: the parameter, its gradient, the step number and the learning rate`,
        (update ?? opt.decl).name.span,
        ctx,
      );
      return null;
    }
    const l = loss.outputs[0]!;
    const states = opt.decl.items.filter((i) => i.kind === "state");
    const params: ParamInfo[] = [...model.params];
    const updates: { path: string; expr: TExpr }[] = [];
    let failed = false;
    for (const p of model.params) {
      if (p.kind === "state") continue;
      const pe: TParam = { kind: "param", path: p.path, type: p.type, span: p.span };
      const g: TExpr = {
        kind: "prim",
        prim: { op: "grad" },
        args: [l, pe],
        type: p.type,
        span: decl.span,
      };
      const env = opt.env.child();
      const statePaths: { name: string; path: string }[] = [];
      for (const s of states) {
        const path = `train.${s.name.name}.${p.path}`;
        const init = el.initializer(s.init, p.type.shape as number[], {
          ...ctx,
          module: opt.module,
          self: null,
          env: opt.env,
        });
        if (!init) return null;
        params.push({ path, kind: "state", type: p.type, init, span: s.span });
        env.define(
          s.name.name,
          { kind: "tensor", expr: { kind: "param", path, type: p.type, span: s.span } },
          true,
        );
        statePaths.push({ name: s.name.name, path });
      }
      const args: CallArgs = {
        positional: [pe, g, t, lr].map((e) => ({
          value: { kind: "tensor", expr: e } as Value,
          span: decl.span,
        })),
        named: new Map(),
      };
      const trail = [
        {
          message: `in the update of parameter \`${p.path}\` by optimizer \`${opt.decl.name.name}\``,
          span: decl.optimizer.span,
        },
      ];
      const out = el.callFn(
        { kind: "fn", decl: update, module: opt.module, self: null },
        args,
        decl.optimizer.span,
        { ...ctx, trail },
        env,
      );
      const next = this.sameType(out, p, `the update of \`${p.path}\``, decl.optimizer.span, ctx);
      if (!next) {
        failed = true;
        continue;
      }
      updates.push({ path: p.path, expr: next });
      for (const s of statePaths) {
        const v = env.lookup(s.name) ?? { kind: "error" };
        const e = this.sameType(
          v,
          p,
          `state \`${s.name}\` of \`${p.path}\``,
          decl.optimizer.span,
          ctx,
        );
        if (!e) failed = true;
        else updates.push({ path: s.path, expr: e });
      }
    }
    if (failed) return null;
    params.push({
      path: STEP_COUNTER,
      kind: "state",
      type: counter.type,
      init: { kind: "zeros" },
      span: decl.span,
    });
    updates.push({ path: STEP_COUNTER, expr: t });
    const step: CheckedFunction = {
      name: "step",
      qualifiedName: `${model.name}.step`,
      flavor: "loss",
      inputs: loss.inputs,
      symbols: loss.symbols,
      outputs: [l],
      updates,
      span: decl.span,
    };

    const entries: [string, DataSpec][] = [];
    for (const input of loss.inputs) {
      const o = options.get(input.name);
      if (!o) {
        el.error(
          "E0513",
          `\`train\` has no data for input \`${input.name}\` of \`${model.name}.${lossName}\` (${formatType(input.type)})`,
          decl.span,
          ctx,
          [
            {
              message: `add \`${input.name} = ...\`: a sampler such as uniform(n, low, high), a data file such as npy("file.npy"), or a tensor literal`,
            },
          ],
        );
        return null;
      }
      const spec = this.dataSpec(o.value, input, ctx);
      if (!spec) return null;
      entries.push([input.name, spec]);
    }
    // fromEntries: an input named `__proto__` stays a property
    const data: Record<string, DataSpec> = Object.fromEntries(entries);

    const int = (name: string, dflt: number | null, min: number): number | null | undefined => {
      const o = options.get(name);
      if (!o) return dflt;
      const n = el.constInt(el.evalExpr(o.value, ctx), o.value.span, ctx, `\`${name}\``);
      if (n === null) return undefined;
      if (n < min) {
        el.error("E0512", `\`${name}\` must be at least ${min}, found ${n}`, o.value.span, ctx);
        return undefined;
      }
      return n;
    };
    // `batch = all` (and `eval_batch = all`): no minibatches, every row at every step
    const rows = (name: string, dflt: number | null): number | null | undefined => {
      const o = options.get(name);
      if (!o) return dflt;
      if (isAll(o.value, ctx)) return null;
      const n = el.constInt(el.evalExpr(o.value, ctx), o.value.span, ctx, `\`${name}\``);
      if (n === null) return undefined;
      if (n < 1) {
        el.error(
          "E0512",
          `\`${name}\` must be a positive number of rows, found ${n}`,
          o.value.span,
          ctx,
          [{ message: `to use every row in one piece, write \`${name} = all\`` }],
        );
        return undefined;
      }
      return n;
    };
    const steps = int("steps", 1000, 1);
    const seed = int("seed", 0, -2147483648);
    const batch = rows("batch", null);
    const logEvery = int("log_every", null, 1);
    const evalEvery = int("eval_every", null, 1);
    const evalBatch = rows("eval_batch", EVAL_BATCH);
    if (
      steps === undefined ||
      seed === undefined ||
      batch === undefined ||
      logEvery === undefined ||
      evalEvery === undefined ||
      evalBatch === undefined
    )
      return null;
    let keepBest = true;
    const kb = options.get("keep_best");
    if (kb) {
      const v = el.evalExpr(kb.value, ctx);
      if (v.kind !== "bool") {
        el.error(
          "E0512",
          `\`keep_best\` must be true or false, found ${describeValue(v)}`,
          kb.value.span,
          ctx,
        );
        return null;
      }
      keepBest = v.value;
    }

    const functions = [...model.functions, step];
    let predict: string | null = null;
    let hasExact = false;
    let test: DataSpec | null = null;
    const po = options.get("predict");
    if (po) {
      const f = this.modelFunction(po, model, ctx);
      if (!f) return null;
      predict = f.name;
      const eo = options.get("exact");
      if (eo) {
        const exact = this.exact(eo, f, ctx);
        if (!exact) return null;
        functions.push(exact);
        hasExact = true;
      }
      const to = options.get("test");
      if (to) {
        const spec = this.dataSpec(to.value, f.inputs[0]!, ctx);
        if (!spec) return null;
        test = spec;
      }
    } else {
      for (const name of ["exact", "test"]) {
        const o = options.get(name);
        if (o) {
          el.error(
            "E0512",
            `\`${name}\` needs \`predict\`: the model function the solution is compared with`,
            o.name.span,
            ctx,
          );
          return null;
        }
      }
    }
    let accuracy: CheckedTrain["accuracy"] = null;
    const ao = options.get("accuracy");
    if (ao) {
      const f = this.modelFunction(ao, model, ctx);
      if (!f) return null;
      // labels: the i32[B] inputs of the loss that the classifier does not read (not a seed, not tokens)
      const labels = loss.inputs.filter(
        (i) =>
          i.type.dtype === "i32" &&
          i.type.shape.length === 1 &&
          !f.inputs.some((j) => j.name === i.name),
      );
      const missing = f.inputs.find((i) => !loss.inputs.some((j) => j.name === i.name));
      if (labels.length !== 1 || missing || f.outputs[0]!.type.shape.length !== 2) {
        el.error(
          "E0512",
          `\`accuracy = ${f.name}\` needs a loss with one i32[B] label input that the classifier does not take, and a classifier whose inputs are inputs of the loss and whose output is [B, C]`,
          ao.value.span,
          ctx,
        );
        return null;
      }
      accuracy = { fn: f.name, labels: labels[0]!.name };
    }
    const eo = options.get("evaluate");
    const evaluate = eo ? this.calls(eo, model, ctx) : [];
    if (evaluate === null) return null;
    for (const name of ["eval_every", "eval_batch"]) {
      const o = options.get(name);
      if (o && !eo) {
        el.error(
          "E0512",
          `\`${name}\` needs \`evaluate\`: the model functions to evaluate, like \`evaluate = test_accuracy(x = mnist_images("test"), y = mnist_labels("test"))\``,
          o.name.span,
          ctx,
        );
        return null;
      }
    }
    const so = options.get("show");
    const show = so ? this.calls(so, model, ctx) : [];
    if (show === null) return null;

    const train: CheckedTrain = {
      loss: lossName,
      optimizer: opt.display,
      steps: steps!,
      seed: seed!,
      batch,
      keepBest,
      logEvery,
      data,
      predict,
      exact: hasExact,
      test,
      accuracy,
      evaluate,
      evalEvery,
      evalBatch,
      show,
    };
    return { ...model, params, functions, train };
  }

  /** Evaluates `adam(lr = 1e-3)` or `adam` to an optimizer with its hyperparameters bound. */
  private optimizer(e: Expr, ctx: Ctx): OptimizerValue | null {
    const el = this.el;
    const callee = e.kind === "call" ? e.callee : e;
    const v = el.evalExpr(callee, ctx);
    if (v.kind === "error") return null;
    if (v.kind !== "optimizer") {
      el.error(
        "E0509",
        `\`train ... with\` needs an optimizer, found ${describeValue(v)}`,
        callee.span,
        ctx,
        [{ message: "the standard ones are in std.optim: sgd, momentum, adam, adamw" }],
      );
      return null;
    }
    const args =
      e.kind === "call" ? el.evalArgs(e.args, ctx) : { positional: [], named: new Map() };
    const what = `optimizer \`${v.decl.name.name}\``;
    const bound = el.bindParams(v.decl.hyperparams, args, what, e.span, ctx, v.decl.name.span);
    if (!bound) return null;
    const env = new Env(null);
    const octx: Ctx = { ...ctx, env, module: v.module, self: null };
    const shown: string[] = [];
    for (const h of v.decl.hyperparams) {
      const b = bound.get(h.name.name)!;
      let hv = b.value ?? el.evalExpr(h.default!, { ...octx, env: env.child() });
      if (h.type && hv.kind !== "error") {
        hv = el.matchType(h.type, hv, new Map(), octx, {
          say: (want, got) => `${what} expects \`${h.name.name}\` to be ${want}, found ${got}`,
          span: b.span,
          mode: "hyper",
          callerCtx: ctx,
          declSpan: h.span,
        });
      }
      if (hv.kind === "error") return null;
      if (hv.kind === "tensor") {
        el.error(
          "E0505",
          `hyperparameter \`${h.name.name}\` of ${what} must be known at compile time`,
          b.span,
          ctx,
        );
        return null;
      }
      env.define(h.name.name, hv);
      if (b.value) shown.push(`${h.name.name} = ${valueText(hv)}`);
    }
    for (const item of v.decl.items) {
      if (item.kind === "const") env.define(item.name.name, el.constValue(item, octx));
    }
    return {
      decl: v.decl,
      module: v.module,
      env,
      display: `${v.decl.name.name}(${shown.join(", ")})`,
    };
  }

  /** The `lr` option (an expression of the step `t`), or the optimizer's `lr` hyperparameter. */
  private learningRate(
    o: NamedArg | undefined,
    opt: OptimizerValue,
    t: TExpr,
    ctx: Ctx,
    span: Span,
  ): TExpr | null {
    const el = this.el;
    if (!o) {
      const base = opt.env.lookup("lr");
      if (!base) {
        el.error(
          "E0509",
          `optimizer \`${opt.decl.name.name}\` has no \`lr\` hyperparameter; give the learning rate with the option \`lr = ...\``,
          span,
          ctx,
        );
        return null;
      }
      return el.toTensor(base, span, ctx, "f32");
    }
    const env = ctx.env.child();
    env.define("t", { kind: "tensor", expr: t });
    const v = el.evalExpr(o.value, { ...ctx, env });
    const r = el.toTensor(v, o.value.span, ctx, "f32");
    if (!r) return null;
    if (r.type.dtype !== "f32" || r.type.shape.length !== 0) {
      el.error(
        "E0512",
        `\`lr\` must be an f32 scalar (an expression of the step \`t\`), found ${formatType(r.type)}`,
        o.value.span,
        ctx,
      );
      return null;
    }
    return r;
  }

  /** A value of the parameter's exact type, or null after reporting. */
  private sameType(v: Value, p: ParamInfo, what: string, span: Span, ctx: Ctx): TExpr | null {
    const el = this.el;
    if (v.kind === "error") return null;
    const e = el.toTensor(v, span, ctx, "f32");
    if (!e) return null;
    const ok =
      e.type.dtype === "f32" &&
      e.type.shape.length === p.type.shape.length &&
      e.type.shape.every((d, i) => Dims.equal(d, p.type.shape[i]!));
    if (ok) return e;
    if (e.type.dtype === "f32" && e.type.shape.length === 0) {
      // a scalar update (a constant step, say) is broadcast over the parameter
      return { kind: "prim", prim: { op: "broadcast" }, args: [e], type: p.type, span };
    }
    el.error(
      "E0510",
      `${what} is ${formatType(e.type)}, but the parameter is ${formatType(p.type)}`,
      span,
      ctx,
    );
    return null;
  }

  /** A model function named by an option (`predict = u`). */
  private modelFunction(o: NamedArg, model: CheckedModel, ctx: Ctx): CheckedFunction | null {
    const el = this.el;
    const name = o.value.kind === "name" ? o.value.name : null;
    const f = name ? model.functions.find((g) => g.name === name) : undefined;
    if (!f) {
      el.error(
        "E0512",
        `\`${o.name.name}\` must name a function of model \`${model.name}\` with tensor-typed parameters`,
        o.value.span,
        ctx,
        functionHint(name, model),
      );
      return null;
    }
    if (o.name.name === "predict" && f.inputs.length !== 1) {
      el.error(
        "E0512",
        `\`predict = ${f.name}\` needs a function of one input (the points), but \`${f.name}\` has ${f.inputs.length}`,
        o.value.span,
        ctx,
      );
      return null;
    }
    return f;
  }

  /** The known solution, elaborated on the prediction's inputs and checked against its output type. */
  private exact(o: NamedArg, predict: CheckedFunction, ctx: Ctx): CheckedFunction | null {
    const el = this.el;
    const fn = el.evalExpr(o.value, ctx);
    if (fn.kind === "error") return null;
    if (fn.kind !== "fn" && fn.kind !== "builtin") {
      el.error(
        "E0512",
        `\`exact\` must be a function of the prediction's input, found ${describeValue(fn)}`,
        o.value.span,
        ctx,
      );
      return null;
    }
    const x: TInput = predict.inputs[0]!;
    const args: CallArgs = {
      positional: [{ value: { kind: "tensor", expr: x }, span: o.value.span }],
      named: new Map(),
    };
    const v = el.call(fn, args, o.value.span, ctx);
    if (v.kind === "error") return null;
    const out = el.toTensor(v, o.value.span, ctx, "f32");
    if (!out) return null;
    const want = predict.outputs[0]!.type;
    if (
      out.type.dtype !== want.dtype ||
      out.type.shape.length !== want.shape.length ||
      !out.type.shape.every((d, i) => Dims.equal(d, want.shape[i]!))
    ) {
      el.error(
        "E0510",
        `\`exact\` returns ${formatType(out.type)} but \`${predict.name}\` returns ${formatType(want)}`,
        o.value.span,
        ctx,
      );
      return null;
    }
    return {
      name: "exact",
      qualifiedName: `${predict.qualifiedName.split(".")[0]}.exact`,
      flavor: "fn",
      inputs: predict.inputs,
      symbols: predict.symbols,
      outputs: [out],
      span: o.span,
    };
  }

  /**
   * `evaluate = f(x = source, ...)` or `show = [f(...), g(...)]`: model
   * functions with a data source for each input (by name or position).
   * `evaluate` needs functions returning an f32 scalar.
   */
  private calls(o: NamedArg, model: CheckedModel, ctx: Ctx): TrainCall[] | null {
    const el = this.el;
    const option = o.name.name;
    const example =
      option === "evaluate"
        ? 'evaluate = test_accuracy(x = mnist_images("test"), y = mnist_labels("test"))'
        : 'show = saliency(x = mnist_images("test", 8))';
    const items = o.value.kind === "list" ? o.value.elements : [o.value];
    if (items.length === 0) {
      el.error("E0512", `\`${option}\` names no function`, o.value.span, ctx, [
        { message: `for example \`${example}\`` },
      ]);
      return null;
    }
    const out: TrainCall[] = [];
    const seen = new Map<string, Span>();
    for (const item of items) {
      const callee = item.kind === "call" ? item.callee : item;
      const args = item.kind === "call" ? item.args : [];
      const name = callee.kind === "name" ? callee.name : null;
      const f = name !== null ? model.functions.find((g) => g.name === name) : undefined;
      if (!f) {
        el.error(
          "E0512",
          name === null
            ? `\`${option}\` must call a function of model \`${model.name}\` with a data source for each input`
            : `\`${option}\` must name a function of model \`${model.name}\` with tensor-typed parameters, and \`${name}\` is not one`,
          callee.span,
          ctx,
          [...functionHint(name, model), { message: `for example \`${example}\`` }],
        );
        return null;
      }
      const first = seen.get(f.name);
      if (first) {
        el.error(
          "E0512",
          `\`${option}\` names \`${f.name}\` twice; its results are reported by name, so give the second use a function of its own`,
          callee.span,
          ctx,
          [{ message: "first named here", span: first }],
        );
        return null;
      }
      seen.set(f.name, callee.span);
      const out0 = f.outputs[0]!.type;
      if (option === "evaluate" && (out0.dtype !== "f32" || out0.shape.length !== 0)) {
        el.error(
          "E0512",
          `\`evaluate\` needs a function returning an f32 scalar (a mean over its inputs' rows, like an accuracy), but \`${f.name}\` returns ${formatType(out0)}`,
          callee.span,
          ctx,
        );
        return null;
      }
      const given = new Map<string, Expr>();
      for (const [k, a] of args.entries()) {
        let input: TInput | undefined;
        if (a.name) {
          input = f.inputs.find((i) => i.name === a.name!.name);
          if (!input) {
            const hint = suggest(
              a.name.name,
              f.inputs.map((i) => i.name),
            );
            el.error(
              "E0512",
              `\`${f.name}\` has no input named \`${a.name.name}\``,
              a.name.span,
              ctx,
              [
                ...(hint ? [{ message: `did you mean \`${hint}\`?` }] : []),
                {
                  message: `its inputs: ${f.inputs.map((i) => `${i.name}: ${formatType(i.type)}`).join(", ") || "none"}`,
                },
              ],
            );
            return null;
          }
        } else {
          input = f.inputs[k];
          if (!input || args.slice(0, k).some((b) => b.name)) {
            el.error(
              "E0512",
              input
                ? "positional data sources must come before named ones"
                : `\`${f.name}\` takes ${f.inputs.length} input${f.inputs.length === 1 ? "" : "s"}, but ${args.length} data sources were given`,
              a.span,
              ctx,
            );
            return null;
          }
        }
        if (given.has(input.name)) {
          el.error("E0512", `input \`${input.name}\` is given twice`, a.span, ctx);
          return null;
        }
        given.set(input.name, a.value);
      }
      const entries: [string, DataSpec][] = [];
      for (const input of f.inputs) {
        const e = given.get(input.name);
        if (!e) {
          el.error(
            "E0513",
            `\`${option} = ${f.name}(...)\` has no data for input \`${input.name}\` (${formatType(input.type)})`,
            item.span,
            ctx,
            [
              {
                message: `add \`${input.name} = ...\`: a data source such as mnist_images("test"), npy("file.npy") or a tensor literal`,
              },
            ],
          );
          return null;
        }
        const spec = this.dataSpec(e, input, ctx, f.name);
        if (!spec) return null;
        entries.push([input.name, spec]);
      }
      const data: Record<string, DataSpec> = Object.fromEntries(entries);
      out.push({ fn: f.name, data });
    }
    return out;
  }

  /** A data source for one input (of the loss, or of function `owner`): a sampler, a file, spirals, mnist, or a tensor literal. */
  private dataSpec(e: Expr, input: TInput, ctx: Ctx, owner?: string): DataSpec | null {
    const el = this.el;
    const shape = input.type.shape;
    const width = shape.length === 2 && Dims.isConst(shape[1]!) ? (shape[1] as number) : null;
    const fail = (message: string, span: Span = e.span): null => {
      el.error(
        "E0511",
        `data for \`${input.name}\`${owner !== undefined ? ` of \`${owner}\`` : ""} (${formatType(input.type)}): ${message}`,
        span,
        ctx,
      );
      return null;
    };
    if (
      e.kind === "call" &&
      e.callee.kind === "name" &&
      (DATA_SOURCES as readonly string[]).includes(e.callee.name) &&
      !ctx.module.scope.has(e.callee.name)
    ) {
      const source = e.callee.name as (typeof DATA_SOURCES)[number];
      // `mnist_images("train", n = all)` spells out the default: every row
      const given =
        source === "mnist_images" || source === "mnist_labels"
          ? e.args.filter((a, k) => {
              const isN = a.name ? a.name.name === "n" : k === 1;
              return !(isN && isAll(a.value, ctx));
            })
          : e.args;
      const args = el.evalArgs(given, ctx);
      const spec = DATA_PARAMS[source];
      const params = spec.map(([n, dflt]) => ({
        name: { name: n, span: e.span },
        type: null,
        default: dflt === undefined ? null : ({ kind: "bool", value: true, span: e.span } as Expr),
        span: e.span,
      }));
      const bound = el.bindParams(params, args, `data source \`${source}\``, e.span, ctx);
      if (!bound) return null;
      const get = (n: string): { v: Value | null; span: Span } => {
        const b = bound.get(n)!;
        return { v: b.value, span: b.span };
      };
      const num = (n: string, dflt?: number): number | null => {
        const { v, span } = get(n);
        if (v === null) return dflt ?? null;
        if (v.kind === "float") return v.value;
        if (v.kind === "int" && Dims.isConst(v.dim)) return v.dim;
        return fail(`\`${n}\` must be a number, found ${describeValue(v)}`, span);
      };
      const nums = (n: string): number[] | null => {
        const { v, span } = get(n);
        if (v === null || v.kind !== "list")
          return fail(`\`${n}\` must be a list of numbers, one per coordinate`, span);
        const out: number[] = [];
        for (const x of v.items) {
          if (x.kind === "float") out.push(x.value);
          else if (x.kind === "int" && Dims.isConst(x.dim)) out.push(x.dim);
          else
            return fail(
              `\`${n}\` must be a list of numbers, found an element ${describeValue(x)}`,
              span,
            );
        }
        return out;
      };
      const str = (n: string): string | null => {
        const { v, span } = get(n);
        if (v === null) return null;
        if (v.kind !== "string")
          return fail(`\`${n}\` must be a string, found ${describeValue(v)}`, span);
        return v.value;
      };
      const flag = (n: string): boolean | null => {
        const { v, span } = get(n);
        if (v === null) return true;
        if (v.kind !== "bool")
          return fail(`\`${n}\` must be true or false, found ${describeValue(v)}`, span);
        return v.value;
      };
      const count = (n: number | null): number | null =>
        n === null
          ? null
          : Number.isInteger(n) && n >= 1
            ? n
            : fail(`the number of points must be a positive integer, found ${n}`);
      switch (source) {
        case "uniform":
        case "lhs":
        case "boundary":
        case "grid": {
          const n = count(num("n"));
          const low = nums("low");
          const high = nums("high");
          if (n === null || !low || !high) return null;
          if (low.length !== high.length || low.length === 0)
            return fail(
              `\`low\` and \`high\` must have one entry per coordinate (found ${low.length} and ${high.length})`,
            );
          const empty = low.findIndex((a, i) => !(a < high[i]!));
          if (empty >= 0)
            return fail(
              `every \`low\` must be below its \`high\`, but coordinate ${empty} has low ${low[empty]} and high ${high[empty]}`,
            );
          if (
            input.type.dtype !== "f32" ||
            shape.length !== 2 ||
            (width !== null && width !== low.length)
          ) {
            return fail(`a ${source} sampler makes f32[n, ${low.length}] points`);
          }
          if (source === "grid") return { kind: "grid", n, low, high };
          const resample = flag("resample");
          if (resample === null) return null;
          return { kind: source, n, low, high, resample };
        }
        case "randint": {
          const n = count(num("n"));
          const low = num("low");
          const high = num("high");
          if (n === null || low === null || high === null) return null;
          const i32 = (v: number): boolean =>
            Number.isInteger(v) && v >= -2147483648 && v <= 2147483648;
          if (!i32(low) || !i32(high) || !(low < high))
            return fail(
              `\`low\` and \`high\` must be integers with low < high (values in [low, high)), found ${low} and ${high}`,
            );
          const rest = shape.slice(1);
          if (input.type.dtype !== "i32" || shape.length === 0)
            return fail(`randint makes i32[n, ...]: an i32 input with a first dimension of rows`);
          if (!rest.every((d) => Dims.isConst(d)))
            return fail(
              `randint needs the input's dimensions after the first to be known at compile time, to make rows of that shape`,
            );
          if (Dims.isConst(shape[0]!) && shape[0] !== n)
            return fail(`randint(${n}, ...) makes ${n} rows`);
          const resample = flag("resample");
          if (resample === null) return null;
          return { kind: "randint", n, low, high, row: rest as number[], resample };
        }
        case "random_seed":
          if (input.type.dtype !== "i32" || shape.length !== 0)
            return fail("random_seed() makes a scalar i32 (declare the input as `key: i32`)");
          return { kind: "seed" };
        case "mnist_images":
        case "mnist_labels": {
          const split = str("split");
          if (split === null) return null;
          if (split !== "train" && split !== "test")
            return fail(
              `the split must be "train" or "test", found ${JSON.stringify(split)}`,
              get("split").span,
            );
          const n = get("n").v === null ? undefined : count(num("n"));
          if (n === null) return null;
          const images = source === "mnist_images";
          const want = images ? MNIST_IMAGE_SHAPES[shape.length] : shape.length === 1 ? [] : null;
          const fits =
            input.type.dtype === (images ? "f32" : "i32") &&
            want !== undefined &&
            want !== null &&
            want.every((w, k) => !Dims.isConst(shape[k + 1]!) || shape[k + 1] === w);
          if (!fits)
            return fail(
              images
                ? "mnist_images makes f32[n, 1, 28, 28], f32[n, 28, 28] or f32[n, 784]"
                : "mnist_labels makes i32[n]",
            );
          if (n !== undefined && Dims.isConst(shape[0]!) && shape[0] !== n)
            return fail(`${source}(..., ${n}) makes ${n} rows`);
          return {
            kind: "mnist",
            split,
            field: images ? "images" : "labels",
            ...(n !== undefined ? { n } : {}),
          };
        }
        case "spiral_points":
        case "spiral_labels": {
          const n = count(num("n"));
          const classes = count(num("classes"));
          const noise = num("noise", 0.2);
          const seed = num("seed", 0);
          if (n === null || classes === null || noise === null || seed === null) return null;
          const field = source === "spiral_points" ? "points" : "labels";
          const ok =
            field === "points"
              ? input.type.dtype === "f32" && shape.length === 2 && (width === null || width === 2)
              : input.type.dtype === "i32" && shape.length === 1;
          if (!ok) return fail(`${source} makes ${field === "points" ? "f32[n, 2]" : "i32[n]"}`);
          return { kind: "spirals", n, classes, noise, field, seed };
        }
        case "csv":
        case "json":
        case "npy": {
          const path = str("path");
          if (path === null) return fail("the file's path is required");
          const dtype =
            input.type.dtype === "i32" ? "i32" : input.type.dtype === "f32" ? "f32" : null;
          if (!dtype) return fail("data files hold f32 or i32 values");
          const spec: DataSpec = { kind: "file", format: source, path, dtype };
          if (source === "csv") {
            const { v, span } = get("columns");
            if (v !== null) {
              if (
                v.kind !== "list" ||
                !v.items.every((x) => x.kind === "int" && Dims.isConst(x.dim) && x.dim >= 0)
              )
                return fail("`columns` must be a list of column numbers (from 0)", span);
              return { ...spec, columns: v.items.map((x) => (x as { dim: number }).dim) };
            }
          }
          if (source === "json") {
            const field = str("field");
            if (field !== null) return { ...spec, field };
          }
          return spec;
        }
        default:
          return assertNever(source, "data source");
      }
    }
    // a tensor literal or constant: the same data every step
    const v = el.evalExpr(e, ctx);
    if (v.kind === "error") return null;
    const t = el.toTensor(v, e.span, ctx, input.type.dtype);
    if (!t) return null;
    if (t.kind !== "literal")
      return fail(
        `expected a data source (${DATA_SOURCES.join(", ")}) or a tensor literal, found ${describeValue(v)}`,
      );
    if (t.type.dtype !== "f32" && t.type.dtype !== "i32")
      return fail(`data must be f32 or i32, found ${formatType(t.type)}`);
    return {
      kind: "tensor",
      dtype: t.type.dtype,
      shape: t.type.shape as number[],
      data: [...t.data],
    };
  }
}

/** Parameters of the data sources; a second element marks an optional one. */
const DATA_PARAMS: Record<(typeof DATA_SOURCES)[number], readonly (readonly [string, true?])[]> = {
  uniform: [["n"], ["low"], ["high"], ["resample", true]],
  lhs: [["n"], ["low"], ["high"], ["resample", true]],
  boundary: [["n"], ["low"], ["high"], ["resample", true]],
  grid: [["n"], ["low"], ["high"]],
  randint: [["n"], ["low"], ["high"], ["resample", true]],
  random_seed: [],
  mnist_images: [["split"], ["n", true]],
  mnist_labels: [["split"], ["n", true]],
  spiral_points: [["n"], ["classes"], ["noise", true], ["seed", true]],
  spiral_labels: [["n"], ["classes"], ["noise", true], ["seed", true]],
  csv: [["path"], ["columns", true]],
  json: [["path"], ["field", true]],
  npy: [["path"]],
};

/** The dimensions after the first of MNIST images for an input of each rank. */
const MNIST_IMAGE_SHAPES: Readonly<Record<number, readonly number[]>> = {
  2: [784],
  3: [28, 28],
  4: [1, 28, 28],
};

/** Whether an option's value is the word `all` (and `all` names nothing else here). */
function isAll(e: Expr, ctx: Ctx): boolean {
  return (
    e.kind === "name" &&
    e.name === "all" &&
    ctx.env.lookup("all") === undefined &&
    !ctx.module.scope.has("all")
  );
}

function valueText(v: Value): string {
  switch (v.kind) {
    case "int":
      return Dims.format(v.dim);
    case "float":
      return String(v.value);
    case "bool":
      return String(v.value);
    case "string":
      return JSON.stringify(v.value);
    default:
      return describeValue(v);
  }
}

/** A "did you mean" note for a name that is not a function of `model`, when one is close. */
function functionHint(name: string | null, model: CheckedModel): { message: string }[] {
  const hint =
    name === null
      ? undefined
      : suggest(
          name,
          model.functions.map((g) => g.name),
        );
  return hint ? [{ message: `did you mean \`${hint}\`?` }] : [];
}
