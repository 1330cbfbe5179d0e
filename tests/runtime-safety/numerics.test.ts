/**
 * `checkNumerics` (`nnc train --check-numerics`): the first kernel whose
 * output holds NaN or an infinity stops the call with a NumericsError that
 * names the function, the kernel, the element, the value and the source
 * expression; the state is left as it was before the call. Off, nothing is
 * checked. On every backend here (cpu in f32 and f64, wasm, WebGPU when an
 * adapter exists).
 */
import { describe, expect, it } from "vitest";
import { main } from "../../bin/cli.js";
import { ArgumentError, NumericsError } from "../../runtime/module.js";
import type { CompiledModule, ModuleOptions } from "../../runtime/module.js";
import { describeGpu, gpuAvailable } from "../gpu/device.js";
import { load, program, type Program } from "./helpers.js";

const drift = await program("drift");
const bad = await program("bad");
const gpu = await gpuAvailable();

const X = [[1.0], [2.0]];

/** Runs `step` until it throws (at most 200 steps); the error, the step, and the state before that step. */
async function driftUntilError(m: CompiledModule): Promise<{
  error: unknown;
  step: number;
  before: number;
  after: number;
}> {
  for (let step = 1; step <= 200; step++) {
    const before = (await m.parameters())["w"]!.item();
    try {
      await m.call("step", [X]);
    } catch (error) {
      return { error, step, before, after: (await m.parameters())["w"]!.item() };
    }
  }
  throw new Error("no NumericsError in 200 steps");
}

const BACKENDS: [string, ModuleOptions][] = [
  ["cpu", { backend: "cpu" }],
  ["cpu f64", { backend: "cpu", precision: "f64" }],
  ["wasm", { backend: "wasm" }],
];

function numericsCases(backends: readonly [string, ModuleOptions][]): void {
  it.each(backends)("%s: a NaN in a training step names sqrt at drift.nn:11:49", async (_, o) => {
    const m = await load(drift, { ...o, checkNumerics: true });
    try {
      const { error, step, before, after } = await driftUntilError(m);
      expect(error).toBeInstanceOf(NumericsError);
      const e = error as NumericsError;
      expect(e.functionName).toBe("step");
      expect(e.value).toBeNaN();
      expect(e.backend).toBe(o.backend);
      expect(e.location).toEqual({
        file: "drift.nn",
        line: 11,
        col: 49,
        op: "sqrt",
        text: "sqrt(2.0 - w)",
      });
      expect(e.message).toContain("`sqrt(2.0 - w)` (sqrt) at drift.nn:11:49");
      // sgd pulls w from 0 toward 5: the step after w passes 2 is the first to fail
      expect(before).toBeGreaterThan(2);
      expect(step).toBeGreaterThan(1);
      // the failed step changed nothing
      expect(after).toBe(before);
    } finally {
      m.dispose();
    }
  });

  it.each(backends)(
    "%s: log of a negative input and 0/0 are found at their element",
    async (_, o) => {
      const m = await load(bad, { ...o, checkNumerics: true });
      try {
        const logs = await m.call("logs", [[3, 4, 1, 5]]).catch((e: unknown) => e);
        expect(logs).toBeInstanceOf(NumericsError);
        const e = logs as NumericsError;
        expect(e.index).toBe(2);
        expect(e.size).toBe(4);
        expect(e.value).toBeNaN();
        // the CPU runs one kernel per operation; a fused kernel names the expression it writes
        const fused = o.backend !== "cpu";
        expect(e.location?.text).toBe(fused ? "2.0 * log(x - 2.0)" : "log(x - 2.0)");
        expect([e.location?.line, e.location?.col]).toEqual([2, fused ? 32 : 38]);
        // an infinity counts too: log(0) is -Infinity
        const inf = (await m.call("logs", [[2, 3]]).catch((x: unknown) => x)) as NumericsError;
        expect(inf).toBeInstanceOf(NumericsError);
        expect([inf.index, inf.value]).toEqual([0, -Infinity]);
        const ratio = (await m
          .call("ratio", [
            [1, 0, 2],
            [1, 0, 2],
          ])
          .catch((x: unknown) => x)) as NumericsError;
        expect(ratio).toBeInstanceOf(NumericsError);
        expect(ratio.index).toBe(1);
        expect(ratio.location?.text).toMatch(/^a \/ b/);
        // finite inputs run as usual
        const [ok] = await m.call("logs", [[3, 4]]);
        expect(Array.from(ok!.data)).toEqual(
          [0, 2 * Math.fround(Math.log(2))].map((v) => expect.closeTo(v, 5)),
        );
      } finally {
        m.dispose();
      }
    },
  );

  it.each(backends)("%s: off, the same calls return NaN without an error", async (_, o) => {
    const m = await load(bad, o);
    try {
      const [out] = await m.call("logs", [[3, 1]]);
      expect(out!.data[1]).toBeNaN();
    } finally {
      m.dispose();
    }
  });
}

