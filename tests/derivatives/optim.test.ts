/**
 * The optimizers of std.optim through `train ... with`: a tiny model per
 * optimizer configuration (with and without an `lr` schedule of the step `t`)
 * is compiled, and its generated `step` is run a few times in f64 on fixed
 * data. After each step, the parameters, the optimizer state
 * (`train.m.<param>`, `train.v.<param>`) and the step counter (`train.step`)
 * must equal the update rule computed here from the gradients, which come
 * from `grad` functions compiled in the same program (themselves checked
 * against finite differences).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompiledModule } from "../../runtime/module.js";
import type { Tensor } from "../../runtime/tensor.js";
import {
  call1,
  compileSource,
  dispose,
  expectClose,
  fdGradient,
  t64,
  type Compiled,
} from "./helpers.js";

const X = [
  [0.5, -1.2],
  [1.5, 0.3],
  [-0.7, 0.8],
  [0.1, 2],
];
const Y = [
  [0.2, -0.4, 0.9],
  [-0.5, 0.1, 0.3],
  [0.7, 0.6, -0.2],
  [0.05, -0.8, 0.4],
];
const W0 = [0.3, -0.5, 0.8, -0.2, 0.6, 0.1];
const B0 = [0.05, -0.1, 0.2];
const PARAMS = ["w", "b"] as const;

type Vec = number[];
type Rule = (p: Vec, g: Vec, t: number, lr: number, s: Record<string, Vec>) => Vec;

const zip = (a: Vec, b: Vec, f: (x: number, y: number) => number) => a.map((x, i) => f(x, b[i]!));

const sgd: Rule = (p, g, _t, lr) => zip(p, g, (p, g) => p - lr * g);
const momentum =
  (beta: number, nesterov: boolean): Rule =>
  (p, g, _t, lr, s) => {
    s.v = zip(s.v!, g, (v, g) => beta * v + g);
    return p.map((p, i) => p - lr * (nesterov ? g[i]! + beta * s.v![i]! : s.v![i]!));
  };
const adam =
  (b1: number, b2: number, eps: number, wd: number | null): Rule =>
  (p, g, t, lr, s) => {
    s.m = zip(s.m!, g, (m, g) => b1 * m + (1 - b1) * g);
    s.v = zip(s.v!, g, (v, g) => b2 * v + (1 - b2) * g ** 2);
    return p.map((p, i) => {
      const mhat = s.m![i]! / (1 - b1 ** t);
      const vhat = s.v![i]! / (1 - b2 ** t);
      const dir = mhat / (Math.sqrt(vhat) + eps);
      return p - lr * (wd === null ? dir : dir + wd * p);
    });
  };

interface Config {
  readonly model: string;
  readonly optimizer: string;
  /** The `lr` option, if any. */
  readonly schedule?: string;
  readonly lr: (t: number) => number;
  readonly rule: Rule;
  /** Names of the state tensors per parameter. */
  readonly state: readonly string[];
}

const CONFIGS: readonly Config[] = [
  { model: "Sgd", optimizer: "sgd(lr = 0.1)", lr: () => 0.1, rule: sgd, state: [] },
  {
    model: "SgdStepDecay",
    optimizer: "sgd(lr = 0.1)",
    schedule: "step_decay(t, 0.2, 0.5, 2.0)",
    lr: (t) => 0.2 * 0.5 ** Math.floor(t / 2),
    rule: sgd,
    state: [],
  },
  {
    model: "Momentum",
    optimizer: "momentum(lr = 0.05, beta = 0.8)",
    lr: () => 0.05,
    rule: momentum(0.8, false),
    state: ["v"],
  },
  {
    model: "NesterovWarmup",
    optimizer: "momentum(lr = 0.05, nesterov = true)",
    schedule: "0.05 * warmup(t, 3.0)",
    lr: (t) => 0.05 * Math.min(t / 3, 1),
    rule: momentum(0.9, true),
    state: ["v"],
  },
  {
    model: "Adam",
    optimizer: "adam(lr = 0.01)",
    lr: () => 0.01,
    rule: adam(0.9, 0.999, 1e-8, null),
    state: ["m", "v"],
  },
  {
    model: "AdamCosine",
    optimizer: "adam(beta1 = 0.8, beta2 = 0.99, eps = 1e-6)",
    schedule: "cosine_decay(t, 0.02, 3.0, 0.001)",
    lr: (t) => 0.001 + 0.5 * (0.02 - 0.001) * (1 + Math.cos(Math.PI * Math.min(t / 3, 1))),
    rule: adam(0.8, 0.99, 1e-6, null),
    state: ["m", "v"],
  },
  {
    model: "AdamW",
    optimizer: "adamw(lr = 0.01, weight_decay = 0.1)",
    lr: () => 0.01,
    rule: adam(0.9, 0.999, 1e-8, 0.1),
    state: ["m", "v"],
  },
  {
    model: "AdamWExp",
    optimizer: "adamw(lr = 0.01)",
    schedule: "exponential_decay(t, 0.01, 0.5, 2.0)",
    lr: (t) => 0.01 * 0.5 ** (t / 2),
    rule: adam(0.9, 0.999, 1e-8, 0.01),
    state: ["m", "v"],
  },
];

