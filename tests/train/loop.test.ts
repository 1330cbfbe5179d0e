/** The training loop: loss records, best-state restore, non-finite losses, resume, real modules. */
import { describe, expect, it } from "vitest";
import { NncError } from "../../runtime/errors.js";
import { Tensor } from "../../runtime/tensor.js";
import { Dataset } from "../../runtime/train/data.js";
import {
  runTraining,
  TrainingError,
  type ProgressInfo,
  type TrainableModule,
  type TrainingData,
} from "../../runtime/train/loop.js";
import { Progress } from "../../runtime/train/progress.js";
import { f32, realModule, rejected } from "./helpers.js";

/**
 * A module whose step k (from 1) returns `losses[k - 1]` and whose state
 * `w` counts the steps taken, so a restored state tells which step it is from.
 */
function scripted(losses: readonly number[]) {
  let w = 0;
  const m = {
    stateCalls: 0,
    setStateCalls: 0,
    args: [] as Tensor[][],
    call(fnName: string, args: readonly Tensor[]): Promise<Tensor[]> {
      expect(fnName).toBe("step");
      m.args.push([...args]);
      const loss = losses[w] ?? 0;
      w++;
      return Promise.resolve([new Tensor("f32", [], Float32Array.of(loss))]);
    },
    state() {
      m.stateCalls++;
      return { w: f32([1], [w]) };
    },
    setState(values: Readonly<Record<string, Tensor>>) {
      m.setStateCalls++;
      w = values["w"]!.item();
    },
    get w() {
      return w;
    },
  };
  return m satisfies TrainableModule;
}

/** Data that records which steps and seeds it was asked for. */
function recordingData() {
  const calls: [number, number | undefined][] = [];
  const data: TrainingData = {
    args(step, seed) {
      calls.push([step, seed]);
      return [f32([1], [step])];
    },
  };
  return { data, calls };
}

