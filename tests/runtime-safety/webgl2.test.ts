/**
 * `checkNumerics` on WebGL2, in headless Chromium (the page of
 * tests/browser/webgl2.test.ts runs the module from `dist/`; run `npm run
 * build` first): each pass's f32 targets are read back after it draws, and
 * the first NaN or infinity stops the call with a NumericsError naming the
 * source expression. Skipped without Chromium (a failure under `CI=true`).
 */
import { expect, it } from "vitest";
import type { GlslKernelSource } from "../../runtime/plan.js";
import { describeBrowser, openSuitePage } from "../browser/session.js";
import { program } from "./helpers.js";

interface Failure {
  name: string;
  message: string;
}
interface Reply {
  backend?: string;
  results?: ({ ok: unknown; error?: undefined } | { ok?: undefined; error: Failure })[];
  error?: Failure;
}

const bad = await program("bad");
const glsl: Record<string, GlslKernelSource> = Object.fromEntries(
  bad.planned.glslKernels.map((k) => [k.name, k.source]),
);

describeBrowser("checkNumerics on WebGL2 in headless Chromium", () => {
  const suite = openSuitePage("webgl2.html", "runtime/backends/numerics.js");

  it("names the expression of the first NaN or infinity; off, the call returns them", async () => {
    const run = (checkNumerics: boolean) =>
      suite().page.evaluate<Reply>("glRun", {
        plan: bad.unit.plan,
        glsl,
        options: { backend: "webgl2", checkNumerics },
        steps: [
          { call: "logs", args: [{ f32: [3, 4, 1, 5] }] },
          { call: "ratio", args: [{ f32: [1, 0, 2] }, { f32: [1, 0, 2] }] },
          { call: "logs", args: [{ f32: [3, 4] }] },
        ],
      });
    const on = await run(true);
    expect(on.error).toBeUndefined();
    expect(on.backend).toBe("webgl2");
    const [logs, ratio, fine] = on.results!;
    expect(logs?.error?.name).toBe("NumericsError");
    expect(logs?.error?.message).toMatch(
      /^function logs produced NaN: kernel g\d+ wrote it at element 2 of 4, computing `2\.0 \* log\(x - 2\.0\)` \(\*\) at bad\.nn:2:32 \(backend webgl2\)$/,
    );
    expect(ratio?.error?.name).toBe("NumericsError");
    expect(ratio?.error?.message).toMatch(/element 1 of 3, computing `a \/ b \+ 1\.0`/);
    expect(fine?.error).toBeUndefined();
    const off = await run(false);
    const [offLogs] = off.results!;
    expect(offLogs?.error).toBeUndefined();
    expect((offLogs?.ok as { data: number[] }[])[0]!.data[2]).toBeNaN();
  });
});
