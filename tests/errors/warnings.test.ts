/**
 * Programs with warnings only: every `.nn` file in `warnings/`. Its header
 * lists the warnings in order (`// Warnings: W0601 at 10:42, 13:37`). `nnc
 * check` must print them, exactly the snapshot `<name>.expected` beside the
 * program (regenerate with `npx vitest run tests/errors -u` and review), and
 * exit with status 0: warnings alone do not fail a check.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "../../bin/cli.js";
import { compile } from "../../compiler/pipeline.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const folder = join(here, "warnings");
const programs = readdirSync(folder)
  .filter((f) => f.endsWith(".nn"))
  .sort();

async function check(file: string): Promise<{ status: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const status = await main(["check", file], { out: (t) => (out += t), err: (t) => (err += t) });
  return { status, out, err };
}

/** The `// Warnings: CODE at line:col, line:col, CODE at line:col` header, as `CODE file:line:col`. */
function expectedWarnings(text: string, file: string): string[] {
  const m = /^\/\/ Warnings: (.+)$/m.exec(text);
  if (!m) throw new Error(`${file} has no "// Warnings: W0000 at line:col, ..." header`);
  let code = "";
  return m[1]!.split(",").map((part) => {
    const w = /^\s*(?:(W\d{4}) at )?(\d+):(\d+)\s*$/.exec(part);
    if (!w) throw new Error(`${file}: cannot read "${part}" in the Warnings header`);
    code = w[1] ?? code;
    return `${code} ${file}:${w[2]}:${w[3]}`;
  });
}

describe("programs with warnings", () => {
  it("are there, each saying what it tests", () => {
    expect(programs.length).toBeGreaterThanOrEqual(1);
    for (const p of programs)
      expect(readFileSync(join(folder, p), "utf8")).toMatch(/^\/\/ Tests: \S/);
  });

  it.each(programs)("%s: nnc check prints the warnings and exits 0", async (name) => {
    const file = relative(root, join(folder, name)).split("\\").join("/");
    const want = expectedWarnings(readFileSync(join(folder, name), "utf8"), file);
    const { status, out, err } = await check(file);
    expect(out).toBe("");
    expect(status, err).toBe(0);
    expect(err).not.toMatch(/^error/m);
    const got = [...err.matchAll(/^warning\[(W\d{4})\]: .*\n\s*--> (\S+)$/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(got).toEqual(want);
    expect(err).toMatch(new RegExp(`\\n${want.length} warnings?\\n$`));
    await expect(err).toMatchFileSnapshot(join(folder, name.replace(/\.nn$/, ".expected")));
  });

  it("a warning next to an error: both are reported, and the check fails", async () => {
    const r = await compile(join(here, "warning-and-error.nn"), {
      stopAfter: "check",
      entryText: "fn f(x: f32[N], y: f32[N]) -> f32[N] = grad(sum(y), x) + grad(x, x)\n",
    });
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => `${d.severity} ${d.code}`).sort()).toEqual([
      "error E0604",
      "warning W0601",
    ]);
  });
});
