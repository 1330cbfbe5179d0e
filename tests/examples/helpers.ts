/**
 * What the example tests share: `nnc train` run in-process on a program
 * (`trainCommand`), quietly, with its compile errors rendered when it does
 * not compile.
 */
import { renderDiagnostics } from "../../compiler/diagnostics/render.js";
import { trainCommand, type TrainReport } from "../../compiler/driver/train.js";
import type { CompileResult } from "../../compiler/pipeline.js";

/**
 * Trains `file` for `steps` steps (default: its own) into the folder `out`,
 * reusing `compiled` when given; returns the report.
 */
export async function trainFile(
  file: string,
  out: string,
  steps?: number,
  compiled?: CompileResult,
): Promise<TrainReport> {
  const options = { out, write: () => {}, isTTY: false };
  const r = await trainCommand(
    file,
    steps === undefined ? options : { ...options, steps },
    compiled,
  );
  if (!("result" in r))
    throw new Error(
      `${file} does not compile:\n${renderDiagnostics(r.diagnostics, (p) => r.sources.get(p))}`,
    );
  return r;
}
