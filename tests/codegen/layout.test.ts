/**
 * The generated module is laid out without Prettier (compiler/codegen/layout.ts)
 * but as Prettier would lay it out: data literals of every shape agree with
 * Prettier's output, and whole generated modules (TypeScript, JavaScript and
 * declarations; CPU kernel functions aside, printed as the CPU renderer writes
 * them) are unchanged by Prettier, for programs with short and long names,
 * many inputs and a long runtime import.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import { DataTree, layoutData, Raw, stringLiteral } from "../../compiler/codegen/layout.js";
import { compile, type CompileOptions } from "../../compiler/pipeline.js";

const format = (text: string, parser: "typescript" | "babel") =>
  prettier.format(text, { parser, printWidth: 100 });

/** A deterministic generator (xorshift) of values in [0, 1). */
function rng(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

const KEYS = [
  "a",
  "k0",
  "dtype",
  "shape",
  "softwareCode",
  "aVeryLongPropertyNameIndeed",
  "blocks.0.attention.q.w",
  "x-y",
  "0",
  "12",
  "1.5",
  "01",
  "é",
  "数据",
  "$ref",
  "with space",
  'quote"d',
];
const STRINGS = [
  "",
  "f32",
  "read",
  'say "hi"',
  "it's",
  `mixed "double" and 'single' and "more"`,
  "line\nbreak\ttab",
  "é and 数据 wide",
  "x".repeat(60),
  "@group(0) @binding(0) var<storage, read> buf0: array<f32>;\n".repeat(3),
];
const FINITE = [0, 1, 7, 64, 1024, 0.5, 0.00001, 1e-7, 1.5e21, 123456789, -1, -0.25, -0];
const NUMBERS = [
  0,
  1,
  7,
  64,
  1024,
  0.5,
  0.00001,
  1e-7,
  1.5e21,
  123456789,
  -1,
  -0.25,
  -0,
  NaN,
  Infinity,
  -Infinity,
];

function randomValue(next: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const r = next();
  if (depth <= 0 || r < 0.3) {
    const a = next();
    if (a < 0.45) return pick(NUMBERS);
    if (a < 0.8) return pick(STRINGS);
    if (a < 0.9) return next() < 0.5;
    return null;
  }
  if (r < 0.45) {
    // number literals only: Prettier fills lines with them
    return Array.from({ length: Math.floor(next() * 80) }, () => pick(FINITE));
  }
  if (r < 0.7) {
    const kind = next();
    return Array.from({ length: Math.floor(next() * 5) }, () =>
      kind < 0.3
        ? Array.from({ length: Math.floor(next() * 4) }, () => pick(FINITE))
        : randomValue(next, depth - 1),
    );
  }
  const out: Record<string, unknown> = {};
  for (let k = Math.floor(next() * 6); k > 0; k--) out[pick(KEYS)] = randomValue(next, depth - 1);
  return out;
}

describe("data literals", () => {
  it("strings take Prettier's quotes", () => {
    expect(stringLiteral("plain")).toBe('"plain"');
    expect(stringLiteral('say "hi"')).toBe(`'say "hi"'`);
    expect(stringLiteral(`it's "a" "b"`)).toBe(`'it\\'s "a" "b"'`);
  });

  it("lay out as Prettier does, in TypeScript and in JavaScript, after `=` and in a class", async () => {
    const next = rng(7);
    let compared = 0;
    for (let k = 0; k < 600; k++) {
      const value = randomValue(next, 4);
      if (typeof value !== "object" || value === null) continue;
      const tree = DataTree.of(value);
      const tsHead = `const $data${k}: Record<string, unknown> = `;
      const ts = `${tsHead}${layoutData(tree, tsHead, ";", "ts")};\n`;
      expect(ts, `value ${k}`).toBe(await format(ts, "typescript"));
      const jsHead = `const $data${k} = `;
      const js = `${jsHead}${layoutData(tree, jsHead, ";", "js")};\n`;
      expect(js, `value ${k}`).toBe(await format(js, "babel"));
      const head = `  static readonly training = `;
      const cls = `class A {\n${head}${layoutData(value, head, " as const;", "ts", 2)} as const;\n}\n`;
      expect(cls, `value ${k}`).toBe(await format(cls, "typescript"));
      compared++;
    }
    expect(compared).toBeGreaterThan(300);
  });

  it("print raw expressions as written", async () => {
    const value = Object.fromEntries(
      Array.from({ length: 30 }, (_, k) => [`k${k}`, new Raw(`$k${k}`)]),
    );
    const head = "const $cpuKernels: Record<string, $CpuKernel> = ";
    const text = `${head}${layoutData(value, head, ";", "ts")};\n`;
    expect(text).toContain("  k29: $k29,\n");
    expect(text).toBe(await format(text, "typescript"));
  });
});

/** A program with long names, many inputs and a training step. */
const LONG_NAMES = `use std.nn.{dense, relu}
use std.loss.{softmax_cross_entropy}
use std.optim.{adam}

model AVeryLongModelNameThatExercisesTheLayoutOfTheGeneratedModule(hidden: int = 4) {
  first_dense_layer_with_a_long_name = dense(2, hidden)
  out = dense(hidden, 3)

  fn logits_of_the_classifier(first_input_tensor: f32[B, 2], second_input_tensor: f32[B, 2]) -> f32[B, 3] =
    out(relu(first_dense_layer_with_a_long_name(first_input_tensor + second_input_tensor)))

  loss objective(first_input_tensor: f32[B, 2], second_input_tensor: f32[B, 2], labels_of_points: i32[B]) =
    softmax_cross_entropy(logits_of_the_classifier(first_input_tensor, second_input_tensor), labels_of_points)
}

train AVeryLongModelNameThatExercisesTheLayoutOfTheGeneratedModule.objective with adam(lr = 1e-2) {
  steps = 10
  first_input_tensor = spiral_points(10, 3, noise = 0.2)
  second_input_tensor = spiral_points(10, 3, noise = 0.3)
  labels_of_points = spiral_labels(10, 3, noise = 0.2)
}

fn a_function_with_many_inputs(alpha: f32[N], beta: f32[N], gamma: f32[N], delta: f32[N], epsilon: f32[N], zeta: f32[N]) -> f32[N] =
  alpha + beta + gamma + delta + epsilon + zeta
`;

/** The module without its CPU kernel functions (printed as the CPU renderer writes them). */
const withoutKernels = (text: string) => text.replace(/^function \$k\d+\([\s\S]*?^}\n\n/gm, "");

describe("generated modules", () => {
  const dir = resolve("tests/.tmp/layout");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "long_names.nn"), LONG_NAMES);
  const cases: [string, string, CompileOptions][] = [
    ["tiny model", "tests/golden/tiny_model.nn", {}],
    ["mlp with training", "examples/mlp.nn", {}],
    ["long names, many inputs", join(dir, "long_names.nn"), {}],
    [
      "long names, long runtime import",
      join(dir, "long_names.nn"),
      { runtimeImport: "@some-organization/a-long-package-name/with/a/deep/runtime/index.js" },
    ],
  ];
  it.each(cases)("%s: Prettier changes nothing", async (_, file, options) => {
    const r = await compile(file, {
      ...options,
      runtimeImport: options.runtimeImport ?? "./nnc-runtime/index.js",
    });
    expect(r.ok, r.diagnostics.map((d) => d.message).join("\n")).toBe(true);
    const get = (suffix: string) =>
      r.files!.find((f) => f.path.endsWith(suffix) && !f.path.endsWith(`.d${suffix}`))!.contents;
    const ts = withoutKernels(get(".ts"));
    const js = withoutKernels(get(".js"));
    const dts = r.files!.find((f) => f.path.endsWith(".d.ts"))!.contents;
    expect(ts).toBe(await format(ts, "typescript"));
    expect(js).toBe(await format(js, "babel"));
    expect(dts).toBe(await format(dts, "typescript"));
  });
});