describe("checkNumerics", () => {
  numericsCases(BACKENDS);

  it.each(["cpu", "wasm"] as const)(
    "%s: finite training gives the same parameters checked and unchecked",
    async (backend) => {
      const tiny = await program("tiny");
      const x = [
        [0, 1],
        [1, 0],
      ];
      const y = [[1], [-1]];
      const runs = await Promise.all(
        [false, true].map(async (checkNumerics) => {
          const m = await load(tiny, { backend, checkNumerics });
          for (let k = 0; k < 20; k++) await m.call("step", [x, y]);
          const state = await m.state();
          m.dispose();
          return Object.fromEntries(Object.entries(state).map(([k, t]) => [k, Array.from(t.data)]));
        }),
      );
      expect(runs[1]).toEqual(runs[0]);
    },
  );

  it("rejects a checkNumerics that is not a boolean", async () => {
    await expect(
      load(drift, { backend: "cpu", checkNumerics: "yes" as unknown as boolean }),
    ).rejects.toThrow(ArgumentError);
  });

  /** `nnc train tests/runtime-safety/drift.nn --backend cpu <flags>`: its exit status and stderr. */
  async function trainDrift(flags: string[], out: string): Promise<{ code: number; err: string }> {
    let err = "";
    const io = { out: () => undefined, err: (t: string) => void (err += t) };
    const args = ["train", "tests/runtime-safety/drift.nn", "--backend", "cpu", ...flags];
    const code = await main([...args, "-o", `tests/.tmp/runtime-safety/${out}`], io);
    return { code, err };
  }

  it("nnc train --check-numerics prints file:line:col: error: and exits 1", async () => {
    const { code, err } = await trainDrift(["--check-numerics"], "cli");
    expect(code).toBe(1);
    expect(err).toMatch(
      /tests\/runtime-safety\/drift\.nn:11:49: error: `sqrt\(2\.0 - w\)` \(sqrt\) produced NaN in function step at training step 3: kernel k\d+ wrote it at element 0 of 1 \(backend cpu\)/,
    );
    // the source line and a caret under the expression
    expect(err).toContain("11 |     return mean((y - 5.0 * x)^2) + 0.001 * mean(sqrt(2.0 - w))");
    expect(err).toContain(`   | ${" ".repeat(48)}${"^".repeat(13)}`);
    expect(err).not.toMatch(/internal compiler error|\n\s+at /);
  });

  it("nnc train without --check-numerics reports the non-finite loss instead", async () => {
    const { code, err } = await trainDrift([], "cli2");
    expect(code).toBe(1);
    expect(err).not.toContain("error: `sqrt");
    expect(err).toMatch(/NaN|non-finite/);
  });
});

describeGpu(gpu, "checkNumerics on WebGPU", () => {
  numericsCases([["webgpu", { backend: "webgpu" }]]);
});

export type { Program };
