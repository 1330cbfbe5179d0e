/**
 * `nnc train`: compiles a program in-process, runs the compiled training step
 * of its `train` declaration on a backend with the declared data, and writes a
 * checkpoint (safetensors), the loss curve (SVG) and, for a model with a known
 * solution, the relative L2 error and a plot of prediction against solution.
 */
import { mkdirSync, writeFileSync, renameSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { BackendName } from "../../runtime/backends/index.js";
import type { CompiledModule } from "../../runtime/module.js";
import type { Precision } from "../../runtime/backends/cpu.js";
import { Tensor } from "../../runtime/tensor.js";
import {
  Dataset,
  samplePoints,
  type DataSpec,
  type SamplerSpec,
} from "../../runtime/train/data.js";
import { runTraining, type TrainingResult } from "../../runtime/train/loop.js";
import {
  createDataset,
  loadCheckpoint,
  saveCheckpoint,
  applyCheckpoint,
} from "../../runtime/train/node.js";
import { heatmapSvg, lineComparisonSvg, lossCurveSvg } from "../../runtime/train/plot.js";
import { Progress } from "../../runtime/train/progress.js";
import { Rng } from "../../runtime/train/random.js";
import type { CheckedTrain } from "../check/types.js";
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
  readonly files: readonly string[];
}

/** Thrown for a problem the user can fix (no train declaration, a bad option); printed without a stack. */
export class TrainCommandError extends Error {}

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
  if (spec.kind === "spirals" || spec.kind === "file")
    throw new TrainCommandError(
      "`test` must be a sampler (grid, uniform, lhs) or a tensor literal",
    );
  return samplePoints(spec as SamplerSpec, new Rng(seed, "test"));
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

async function accuracyOf(
  module: CompiledModule,
  u: PlannedUnit & { train: CheckedTrain },
  seed: number,
  baseDir: string,
): Promise<number> {
  const acc = u.train.accuracy!;
  const step = u.plan.functions["step"]!;
  const full = await createDataset(u.train.data, step.inputs, { baseDir, seed });
  const sample = full.sample(0, seed);
  const fn = u.plan.functions[acc.fn]!;
  const [logits] = await module.call(
    acc.fn,
    fn.inputs.map((i) => sample[i.name]!),
  );
  const labels = sample[acc.labels]!;
  const [rows, classes] = logits!.shape as [number, number];
  let right = 0;
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++)
      if (logits!.data[r * classes + c]! > logits!.data[r * classes + best]!) best = c;
    if (best === labels.data[r]) right++;
  }
  return right / rows;
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
      backend: options.backend ?? "cpu",
      seed,
      precision: options.precision ?? "f32",
    },
    result.planned.gpuKernels,
  );
  try {
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
        (module.backend === "cpu" ? 1 : Math.max(1, Math.round((steps - startStep) / 200))),
      onProgress: (info) => progress.update(info.step, info.loss),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    progress.finish();

    let relL2: number | null = null;
    const files: string[] = [];
    if (cfg.predict && cfg.exact && cfg.test) {
      const pts = testPoints(cfg.test, seed);
      const [pred] = await module.call(cfg.predict, [pts]);
      const [ex] = await module.call("exact", [pts]);
      relL2 = relativeL2(pred!.data, ex!.data);
      files.push(...solutionPlots(pts, pred!, ex!, cfg.test, outDir));
    }
    const accuracy = cfg.accuracy ? await accuracyOf(module, unit, seed, baseDir) : null;

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
      ...files.map((f) => `wrote ${f}`),
    ];
    options.write(lines.join("\n") + "\n");
    return { model: unit.name, config: cfg, result: trained, relL2, accuracy, files };
  } finally {
    module.dispose();
  }
}
