/**
 * A type-directed generator of `.nn` programs for the front-end fuzzer.
 *
 * Expressions are generated for a wanted tensor type (element type and shape,
 * with symbolic sizes such as `N`), so most programs are well typed and pass the
 * checker; a program may be given a budget of mistakes, each spent at a random
 * node on something the checker must reject (a wrong shape or element type, a
 * wrong arity, an unknown name, an axis out of range…). Programs cover
 * functions with typed parameters and blocks, models with parameters and
 * stdlib layers, losses, `grad`, `d`, `laplacian`, `stop_gradient`, custom
 * optimizers and `train` declarations.
 */
import type { Rng } from "./rng.js";

type DType = "f32" | "i32" | "bool";
/** A size: a constant or a name (a size symbol, a const or a hyperparameter). */
type Dim = number | string;

interface TType {
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

interface Binding {
  readonly name: string;
  readonly type: TType;
}

/** A model instance called as a function: `f32[...S, input] -> f32[...S, output]`. */
interface Layer {
  readonly name: string;
  readonly input: Dim;
  readonly output: Dim;
}

/** A generated function other code may call. */
interface Helper {
  readonly name: string;
  readonly params: readonly TType[];
  readonly result: TType;
}

interface Scope {
  readonly vars: Binding[];
  readonly layers: readonly Layer[];
  readonly helpers: readonly Helper[];
  /** Sizes that may make up new shapes here (bound symbols, consts, numbers). */
  readonly dims: readonly Dim[];
}

const sameShape = (a: readonly Dim[], b: readonly Dim[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);
const sameType = (a: TType, b: TType) => a.dtype === b.dtype && sameShape(a.shape, b.shape);
const typeText = (t: TType) =>
  t.shape.length === 0 ? t.dtype : `${t.dtype}[${t.shape.join(", ")}]`;
const shapeList = (s: readonly Dim[]) => `[${s.join(", ")}]`;
const insertAt = <T>(xs: readonly T[], k: number, x: T): T[] => [
  ...xs.slice(0, k),
  x,
  ...xs.slice(k),
];

const F32_UNARY = ["tanh", "sin", "cos", "sigmoid", "exp", "abs", "erf", "-"];
const STD_UNARY = ["relu", "gelu", "softplus", "silu"];
const REDUCTIONS = ["sum", "mean", "max", "min", "logsumexp", "prod"];
const INIT = [
  "glorot",
  "zeros",
  "ones",
  "he",
  "lecun",
  "normal(0.1)",
  "uniform(-0.5, 0.5)",
  "constant(0.25)",
  "0.5",
];

/** Options of one generated program. */
export interface GenerateOptions {
  /** How many deliberate mistakes to make (0: aim for a well-typed program). */
  readonly mistakes: number;
}

/** Generates one program. The same `rng` state gives the same text. */
export function generateProgram(rng: Rng, options: GenerateOptions): string {
  return new ProgramGen(rng, options.mistakes).program();
}

class ProgramGen {
  private counter = 0;
  private readonly imports = new Set<string>();
  private readonly namespaced = new Set<string>();

  constructor(
    private readonly rng: Rng,
    private mistakes: number,
  ) {}

  private fresh(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  /** True (and one mistake spent) with probability `p` while mistakes remain. */
  private blunder(p: number): boolean {
    if (this.mistakes <= 0 || !this.rng.chance(p)) return false;
    this.mistakes--;
    return true;
  }

  program(): string {
    const r = this.rng;
    for (const n of ["relu", "gelu", "softplus", "silu", "softmax", "dense", "mlp", "layer_norm"])
      if (r.chance(0.5)) this.imports.add(n);
    if (r.chance(0.2)) this.namespaced.add("nn");
    const items: string[] = [];
    const helpers: Helper[] = [];
    const consts: Dim[] = [];
    if (r.chance(0.4)) {
      const c = this.fresh("K");
      const v = r.int(1, 4);
      items.push(`const ${c} = ${v}`);
      consts.push(c);
    }
    const nFns = r.int(0, 3);
    for (let i = 0; i < nFns; i++) {
      const { text, helper } = this.fn(r.chance(0.2) ? "loss" : "fn", [], [], helpers, consts);
      items.push(text);
      helpers.push(helper);
    }
    let optimizer = r.pick(["adam", "sgd", "momentum", "adamw"]);
    if (r.chance(0.25)) {
      optimizer = this.fresh("opt");
      items.push(this.optimizer(optimizer));
    }
    const nModels = nFns === 0 ? r.int(1, 2) : r.int(0, 2);
    for (let i = 0; i < nModels; i++) items.push(this.model(helpers, consts, optimizer));
    if (this.blunder(0.3)) items.push(this.rng.pick(PROGRAM_MISTAKES));
    const std = [...this.imports];
    const uses = [
      ...(std.length > 0 ? [`use std.nn.{${std.join(", ")}}`] : []),
      ...(this.namespaced.has("nn") ? ["use std.nn"] : []),
      "use std.loss.{mse}",
      ...(optimizer.startsWith("opt") ? [] : [`use std.optim.{${optimizer}, cosine_decay}`]),
    ];
    return [...uses, ...items].join("\n\n") + "\n";
  }

  private optimizer(name: string): string {
    return [
      `optimizer ${name}(lr: float = 0.01, beta: float = 0.9) {`,
      `  state m = zeros`,
      `  fn update(p, g, t, lr) {`,
      `    m = beta * m + (1.0 - beta) * g`,
      `    return p - lr * m${this.rng.chance(0.3) ? " / (1.0 - beta ^ t)" : ""}`,
      `  }`,
      `}`,
    ].join("\n");
  }

  private model(helpers: readonly Helper[], consts: readonly Dim[], optimizer: string): string {
    const r = this.rng;
    const name = this.fresh("M");
    const hyper = this.fresh("h");
    const hyperValue = r.int(1, 5);
    const lines: string[] = [`model ${name}(${hyper}: int = ${hyperValue}) {`];
    const params: Binding[] = [];
    const layers: Layer[] = [];
    const dimsHere: Dim[] = [1, 2, 3, 4, hyper, ...consts];
    const nParams = r.int(0, 3);
    for (let i = 0; i < nParams; i++) {
      const rank = r.int(0, 2);
      const shape = Array.from({ length: rank }, () => r.pick(dimsHere));
      const p = this.fresh("w");
      const shapeText = this.blunder(0.1) ? `[${shape.join(", ")}, N]` : shapeList(shape);
      lines.push(`  param ${p}: f32${rank === 0 ? "" : shapeText} = ${r.pick(INIT)}`);
      params.push({ name: p, type: { dtype: "f32", shape } });
    }
    if (this.imports.has("dense") && r.chance(0.7)) {
      const l = this.fresh("l");
      const input = r.pick(dimsHere);
      const output = r.pick(dimsHere);
      lines.push(`  ${l} = dense(${input}, ${output})`);
      layers.push({ name: l, input, output });
    }
    if (this.imports.has("mlp") && r.chance(0.5)) {
      const l = this.fresh("net");
      const input = r.pick([1, 2]);
      const output = r.pick([1, 2]);
      const act = r.pick(["tanh", "sin", "sigmoid"]);
      lines.push(`  ${l} = mlp([${input}, ${r.int(2, 6)}, ${output}], act = ${act})`);
      layers.push({ name: l, input, output });
    }
    if (this.imports.has("layer_norm") && r.chance(0.3)) {
      const l = this.fresh("ln");
      const dim = r.pick(dimsHere);
      lines.push(`  ${l} = layer_norm(${dim})`);
      layers.push({ name: l, input: dim, output: dim });
    }
    const fnsHere: Helper[] = [...helpers];
    const losses: { name: string; params: readonly Binding[] }[] = [];
    const nFns = r.int(1, 3);
    for (let i = 0; i < nFns; i++) {
      const kind = i === nFns - 1 || r.chance(0.3) ? "loss" : "fn";
      const pinn = kind === "loss" && r.chance(0.3);
      const g = pinn
        ? this.pinnLoss(layers, params)
        : this.fn(kind, params, layers, fnsHere, consts, true);
      lines.push(indent(g.text));
      fnsHere.push(g.helper);
      if (kind === "loss") losses.push({ name: g.helper.name, params: g.paramBindings });
    }
    lines.push("}");
    const loss = losses[losses.length - 1];
    if (loss && r.chance(0.6)) lines.push("", this.train(name, loss, optimizer));
    return lines.join("\n");
  }

  private train(
    model: string,
    loss: { name: string; params: readonly Binding[] },
    optimizer: string,
  ): string {
    const r = this.rng;
    const opts: string[] = [`steps = ${r.int(1, 3)}`];
    const rows = r.int(2, 9);
    for (const p of loss.params) {
      if (this.blunder(0.15)) continue;
      opts.push(`${p.name} = ${this.dataFor(p.type, rows)}`);
    }
    if (r.chance(0.3)) opts.push(`seed = ${r.int(0, 9)}`);
    if (r.chance(0.2) && !optimizer.startsWith("opt"))
      opts.push(`lr = cosine_decay(t, 1e-2, 10.0, 1e-4)`);
    if (r.chance(0.2)) opts.push(`batch = ${r.int(1, rows)}`);
    if (this.blunder(0.2))
      opts.push(r.pick([`nonsense = 3`, `steps = -1`, `batch = 0`, `lr = "fast"`]));
    const sep = r.chance(0.5) ? "\n  " : ", ";
    return `train ${model}.${loss.name} with ${optimizer}(lr = ${r.pick(["1e-3", "0.01", "0.1"])}) {${sep === ", " ? " " : sep}${opts.join(sep)}${sep === ", " ? " " : "\n"}}`;
  }

  private dataFor(t: TType, rows: number): string {
    const r = this.rng;
    const [first, ...rest] = t.shape;
    if (t.dtype === "f32" && t.shape.length === 2 && typeof rest[0] === "number") {
      const k = rest[0];
      const lo = `[${Array.from({ length: k }, () => "-1.0").join(", ")}]`;
      const hi = `[${Array.from({ length: k }, () => "1.0").join(", ")}]`;
      return `${r.pick(["uniform", "lhs", "grid", "boundary"])}(${rows}, ${lo}, ${hi})`;
    }
    if (t.dtype === "i32" && t.shape.length >= 1 && typeof first === "string")
      return `randint(${rows}, 0, 3)`;
    if (t.dtype === "i32" && t.shape.length === 0) return "random_seed()";
    const concrete = t.shape.map((d) => (typeof d === "number" ? d : rows));
    return literal(concrete, t.dtype, r);
  }

  /** A physics-informed loss: derivatives of a layer's output with respect to its input. */
  private pinnLoss(
    layers: readonly Layer[],
    params: readonly Binding[],
  ): { text: string; helper: Helper; paramBindings: Binding[] } {
    const r = this.rng;
    const name = this.fresh("pinn");
    const layer = layers.find((l) => typeof l.input === "number" && typeof l.output === "number");
    const k = layer ? (layer.input as number) : r.int(1, 2);
    const x: Binding = { name: this.fresh("x"), type: { dtype: "f32", shape: ["N", k] } };
    const scope: Scope = { vars: [x, ...params], layers, helpers: [], dims: ["N", k, 1, 2] };
    const u = layer
      ? `${layer.name}(${x.name})`
      : this.expr(scope, { dtype: "f32", shape: ["N", k] }, 2);
    const coord = k > 1 || r.chance(0.3) ? `, ${r.int(0, k - 1)}` : "";
    const deriv = r.pick([
      `d(u, ${x.name}${coord})`,
      `d(d(u, ${x.name}${coord}), ${x.name}${coord})`,
      `laplacian(u, ${x.name})`,
      `grad(sum(u), ${x.name})`,
      `sum(jacobian(u, ${x.name}), axis = -1)`,
    ]);
    const text = [
      `loss ${name}(${x.name}: ${typeText(x.type)}) {`,
      `  let u = ${u}`,
      `  let r = ${deriv} + ${this.blunder(0.2) ? `${x.name}[:, 0]` : "u"}`,
      `  return mean(r ^ 2)`,
      `}`,
    ].join("\n");
    return {
      text,
      helper: { name, params: [x.type], result: { dtype: "f32", shape: [] } },
      paramBindings: [x],
    };
  }

  /** A function or loss with typed parameters; in a model, the rows of loss inputs are `B`. */
  private fn(
    kind: "fn" | "loss",
    outer: readonly Binding[],
    layers: readonly Layer[],
    helpers: readonly Helper[],
    consts: readonly Dim[],
    inModel = false,
  ): { text: string; helper: Helper; paramBindings: Binding[] } {
    const r = this.rng;
    const name = this.fresh(kind === "loss" ? "loss" : "f");
    const nParams = r.int(1, 3);
    const symbols = r.pick([["N"], ["B"], ["N", "M"], ["B", "T"]]);
    const small: Dim[] = [1, 2, 3, 4, ...consts];
    const params: Binding[] = [];
    for (let i = 0; i < nParams; i++) {
      const dtype: DType = r.weighted([
        [8, "f32" as const],
        [2, "i32" as const],
        [1, "bool" as const],
      ]);
      let shape: Dim[];
      if (kind === "loss" && inModel) {
        // trainable: rows first, fixed feature sizes after
        shape = dtype === "f32" ? ["B", r.pick([1, 2, 3])] : ["B"];
      } else {
        const rank = r.int(0, 3);
        shape = Array.from({ length: rank }, (_, j) =>
          j === 0 && r.chance(0.6) ? r.pick(symbols) : r.pick([...small, ...symbols]),
        );
      }
      params.push({
        name: this.fresh(r.pick(["x", "y", "v", "t"])),
        type: { dtype: kind === "loss" && inModel && dtype === "bool" ? "f32" : dtype, shape },
      });
    }
    const bound = new Set<Dim>(params.flatMap((p) => p.type.shape));
    const dims: Dim[] = [
      ...new Set<Dim>([...bound, 1, 2, 3, ...consts, ...outer.flatMap((b) => b.type.shape)]),
    ];
    const scope: Scope = { vars: [...outer, ...params], layers, helpers, dims };
    const resultType: TType =
      kind === "loss"
        ? { dtype: "f32", shape: [] }
        : {
            dtype: r.weighted([
              [6, "f32" as const],
              [1, "i32" as const],
              [1, "bool" as const],
            ]),
            shape: this.shape(dims, r.int(0, 3)),
          };
    const paramText = params
      .map((p) => (this.blunder(0.05) ? p.name : `${p.name}: ${typeText(p.type)}`))
      .join(", ");
    const declared =
      r.chance(0.7) || kind === "loss"
        ? ` -> ${typeText(this.blunder(0.05) ? this.otherType(resultType, dims) : resultType)}`
        : "";
    let body: string;
    if (r.chance(0.4)) {
      body = ` = ${this.expr(scope, resultType, r.int(1, 4))}`;
    } else {
      const stmts: string[] = [];
      const nLets = r.int(1, 3);
      for (let i = 0; i < nLets; i++) {
        const t: TType = {
          dtype: r.weighted([
            [5, "f32" as const],
            [1, "i32" as const],
            [1, "bool" as const],
          ]),
          shape: this.shape(dims, r.int(0, 3)),
        };
        const v = this.fresh("a");
        const annotate = r.chance(0.3)
          ? `: ${typeText(this.blunder(0.1) ? this.otherType(t, dims) : t)}`
          : "";
        if (t.dtype === "f32" && r.chance(0.2)) {
          // an accumulator over a compile-time loop
          stmts.push(`var ${v}${annotate} = ${this.expr(scope, t, 2)}`);
          const i = this.fresh("i");
          stmts.push(
            `for ${i} in 0..${r.int(0, 3)} {\n    ${v} = ${v} + ${this.expr(scope, t, 2)}\n  }`,
          );
        } else {
          stmts.push(`let ${v}${annotate} = ${this.expr(scope, t, r.int(1, 3))}`);
        }
        scope.vars.push({ name: v, type: t });
        if (this.blunder(0.05)) stmts.push(`${v} = ${this.expr(scope, t, 1)}`);
      }
      const last = this.expr(scope, resultType, r.int(1, 3));
      stmts.push(r.chance(0.7) ? `return ${last}` : last);
      body = ` {\n  ${stmts.join("\n  ")}\n}`;
    }
    const text = `${kind} ${name}(${paramText})${declared}${body}`;
    return {
      text,
      helper: { name, params: params.map((p) => p.type), result: resultType },
      paramBindings: params,
    };
  }

  private shape(dims: readonly Dim[], rank: number): Dim[] {
    return Array.from({ length: rank }, () => this.rng.pick(dims));
  }

  /** A type that differs from `t` in its element type or its shape. */
  private otherType(t: TType, dims: readonly Dim[]): TType {
    const r = this.rng;
    if (r.chance(0.4)) return { dtype: t.dtype === "f32" ? "i32" : "f32", shape: t.shape };
    if (t.shape.length > 0 && r.chance(0.5)) return { dtype: t.dtype, shape: t.shape.slice(1) };
    return { dtype: t.dtype, shape: [...t.shape, r.pick([...dims, 7])] };
  }

  // ------------------------------------------------------------------ expressions

  /** An expression of type `t` in `scope`, at most `depth` levels of calls and operators deep. */
  expr(scope: Scope, t: TType, depth: number): string {
    if (this.blunder(0.04)) return this.mistake(scope, t, depth);
    if (depth <= 0) return this.leaf(scope, t);
    switch (t.dtype) {
      case "f32":
        return this.f32(scope, t, depth);
      case "i32":
        return this.i32(scope, t, depth);
      case "bool":
        return this.bool(scope, t, depth);
    }
  }

  private leaf(scope: Scope, t: TType): string {
    const r = this.rng;
    const matching = scope.vars.filter((v) => sameType(v.type, t));
    if (matching.length > 0 && r.chance(0.8)) return r.pick(matching).name;
    if (t.shape.length === 0) {
      if (t.dtype === "f32") return r.pick(["0.5", "2.0", "1e-3", "3.0", "1.0", "PI"]);
      if (t.dtype === "i32") return `i32(${r.pick(["2", "0", "1"])})`;
      return r.pick(["true", "false"]);
    }
    const suffix = scope.vars.filter(
      (v) =>
        v.type.dtype === t.dtype &&
        v.type.shape.length < t.shape.length &&
        sameShape(v.type.shape, t.shape.slice(t.shape.length - v.type.shape.length)),
    );
    if (t.dtype === "f32") {
      const base = r.pick(["zeros", "ones"]);
      if (suffix.length > 0 && r.chance(0.6))
        return `(${r.pick(suffix).name} + ${base}(${shapeList(t.shape)}))`;
      return r.chance(0.3)
        ? `full(${shapeList(t.shape)}, ${r.pick(["0.5", "-1.0"])})`
        : `${base}(${shapeList(t.shape)})`;
    }
    if (t.dtype === "i32") return `zeros(${shapeList(t.shape)}, dtype = i32)`;
    return `(zeros(${shapeList(t.shape)}) < 1.0)`;
  }

  private f32(scope: Scope, t: TType, depth: number): string {
    const r = this.rng;
    const rank = t.shape.length;
    const sub = (tt: TType) => this.expr(scope, tt, depth - 1);
    const f = (shape: readonly Dim[]): TType => ({ dtype: "f32", shape });
    const dim = () => r.pick(scope.dims);
    const options: [number, () => string][] = [
      [2, () => this.leaf(scope, t)],
      [
        3,
        () => {
          const unary = [...F32_UNARY, ...STD_UNARY.filter((n) => this.imports.has(n))];
          const u = r.pick(unary);
          if (u === "-") return `-(${sub(t)})`;
          if (u === "exp") return `exp(-abs(${sub(t)}))`;
          return `${u}(${sub(t)})`;
        },
      ],
      [
        4,
        () => {
          const op = r.pick(["+", "-", "*", "/"]);
          const k = r.int(0, rank);
          const other = r.chance(0.3)
            ? r.pick(["2.0", "0.5", "1.0"])
            : `(${sub(f(t.shape.slice(k)))})`;
          const right = op === "/" ? `(1.0 + abs(${other}))` : other;
          return r.chance(0.5) || op === "/"
            ? `(${sub(t)} ${op} ${right})`
            : `(${other} ${op} ${sub(t)})`;
        },
      ],
      [
        1,
        () =>
          r.chance(0.5)
            ? `(${sub(t)}) ^ 2`
            : `pow(abs(${sub(t)}), ${r.pick(["0.5", "2.0", "3.0"])})`,
      ],
      [
        1,
        () =>
          `${r.pick(["maximum", "minimum"])}(${sub(t)}, ${sub(f(t.shape.slice(r.int(0, rank))))})`,
      ],
      [0.5, () => `clamp(${sub(t)}, -1.0, 1.0)`],
      [1, () => `where(${sub({ dtype: "bool", shape: t.shape })}, ${sub(t)}, ${sub(t)})`],
      [
        2,
        () => {
          const op = r.pick(REDUCTIONS);
          if (rank === 0) return `${op}(${sub(f(this.shape(scope.dims, r.int(1, 2))))})`;
          const k = r.int(0, rank);
          if (t.shape[k] === 1 && r.chance(0.5)) {
            const inner = t.shape.map((d, i) => (i === k ? dim() : d));
            return `${op}(${sub(f(inner))}, axis = ${k}, keepdims = true)`;
          }
          const axis = r.chance(0.3) ? k - (rank + 1) : k;
          return `${op}(${sub(f(insertAt(t.shape, k, dim())))}, axis = ${axis})`;
        },
      ],
      [0.5, () => `stop_gradient(${sub(t)})`],
      [1, () => `f32(${sub({ dtype: "i32", shape: t.shape })})`],
    ];
    if (rank >= 2) {
      const batch = t.shape.slice(0, rank - 2);
      const [m, n] = t.shape.slice(rank - 2) as [Dim, Dim];
      options.push([
        2,
        () => {
          const k = dim();
          const b = r.chance(0.5) ? f([k, n]) : f([...batch, k, n]);
          return r.chance(0.8)
            ? `(${sub(f([...batch, m, k]))} @ ${sub(b)})`
            : `matmul(${sub(f([...batch, m, k]))}, ${sub(b)})`;
        },
      ]);
      if (rank === 2) options.push([1, () => `transpose(${sub(f([n, m]))})`]);
      if (rank === 3) {
        const [a, b, c] = t.shape as [Dim, Dim, Dim];
        options.push([0.5, () => `transpose(${sub(f([b, a, c]))}, [1, 0, 2])`]);
      }
    }
    if (rank === 1) {
      const [n] = t.shape as [Dim];
      options.push([
        1,
        () => {
          const k = dim();
          return r.chance(0.5)
            ? `(${sub(f([k]))} @ ${sub(f([k, n]))})`
            : `(${sub(f([n, k]))} @ ${sub(f([k]))})`;
        },
      ]);
    }
    // indexing a bigger tensor, and slicing
    options.push([
      1,
      () => {
        const k = r.int(0, rank);
        const c = r.int(1, 4);
        const i = r.int(-c, c - 1);
        const items = insertAt(
          t.shape.map(() => ":"),
          k,
          String(i),
        );
        const useEllipsis = k === rank && rank > 0 && r.chance(0.5);
        return `(${sub(f(insertAt(t.shape, k, c)))})[${useEllipsis ? `..., ${i}` : items.join(", ")}]`;
      },
    ]);
    const numericAt = t.shape.map((d, i) => (typeof d === "number" ? i : -1)).filter((i) => i >= 0);
    if (numericAt.length > 0) {
      options.push([
        1,
        () => {
          const k = r.pick(numericAt);
          const d = t.shape[k] as number;
          const stepped = r.chance(0.3);
          const inner = t.shape.map((x, i) => (i === k ? (stepped ? 2 * d : d + 2) : x));
          const items = t.shape.map((_, i) => (i === k ? (stepped ? `::2` : `1:${d + 1}`) : ":"));
          return `(${sub(f(inner))})[${items.join(", ")}]`;
        },
      ]);
    }
    if (rank > 0 && t.shape.every((d) => typeof d === "number")) {
      const total = (t.shape as number[]).reduce((a, b) => a * b, 1);
      options.push([1, () => `reshape(${sub(f([total]))}, ${shapeList(t.shape)})`]);
    }
    const last = t.shape[rank - 1];
    if (typeof last === "number" && last >= 2) {
      const pre = t.shape.slice(0, rank - 1);
      options.push([
        1,
        () =>
          `concat([${sub(f([...pre, 1]))}, ${sub(f([...pre, last - 1]))}], axis = ${r.chance(0.5) ? -1 : rank - 1})`,
      ]);
    }
    const first = t.shape[0];
    if (typeof first === "number" && first >= 1 && first <= 3)
      options.push([
        1,
        () =>
          `stack([${Array.from({ length: first }, () => sub(f(t.shape.slice(1)))).join(", ")}])`,
      ]);
    if (typeof last === "number" && last >= 1 && last <= 3 && rank >= 2 && r.chance(0.5))
      options.push([
        0.5,
        () =>
          `stack([${Array.from({ length: last }, () => sub(f(t.shape.slice(0, rank - 1)))).join(", ")}], axis = -1)`,
      ]);
    if (rank >= 1 && this.imports.has("softmax")) options.push([1, () => `softmax(${sub(t)})`]);
    if (rank >= 1 && this.namespaced.has("nn")) options.push([0.5, () => `nn.relu(${sub(t)})`]);
    // derivatives
    const wrt = scope.vars.filter(
      (v) => v.type.dtype === "f32" && sameShape(v.type.shape, t.shape),
    );
    if (wrt.length > 0)
      options.push([1.5, () => `grad(${r.pick(["sum", "mean"])}(${sub(t)}), ${r.pick(wrt).name})`]);
    const points = scope.vars.filter(
      (v) =>
        v.type.dtype === "f32" &&
        v.type.shape.length === 2 &&
        v.type.shape[0] === t.shape[0] &&
        typeof v.type.shape[1] === "number",
    );
    if (points.length > 0 && rank >= 1) {
      options.push([
        1,
        () => {
          const x = r.pick(points);
          const k = x.type.shape[1] as number;
          return k === 1 && r.chance(0.5)
            ? `d(${sub(t)}, ${x.name})`
            : `d(${sub(t)}, ${x.name}, ${r.int(0, k - 1)})`;
        },
      ]);
      if (rank === 1 || rank === 2)
        options.push([0.5, () => `laplacian(${sub(t)}, ${r.pick(points).name})`]);
    }
    // layers and helpers
    for (const l of scope.layers) {
      if (rank >= 1 && t.shape[rank - 1] === l.output)
        options.push([2, () => `${l.name}(${sub(f([...t.shape.slice(0, rank - 1), l.input]))})`]);
    }
    for (const h of scope.helpers) {
      if (
        sameType(h.result, t) &&
        h.params.every((p) => p.shape.every((d) => scope.dims.includes(d)))
      )
        options.push([2, () => `${h.name}(${h.params.map((p) => sub(p)).join(", ")})`]);
    }
    return r.weighted(options)();
  }

  private i32(scope: Scope, t: TType, depth: number): string {
    const r = this.rng;
    const rank = t.shape.length;
    const sub = (tt: TType) => this.expr(scope, tt, depth - 1);
    const options: [number, () => string][] = [
      [2, () => this.leaf(scope, t)],
      [
        2,
        () =>
          `argmax(${sub({ dtype: "f32", shape: [...t.shape, r.pick(scope.dims)] })}, axis = -1)`,
      ],
      [
        1,
        () =>
          `argmin(${sub({ dtype: "f32", shape: [...t.shape, r.pick(scope.dims)] })}, axis = ${rank})`,
      ],
      [2, () => `i32(${sub({ dtype: "f32", shape: t.shape })})`],
      [
        2,
        () =>
          `(${sub(t)} ${r.pick(["+", "-", "*"])} ${r.chance(0.5) ? sub(t) : r.pick(["1", "2"])})`,
      ],
      [1, () => `(${sub(t)} % ${r.pick(["3", "2"])})`],
      [1, () => `abs(${sub(t)})`],
      [1, () => `sum(${sub({ dtype: "i32", shape: [r.pick(scope.dims), ...t.shape] })}, axis = 0)`],
      [1, () => `where(${sub({ dtype: "bool", shape: t.shape })}, ${sub(t)}, ${sub(t)})`],
    ];
    const [n] = t.shape;
    if (rank === 1 && typeof n === "number") options.push([1, () => `arange(${n})`]);
    return r.weighted(options)();
  }

  private bool(scope: Scope, t: TType, depth: number): string {
    const r = this.rng;
    const sub = (tt: TType) => this.expr(scope, tt, depth - 1);
    const f: TType = { dtype: "f32", shape: t.shape };
    return r.weighted<() => string>([
      [2, () => this.leaf(scope, t)],
      [
        3,
        () =>
          `(${sub(f)} ${r.pick(["<", "<=", ">", ">=", "==", "!="])} ${r.chance(0.5) ? sub(f) : "0.0"})`,
      ],
      [1, () => `!(${sub(t)})`],
      [1, () => `(${sub(t)} ${r.pick(["&&", "||"])} ${sub(t)})`],
      [1, () => `bool(${sub({ dtype: "i32", shape: t.shape })})`],
    ])();
  }

  /** Something the checker must reject where an expression of type `t` is wanted. */
  private mistake(scope: Scope, t: TType, depth: number): string {
    const r = this.rng;
    const sub = (tt: TType) => this.expr(scope, tt, Math.max(0, depth - 1));
    const wrong = this.otherType(t, scope.dims);
    return r.pick<() => string>([
      () => sub(wrong),
      () => `tanh(${sub(t)}, ${sub(t)})`,
      () => `sum(${sub(t)}, axis = ${t.shape.length + r.int(1, 3)})`,
      () => r.pick(["undefined_name", "Self", "params.w", "self.nope"]),
      () => `(${sub(t)})[${Array.from({ length: t.shape.length + 2 }, () => "0").join(", ")}]`,
      () => `reshape(${sub(t)}, [5, 7])`,
      () => `grad(${sub(t)}, 1.0)`,
      () => `d(${sub(t)}, 2.0)`,
      () => `tanh(x = ${sub(t)})`,
      () => `mean(${sub(t)}, axs = 0)`,
      () => `(${sub(t)} @ ${sub(wrong)})`,
      () => `(${sub(t)}).nosuch`,
      () => `"text"`,
      () => `[${sub(t)}, ${sub(wrong)}]`,
      () => `${r.pick(["dense", "mlp", "M0", "loss0"])}(${sub(t)})`,
      () => `concat([${sub(t)}], axis = 9)`,
      () => `(${sub(t)})[0:${r.int(5, 9)}]`,
      () => `zeros([-1, 2])`,
      () => `one_hot(${sub(t)}, 3)`,
      () => `for`,
    ])();
  }
}

/** Whole items that are wrong: unknown modules, duplicate or malformed declarations. */
const PROGRAM_MISTAKES: readonly string[] = [
  "use std.nosuch.{thing}",
  "use std.nn.{not_there}",
  "fn f0(x: f32[N]) -> f32[N] = x",
  "fn dup(x) = x\nfn dup(x) = x",
  "const C = C + 1",
  "model Broken { param w: f32[N] = zeros }",
  "train Nowhere.fit with adam() { steps = 1 }",
  "fn rec(x: f32[N]) -> f32[N] = rec(x)",
  "fn big(x: f32[N]) -> f32[N] { for i in 0..1000000 { } return x }",
  "model P(n: int) { param w: f32[n] = zeros\n fn f(x: f32[n]) -> f32[n] = x * w }",
  "fn q(x: f32[...S, 2], y: f32[...T]) -> f32[...S, 2] = x",
];

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => (l.length > 0 ? `  ${l}` : l))
    .join("\n");
}

/** A literal of a concrete shape with small random values. */
function literal(shape: readonly number[], dtype: DType, r: Rng): string {
  if (shape.length === 0) {
    if (dtype === "bool") return r.pick(["true", "false"]);
    return dtype === "i32" ? String(r.int(0, 2)) : r.pick(["0.5", "-1.0", "1.0", "0.25"]);
  }
  const [n, ...rest] = shape as [number, ...number[]];
  return `[${Array.from({ length: n }, () => literal(rest, dtype, r)).join(", ")}]`;
}

// ------------------------------------------------------------------ builtin soup

/** Values for a builtin's parameter, by the parameter's name; edge values included. */
const SOUP_VALUES: Readonly<Record<string, readonly string[]>> = {
  tensor: [
    "x",
    "y",
    "m",
    "s",
    "x",
    "y",
    "m",
    "x",
    "m",
    "x[:, 0]",
    "x[0]",
    "(x * 2.0)",
    "f32(i)",
    "i",
    "b",
  ],
  axis: ["0", "1", "-1", "2", "-2", "3", "[0, 1]", "[-1]", "[]", "[0, 0]", "1.5", "N"],
  keepdims: ["true", "false", "1"],
  shape: [
    "[N, 3]",
    "[3]",
    "[2, 3]",
    "[0]",
    "[N, -1]",
    "[-1, 3]",
    "[3, -1]",
    "[-1, -1]",
    "[1, N, 3]",
    "[]",
    "[6]",
    "[-2, 3]",
    "[2147483647, 2]",
    "x.shape",
    "[N, 3, 0]",
  ],
  dtype: ["f32", "i32", "bool", "int", '"f32"'],
  perm: ["[1, 0]", "[0, 1]", "[0, 0]", "[2, 0, 1]", "[0]", "[1, -1]", "[5, 0]"],
  int: ["0", "1", "2", "3", "-1", "4", "N", "2147483648", "1e309", "1.5", "len(x)"],
  value: ["0.5", "1", "true", "-inf", "x", "[1.0, 2.0, 3.0]"],
  seed: ["i[0]", "i32(3)", "3", "i", "s"],
  message: ['"m"', '""', "str(x.shape)", "3"],
  widths: [
    "[[1, 1], [0, 0]]",
    "[[0, 0], [2, 1]]",
    "[[-1, 0], [0, 2]]",
    "[[1, 1]]",
    "[1, 1]",
    "[[0, 0], [0, 0], [0, 0]]",
  ],
  list: ["[x, x]", "[y, y]", "[x]", "[x, m]", "[]", "[x[:, 0], i]", "[s, s, s]", "[x, x, x]"],
  stride: ["1", "2", "0", "-1", "[1, 2]", "3"],
  scalar: ["1.5", "0", "N", "[1, 2]", '"s"', "true", "x", "1e309", "-0.0"],
};

const PARAM_KIND: Readonly<Record<string, string>> = {
  axis: "axis",
  keepdims: "keepdims",
  shape: "shape",
  dtype: "dtype",
  perm: "perm",
  value: "value",
  seed: "seed",
  message: "message",
  widths: "widths",
  stride: "stride",
  padding: "stride",
  n: "int",
  size: "int",
  start: "int",
  stop: "int",
  i: "int",
  xs: "list",
};

/** The builtins taking compile-time numbers or values (`int`, `float`, `str`, `len`). */
const COMPILE_TIME = new Set(["int", "float", "str"]);

/** Parameter names of a builtin signature such as `sum(x, axis = all, keepdims = false)`. */
function signatureParams(sig: string): { name: string; optional: boolean }[] {
  const first = sig.split(" or ").pop() ?? sig;
  const inner = /\((.*)\)/.exec(first)?.[1] ?? "";
  if (inner.startsWith("["))
    return [
      { name: "xs", optional: false },
      { name: "axis", optional: true },
    ];
  return inner
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p.length > 0 && p !== "...")
    .map((p) => ({ name: p.split("=")[0]!.trim(), optional: p.includes("=") }));
}

