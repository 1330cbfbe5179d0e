/**
 * Fusion structure: each program in `tests/fusion/programs/` states in its
 * header how many kernels a function must compile to
 * (`// kernels: Model.fn == 3` or `<= 20`). Also checks, for every program of
 * the test suite, that every GPU launch binds no more storage buffers than
 * WebGPU's default limit.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../compiler/kernel/kernelIr.js";
import { compileProgram } from "../programs/harness.js";
import { PROGRAM_FILES } from "./args.js";

const DIR = "tests/fusion/programs";
const PROGRAMS = readdirSync(DIR)
  .filter((f) => f.endsWith(".nn"))
  .sort();

interface Bound {
  readonly unit: string;
  readonly fn: string;
  readonly op: "==" | "<=";
  readonly count: number;
  readonly line: number;
}

function bounds(source: string): Bound[] {
  const out: Bound[] = [];
  source.split("\n").forEach((text, k) => {
    const m = /^\/\/ kernels: (\w+)\.(\w+) (==|<=) (\d+)\s*$/.exec(text);
    if (m)
      out.push({
        unit: m[1]!,
        fn: m[2]!,
        op: m[3] as "==" | "<=",
        count: Number(m[4]),
        line: k + 1,
      });
  });
  return out;
}

describe.each(PROGRAMS)("%s", (file) => {
  it("compiles each stated function to the stated number of kernels", async () => {
    const source = readFileSync(join(DIR, file), "utf8");
    const stated = bounds(source);
    expect(stated.length).toBeGreaterThan(0);
    const { planned } = await compileProgram(join(DIR, file));
    for (const b of stated) {
      const unit = planned.units.find((u) => u.name === b.unit);
      const fn = unit?.plan.functions[b.fn];
      expect(fn?.gpu, `${file}:${b.line}: ${b.unit}.${b.fn}`).toBeDefined();
      const n = fn!.gpu!.launches.length;
      if (b.op === "==") expect(n, `${file}:${b.line}`).toBe(b.count);
      else expect(n, `${file}:${b.line}`).toBeLessThanOrEqual(b.count);
    }
  });
});

describe("every program", () => {
  it.each(PROGRAM_FILES)("%s: launches respect the storage-buffer limit", async (path) => {
    const { planned } = await compileProgram(path);
    for (const u of planned.units)
      for (const f of [...(u.plan.init ? [u.plan.init] : []), ...Object.values(u.plan.functions)])
        for (const l of f.gpu!.launches)
          expect(l.buffers.length, `${u.name}.${f.name} ${l.kernel}`).toBeLessThanOrEqual(
            DEFAULT_LIMITS.maxStorageBuffersPerShaderStage,
          );
  });
});
