/**
 * Issue 8, item 4: every documented limit (runtime/limits.ts) gives a
 * diagnostic or an error naming it, never a crash, a stack overflow or a hang;
 * and what is long but not deep (operator chains, statement sequences, big
 * comments and strings) compiles.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile, type CompileResult, type Stage } from "../../compiler/pipeline.js";
import { renderDiagnostics } from "../../compiler/diagnostics/render.js";
import { checkBufferLimits } from "../../runtime/backends/webgpu.js";
import { BackendLimitError } from "../../runtime/errors.js";
import { MAX_NESTING_DEPTH, MAX_SOURCE_CHARS, MAX_TENSOR_ELEMENTS } from "../../runtime/limits.js";
import { ArgumentError } from "../../runtime/module.js";
import { moduleFor } from "../programs/harness.js";

const PATH = join(import.meta.dirname, "limit.nn");

async function run(source: string, stopAfter: Stage = "check"): Promise<CompileResult> {
  return compile(PATH, { stopAfter, entryText: source });
}

function rendered(r: CompileResult): string {
  return renderDiagnostics(r.diagnostics, (p) => r.sources.get(p));
}

const D = MAX_NESTING_DEPTH;

/** Programs whose one construct nests `n` levels deep (no other nesting). */
const NESTED: Record<string, { make: (n: number) => string; opener: string }> = {
  parentheses: { make: (n) => `const c = ${"(".repeat(n)}1${")".repeat(n)}`, opener: "(" },
  "prefix minus": { make: (n) => `const c = ${"-".repeat(n)}1`, opener: "-" },
  "prefix not": { make: (n) => `const c = ${"!".repeat(n)}true`, opener: "!" },
  "`^` chain": { make: (n) => `const c = 1${" ^ 1".repeat(n)}`, opener: "^" },
  calls: {
    make: (n) => `fn g(x: f32) -> f32 = x\nconst c = ${"g(".repeat(n)}1.0${")".repeat(n)}`,
    opener: "(",
  },
  lists: { make: (n) => `const c = ${"[".repeat(n)}1${"]".repeat(n)}`, opener: "[" },
  indexing: {
    make: (n) => `const i = [0]\nconst c = ${"i[".repeat(n)}0${"]".repeat(n)}`,
    opener: "[",
  },
  "list types": {
    make: (n) => `fn f(x: ${"[".repeat(n)}f32${"]".repeat(n)}) -> f32 = 1.0`,
    opener: "[",
  },
  // the function body's block is level 1; in `else if` chains the k-th `if` is
  // level k + 1 and its block level k + 2
  "if blocks": {
    make: (n) =>
      `fn f(x: f32) -> f32 {\n  var y = x\n  ${"if true { ".repeat(n - 1)}y = y + 1.0${" }".repeat(n - 1)}\n  return y\n}`,
    opener: "{",
  },
  "else if": {
    make: (n) =>
      `fn f(x: f32) -> f32 {\n  var y = x\n  if x > 0.0 { y = 1.0 }${" else if x > 1.0 { y = 2.0 }".repeat(n - 2)}\n  return y\n}`,
    // level 65 is the block of the `if` at level 64
    opener: "{",
  },
};

describe(`nesting (limit ${D} levels)`, () => {
  for (const [name, { make, opener }] of Object.entries(NESTED)) {
    it(`${name}: ${D} levels pass the parser, ${D + 1} and 20000 are E0104`, async () => {
      const ok = await run(make(D), "parse");
      expect(
        ok.diagnostics.filter((d) => d.code === "E0104"),
        rendered(ok),
      ).toEqual([]);
      for (const n of [D + 1, 20000]) {
        const r = await run(make(n), "parse");
        expect(r.ok).toBe(false);
        const d = r.diagnostics.find((x) => x.code === "E0104");
        expect(d?.message, rendered(r)).toBe(
          `nested too deeply: \`${opener}\` opens level ${D + 1}, the limit is ${D} levels of brackets and operators`,
        );
        expect(rendered(r)).toMatch(/limit\.nn:\d+:\d+/);
      }
    });
  }

  it(`${D} levels of calls, negations and parentheses compile through emit`, async () => {
    // `sum(` is level 1, each `g(-(` three more
    const k = Math.floor((D - 1) / 3);
    const src = `fn g(x: f32[3]) -> f32[3] = sin(x)
fn h(x: f32[3]) -> f32 = sum(${"g(-(".repeat(k)}x${"))".repeat(k)})
fn f(x: f32[3]) -> f32[3] = grad(h(x), x)`;
    const r = await run(src, "emit");
    expect(r.ok, rendered(r)).toBe(true);
  });
});