describe("runTraining", () => {
  it("records every loss and restores the state after the best step", async () => {
    const m = scripted([5, 4, 2, 3, 2.5, 6]);
    const { data, calls } = recordingData();
    const r = await runTraining(m, { steps: 6, data, seed: 9 });
    expect([...r.losses]).toEqual([5, 4, 2, 3, 2.5, 6]);
    expect(r.losses).toBeInstanceOf(Float64Array);
    expect(r).toMatchObject({
      bestLoss: 2,
      bestStep: 3,
      finalLoss: 6,
      steps: 6,
      restoredStep: 3,
      stopped: false,
    });
    expect(m.w).toBe(3); // the state right after step 3
    expect(calls).toEqual([0, 1, 2, 3, 4, 5].map((s) => [s, 9]));
    expect(m.args.map((a) => a[0]!.item())).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.seconds).toBeGreaterThanOrEqual(0);
  });

  it("keeps the last state when it is the best, or when keepBest is off", async () => {
    const m = scripted([3, 2, 1]);
    const r = await runTraining(m, { steps: 3, data: recordingData().data });
    expect(r.restoredStep).toBeNull();
    expect(m.setStateCalls).toBe(0);
    const n = scripted([1, 2, 3]);
    const r2 = await runTraining(n, { steps: 3, data: recordingData().data, keepBest: false });
    expect(r2).toMatchObject({ bestLoss: 1, bestStep: 1, restoredStep: null });
    expect(n.w).toBe(3);
    expect(n.stateCalls).toBe(0);
  });

  it("bounds the snapshots to about a thousand, always considering the last step", async () => {
    const steps = 20_000;
    const m = scripted(Array.from({ length: steps }, (_, k) => 1 / (k + 1)));
    const r = await runTraining(m, { steps, data: recordingData().data });
    expect(m.stateCalls).toBeLessThanOrEqual(1 + steps / 20 + 1);
    expect(r.restoredStep).toBeNull(); // the last step was the best and was snapshotted
    expect(r.bestStep).toBe(steps);
  });

  it("stops on a non-finite loss, says where, and gives back the best state", async () => {
    const m = scripted([3, 1, 2, NaN, 0]);
    const e = await rejected(runTraining(m, { steps: 5, data: recordingData().data }));
    expect(e).toBeInstanceOf(TrainingError);
    expect(e).toBeInstanceOf(NncError);
    expect(e.message).toMatch(
      /^training stopped at step 4 of 5: the loss is NaN; the best loss was 1 at step 2; the module was given back its state after step 2 \(loss 1\)\. /,
    );
    const t = e as TrainingError;
    expect(t.step).toBe(4);
    expect([...t.result.losses]).toEqual([3, 1, 2, NaN]);
    expect(t.result.restoredStep).toBe(2);
    expect(m.w).toBe(2);
  });

  it("undoes even a first step that diverges", async () => {
    const m = scripted([Infinity]);
    const e = await rejected(runTraining(m, { steps: 10, data: recordingData().data }));
    expect(e.message).toMatch(
      /^training stopped at step 1 of 10: the loss is Infinity; the module was given back its initial state\./,
    );
    expect(m.w).toBe(0);
    const k = scripted([1, NaN]);
    const e2 = await rejected(
      runTraining(k, { steps: 2, data: recordingData().data, keepBest: false }),
    );
    expect(e2.message).toMatch(/keeps the state that step produced \(keepBest is off\)/);
    expect(k.w).toBe(2);
  });

  it("resumes at startStep with the same data steps", async () => {
    const m = scripted([4, 3, 2, 1]);
    const { data, calls } = recordingData();
    const r = await runTraining(m, { steps: 10, data, startStep: 6 });
    expect(calls.map(([s]) => s)).toEqual([6, 7, 8, 9]);
    expect(r).toMatchObject({ startStep: 6, steps: 4, bestStep: 10, bestLoss: 1 });
    expect(r.losses.length).toBe(4);
    const e = scripted([NaN]);
    const err = await rejected(runTraining(e, { steps: 10, data, startStep: 6 }));
    expect(err.message).toMatch(/at step 7 of 10: .* its state from step 6, where this run began/);
  });

  it("reports progress every logEvery steps and evaluates every few steps", async () => {
    const m = scripted([5, 4, 3, 2, 1, 0.5, 0.25]);
    const infos: ProgressInfo[] = [];
    let evals = 0;
    const r = await runTraining(m, {
      steps: 7,
      data: recordingData().data,
      logEvery: 3,
      onProgress: (i) => infos.push(i),
      evaluate: { every: 2, fn: () => Promise.resolve(++evals * 10) },
    });
    expect(infos.map((i) => i.step)).toEqual([3, 6, 7]);
    expect(infos[1]).toMatchObject({ step: 6, steps: 7, loss: 0.5, bestLoss: 0.5, bestStep: 6 });
    expect(infos[1]!.evaluation).toEqual({ step: 6, value: 30 });
    expect(r.evaluations).toEqual([
      { step: 2, value: 10 },
      { step: 4, value: 20 },
      { step: 6, value: 30 },
    ]);
  });

  it("drives a Progress reporter", async () => {
    const lines: string[] = [];
    const progress = new Progress({ total: 20, isTTY: false, write: (s) => lines.push(s) });
    await runTraining(scripted(Array.from({ length: 20 }, (_, k) => 1 / (k + 1))), {
      steps: 20,
      data: recordingData().data,
      onProgress: (i) => progress.update(i.step, i.loss),
    });
    progress.finish();
    expect(lines.length).toBe(10);
    expect(lines[9]).toMatch(/^step 20\/20 \[#+\] 100% loss 0\.05 best 0\.05 /);
  });

  it("stops early when its signal is aborted, keeping the best state", async () => {
    const controller = new AbortController();
    const m = scripted([3, 1, 2, 2, 2]);
    const r = await runTraining(m, {
      steps: 5,
      data: recordingData().data,
      onProgress: (i) => {
        if (i.step === 3) controller.abort();
      },
      signal: controller.signal,
    });
    expect(r).toMatchObject({ stopped: true, steps: 3, restoredStep: 2, bestStep: 2 });
    expect(m.w).toBe(2);
  });

  it("refuses bad options and steps that return no loss", async () => {
    const data = recordingData().data;
    expect((await rejected(runTraining(scripted([]), { steps: 0, data }))).message).toBe(
      "runTraining: steps must be a positive integer, got 0",
    );
    expect(
      (await rejected(runTraining(scripted([]), { steps: 5, data, startStep: 5 }))).message,
    ).toBe(
      "runTraining: startStep must be an integer in [0, 5) (steps done before this run), got 5",
    );
    const noLoss: TrainableModule = {
      call: () => Promise.resolve([f32([2], [1, 2])]),
      state: () => ({}),
      setState: () => {},
    };
    expect((await rejected(runTraining(noLoss, { steps: 2, data }))).message).toBe(
      "training step 1: the step function must return the loss (a scalar) as its first output, got shape [2]",
    );
  });
});

describe("runTraining with a compiled module", () => {
  it("trains a real module's step on a sampled dataset and keeps its best state", async () => {
    const m = await realModule();
    const step = m.plan.functions["step"]!;
    const data = new Dataset({ x: { kind: "uniform", n: 64, low: [0], high: [1] } }, step.inputs, {
      seed: 1,
    });
    const r = await runTraining(m, { steps: 200, data });
    expect(r.losses[0]).toBeGreaterThan(0.5); // (0 - 2)^2 * E[x^2] = 4/3
    expect(r.finalLoss).toBeLessThan(1e-6);
    for (let k = 1; k < r.losses.length; k++)
      expect(r.losses[k]!).toBeLessThanOrEqual(r.losses[k - 1]! * 1.5);
    expect((await m.state())["w"]!.item()).toBeCloseTo(2, 4);
    expect((await m.state())["t"]!.item()).toBe(r.restoredStep ?? 200);
    expect(r.stepsPerSecond).toBeGreaterThan(0);
  });

  it("is reproducible from the seed", async () => {
    const run = async (seed: number): Promise<number[]> => {
      const m = await realModule();
      const data = new Dataset(
        { x: { kind: "lhs", n: 16, low: [0], high: [1] } },
        m.plan.functions["step"]!.inputs,
      );
      return [...(await runTraining(m, { steps: 20, data, seed })).losses];
    };
    expect(await run(3)).toEqual(await run(3));
    expect(await run(3)).not.toEqual(await run(4));
  });
});
