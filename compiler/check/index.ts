/** The checker's entry point: elaborate a loaded program into typed entry functions. */
import type { DiagnosticBag } from "../diagnostics/diagnostic.js";
import { Elaborator } from "./elaborate.js";
import type { LoadedProgram } from "./resolve.js";
import type { CheckedProgram } from "./types.js";

/** Checks types and shapes; returns undefined when errors were reported. */
export function checkProgram(
  program: LoadedProgram,
  bag: DiagnosticBag,
): CheckedProgram | undefined {
  const checked = new Elaborator(program, bag).checkProgram();
  return bag.hasErrors ? undefined : checked;
}

export { loadProgram, type LoadedProgram, type LoadOptions, type ModuleInfo } from "./resolve.js";
export type { CheckedFunction, CheckedModel, CheckedProgram, TExpr } from "./types.js";
