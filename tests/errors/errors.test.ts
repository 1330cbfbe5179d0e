/**
 * Bad programs: every `.nn` file directly in this folder is a program with a
 * mistake. Its header says what it tests and where the first error is
 * (`// First error: E0301 at 5:44`, or `at lib/other.nn:2:5` for an error in an
 * imported file). `nnc check` must exit with status 1, report that error first,
 * and print exactly the snapshot `<name>.expected` beside it (regenerate with
 * `npx vitest run tests/errors -u`, then review every change by eye).
 *
 * Paths in diagnostics are relative to the working directory, so the tests run
 * from the repository root (as vitest does) to keep snapshots machine-independent.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "../../bin/cli.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const programs = readdirSync(here)
  .filter((f) => f.endsWith(".nn"))
  .sort();

/** Runs `nnc check <file>` in-process; returns the exit status and what it printed. */
async function check(file: string): Promise<{ status: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const status = await main(["check", file], {
    out: (t) => (out += t),
    err: (t) => (err += t),
  });
  return { status, out, err };
}

/** The `// First error: CODE at [file:]line:col` header of a bad program. */
function firstError(text: string, file: string): { code: string; location: string } {
  const m = /^\/\/ First error: (E\d{4}) at (?:(\S+):)?(\d+):(\d+)$/m.exec(text);
  if (!m) throw new Error(`${file} has no "// First error: E0000 at line:col" header`);
  const [, code, other, line, col] = m;
  const path = other ? relative(root, join(here, other)).split("\\").join("/") : file;
  return { code: code!, location: `${path}:${line}:${col}` };
}

describe("bad programs", () => {
  it("run from the repository root, so that paths in snapshots are relative to it", () => {
    expect(resolve(process.cwd())).toBe(root);
  });

  it("are at least 30 distinct programs, each saying what it tests", () => {
    expect(programs.length).toBeGreaterThanOrEqual(30);
    for (const p of programs) {
      const text = readFileSync(join(here, p), "utf8");
      expect(text, p).toMatch(/^\/\/ Tests: \S/);
    }
  });

  it.each(programs)("%s", async (name) => {
    const file = relative(root, join(here, name)).split("\\").join("/");
    const { code, location } = firstError(readFileSync(join(here, name), "utf8"), file);
    const { status, out, err } = await check(file);
    expect(out).toBe("");
    expect(err).not.toContain("internal compiler error");
    expect(status).toBe(1);
    // the first diagnostic is the one the header names, at the place it names
    const first = /^error\[(E\d{4})\]: .*\n\s*--> (\S+)$/m.exec(err);
    expect(first?.[1], "first error code").toBe(code);
    expect(first?.[2], "first error location").toBe(location);
    expect(err).toContain(location);
    await expect(err).toMatchFileSnapshot(join(here, name.replace(/\.nn$/, ".expected")));
  });
});
