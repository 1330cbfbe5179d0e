/**
 * `docs/diagnostics.md` stays true: it documents exactly the diagnostic codes
 * that the compiler can emit (every `"E0000"` error and `"W0000"` warning
 * literal under `compiler/`), and each documented example program reports its
 * code: an error fails the compilation, a warning alone does not.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compile } from "../../compiler/pipeline.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const doc = readFileSync(join(root, "docs/diagnostics.md"), "utf8");

/** Every TypeScript file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [join(dir, e.name)]
        : [],
  );
}

/** Codes used as string literals in the compiler's source. */
const emitted = new Set(
  sources(join(root, "compiler")).flatMap((f) =>
    [...readFileSync(f, "utf8").matchAll(/["'`]([EW]\d{4})["'`]/g)].map((m) => m[1]!),
  ),
);

/** The documented codes: `## E0301: title` headings, each with its section. */
const sections = new Map(
  [...doc.matchAll(/^## ([EW]\d{4}): .+$/gm)].map((m, i, all) => [
    m[1]!,
    doc.slice(m.index, all[i + 1]?.index ?? doc.length),
  ]),
);

describe("docs/diagnostics.md", () => {
  it("documents every code the compiler emits", () => {
    const missing = [...emitted].filter((c) => !sections.has(c)).sort();
    expect(missing).toEqual([]);
  });

  it("documents no code the compiler does not emit", () => {
    const stale = [...sections.keys()].filter((c) => !emitted.has(c)).sort();
    expect(stale).toEqual([]);
  });

  it("lists the codes in order, once each", () => {
    const codes = [...doc.matchAll(/^## ([EW]\d{4}):/gm)].map((m) => m[1]!);
    expect(codes).toEqual([...new Set(codes)].sort());
  });

  const examples = [...sections].flatMap(([code, text]) => {
    const m = /```nn\n([\s\S]*?)```/.exec(text);
    return m ? [{ code, source: m[1]! }] : [];
  });

  it("has an example program for every code (E0204, a cycle, needs two files)", () => {
    const without = [...sections.keys()].filter((c) => !examples.some((e) => e.code === c));
    expect(without).toEqual(["E0204"]);
  });

  it.each(examples)("the example of $code reports $code", async ({ code, source }) => {
    const r = await compile(join(here, "doc-example.nn"), {
      stopAfter: "check",
      entryText: source,
    });
    const warning = code.startsWith("W");
    expect(r.ok, r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n")).toBe(warning);
    expect(r.diagnostics.map((d) => d.code)).toContain(code);
    const found = r.diagnostics.find((d) => d.code === code)!;
    expect(found.severity).toBe(warning ? "warning" : "error");
  });
});
