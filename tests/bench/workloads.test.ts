/**
 * The benchmark's transformer and CNN workloads (bench/workloads/*.mjs), without their peers or a
 * timed run: the parameters each workload initializes for every framework are exactly the
 * parameters of its nnc program (path, shape and order), bench/programs/cnn.nn still mirrors
 * examples/cnn.nn's network, and the check variant of a program edits its learning rate.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { formatType } from "../../compiler/check/types.js";
import { compile } from "../../compiler/pipeline.js";

const root = join(import.meta.dirname, "..", "..");
type Spec = [string, number[], unknown][];
/** The workload modules' exports used here (they are plain .mjs, so typed by hand). */
interface Workload {
  SPEC: Spec;
}
interface CnnWorkload extends Workload {
  mirrors: (example?: string, bench?: string) => void;
}
interface Shared {
  lrCheck: (s: string) => string;
  initParams: (spec: Spec, seed: number) => { path: string; shape: number[]; data: Float32Array }[];
}
const load = async <T>(file: string): Promise<T> =>
  (await import(pathToFileURL(join(root, "bench", "workloads", file)).href)) as T;

/** The trainable parameters of the program's one model, by path, as `f32[...]`. */
async function programParams(name: string): Promise<[string, string][]> {
  const r = await compile(join(root, "bench", "programs", `${name}.nn`), { stopAfter: "check" });
  expect(r.ok, r.diagnostics.map((d) => d.message).join("\n")).toBe(true);
  const [model, ...others] = r.checked?.models ?? [];
  expect(others).toHaveLength(0);
  return (model?.params ?? [])
    .filter((p) => p.kind !== "state")
    .map((p) => [p.path, formatType(p.type)]);
}

describe("bench workloads", () => {
  for (const name of ["transformer", "cnn"]) {
    it(`${name}: the workload's parameters are the program's`, async () => {
      const w = await load<Workload>(`${name}.mjs`);
      expect(w.SPEC.map(([p, s]) => [p, `f32[${s.join(", ")}]`])).toEqual(
        await programParams(name),
      );
    });
  }

  it("cnn: bench/programs/cnn.nn mirrors examples/cnn.nn, and a changed layer is caught", async () => {
    const w = await load<CnnWorkload>("cnn.mjs");
    expect(() => w.mirrors()).not.toThrow();
    const example = readFileSync(join(root, "examples", "cnn.nn"), "utf8");
    const bench = readFileSync(join(root, "bench", "programs", "cnn.nn"), "utf8");
    expect(() => w.mirrors(example, bench)).not.toThrow();
    const wider = example.replace(
      "hidden = dense(c2 * 7 * 7, 64)",
      "hidden = dense(c2 * 7 * 7, 128)",
    );
    expect(wider).not.toBe(example);
    expect(() => w.mirrors(wider, bench)).toThrow(/dense\(c2 \* 7 \* 7, 64\).*128/);
    const pooled = bench.replace("let h1 = max_pool2d(relu(conv1(x)))", "let h1 = relu(conv1(x))");
    expect(() => w.mirrors(example, pooled)).toThrow(/no longer mirrors/);
  });

  it("shared: the check variant's learning rate, and deterministic parameters", async () => {
    const s = await load<Shared>("shared.mjs");
    expect(s.lrCheck("train M.l with sgd(lr = 0.01) {")).toBe("train M.l with sgd(lr = 1024.0) {");
    expect(() => s.lrCheck("train M.l with adam() {")).toThrow(/sgd/);
    const spec: Spec = [
      ["a.w", [3, 4], "glorot"],
      ["a.b", [4], "bias"],
      ["c.w", [2, 3, 3, 3], "he"],
    ];
    const p = s.initParams(spec, 7);
    expect(p.map((q) => q.data.length)).toEqual([12, 4, 54]);
    expect(s.initParams(spec, 7)).toEqual(p);
    expect(s.initParams(spec, 8)).not.toEqual(p);
    // glorot for [3, 4]: uniform within ±√(6 / 7)
    const w = p.find((q) => q.path === "a.w")?.data ?? new Float32Array();
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 7));
  });
});