const literal = (rows: number[][]) =>
  `[${rows.map((r) => `[${r.map((v) => v.toFixed(2)).join(", ")}]`).join(", ")}]`;

const model = (c: Config) => `
model ${c.model} {
  param w: f32[2, 3] = ${literal([W0.slice(0, 3), W0.slice(3)])}
  param b: f32[3] = [${B0.join(", ")}]
  fn f(x: f32[N, 2]) -> f32[N, 3] = tanh(x @ w + b)
  loss l(x: f32[N, 2], y: f32[N, 3]) = mean((f(x) - y) ^ 2)
  fn gw(x: f32[N, 2], y: f32[N, 3]) -> f32[2, 3] = grad(l(x, y), w)
  fn gb(x: f32[N, 2], y: f32[N, 3]) -> f32[3] = grad(l(x, y), b)
}
train ${c.model}.l with ${c.optimizer} {
  steps = 4
  ${c.schedule ? `lr = ${c.schedule}` : ""}
  x = ${literal(X)}
  y = ${literal(Y)}
}
`;

const SOURCE = [
  "use std.optim.{sgd, momentum, adam, adamw, step_decay, warmup, cosine_decay, exponential_decay}",
  ...CONFIGS.map(model),
].join("\n");

const STEPS = 4;
const args = () => [t64([4, 2], X.flat()), t64([4, 3], Y.flat())];
const flat = (t: Tensor) => Array.from(t.data);

let c: Compiled;
beforeAll(async () => {
  c = await compileSource("optim", SOURCE);
});
afterAll(() => dispose(c));

describe.each(CONFIGS)("$model: train with $optimizer, lr = $schedule", (cfg) => {
  let m: CompiledModule;
  beforeAll(() => {
    m = c.units[cfg.model]!;
  });

  it("has the documented state: the parameters, train.<state>.<param> and train.step, all zero but the parameters", async () => {
    const state = await m.state();
    const want = [
      ...PARAMS,
      ...PARAMS.flatMap((p) => cfg.state.map((s) => `train.${s}.${p}`)),
      "train.step",
    ];
    expect(Object.keys(state).sort()).toEqual(want.sort());
    expect(flat(state.w!)).toEqual(W0);
    for (const [k, v] of Object.entries(state))
      if (k.startsWith("train."))
        expect(
          flat(v).every((x) => x === 0),
          k,
        ).toBe(true);
    expect(state["train.step"]!.shape).toEqual([]);
  });

  // optimizer state and the step counter are module state, not parameters
  it("parameters() holds the trainable parameters only", async () => {
    expect(Object.keys(await m.parameters()).sort()).toEqual([...PARAMS].sort());
    expect(
      m.plan.params
        .filter((p) => p.kind === "state")
        .map((p) => p.path)
        .sort(),
    ).toEqual(
      Object.keys(await m.state())
        .filter((k) => k.startsWith("train."))
        .sort(),
    );
  });

  it("the gradients used for the rule match finite differences of the loss", async () => {
    for (const [fn, path] of [
      ["gw", "w"],
      ["gb", "b"],
    ] as const) {
      const base = (await m.parameters())[path]!;
      const fd = await fdGradient(
        async (v) => {
          m.setParameters({ [path]: t64(base.shape, v) });
          return (await call1(m, "l", args()))[0]!;
        },
        flat(base),
        1e-5,
      );
      m.setParameters({ [path]: base });
      expectClose(await call1(m, fn, args()), fd, 1e-8, `grad(l, ${path})`);
    }
  });

  it(`${STEPS} steps follow the update rule, with the step counter and the state`, async () => {
    let params: Record<string, Vec> = { w: [...W0], b: [...B0] };
    const state: Record<string, Record<string, Vec>> = {
      w: Object.fromEntries(cfg.state.map((s) => [s, W0.map(() => 0)])),
      b: Object.fromEntries(cfg.state.map((s) => [s, B0.map(() => 0)])),
    };
    for (let t = 1; t <= STEPS; t++) {
      const loss = (await call1(m, "l", args()))[0]!;
      const g = {
        w: Array.from(await call1(m, "gw", args())),
        b: Array.from(await call1(m, "gb", args())),
      };
      // the step returns the loss before its update
      const stepLoss = (await call1(m, "step", args()))[0]!;
      expectClose([stepLoss], [loss], 1e-15, `loss of step ${t}`);
      params = {
        w: cfg.rule(params.w!, g.w, t, cfg.lr(t), state.w!),
        b: cfg.rule(params.b!, g.b, t, cfg.lr(t), state.b!),
      };
      const got = await m.state();
      for (const p of PARAMS) {
        expectClose(flat(got[p]!), params[p]!, 1e-12, `${p} after step ${t}`);
        for (const s of cfg.state)
          expectClose(
            flat(got[`train.${s}.${p}`]!),
            state[p]![s]!,
            1e-12,
            `train.${s}.${p} after step ${t}`,
          );
      }
      expect(flat(got["train.step"]!)).toEqual([t]);
    }
    // the parameters moved, and the loss went down
    expect(flat((await m.parameters()).w!)).not.toEqual(W0);
    const final = (await call1(m, "l", args()))[0]!;
    m.setParameters({ w: t64([2, 3], W0), b: t64([3], B0) });
    expect(final).toBeLessThan((await call1(m, "l", args()))[0]!);
  });
});
