/**
 * `nnc train`: compiles a program in-process, runs the compiled training step
 * of its `train` declaration on a backend with the declared data, and writes a
 * checkpoint (safetensors), the loss curve (SVG) and, for a model with a known
 * solution, the relative L2 error and a plot of prediction against solution.
 * It evaluates the declaration's `evaluate` functions (held-out metrics) every
 * `eval_every` steps and at the end, and shows the outputs of its `show`
 * functions after training: images as a row of heatmaps, anything else
 * printed and stored in `summary.json`.
 */
import { mkdirSync, writeFileSync, renameSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { onHost, type BackendName } from "../../runtime/backends/index.js";
import type { Precision } from "../../runtime/backends/cpu.js";
import { NumericsError } from "../../runtime/errors.js";
import type { CompiledModule } from "../../runtime/module.js";
import { Tensor } from "../../runtime/tensor.js";
import type { SourceFile } from "../ast/span.js";
import { DataError, Dataset, samplePoints, type DataSpec } from "../../runtime/train/data.js";
import { evaluateAccuracy, evaluateMean } from "../../runtime/train/evaluate.js";
import { formatNumber } from "../../runtime/train/format.js";
import { runTraining, type TrainingResult } from "../../runtime/train/loop.js";
import {
  createDataset,
  loadCheckpoint,
  saveCheckpoint,
  applyCheckpoint,
} from "../../runtime/train/node.js";
import {
  heatmapSvg,
  imageRowSvg,
  lineComparisonSvg,
  lossCurveSvg,
} from "../../runtime/train/plot.js";
import { Progress } from "../../runtime/train/progress.js";
import { Rng } from "../../runtime/train/random.js";
import type { CheckedTrain, TrainCall } from "../check/types.js";
import { loadInProcess } from "../codegen/inprocess.js";
import type { PlannedUnit } from "../codegen/program.js";
import { nncVersion } from "../paths.js";
import { renderDiagnostics } from "../diagnostics/render.js";
import { compile, type CompileResult } from "../pipeline.js";

export interface TrainCommandOptions {
  /** Which model to train, when the file trains several. */
  readonly model?: string;
  readonly steps?: number;
  readonly seed?: number;
  readonly backend?: BackendName;
  readonly precision?: Precision;
  /** Check every kernel's output for NaN and infinities (`--check-numerics`); the first stops training. */
  readonly checkNumerics?: boolean;
  /** Folder for the checkpoint, plots and summary (default `runs/<file name>`). */
  readonly out?: string;
  /** A checkpoint to continue from. */
  readonly resume?: string;
  readonly logEvery?: number;
  /** Data files replacing the declared sources: `{ x: "points.npy" }` (csv, json or npy, by extension). */
  readonly data?: Readonly<Record<string, string>>;
  readonly searchPaths?: readonly string[];
  /** Progress and summary lines go here. */
  readonly write: (s: string) => void;
  readonly isTTY: boolean;
  readonly signal?: AbortSignal;
}

export interface TrainReport {
  readonly model: string;
  readonly config: CheckedTrain;
  readonly result: TrainingResult;
  readonly relL2: number | null;
  readonly accuracy: number | null;
  /** The value of each `evaluate` function after training (on the restored parameters), by name. */
  readonly evaluations: Readonly<Record<string, number>>;
  /** The evaluations every `eval_every` steps during training. */
  readonly evaluationHistory: readonly {
    readonly step: number;
    readonly values: Readonly<Record<string, number>>;
  }[];
  /** The output of each `show` function after training, by name. */
  readonly shown: Readonly<Record<string, ShownOutput>>;
  readonly files: readonly string[];
}

/** A `show` function's output, as recorded in the report and `summary.json`. */
export interface ShownOutput {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** The SVG of images (`f32[K, H, W]` or `f32[K, 1, H, W]`), else null. */
  readonly file: string | null;
  /** Other outputs: the values of the first (at most {@link SHOWN_ROWS}) rows as nested arrays, or the scalar. */
  readonly values?: unknown;
}

/** Rows of a shown output kept in the report and `summary.json`. */
export const SHOWN_ROWS = 100;
/** Rows and values per row of a shown output printed after training. */
const PRINTED_ROWS = 8;
const PRINTED_COLUMNS = 12;

/** Thrown for a problem the user can fix (no train declaration, a bad option); printed without a stack. */
export class TrainCommandError extends Error {}

/**
 * A {@link NumericsError} of `--check-numerics`, rendered against the sources
 * like a diagnostic: `file:line:col: error: ...`, the line and a caret.
 */
export class NumericsReport extends TrainCommandError {
  constructor(
    readonly error: NumericsError,
    readonly rendered: string,
  ) {
    super(error.message);
  }
}

/**
 * `file:line:col: error: <what>` for a numerics error, with the source line
 * and a caret under the expression when the file is among `sources` (the
 * location names the file without its folders; it is matched by name).
 */
export function renderNumericsError(
  e: NumericsError,
  sources: ReadonlyMap<string, SourceFile>,
): string {
  const loc = e.location;
  const when = e.trainingStep !== null ? ` at training step ${e.trainingStep}` : "";
  const what = `${String(e.value)} in function ${e.functionName}${when}: kernel ${e.kernel} wrote it at element ${e.index} of ${e.size} (backend ${e.backend})`;
  if (loc === null)
    return `error: ${what}; the module does not record where this kernel comes from`;
  const nameOf = (p: string): string => {
    const parts = p.split(/[\\/]/);
    const name = parts[parts.length - 1] ?? p;
    return parts[parts.length - 2] === "stdlib" ? `stdlib/${name}` : name;
  };
  const file = [...sources.values()].find((f) => nameOf(f.path) === loc.file);
  const path = file?.path ?? loc.file;
  const expr = loc.text !== undefined ? `\`${loc.text}\` (${loc.op})` : loc.op;
  const lines = [`${path}:${loc.line}:${loc.col}: error: ${expr} produced ${what}`];
  const text = file?.lineText(loc.line);
  if (text !== undefined && text.length > 0) {
    const gutter = String(loc.line).length;
    const lead = text.slice(0, loc.col - 1).replace(/[^\t]/g, " ");
    const width = Math.max(1, Math.min(loc.text?.length ?? 1, text.length - loc.col + 1));
    lines.push(
      `${" ".repeat(gutter)} |`,
      `${loc.line} | ${text}`,
      `${" ".repeat(gutter)} | ${lead}${"^".repeat(width)}`,
    );
  }
  return lines.join("\n");
}

function pickUnit(
  result: CompileResult,
  model: string | undefined,
): PlannedUnit & { train: CheckedTrain } {
  const units = (result.planned?.units ?? []).filter(
    (u): u is PlannedUnit & { train: CheckedTrain } => u.train !== null,
  );
  if (units.length === 0)
    throw new TrainCommandError(
      "this file has no `train` declaration; add one, like `train Model.loss with adam(lr = 1e-3) { ... }`",
    );
  if (model !== undefined) {
    const u = units.find((x) => x.name === model);
    if (!u)
      throw new TrainCommandError(
        `no \`train\` declaration for model ${JSON.stringify(model)}; trained models: ${units.map((x) => x.name).join(", ")}`,
      );
    return u;
  }
  if (units.length > 1)
    throw new TrainCommandError(
      `this file trains several models (${units.map((x) => x.name).join(", ")}); choose one with --model`,
    );
  return units[0]!;
}

/** Points for evaluation: the test sampler with a fixed stream, so every run compares on the same points. */
function testPoints(spec: DataSpec, seed: number): Tensor {
  if (spec.kind === "tensor")
    return new Tensor(
      spec.dtype,
      spec.shape,
      spec.dtype === "f32" ? Float32Array.from(spec.data) : Int32Array.from(spec.data),
    );
  if (
    spec.kind !== "grid" &&
    spec.kind !== "uniform" &&
    spec.kind !== "lhs" &&
    spec.kind !== "boundary"
  )
    throw new TrainCommandError(
      "`test` must be a sampler (grid, uniform, lhs, boundary) or a tensor literal",
    );
  return samplePoints(spec, new Rng(seed, "test"));
}

function relativeL2(pred: ArrayLike<number>, exact: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < exact.length; i++) {
    num += (pred[i]! - exact[i]!) ** 2;
    den += exact[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

function writeFile(path: string, contents: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

/** Plots of the prediction against the known solution: a line in 1-D, heatmaps on a 2-D grid. */
function solutionPlots(
  points: Tensor,
  pred: Tensor,
  exact: Tensor,
  spec: DataSpec | null,
  dir: string,
): string[] {
  const d = points.shape[1] ?? 1;
  const files: string[] = [];
  if (d === 1) {
    const order = Array.from({ length: points.shape[0]! }, (_, i) => i).sort(
      (a, b) => points.data[a]! - points.data[b]!,
    );
    const pick = (t: Tensor) => order.map((i) => t.data[i]!);
    const svg = lineComparisonSvg({
      x: pick(points),
      series: [
        { name: "prediction", y: pick(pred) },
        { name: "exact", y: pick(exact) },
      ],
      title: "prediction and exact solution",
    });
    const path = join(dir, "solution.svg");
    writeFile(path, svg);
    files.push(path);
  } else if (d === 2 && spec?.kind === "grid") {
    const n = spec.n;
    // the grid varies its last coordinate fastest; heatmaps want x fastest
    const toHeat = (v: ArrayLike<number>) =>
      Array.from({ length: n * n }, (_, k) => v[(k % n) * n + Math.floor(k / n)]!);
    const maps: [string, ArrayLike<number>][] = [
      ["prediction", pred.data],
      ["exact", exact.data],
      ["error", Array.from(pred.data, (p, i) => Math.abs(p - exact.data[i]!))],
    ];
    for (const [name, values] of maps) {
      const path = join(dir, `${name}.svg`);
      writeFile(
        path,
        heatmapSvg({
          nx: n,
          ny: n,
          values: toHeat(values),
          title: name === "error" ? "|prediction - exact|" : name,
          low: spec.low,
          high: spec.high,
        }),
      );
      files.push(path);
    }
  }
  return files;
}

/**
 * The dataset of a function named by a train option (`evaluate`, `show`):
 * every row at once; data errors name the option and the function.
 */
async function callData(
  option: string,
  call: TrainCall,
  u: PlannedUnit,
  seed: number,
  baseDir: string,
): Promise<Dataset> {
  try {
    return await createDataset(call.data, u.plan.functions[call.fn]!.inputs, {
      baseDir,
      seed,
      // drawn data of its own: a held-out evaluation never sees the training draws
      stream: `${option}.${call.fn}`,
    });
  } catch (e) {
    if (e instanceof DataError) throw new DataError(`${option} = ${call.fn}(...): ${e.message}`);
    throw e;
  }
}

/** A value of a printed output: an integer, or 3 significant digits. */
function cell(v: number, dtype: string): string {
  return dtype === "f32" ? formatNumber(v) : dtype === "bool" ? String(v !== 0) : String(v);
}

/** Up to `max` values of a row, `…` for the rest. */
function rowText(values: ArrayLike<number>, dtype: string, max: number): string {
  const shown = Array.from({ length: Math.min(values.length, max) }, (_, k) =>
    cell(values[k]!, dtype),
  );
  return `[${shown.join(", ")}${values.length > max ? ", …" : ""}]`;
}

/** The first rows of a tensor, one line each (`…` for long rows, a count of the rows left out). */
function previewLines(t: Tensor): string[] {
  if (t.shape.length === 0) return [cell(t.data[0]!, t.dtype)];
  if (t.shape.length === 1) return [rowText(t.data, t.dtype, PRINTED_COLUMNS)];
  const rows = t.shape[0]!;
  const size = t.size / Math.max(1, rows);
  const lines: string[] = [];
  for (let r = 0; r < Math.min(rows, PRINTED_ROWS); r++)
    lines.push(rowText(t.data.subarray(r * size, (r + 1) * size), t.dtype, PRINTED_COLUMNS));
  if (rows > PRINTED_ROWS)
    lines.push(`… ${rows - PRINTED_ROWS} more row${rows - PRINTED_ROWS === 1 ? "" : "s"}`);
  return lines;
}

/** The first {@link SHOWN_ROWS} rows as nested arrays (f32 values rounded to 7 digits), or the scalar. */
function storedValues(t: Tensor): unknown {
  const round = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(round)
      : typeof v === "number" && t.dtype === "f32"
        ? Number(v.toPrecision(7))
        : v;
  if (t.shape.length === 0) return round(t.dtype === "bool" ? t.data[0] !== 0 : t.data[0]);
  const rows = Math.min(t.shape[0]!, SHOWN_ROWS);
  const size = t.size / Math.max(1, t.shape[0]!);
  const head = new Tensor(t.dtype, [rows, ...t.shape.slice(1)], t.data.subarray(0, rows * size));
  return round(head.toArray());
}

/** Whether an output is a stack of images: `f32[K, H, W]` or `f32[K, 1, H, W]`. */
function imageStack(t: Tensor): { count: number; height: number; width: number } | null {
  if (t.dtype !== "f32" || t.size === 0) return null;
  if (t.shape.length === 3) {
    const [count, height, width] = t.shape as [number, number, number];
    return { count, height, width };
  }
  if (t.shape.length === 4 && t.shape[1] === 1) {
    const [count, , height, width] = t.shape as [number, number, number, number];
    return { count, height, width };
  }
  return null;
}

/** A value in a summary line: up to 5 significant digits. */
function metricText(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(5))) : String(v);
}

/** Runs `nnc train` on one file; returns the exit status (diagnostics are written with `write`). */
export async function trainCommand(
  file: string,
  options: TrainCommandOptions,
  compiled?: CompileResult,
): Promise<TrainReport | CompileResult> {
  const result =
    compiled ??
    (await compile(file, {
      stopAfter: "plan",
      ...(options.searchPaths ? { searchPaths: options.searchPaths } : {}),
    }));
  if (!result.ok || !result.planned) return result;
  if (result.diagnostics.length > 0)
    options.write(renderDiagnostics(result.diagnostics, (p) => result.sources.get(p)) + "\n");
  const unit = pickUnit(result, options.model);
  const cfg = unit.train;
  const steps = options.steps ?? cfg.steps;
  const seed = options.seed ?? cfg.seed;
  if (!Number.isInteger(steps) || steps < 1)
    throw new TrainCommandError(`--steps must be a positive integer, got ${steps}`);
  const baseDir = dirname(resolve(file));
  const outDir = resolve(options.out ?? join("runs", basename(file).replace(/\.nn$/, "")));
  mkdirSync(outDir, { recursive: true });

  const module = await loadInProcess(
    unit.plan,
    result.planned.kernels,
    {
      backend: options.backend ?? "auto",
      seed,
      precision: options.precision ?? "f32",
      checkNumerics: options.checkNumerics ?? false,
    },
    result.planned.gpuKernels,
    result.planned.glslKernels,
    result.planned.wasmProgram,
  );
  try {
    return await trainWith(module);
  } catch (e) {
    if (e instanceof NumericsError)
      throw new NumericsReport(e, renderNumericsError(e, result.sources));
    throw e;
  } finally {
    module.dispose();
  }

  async function trainWith(module: CompiledModule): Promise<TrainReport> {
    let startStep = 0;
    if (options.resume) {
      const ckpt = await loadCheckpoint(options.resume);
      await applyCheckpoint(module, ckpt);
      startStep = Math.round((await module.state())["train.step"]?.item() ?? 0);
      if (startStep >= steps)
        throw new TrainCommandError(
          `the checkpoint is at step ${startStep}, which is not before the last step ${steps}; raise --steps`,
        );
    }
    const step = unit.plan.functions["step"]!;
    const specs: Record<string, DataSpec> = { ...cfg.data };
    for (const [name, path] of Object.entries(options.data ?? {})) {
      const sig = step.inputs.find((i) => i.name === name);
      if (!sig)
        throw new TrainCommandError(
          `--data ${name}=${path}: \`${unit.name}.${cfg.loss}\` has no input named ${JSON.stringify(name)}; its inputs are ${step.inputs.map((i) => i.name).join(", ")}`,
        );
      const format = /\.csv$/i.test(path)
        ? "csv"
        : /\.json$/i.test(path)
          ? "json"
          : /\.npy$/i.test(path)
            ? "npy"
            : null;
      if (!format)
        throw new TrainCommandError(
          `--data ${name}=${path}: the file must end in .csv, .json or .npy`,
        );
      if (sig.dtype === "bool")
        throw new TrainCommandError(
          `--data ${name}=${path}: input ${name} is bool; data files hold f32 or i32`,
        );
      specs[name] = { kind: "file", format, path: resolve(path), dtype: sig.dtype };
    }
    const data: Dataset = await createDataset(specs, step.inputs, {
      baseDir,
      seed,
      ...(cfg.batch !== null ? { batch: cfg.batch } : {}),
    });
    // every data source is read before the first step, so a bad one fails fast
    const evalBatch = cfg.evalBatch ?? undefined;
    const evals: { fn: string; data: Dataset }[] = [];
    for (const call of cfg.evaluate)
      evals.push({ fn: call.fn, data: await callData("evaluate", call, unit, seed, baseDir) });
    const shows: { fn: string; data: Dataset }[] = [];
    for (const call of cfg.show)
      shows.push({ fn: call.fn, data: await callData("show", call, unit, seed, baseDir) });
    const evaluateAll = async (): Promise<Record<string, number>> => {
      const values: [string, number][] = [];
      for (const e of evals)
        values.push([e.fn, await evaluateMean(module, e.fn, e.data, evalBatch, seed)]);
      // fromEntries: a function named `__proto__` is a property, not the prototype
      return Object.fromEntries(values);
    };
    const during: Record<string, number>[] = [];
    const progress = new Progress({
      total: steps,
      write: options.write,
      isTTY: options.isTTY,
      startStep,
    });
    options.write(
      `nnc train: ${unit.name}.${cfg.loss} with ${cfg.optimizer}, ${steps - startStep} steps on ${module.backend}${module.adapter !== null ? ` (${module.adapter})` : ""} (seed ${seed})\n`,
    );
    const trained = await runTraining(module, {
      steps,
      data,
      seed,
      startStep,
      keepBest: cfg.keepBest,
      // on a GPU every logged step reads the loss back: by default log about 200 times a run
      logEvery:
        options.logEvery ??
        cfg.logEvery ??
        (onHost(module.backend) ? 1 : Math.max(1, Math.round((steps - startStep) / 200))),
      onProgress: (info) => progress.update(info.step, info.loss, during[during.length - 1]),
      ...(cfg.evalEvery !== null && evals.length > 0
        ? {
            evaluate: {
              every: cfg.evalEvery,
              fn: async () => {
                const values = await evaluateAll();
                during.push(values);
                return values[evals[0]!.fn]!;
              },
            },
          }
        : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    progress.finish();
    const evaluationHistory = trained.evaluations.map((e, k) => ({
      step: e.step,
      values: during[k]!,
    }));

    let relL2: number | null = null;
    const files: string[] = [];
    if (cfg.predict && cfg.exact && cfg.test) {
      const pts = testPoints(cfg.test, seed);
      const [pred] = await module.call(cfg.predict, [pts]);
      const [ex] = await module.call("exact", [pts]);
      relL2 = relativeL2(pred!.data, ex!.data);
      files.push(...solutionPlots(pts, pred!, ex!, cfg.test, outDir));
    }
    let accuracy: number | null = null;
    if (cfg.accuracy) {
      const all = await createDataset(specs, step.inputs, { baseDir, seed });
      const inputs = unit.plan.functions[cfg.accuracy.fn]!.inputs.map((i) => i.name);
      accuracy = await evaluateAccuracy(
        module,
        cfg.accuracy.fn,
        inputs,
        cfg.accuracy.labels,
        all,
        evalBatch,
        seed,
      );
    }
    const evaluations = await evaluateAll();
    const shownEntries: [string, ShownOutput][] = [];
    const shownLines: string[] = [];
    /**
     * Image file names taken, lower-cased, so that functions whose names differ
     * only in case get distinct files on every file system (and none is the loss curve).
     */
    const svgNames = new Set<string>(["loss"]);
    for (const sh of shows) {
      const [out] = await module.call(sh.fn, sh.data.args(0, seed));
      if (!out) throw new TrainCommandError(`show = ${sh.fn}(...): the function returned nothing`);
      const type = `${out.dtype}[${out.shape.join(", ")}]`;
      const images = imageStack(out);
      if (images) {
        let svg = sh.fn;
        for (let k = 2; svgNames.has(svg.toLowerCase()); k++) svg = `${sh.fn}_${k}`;
        svgNames.add(svg.toLowerCase());
        const path = join(outDir, `${svg}.svg`);
        writeFile(
          path,
          imageRowSvg({ ...images, values: out.data, title: `${unit.name}.${sh.fn}` }),
        );
        files.push(path);
        shownEntries.push([sh.fn, { dtype: out.dtype, shape: [...out.shape], file: path }]);
        shownLines.push(
          `${sh.fn}: ${type}, ${images.count} image${images.count === 1 ? "" : "s"} in ${path}`,
        );
      } else {
        shownEntries.push([
          sh.fn,
          { dtype: out.dtype, shape: [...out.shape], file: null, values: storedValues(out) },
        ]);
        shownLines.push(`${sh.fn}: ${type}`, ...previewLines(out).map((l) => `  ${l}`));
      }
    }

    const shown: Record<string, ShownOutput> = Object.fromEntries(shownEntries);
    const state = await module.state();
    const ckpt = join(outDir, "checkpoint.safetensors");
    await saveCheckpoint(ckpt, state, {
      nnc: nncVersion,
      source: basename(file),
      model: unit.name,
      step: String(Math.round(state["train.step"]?.item() ?? 0)),
      loss: String(trained.bestLoss),
      seed: String(seed),
    });
    files.unshift(ckpt);
    const losses = Array.from(trained.losses, (loss, i) => ({
      step: trained.startStep + i + 1,
      loss,
    }));
    const curve = join(outDir, "loss.svg");
    writeFile(curve, lossCurveSvg(losses, { title: `${unit.name}.${cfg.loss}`, best: true }));
    files.push(curve);
    const summary = {
      model: unit.name,
      loss: cfg.loss,
      optimizer: cfg.optimizer,
      backend: module.backend,
      seed,
      steps: trained.startStep + trained.steps,
      seconds: trained.seconds,
      stepsPerSecond: trained.stepsPerSecond,
      finalLoss: trained.finalLoss,
      bestLoss: trained.bestLoss,
      bestStep: trained.bestStep,
      restoredStep: trained.restoredStep,
      relativeL2: relL2,
      accuracy,
      evaluations,
      evaluationHistory,
      show: shown,
    };
    const summaryPath = join(outDir, "summary.json");
    writeFile(summaryPath, JSON.stringify(summary, null, 2) + "\n");
    files.push(summaryPath);

    const lines = [
      `steps ${summary.steps} in ${trained.seconds.toFixed(1)} s (${trained.stepsPerSecond.toFixed(1)} steps/s)`,
      `loss: final ${trained.finalLoss.toExponential(3)}, best ${trained.bestLoss.toExponential(3)} at step ${trained.bestStep}${trained.restoredStep !== null && trained.restoredStep !== trained.startStep + trained.steps ? ` (parameters restored from step ${trained.restoredStep})` : ""}`,
      ...(relL2 !== null
        ? [
            `relative L2 error against the exact solution: ${relL2.toExponential(3)} (${cfg.test?.kind} test points)`,
          ]
        : []),
      ...(accuracy !== null ? [`training accuracy: ${(accuracy * 100).toFixed(2)}%`] : []),
      ...Object.entries(evaluations).map(([name, v]) => `${name}: ${metricText(v)}`),
      ...shownLines,
      ...files.map((f) => `wrote ${f}`),
    ];
    options.write(lines.join("\n") + "\n");
    return {
      model: unit.name,
      config: cfg,
      result: trained,
      relL2,
      accuracy,
      evaluations,
      evaluationHistory,
      shown,
      files,
    };
  }
}
