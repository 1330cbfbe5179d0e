import { describe, expect, it } from "vitest";
import { MISC_EXAMPLE, MLP_EXAMPLE, PINN_EXAMPLE, parse } from "./helpers.js";

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  "use",
  "fn",
  "loss",
  "model",
  "param",
  "const",
  "let",
  "var",
  "return",
  "for",
  "in",
  "if",
  "else",
  "train",
  "with",
  "true",
  "false",
  "x",
  "f32",
  "λ",
  "0",
  "1.5",
  '"s"',
  "...",
  "..",
  "->",
  "==",
  "<",
  "=",
  "+",
  "-",
  "*",
  "^",
  "@",
  "!",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
  ";",
  ".",
  "\n",
  "$",
  "/*",
  '"',
];

describe("robustness", () => {
  it("never throws on random token soup, and reports an error whenever it returns nothing", () => {
    const random = rng(1);
    for (let n = 0; n < 400; n++) {
      const len = Math.floor(random() * 30);
      const text = Array.from(
        { length: len },
        () => PIECES[Math.floor(random() * PIECES.length)] ?? "",
      ).join(" ");
      const r = parse(text);
      if (!r.module) expect(r.bag.errorCount, text).toBeGreaterThan(0);
      else expect(r.bag.errorCount, text).toBe(0);
    }
  });

  it("never throws on damaged example programs", () => {
    const random = rng(2);
    for (const example of [MLP_EXAMPLE, PINN_EXAMPLE, MISC_EXAMPLE]) {
      for (let n = 0; n < 100; n++) {
        let text = example;
        for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
          const at = Math.floor(random() * text.length);
          const piece = PIECES[Math.floor(random() * PIECES.length)] ?? "";
          text =
            random() < 0.5
              ? text.slice(0, at) + text.slice(at + 3)
              : text.slice(0, at) + piece + text.slice(at);
        }
        const r = parse(text);
        if (!r.module) expect(r.bag.errorCount, text).toBeGreaterThan(0);
        for (const d of r.bag.all()) {
          expect(d.span.start, text).toBeGreaterThanOrEqual(0);
          expect(d.span.end, text).toBeLessThanOrEqual(text.length);
          expect(d.span.line, text).toBeGreaterThanOrEqual(1);
        }
      }
    }
  });
});
