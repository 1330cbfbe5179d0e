/** The progress reporter, with a fake clock. */
import { describe, expect, it } from "vitest";
import { Progress } from "../../runtime/train/progress.js";

/** A reporter writing into an array, with a clock the test moves. */
function setup(total: number, isTTY: boolean, startStep = 0) {
  const out: string[] = [];
  let t = 0;
  const p = new Progress({ total, isTTY, write: (s) => out.push(s), now: () => t, startStep });
  return { p, out, tick: (ms: number) => (t += ms) };
}

describe("log output (not a terminal)", () => {
  it("prints a line every 10% with loss, best, speed and ETA", () => {
    const { p, out, tick } = setup(100, false);
    for (let s = 1; s <= 100; s++) {
      tick(10);
      p.update(s, s === 50 ? 5 : 1 / s);
    }
    p.finish();
    expect(out.length).toBe(10);
    expect(out[0]).toBe(
      "step  10/100 [##------------------]  10% loss 0.1 best 0.1 100 steps/s ETA 1s\n",
    );
    expect(out[4]).toBe(
      "step  50/100 [##########----------]  50% loss 5 best 0.0204 100 steps/s ETA 1s\n",
    );
    expect(out[9]).toBe(
      "step 100/100 [####################] 100% loss 0.01 best 0.01 100 steps/s done in 1s\n",
    );
  });

  it("prints once per step when there are fewer than ten, and never twice for one step", () => {
    const { p, out, tick } = setup(3, false);
    for (let s = 1; s <= 3; s++) {
      tick(1000);
      p.update(s, 2e-5);
    }
    p.finish();
    p.finish();
    expect(out).toEqual([
      "step 1/3 [#######-------------]  33% loss 2e-5 best 2e-5 1.00 steps/s ETA 2s\n",
      "step 2/3 [#############-------]  66% loss 2e-5 best 2e-5 1.00 steps/s ETA 1s\n",
      "step 3/3 [####################] 100% loss 2e-5 best 2e-5 1.00 steps/s done in 3s\n",
    ]);
  });

  it("prints the last state when training ends early, and skips tenths passed before a resume", () => {
    const early = setup(100, false);
    for (let s = 1; s <= 15; s++) {
      early.tick(100);
      early.p.update(s, 1);
    }
    early.p.update(16, NaN);
    early.p.finish();
    expect(early.out.length).toBe(2);
    expect(early.out[1]).toBe(
      "step  16/100 [###-----------------]  16% loss NaN best 1 10.7 steps/s ETA 8s\n",
    );
    const resumed = setup(100, false, 50);
    for (let s = 51; s <= 100; s++) {
      resumed.tick(10);
      resumed.p.update(s, 1);
    }
    expect(resumed.out.length).toBe(5);
    expect(resumed.out[0]).toMatch(/^step  60\/100 .* 100 steps\/s ETA 0s\n$/);
  });
});

describe("terminal output", () => {
  it("redraws one line at most ten times a second and ends it", () => {
    const { p, out, tick } = setup(1000, true);
    for (let s = 1; s <= 1000; s++) {
      tick(1); // 1000 steps/s for one second
      p.update(s, 1000 / s);
    }
    p.finish();
    const draws = out.filter((s) => s.startsWith("\r"));
    expect(draws.length).toBeGreaterThanOrEqual(10);
    expect(draws.length).toBeLessThanOrEqual(12);
    expect(out[out.length - 1]).toBe("\n");
    expect(out.slice(0, -1).every((s) => s.startsWith("\r") && !s.includes("\n"))).toBe(true);
    expect(draws[0]).toBe(
      "\rstep    1/1000 [--------------------]   0% loss 1000 best 1000 1000 steps/s ETA 1s",
    );
    // the final line is padded over the longer losses drawn before it
    expect(draws[draws.length - 1]!.trimEnd()).toBe(
      "\rstep 1000/1000 [####################] 100% loss 1 best 1 1000 steps/s done in 1s",
    );
    expect(p.bestLoss).toBe(1);
  });

  it("pads over the tail of a longer previous line", () => {
    const { p, out, tick } = setup(10, true);
    tick(1);
    p.update(1, 123456789);
    tick(1000);
    p.update(2, 1);
    const [a, b] = out as [string, string];
    expect(b.length).toBe(a.length);
    expect(b.endsWith(" ")).toBe(true);
  });

  it("draws the final state on finish if it was throttled", () => {
    const { p, out, tick } = setup(10, true);
    p.update(1, 1);
    tick(5);
    p.update(2, 0.5);
    p.finish();
    expect(out.length).toBe(3);
    expect(out[1]).toMatch(/^\rstep  2\/10 .* loss 0\.5 best 0\.5 /);
  });

  it("refuses a total that is not a positive integer", () => {
    expect(() => new Progress({ total: 0, isTTY: false, write: () => {} })).toThrow(RangeError);
  });
});
