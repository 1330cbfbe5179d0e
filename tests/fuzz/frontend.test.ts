/**
 * The bounded run of the front-end fuzzer (`tests/fuzz/frontend.ts`): a fixed
 * seed, a few hundred generated and mutated programs, each through `nnc check`
 * and, when it checks, the whole build. Every program must succeed or get
 * located diagnostics, without throwing and within a time limit. The long run
 * is `npm run fuzz`.
 */
import { describe, expect, it } from "vitest";
import { corpus, generateCase, minimize, runFrontendFuzz, type FuzzReport } from "./frontend.js";

/** Fixed, so a failure reproduces: `generateCase(SEED, i)` is the program of case i. */
const SEED = 20260801;
const RUNS = 180;

function describeFailures(r: FuzzReport): string {
  return r.failures
    .map(
      (f) =>
        `${f.id} (x${f.count})\n${f.error}\n--- minimized program:\n${f.minimized}\n--- reproduce: generateCase(${SEED}, ${/case=(\d+)/.exec(f.id)?.[1]})`,
    )
    .join("\n\n");
}

describe("front-end fuzzer", () => {
  it("the corpus holds the repository's examples, stdlib and test programs", () => {
    const files = corpus().map((f) => f.path);
    for (const f of [
      "examples/mlp.nn",
      "stdlib/nn.nn",
      "tests/errors/unknown_name.nn",
      "bench/programs/pinn.nn",
    ])
      expect(
        files.some((p) => p.endsWith(f)),
        f,
      ).toBe(true);
  });

  it("cases are a pure function of seed and index", () => {
    for (let i = 0; i < 20; i++) expect(generateCase(SEED, i)).toEqual(generateCase(SEED, i));
    expect(generateCase(SEED, 0).source).not.toBe(generateCase(SEED + 1, 0).source);
  });

  it("minimizes while the failure holds", async () => {
    const source = "fn a(x) = x\nfn b(x: f32[N]) = bad(x, 1, 2)\nfn c(x) = x\n";
    const out = await minimize(source, async (t) => t.includes("bad(x, 1"));
    expect(out.includes("bad(x, 1")).toBe(true);
    expect(out.length).toBeLessThan(12);
  });

  it(`${RUNS} programs: each checks and builds, or gets located diagnostics; nothing throws or hangs`, async () => {
    const r = await runFrontendFuzz({
      seed: SEED,
      runs: RUNS,
      // generous for a loaded CI machine; the slowest program here takes well under a second
      perProgramMs: 15_000,
      // the big examples are built elsewhere; here their mutants only go through the checker
      buildMaxChars: 4000,
    });
    console.log(
      `front-end fuzzer (seed ${SEED}): ${r.tried} programs, ${r.passedCheck} checked (${r.built} built), ` +
        `${r.diagnosed} diagnosed (syntax ${r.diagnosedBy.syntax}, check ${r.diagnosedBy.check}, build ${r.diagnosedBy.build}), ` +
        `by generator ${JSON.stringify(r.origins)}, slowest ${r.slowest.ms.toFixed(0)} ms (${r.slowest.id}), ${(r.elapsedMs / 1000).toFixed(1)} s`,
    );
    expect(r.failures, describeFailures(r)).toEqual([]);
    expect(r.tried).toBe(RUNS);
    // the generators reach past the parser: many programs check and build, many fail in the checker
    expect(r.passedCheck).toBeGreaterThan(RUNS * 0.25);
    expect(r.built).toBeGreaterThan(RUNS * 0.2);
    expect(r.diagnosedBy.check).toBeGreaterThan(RUNS * 0.1);
    expect(r.diagnosedBy.syntax).toBeGreaterThan(RUNS * 0.1);
    // the type-directed generator aims at well-typed programs, and mostly hits
    const grammar = r.origins["grammar"];
    expect(grammar?.passedCheck ?? 0).toBeGreaterThan((grammar?.tried ?? 0) * 0.7);
  }, 240_000);
});
