/**
 * nnc's compiler as a library: compile a `.nn` file to its stages' results
 * and emitted files, render diagnostics, or load a compiled program in this
 * process. The `nnc` command is built on these.
 */
export {
  compile,
  isStage,
  STAGES,
  type CompileOptions,
  type CompileResult,
  type Stage,
} from "./pipeline.js";
export { renderDiagnostic, renderDiagnostics } from "./diagnostics/render.js";
export { InternalCompilerError, type Diagnostic } from "./diagnostics/diagnostic.js";
export { loadInProcess } from "./codegen/inprocess.js";
export type { EmittedFile } from "./codegen/host.js";
export type { PlannedProgram, PlannedUnit } from "./codegen/program.js";
export { trainCommand, type TrainCommandOptions, type TrainReport } from "./driver/train.js";
