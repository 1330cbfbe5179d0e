/**
 * End to end: the real CLI (`bin/nnc.js`, which runs the built compiler in
 * `dist/`; `npm test` builds it first) compiles examples/mlp.nn, and a plain
 * Node ESM process (no loaders) imports the generated module, runs
 * `Classifier.logits` on the CPU and reports back; the test recomputes the
 * forward pass from the module's own parameters.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(".");
const NNC = join(ROOT, "bin/nnc.js");
const TMP = join(ROOT, "tests/.tmp/e2e");
const OUT = join(TMP, "mlp");

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: readonly string[], cwd = ROOT): Run {
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function nnc(...args: string[]): Run {
  return run([NNC, ...args]);
}

/** Five points in the plane, exact in f32. */
const POINTS = [
  [0.5, -1.25],
  [1.5, 0.75],
  [-2, 0.25],
  [0, 0],
  [-0.625, -1.5],
];

/** Biases set after creation, so the check covers them (the initializer makes them zero). */
const BIASES = {
  "l1.b": Array.from({ length: 64 }, (_, k) => ((k * 37) % 17) / 16 - 0.5),
  "l2.b": Array.from({ length: 64 }, (_, k) => ((k * 11) % 13) / 26 - 0.25),
  "out.b": [0.75, -0.5, 0.125],
};

/** The child: plain Node ESM importing the generated module. Prints one JSON line. */
const CHILD = `
import { Classifier } from "./mlp/mlp.js";

const m = await Classifier.create({ backend: "cpu", seed: 7 });
const points = ${JSON.stringify(POINTS)};
const plain = (t) => ({ dtype: t.dtype, shape: [...t.shape], data: [...t.data] });
const params = async (mod) => Object.fromEntries(Object.entries(await mod.parameters()).map(([k, t]) => [k, plain(t)]));
const first = await m.logits(points);
const firstParams = await params(m);
m.setParameters(${JSON.stringify(BIASES)});
const second = await m.logits(points);
const secondParams = await params(m);
let wrong = null;
try {
  await m.logits([[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 1, 1], [0, 0, 0]]);
} catch (e) {
  wrong = { name: e.name, message: e.message };
}
const w = await Classifier.create({ backend: "wasm", seed: 7 });
w.setParameters(await m.parameters());
const wasm = { backend: w.backend, adapter: w.adapter, first: plain(await w.logits(points)) };
w.dispose();
const again = await Classifier.create({ backend: "cpu", seed: 7 });
const other = await Classifier.create({ backend: "cpu", seed: 8 });
console.log(JSON.stringify({
  backend: m.backend,
  wasm,
  first: plain(first),
  firstParams,
  second: plain(second),
  secondParams,
  wrong,
  stateKeys: Object.keys(await m.state()),
  sameSeed: JSON.stringify(await params(again)) === JSON.stringify(firstParams),
  otherSeed: JSON.stringify(await params(other)) === JSON.stringify(firstParams),
}));
m.dispose();
again.dispose();
other.dispose();
`;

interface Plain {
  readonly dtype: string;
  readonly shape: number[];
  readonly data: number[];
}

interface ChildReport {
  readonly backend: string;
  readonly wasm: { backend: string; adapter: string; first: Plain };
  readonly first: Plain;
  readonly firstParams: Record<string, Plain>;
  readonly second: Plain;
  readonly secondParams: Record<string, Plain>;
  readonly wrong: { name: string; message: string } | null;
  readonly stateKeys: string[];
  readonly sameSeed: boolean;
  readonly otherSeed: boolean;
}

/** `relu(relu(x W1 + b1) W2 + b2) W3 + b3`, in f64, from the module's parameters. */
function forward(params: Record<string, Plain>, x: readonly (readonly number[])[]): number[][] {
  const dense = (h: readonly (readonly number[])[], layer: string): number[][] => {
    const w = params[`${layer}.w`]!;
    const b = params[`${layer}.b`]!;
    const [k, n] = w.shape as [number, number];
    expect(h[0]!.length).toBe(k);
    expect(b.shape).toEqual([n]);
    return h.map((row) =>
      Array.from({ length: n }, (_, j) =>
        row.reduce((acc, v, i) => acc + v * w.data[i * n + j]!, b.data[j]!),
      ),
    );
  };
  const relu = (h: number[][]) => h.map((r) => r.map((v) => Math.max(v, 0)));
  return dense(relu(dense(relu(dense(x, "l1")), "l2")), "out");
}

function expectClose(got: Plain, expected: number[][], tol: number): void {
  expect(got.dtype).toBe("f32");
  expect(got.shape).toEqual([expected.length, expected[0]!.length]);
  const bad = got.data
    .map((v, k) => ({ k, v, e: expected[Math.floor(k / 3)]![k % 3]! }))
    .filter(({ v, e }) => !(Math.abs(v - e) <= tol * (1 + Math.abs(e))));
  expect(bad).toEqual([]);
}