/**
 * A program of builtin calls with random arguments: each call fits the
 * builtin's signature most of the time (arguments chosen by parameter name,
 * edge values included: -1, 0, huge, non-integer, wrong kinds), and sometimes
 * has a random arity or an unknown named argument. Parameters sometimes carry
 * unusual size annotations.
 */
export function generateBuiltinSoup(rng: Rng, signatures: ReadonlyMap<string, string>): string {
  const builtins = [...signatures.keys()];
  const lines: string[] = [];
  const nFns = rng.int(1, 3);
  for (let f = 0; f < nFns; f++) {
    const xType = rng.chance(0.25) ? rng.pick(SOUP_TYPES) : "f32[N, 3]";
    lines.push(`fn g${f}(x: ${xType}, y: f32[3], i: i32[N], b: bool[N], s: f32, m: f32[N, 1]) {`);
    const nLets = rng.int(1, 4);
    const names: string[] = [];
    for (let k = 0; k < nLets; k++) {
      const fn = rng.pick(builtins);
      const params = signatureParams(signatures.get(fn) ?? "");
      const value = (param: string): string => {
        const kind = PARAM_KIND[param] ?? (COMPILE_TIME.has(fn) ? "scalar" : "tensor");
        if (kind === "tensor" && names.length > 0 && rng.chance(0.4)) return rng.pick(names);
        return rng.pick(SOUP_VALUES[kind] ?? SOUP_VALUES["tensor"]!);
      };
      let args: string[];
      if (rng.chance(0.15)) {
        // a random arity, some of the arguments named at random
        args = Array.from({ length: rng.int(0, 4) }, () =>
          rng.chance(0.2)
            ? `${rng.pick(SOUP_NAMED)} = ${rng.pick(SOUP_ARGS)}`
            : rng.pick(SOUP_ARGS),
        );
      } else {
        args = [];
        let named = false;
        for (const p of params) {
          if (p.optional && rng.chance(0.5)) {
            named = true;
            continue;
          }
          named ||= p.optional && rng.chance(0.5);
          args.push(named ? `${p.name} = ${value(p.name)}` : value(p.name));
        }
      }
      const name = `r${k}`;
      lines.push(`  let ${name} = ${fn}(${args.join(", ")})`);
      names.push(name);
    }
    lines.push(`  return ${rng.chance(0.7) ? rng.pick(names) : "x"}`);
    lines.push("}");
  }
  if (rng.chance(0.3)) {
    lines.push(
      `model S(n: int = ${rng.pick(["0", "1", "3", "-1"])}) {`,
      `  param w: f32[n, 3] = ${rng.pick(INIT)}`,
      `  fn f(x: f32[N, 3]) = g0(x, w[0], i32(x[:, 0]), x[:, 0] > 0.0, sum(x), x[:, 0:1])`,
      `  loss l(x: f32[B, 3]) = sum(f(x))`,
      `}`,
    );
  }
  return lines.join("\n") + "\n";
}

