/**
 * Every kernel body is valid TypeScript under the strictest settings the
 * project uses, when printed as a function the way the generated module does.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { compileKernels } from "../../compiler/codegen/inprocess.js";
import { planProgram } from "../../compiler/codegen/plan.js";
import { KERNEL_ARRAY_TYPE, kernelFunctionSource } from "../../compiler/codegen/ts.js";
import { Graph } from "../../compiler/ir/build.js";
import { OPS } from "../../compiler/ir/ops.js";
import { everyOpFunction } from "./allops.js";

function planAll() {
  const g = new Graph();
  const f = everyOpFunction(g);
  return {
    f,
    ...planProgram({
      functions: [f],
      params: [{ path: "p", dtype: "f32", shape: [2] }],
      init: null,
    }),
  };
}

describe("kernel bodies", () => {
  it("cover every op that has a kernel", () => {
    const { f } = planAll();
    const used = new Set<string>();
    const walk = (n: (typeof f.outputs)[number]): void => {
      used.add(n.op);
      n.inputs.forEach(walk);
    };
    f.outputs.forEach(walk);
    // derivative placeholders never reach code generation; stop_gradient is removed by the optimizer
    const kernelless = new Set(["grad", "jvp", "stop_gradient"]);
    expect([...OPS].filter((op) => !used.has(op) && !kernelless.has(op))).toEqual([]);
  });

  it("type-check as TypeScript (strict, noUncheckedIndexedAccess, exactOptionalPropertyTypes)", () => {
    const { kernels } = planAll();
    const dir = join(process.cwd(), "tests", ".tmp");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "backends-kernels.ts");
    const text = [
      KERNEL_ARRAY_TYPE,
      ...kernels.map(kernelFunctionSource),
      `export const kernels = [${kernels.map((k) => k.name).join(", ")}];`,
      "",
    ].join("\n\n");
    writeFileSync(file, text);
    const program = ts.createProgram([file], {
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      lib: ["lib.es2023.d.ts"],
      types: [],
      noImplicitReturns: true,
      noFallthroughCasesInSwitch: true,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const pos =
        d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      return `${pos ? `${pos.line + 1}:${pos.character + 1} ` : ""}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
    expect(diagnostics).toEqual([]);
    expect(kernels.length).toBeGreaterThan(60);
  });

  it("compile as JavaScript with new Function", () => {
    const { kernels } = planAll();
    const fns = compileKernels(kernels);
    expect(Object.keys(fns)).toEqual(kernels.map((k) => k.name));
  });
});
