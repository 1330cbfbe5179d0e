/** Type-checking generated modules under the project's strict settings. */
import { relative } from "node:path";
import ts from "typescript";

/** The project's strict settings (tsconfig.json), for generated files. */
export const STRICT: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
  types: ["node"],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  noImplicitOverride: true,
  noFallthroughCasesInSwitch: true,
  noImplicitReturns: true,
  noEmit: true,
};

/**
 * Type errors of `files` (and of the options), rendered as `path:line: message`;
 * errors inside the files they import are not theirs.
 */
export function typeErrors(files: readonly string[], options: ts.CompilerOptions): string[] {
  const program = ts.createProgram([...files], options);
  const diags = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const file of files) {
    const sf = program.getSourceFile(file);
    if (sf === undefined) throw new Error(`${file} is not part of the program`);
    diags.push(...ts.getPreEmitDiagnostics(program, sf));
  }
  return diags.map((d) => {
    const where =
      d.file && d.start !== undefined
        ? `${relative(process.cwd(), d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: `
        : "";
    return where + ts.flattenDiagnosticMessageText(d.messageText, "\n");
  });
}
