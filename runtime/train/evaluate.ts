/**
 * Evaluating model functions on fixed data after (or during) training: a
 * held-out metric written in nnc (an f32 scalar that is a mean over the rows
 * of its inputs, like an accuracy), or the training accuracy of a classifier.
 * Row-paired data longer than the evaluation batch is fed in consecutive
 * pieces (see `Dataset.batches`), so a large test set never has to pass
 * through the model in one call.
 */
import { NncError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import type { Dataset } from "./data.js";

/** What evaluation needs of a module (a `CompiledModule` has it). */
export interface CallableModule {
  call(fnName: string, args: readonly Tensor[]): Promise<readonly (Tensor | null)[]>;
}

/** An evaluated function returned something that cannot be evaluated (not a scalar, say). */
export class EvaluationError extends NncError {}

/**
 * The value of function `fn` on `data` (whose inputs are `fn`'s, in order):
 * one call when the data cannot be split or has at most `batch` rows;
 * otherwise one call per piece of at most `batch` rows, combined as the mean
 * of the pieces' values weighted by their rows, which equals the value of
 * one call when `fn` is a mean over its inputs' first axis.
 */
export async function evaluateMean(
  module: CallableModule,
  fn: string,
  data: Dataset,
  batch: number | undefined,
  seed?: number,
): Promise<number> {
  let total = 0;
  let rows = 0;
  for (const piece of data.batches(batch, seed)) {
    const [out] = await module.call(
      fn,
      data.inputs.map((s) => piece.inputs[s.name]!),
    );
    if (out == null || out.size !== 1)
      throw new EvaluationError(
        `evaluating ${fn}: it must return a scalar, got ${out == null ? "nothing" : `shape [${out.shape.join(", ")}]`}`,
      );
    total += out.data[0]! * piece.rows;
    rows += piece.rows;
  }
  return total / rows;
}

/**
 * The fraction of rows whose largest output of classifier `fn` (`[B, C]`
 * logits; the first on ties) is at the label in input `labels` of `data`.
 * `fn` takes the inputs named by `inputs` (a subset of the data's), and the
 * data is fed in pieces of at most `batch` rows.
 */
export async function evaluateAccuracy(
  module: CallableModule,
  fn: string,
  inputs: readonly string[],
  labels: string,
  data: Dataset,
  batch: number | undefined,
  seed?: number,
): Promise<number> {
  let right = 0;
  let rows = 0;
  for (const piece of data.batches(batch, seed)) {
    const [logits] = await module.call(
      fn,
      inputs.map((name) => piece.inputs[name]!),
    );
    const y = piece.inputs[labels]!;
    if (logits == null || logits.shape.length !== 2 || logits.shape[0] !== y.shape[0])
      throw new EvaluationError(
        `accuracy of ${fn}: it must return [B, C] logits for the ${y.shape[0]} labels, got ${logits == null ? "nothing" : `shape [${logits.shape.join(", ")}]`}`,
      );
    const [n, classes] = logits.shape as [number, number];
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let c = 1; c < classes; c++)
        if (logits.data[r * classes + c]! > logits.data[r * classes + best]!) best = c;
      if (best === y.data[r]) right++;
    }
    rows += n;
  }
  return right / rows;
}