describe("nnc build examples/mlp.nn, imported from plain Node", () => {
  let build: Run;
  let childReport: ChildReport | undefined;
  /** The child's report; fails with the build's output when there is none. */
  const report = (): ChildReport => {
    expect(build.status, `nnc build failed:\n${build.stderr}`).toBe(0);
    expect(childReport).toBeDefined();
    return childReport!;
  };

  beforeAll(() => {
    expect(
      existsSync(join(ROOT, "dist/bin/cli.js")),
      "dist/ is missing: run `npm run build` (npm test does)",
    ).toBe(true);
    rmSync(TMP, { recursive: true, force: true });
    mkdirSync(TMP, { recursive: true });
    build = nnc("build", "examples/mlp.nn", "-o", OUT);
    if (build.status !== 0) return;
    writeFileSync(join(TMP, "child.mjs"), CHILD);
    const child = run(["child.mjs"], TMP);
    expect(child.stderr).toBe("");
    expect(child.status).toBe(0);
    childReport = JSON.parse(child.stdout) as ChildReport;
  });

  it("builds with exit status 0 and writes the module and its runtime", () => {
    expect(build.stderr).toMatch(/nnc: wrote .*mlp\.ts and \d+ more file\(s\)/);
    expect(build.status).toBe(0);
    for (const f of [
      "mlp.ts",
      "mlp.js",
      "mlp.d.ts",
      "nnc-runtime/index.js",
      "nnc-runtime/index.d.ts",
    ])
      expect(existsSync(join(OUT, f)), f).toBe(true);
  });

  it("runs Classifier.logits on the CPU: shape [5, 3], equal to a forward pass from parameters()", () => {
    expect(report().backend).toBe("cpu");
    // parameters() holds the model's parameters only, not the optimizer's state
    expect(Object.keys(report().firstParams).sort()).toEqual([
      "l1.b",
      "l1.w",
      "l2.b",
      "l2.w",
      "out.b",
      "out.w",
    ]);
    expect(report().firstParams["l1.w"]!.shape).toEqual([2, 64]);
    // state() adds the optimizer's (the example trains with adam)
    expect(report().stateKeys).toEqual(expect.arrayContaining(Object.keys(report().firstParams)));
    expect(report().first.shape).toEqual([5, 3]);
    expectClose(report().first, forward(report().firstParams, POINTS), 1e-5);
    // the logits are not trivially zero
    expect(report().first.data.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  it("runs Classifier.logits on wasm from the same parameters, agreeing with the CPU", () => {
    expect(report().wasm.backend).toBe("wasm");
    expect(report().wasm.adapter).toMatch(/^WebAssembly (relaxed )?SIMD$/);
    // the wasm module took the CPU module's parameters after the new biases
    expectClose(report().wasm.first, forward(report().secondParams, POINTS), 1e-5);
  });

  it("agrees again after new biases are set", () => {
    expect(report().secondParams["out.b"]!.data).toEqual(BIASES["out.b"]);
    expectClose(report().second, forward(report().secondParams, POINTS), 1e-5);
    expect(report().second.data).not.toEqual(report().first.data);
  });

  it("initializes parameters from the seed", () => {
    expect(report().sameSeed).toBe(true);
    expect(report().otherSeed).toBe(false);
    expect(report().firstParams["l1.b"]!.data.every((v) => v === 0)).toBe(true);
  });

  it("rejects a wrong-shaped input with an error naming the argument and both shapes", () => {
    expect(report().wrong).not.toBeNull();
    const { name, message } = report().wrong!;
    expect(name).toBe("ArgumentError");
    expect(message).toContain('"x"');
    expect(message).toContain("f32[B, 2]");
    expect(message).toContain("[5, 3]");
  });
});

describe("the nnc command", () => {
  it("--help describes the commands", () => {
    const r = nnc("--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: nnc/);
    expect(r.stdout).toContain("build");
    expect(r.stdout).toContain("check");
  });

  it("--version prints the package version", async () => {
    const { default: pkg } = (await import("../../package.json", { with: { type: "json" } })) as {
      default: { version: string };
    };
    const r = nnc("--version");
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it("build of a missing file exits 1 with a clear message and no stack trace", () => {
    const r = nnc("build", "tests/.tmp/e2e/does-not-exist.nn", "-o", join(TMP, "missing"));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("does-not-exist.nn");
    expect(r.stderr).toMatch(/cannot read|not found|no such file/i);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).not.toMatch(/internal compiler error/i);
    expect(existsSync(join(TMP, "missing"))).toBe(false);
  });
});
