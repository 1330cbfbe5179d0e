/**
 * The host-side training loop around a module's compiled training step:
 * each step feeds the dataset's inputs to `module.call("step", …)`, which runs
 * forward, backward and the optimizer update and returns the loss. The loop
 * records every loss, keeps the best state seen, stops cleanly on a
 * non-finite loss, and reports progress.
 */
import { onHost } from "../backends/index.js";
import { NncError, NumericsError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { formatNumber } from "./format.js";

/** What the loop needs of a module (a `CompiledModule` with a `step` function has it). */
export interface TrainableModule {
  /** With `{ read: false }` the outputs need not be read back (they may be null). */
  call(
    fnName: string,
    args: readonly Tensor[],
    options?: { readonly read?: boolean },
  ): Promise<readonly (Tensor | null)[]>;
  state(): Promise<Record<string, Tensor>> | Record<string, Tensor>;
  setState(values: Readonly<Record<string, Tensor>>): void;
  /**
   * Where the module runs. On the CPU (or when absent) the loss is read every
   * step; on another backend only on the steps that need it.
   */
  readonly backend?: string;
}

/** What the loop needs of the data (a `Dataset` has it): step `step`'s inputs, in call order. */
export interface TrainingData {
  args(step: number, seed?: number): Tensor[];
}

/** Passed to `onProgress`. Steps are counted from 1 and include steps done before a resume. */
export interface ProgressInfo {
  /** Steps done. */
  readonly step: number;
  /** The step count at which training ends. */
  readonly steps: number;
  /** The loss of step `step`. */
  readonly loss: number;
  readonly bestLoss: number;
  readonly bestStep: number;
  /** Seconds since this run started. */
  readonly seconds: number;
  /** Steps per second in this run so far. */
  readonly stepsPerSecond: number;
  /** The latest evaluation, if any. */
  readonly evaluation?: { readonly step: number; readonly value: number };
}

/** Options of {@link runTraining}. */
export interface TrainingOptions {
  /** Train until this many steps are done (counting those before `startStep`). */
  readonly steps: number;
  readonly data: TrainingData;
  /** Seed of the data stream (default: the dataset's own). */
  readonly seed?: number;
  /** Steps already done (resuming from a checkpoint): the run continues with step `startStep + 1`. */
  readonly startStep?: number;
  /**
   * Keep a copy of the state whenever the loss reaches a new low (at most once
   * every max(1, steps/1000) steps, and always on the last step) and restore
   * it at the end (default true).
   */
  readonly keepBest?: boolean;
  /** Call `onProgress` every this many steps (and on the last; default 1). */
  readonly logEvery?: number;
  readonly onProgress?: (info: ProgressInfo) => void;
  /** Runs `fn` (for example a validation error) every `every` steps, on the current state. */
  readonly evaluate?: { readonly every: number; readonly fn: () => Promise<number> };
  /** Stops training after the current step; the result says `stopped`. */
  readonly signal?: AbortSignal;
  /** Milliseconds from any origin (default `performance.now`), for tests. */
  readonly now?: () => number;
}

/** What {@link runTraining} returns. */
export interface TrainingResult {
  /**
   * `losses[k]` is the loss of step `startStep + k + 1`; one entry per step
   * run. On a GPU backend the loss is read back only on the steps that need
   * it (logged, evaluated, a keep-best check, the last); the others are NaN.
   */
  readonly losses: Float64Array;
  readonly startStep: number;
  /** Steps run by this call. */
  readonly steps: number;
  /** The lowest loss of this run, and the step (counted from 1) that returned it. */
  readonly bestLoss: number;
  readonly bestStep: number;
  /** The loss of the last step run. */
  readonly finalLoss: number;
  /**
   * With `keepBest`: the step whose resulting state the module was given back
   * at the end (null when the last step's state was kept, or without keepBest).
   */
  readonly restoredStep: number | null;
  readonly evaluations: readonly { readonly step: number; readonly value: number }[];
  readonly seconds: number;
  readonly stepsPerSecond: number;
  /** Whether `signal` stopped the run early. */
  readonly stopped: boolean;
}

/** Training could not go on (a non-finite loss, or a step that returns no loss). */
export class TrainingError extends NncError {
  constructor(
    message: string,
    /** The step (counted from 1) at which training stopped. */
    readonly step: number,
    /** What the run did up to there, including the failing step's loss. */
    readonly result: TrainingResult,
  ) {
    super(message);
  }
}

/** How often a run lets timers and signal handlers in (a Ctrl-C handler must be able to abort it). */
const YIELD_MS = 200;

/**
 * Trains `module` until `options.steps` steps are done. The loss of step k
 * is computed by the forward pass just before step k's update. On the CPU
 * the loss is read every step; on a GPU only on steps that log, evaluate, end
 * the run, or (with `keepBest`) every max(1, steps/1000) steps, so a
 * non-finite loss is noticed on the first such step after it appears. With
 * `keepBest`, a snapshot of `module.state()` is taken right after a step
 * whose loss is a new low (rate-limited, see {@link TrainingOptions.keepBest}),
 * and the module gets the best snapshot back at the end, also when training
 * stops on a non-finite loss. Throws {@link TrainingError} in that case.
 */
export async function runTraining(
  module: TrainableModule,
  options: TrainingOptions,
): Promise<TrainingResult> {
  const { steps, data, seed } = options;
  const startStep = options.startStep ?? 0;
  const keepBest = options.keepBest ?? true;
  const logEvery = options.logEvery ?? 1;
  const now = options.now ?? (() => performance.now());
  const positive = (v: number, what: string): void => {
    if (!(Number.isSafeInteger(v) && v >= 1))
      throw new NncError(`runTraining: ${what} must be a positive integer, got ${v}`);
  };
  positive(steps, "steps");
  positive(logEvery, "logEvery");
  if (options.evaluate !== undefined) positive(options.evaluate.every, "evaluate.every");
  if (!(Number.isSafeInteger(startStep) && startStep >= 0 && startStep < steps))
    throw new NncError(
      `runTraining: startStep must be an integer in [0, ${steps}) (steps done before this run), got ${startStep}`,
    );
  const interval = Math.max(1, Math.floor(steps / 1000));
  const losses = new Float64Array(steps - startStep);
  const evaluations: { step: number; value: number }[] = [];
  const started = now();
  let lastYield = started;
  let bestLoss = Infinity;
  let bestStep = startStep;
  let done = startStep;
  let finalLoss = NaN;
  let stopped = false;
  // the state before this run stands in until a step succeeds, so even a first-step NaN can be undone
  let snapshot: { state: Record<string, Tensor>; loss: number; step: number } | null = keepBest
    ? { state: await module.state(), loss: Infinity, step: startStep }
    : null;
  // reading the loss is free on the CPU backends (cpu, wasm); on a GPU it costs a round trip, so only some steps do
  const readAlways = module.backend === undefined || onHost(module.backend);
  // a function, so the check after an await is not narrowed away
  const aborted = (): boolean => options.signal?.aborted === true;
  let lastSnapshot = -Infinity;

  const restore = (): number | null => {
    if (snapshot === null || snapshot.step === done) return null;
    module.setState(snapshot.state);
    return snapshot.step;
  };
  const result = (restoredStep: number | null): TrainingResult => {
    const seconds = (now() - started) / 1000;
    const ran = done - startStep;
    return {
      losses: losses.subarray(0, ran),
      startStep,
      steps: ran,
      bestLoss: ran > 0 && Number.isFinite(bestLoss) ? bestLoss : NaN,
      bestStep: Number.isFinite(bestLoss) ? bestStep : 0,
      finalLoss,
      restoredStep,
      evaluations,
      seconds,
      stepsPerSecond: seconds > 0 ? ran / seconds : 0,
      stopped,
    };
  };

  for (let s = startStep; s < steps; s++) {
    const step = s + 1;
    const logged =
      options.onProgress !== undefined && ((step - startStep) % logEvery === 0 || step === steps);
    const evaluated = options.evaluate !== undefined && step % options.evaluate.every === 0;
    const needLoss =
      readAlways ||
      step === steps ||
      logged ||
      evaluated ||
      aborted() ||
      (snapshot !== null && (step - startStep) % interval === 0);
    let outputs: readonly (Tensor | null)[];
    try {
      outputs = await module.call("step", data.args(s, seed), needLoss ? {} : { read: false });
    } catch (e) {
      if (e instanceof NumericsError) e.trainingStep = step;
      throw e;
    }
    const first = outputs[0];
    done = step;
    if (!needLoss && first == null) {
      losses[s - startStep] = NaN;
      if (aborted()) {
        stopped = true;
        break;
      }
      const t = now();
      if (t - lastYield >= YIELD_MS) {
        lastYield = t;
        await new Promise<void>((r) => setTimeout(r, 0));
      }
      continue;
    }
    if (first === undefined || first === null || first.size !== 1) {
      const got = first == null ? "nothing" : `shape [${first.shape.join(", ")}]`;
      const restored = restore();
      throw new TrainingError(
        `training step ${step}: the step function must return the loss (a scalar) as its first output, got ${got}`,
        step,
        result(restored),
      );
    }
    const loss = first.data[0]!;
    losses[s - startStep] = loss;
    finalLoss = loss;
    if (!Number.isFinite(loss)) {
      const restored = restore();
      const where =
        snapshot === null
          ? "the module keeps the state that step produced (keepBest is off)"
          : restored === null || snapshot.step === startStep
            ? startStep === 0
              ? "the module was given back its initial state"
              : `the module was given back its state from step ${startStep}, where this run began`
            : `the module was given back its state after step ${restored} (loss ${formatNumber(snapshot.loss)})`;
      const best = Number.isFinite(bestLoss)
        ? `; the best loss was ${formatNumber(bestLoss)} at step ${bestStep}`
        : "";
      throw new TrainingError(
        `training stopped at step ${step} of ${steps}: the loss is ${loss}${best}; ${where}. Try a smaller learning rate, or check the data and the loss for divisions by zero or logarithms of non-positive values`,
        step,
        result(restored),
      );
    }
    if (loss < bestLoss) {
      bestLoss = loss;
      bestStep = step;
    }
    if (options.evaluate !== undefined && evaluated)
      evaluations.push({ step, value: await options.evaluate.fn() });
    if (options.onProgress !== undefined && logged) {
      const seconds = (now() - started) / 1000;
      const latest = evaluations[evaluations.length - 1];
      options.onProgress({
        step,
        steps,
        loss,
        bestLoss,
        bestStep,
        seconds,
        stepsPerSecond: seconds > 0 ? (step - startStep) / seconds : 0,
        ...(latest !== undefined ? { evaluation: latest } : {}),
      });
    }
    // decided after the callbacks, which may abort: an aborted run's last step counts as final
    const last = step === steps || options.signal?.aborted === true;
    if (snapshot !== null && loss < snapshot.loss && (step - lastSnapshot >= interval || last)) {
      snapshot = { state: await module.state(), loss, step };
      lastSnapshot = step;
    }
    if (last && step < steps) {
      stopped = true;
      break;
    }
    const t = now();
    if (t - lastYield >= YIELD_MS) {
      lastYield = t;
      await new Promise<void>((r) => setTimeout(r, 0));
    }
  }
  return result(restore());
}