describe("long chains are long, not deep", () => {
  it("a 100,000-term sum checks", async () => {
    const src = `fn f(x: f32[3]) -> f32[3] = ${Array(100_000).fill("x").join(" + ")}`;
    const r = await run(src, "check");
    expect(r.ok, rendered(r)).toBe(true);
  }, 30_000);

  it("a 2,000-term sum and a 1,000-statement chain compile, fuse and run", async () => {
    const n = 2000;
    const lets = Array.from({ length: 1000 }, (_, i) => `  let y${i + 1} = y${i} * 0.5 + 1.0`).join(
      "\n",
    );
    const src = `fn f(x: f32[3]) -> f32[3] = ${Array(n).fill("x").join(" + ")}
fn g(x: f32[3]) -> f32[3] {
  let y0 = x
${lets}
  return y1000
}`;
    const r = await run(src, "plan");
    expect(r.ok, rendered(r)).toBe(true);
    // fused kernels stay shallow: several launches instead of one 2000-deep expression
    const plan = r.planned!.units.find((u) => u.kind === "functions")!.plan;
    expect(plan.functions.f!.gpu!.launches.length).toBeGreaterThan(1);
    const { module } = await moduleFor(r.planned!, "f", "f64", 0);
    const [y] = await module.call("f", [[1, 2, -3]]);
    expect([...y!.data]).toEqual([2000, 4000, -6000]);
    const [z] = await module.call("g", [[0, 2, 4]]);
    // y → y/2 + 1 converges to 2
    for (const v of z!.data) expect(v).toBeCloseTo(2, 10);
  }, 30_000);
});

describe(`tensor size (limit ${MAX_TENSOR_ELEMENTS} elements)`, () => {
  const cases: Record<string, { src: string; message: string }> = {
    parameter: {
      src: "model M {\n  param w: f32[100000, 100000, 100000] = zeros\n  fn f(x: f32[3]) -> f32[3] = x\n}",
      message: "tensor too large: f32[100000, 100000, 100000] has 1000000000000000 elements",
    },
    "zeros([2^40])": {
      src: "fn f() -> f32 = sum(zeros([2^40]))",
      message: "tensor too large: f32[1099511627776] has 1099511627776 elements",
    },
    "an input type": {
      src: "fn f(x: f32[65536, 32768]) -> f32 = sum(x)",
      message: "tensor too large: f32[65536, 32768] has 2147483648 elements",
    },
    "a broadcast result": {
      src: "fn f(x: f32[50000, 1], y: f32[1, 50000]) -> f32 = sum(x * y)",
      message: "tensor too large: f32[50000, 50000] has 2500000000 elements",
    },
    "a symbolic input with a fixed part too large": {
      src: "fn f(x: f32[N, 100000, 100000]) -> f32 = sum(x)",
      message: "tensor too large: f32[N, 100000, 100000] has at least 10000000000 elements",
    },
  };
  for (const [name, { src, message }] of Object.entries(cases)) {
    it(`${name} is E0319`, async () => {
      const r = await run(src);
      expect(r.ok).toBe(false);
      const d = r.diagnostics.find((x) => x.code === "E0319");
      expect(d?.message, rendered(r)).toBe(
        `${message}, the limit is ${MAX_TENSOR_ELEMENTS} (2^31 - 1) per tensor`,
      );
    });
  }

  it("the largest allowed shape checks", async () => {
    const r = await run("fn f(x: f32[2147483647]) -> f32 = sum(x)");
    expect(r.ok, rendered(r)).toBe(true);
  });

  it("sizes that overflow only at run time are an ArgumentError naming the limit", async () => {
    const r = await run(
      "fn outer(a: f32[N], b: f32[M]) -> f32 = sum(reshape(a, [N, 1]) * reshape(b, [1, M]))",
      "plan",
    );
    expect(r.ok, rendered(r)).toBe(true);
    const { module } = await moduleFor(r.planned!, "outer", "f32", 0);
    const [small] = await module.call("outer", [
      [1, 2],
      [3, 4, 5],
    ]);
    expect([...small!.data]).toEqual([36]);
    // flat data of the declared rank-1 shape: only lengths are checked before
    // the error, nothing of the 2.5e9-element product is allocated
    const a = new Float32Array(50_000);
    await expect(module.call("outer", [a, a])).rejects.toThrow(ArgumentError);
    await expect(module.call("outer", [a, a])).rejects.toThrow(
      `outer: a tensor of 2500000000 elements with N = 50000 (bound by argument "a"), M = 50000 (bound by argument "b") is over the limit of ${MAX_TENSOR_ELEMENTS} (2^31 - 1) elements per tensor`,
    );
  });
});

