/**
 * `--dump-after` on long chains: the printers walk left-assoc chains without
 * recursion (a 20,000-term sum is 20,000 deep), and stay linear in output.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../../compiler/pipeline.js";

const PATH = join(process.cwd(), "tests/limits/chain.nn");

describe("dumps of a 20,000-term sum", () => {
  const terms = 20_000;
  const source = `fn f(x: f32) = ${Array.from({ length: terms }, () => "x").join(" + ")}\n`;

  it("prints after parse, resolve and check", async () => {
    const r = await compile(PATH, {
      entryText: source,
      stopAfter: "check",
      dumpAfter: ["parse", "resolve", "check"],
    });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const dump = (stage: string): string => r.dumps.find((d) => d.stage === stage)!.text;
    const parse = dump("parse");
    // left-nested: the innermost sum first, one `(+` per term after the first
    expect(parse.match(/\(\+/g)?.length).toBe(terms - 1);
    expect(parse).toContain("(+ (name x) (name x))");
    // past the indentation cap, lists print on one line: the output stays about linear
    expect(parse.length).toBeLessThan(40 * terms);
    const check = dump("check");
    expect(check).toContain(`%${terms - 1} = binary add %${terms - 2}, %0 : f32`);
  }, 60_000);
});