/** Arguments for calls with a random arity. */
const SOUP_ARGS: readonly string[] = [
  "x",
  "y",
  "i",
  "b",
  "s",
  "m",
  "0",
  "-1",
  "2",
  "0.0",
  "1e309",
  "-inf",
  "2147483648",
  "99999999999999999999",
  "true",
  '"s"',
  "[]",
  "[0]",
  "[2, 3]",
  "[[1], [2, 3]]",
  "[N, -1]",
  "x.shape",
  "x.rank",
  "N",
  "-N",
  "i32",
  "0..3",
  "x[..., 1:2]",
  "[x, y]",
  "self",
  "params",
];

const SOUP_NAMED = [
  "axis",
  "keepdims",
  "dtype",
  "perm",
  "stride",
  "padding",
  "value",
  "seed",
  "shape",
  "n",
  "message",
  "nope",
];

/** Type annotations with unusual sizes. */
const SOUP_TYPES: readonly string[] = [
  "f32[N, 3]",
  "f32[N - 1]",
  "f32[2 * N, 3]",
  "f32[0]",
  "f32[0, N]",
  "f32[N, 0]",
  "f32[1]",
  "f32[N / 2]",
  "f32[N ^ 2]",
  "f32[-1]",
  "f32[N, N]",
  "f32[...S]",
  "f32[...]",
  "i32[N]",
  "bool[N, 3]",
  "f32[3, N - N]",
  "f32[4294967296]",
  "f32[65536, 65536]",
  "f32[1.5]",
  "f32[true]",
  'f32["a"]',
  "f32[[1]]",
  "f32[N, M, N]",
];