describe("backend buffers", () => {
  it("webgpu: a buffer over maxBufferSize or maxStorageBufferBindingSize is a BackendLimitError", () => {
    const limits = { maxBufferSize: 1024, maxStorageBufferBindingSize: 512 };
    expect(() => checkBufferLimits(512, "param w", limits, "test adapter")).not.toThrow();
    const e = (() => {
      try {
        checkBufferLimits(516, "param w", limits, "test adapter");
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(BackendLimitError);
    expect((e as BackendLimitError).message).toBe(
      "webgpu: param w needs 516 bytes, over the limit of 512 bytes (maxStorageBufferBindingSize of test adapter)",
    );
    expect(() =>
      checkBufferLimits(2048, "constant 3", { ...limits, maxStorageBufferBindingSize: 4096 }, "a"),
    ).toThrow("over the limit of 1024 bytes (maxBufferSize of a)");
  });

  it("wasm: parameters over 4 GiB are a BackendLimitError at module creation, before allocating", async () => {
    // 2^30 f32 = 4 GiB: within the tensor limit, over wasm32's memory
    const r = await run(
      "model Big {\n  param w: f32[32768, 32768] = zeros\n  fn f(x: f32[3]) -> f32[3] = x\n}",
      "plan",
    );
    expect(r.ok, rendered(r)).toBe(true);
    const err = await moduleFor(r.planned!, "Big.f", "f32", 0, "wasm").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BackendLimitError);
    expect((err as BackendLimitError).backend).toBe("wasm");
    expect((err as Error).message).toMatch(
      /^wasm: parameter w needs \d+ bytes, over the limit of 4294967296 bytes \(4 GiB of WebAssembly memory, 65536 pages\)$/,
    );
  });
});

describe("big sources", () => {
  it(`a source over ${MAX_SOURCE_CHARS} characters is E0104 at once`, async () => {
    const t = performance.now();
    const r = await run(`// ${"x".repeat(MAX_SOURCE_CHARS)}\n`, "parse");
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      `source file too large: ${MAX_SOURCE_CHARS + 4} characters, the limit is ${MAX_SOURCE_CHARS}`,
    ]);
    expect(performance.now() - t).toBeLessThan(2000);
  });

  it("a 5 MB comment, a 5 MB string and 1 MB of functions check", async () => {
    const fn = (i: number) => `fn f${i}(x: f32[3]) -> f32[3] = x * ${i}.0 + sin(x) - ${i}.5\n`;
    const sources = {
      comment: `/* ${"a b\n".repeat(1_250_000)} */\n${fn(0)}`,
      string: `const s = "${"ab".repeat(2_500_000)}"\n${fn(0)}`,
      functions: Array.from({ length: 16_000 }, (_, i) => fn(i)).join(""),
    };
    for (const [name, src] of Object.entries(sources)) {
      const r = await run(src, "parse");
      expect(r.ok, `${name}: ${rendered(r)}`).toBe(true);
    }
  }, 60_000);
});
