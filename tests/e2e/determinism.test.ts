/**
 * Deterministic builds: `nnc build` of every example, run twice as separate
 * processes from different working directories into different output
 * folders (the source copied to two different places), writes byte-identical
 * trees: no timestamps, no absolute paths, no order that depends on the run.
 * Needs dist/ (`npm test` builds first).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(".");
const NNC = join(ROOT, "bin", "nnc.js");
const TMP = join(ROOT, "tests", ".tmp", "determinism");
const EXAMPLES = readdirSync(join(ROOT, "examples"))
  .filter((f) => f.endsWith(".nn"))
  .sort();

/** Every file under `dir`, by relative path. */
function tree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/** Builds `examples/<file>` copied into `place`, from working directory `cwd`, into `place/out`. */
function build(file: string, place: string, cwd: string): Map<string, Buffer> {
  rmSync(place, { recursive: true, force: true });
  mkdirSync(place, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  copyFileSync(join(ROOT, "examples", file), join(place, file));
  // examples read data files relative to themselves
  execFileSync(process.execPath, [NNC, "build", join(place, file), "-o", join(place, "out")], {
    cwd,
    stdio: "pipe",
  });
  return tree(join(place, "out"));
}

describe("nnc build is deterministic", () => {
  it.each(EXAMPLES)("%s: two builds from different places are byte-identical", (file) => {
    const a = build(file, join(TMP, "a", "first"), join(TMP, "cwd-a"));
    const b = build(file, join(TMP, "b", "second", "deeper"), join(TMP, "cwd-b", "x"));
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [path, bytes] of a) {
      expect(bytes.equals(b.get(path)!), `${file}: ${path} differs between the builds`).toBe(true);
      const text = bytes.toString("utf8");
      for (const absolute of [ROOT, TMP])
        expect(text.includes(absolute), `${file}: ${path} contains the path ${absolute}`).toBe(
          false,
        );
    }
    expect(a.size).toBeGreaterThan(3);
  });
});
