/**
 * The package's entry points resolve from plain Node (self-reference by name,
 * as an app that depends on nnc would import them), from the built `dist/`.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

describe("package exports", () => {
  it("nnc, nnc/runtime, nnc/runtime/train and nnc/runtime/train/node import in plain Node", () => {
    const dir = join(process.cwd(), "tests", ".tmp", "package");
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, "probe.mjs");
    writeFileSync(
      probe,
      [
        'import { compile, STAGES } from "nnc";',
        'import { tensor, CompiledModule } from "nnc/runtime";',
        'import { Dataset, encodeSafetensors } from "nnc/runtime/train";',
        'import { saveCheckpoint } from "nnc/runtime/train/node";',
        'const r = await compile("examples/mlp.nn", { stopAfter: "check" });',
        "console.log(JSON.stringify({ ok: r.ok, stages: STAGES.length, shape: tensor([[1, 2]]).shape,",
        "  kinds: [typeof CompiledModule, typeof Dataset, typeof encodeSafetensors, typeof saveCheckpoint] }));",
      ].join("\n"),
    );
    const out = JSON.parse(
      execFileSync(process.execPath, [probe], { cwd: process.cwd(), encoding: "utf8" }),
    ) as {
      ok: boolean;
      stages: number;
      shape: number[];
      kinds: string[];
    };
    expect(out).toEqual({
      ok: true,
      stages: 8,
      shape: [1, 2],
      kinds: ["function", "function", "function", "function"],
    });
  });
});
