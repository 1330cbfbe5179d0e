/**
 * The demo page's sources (examples/web/): the declarations of
 * `examples/poisson1d.nn` that the nnc Vite plugin writes beside it
 * (`poisson1d.d.nn.ts`, committed so the demo type-checks on a clean clone)
 * are what the compiler emits now, and the page's TypeScript type-checks
 * against them. The page itself runs in tests/browser/demo.test.ts.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { compile } from "../../compiler/pipeline.js";

describe("the demo page's sources", () => {
  it("examples/poisson1d.d.nn.ts is the declaration file nnc emits for poisson1d.nn", async () => {
    const r = await compile("examples/poisson1d.nn", { runtimeImport: "nnc/runtime" });
    expect(r.ok).toBe(true);
    const emitted = r.files!.find((f) => f.path.endsWith(".d.ts"))!.contents;
    expect(
      readFileSync("examples/poisson1d.d.nn.ts", "utf8"),
      "examples/poisson1d.d.nn.ts is out of date: `npx vite build examples/web` (or `npm run demo`) rewrites it",
    ).toBe(emitted);
  }, 60_000);

  it("examples/web type-checks (tsconfig.json there)", () => {
    const host: ts.ParseConfigFileHost = {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    };
    const parsed = ts.getParsedCommandLineOfConfigFile(
      resolve("examples/web/tsconfig.json"),
      {},
      host,
    )!;
    expect(parsed.errors).toEqual([]);
    expect(parsed.fileNames.map((f) => f.replace(/^.*\/examples\//, ""))).toEqual(
      expect.arrayContaining([
        "web/main.ts",
        "web/plot.ts",
        "web/vite.config.ts",
        "poisson1d.d.nn.ts",
      ]),
    );
    const program = ts.createProgram(parsed.fileNames, parsed.options);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      if (d.file === undefined || d.start === undefined) return text;
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      return `${d.file.fileName}:${line + 1}:${character + 1}: ${text}`;
    });
    expect(problems).toEqual([]);
  }, 120_000);
});
