/**
 * What the whole-program comparisons share: the programs (every test
 * program, every fusion program, every example) and deterministic
 * pseudo-random arguments, so that a failure reproduces.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

export const PROGRAM_FILES: readonly string[] = [
  "tests/programs",
  "tests/fusion/programs",
  "examples",
].flatMap((d) =>
  readdirSync(d)
    .filter((f) => f.endsWith(".nn"))
    .sort()
    .map((f) => join(d, f)),
);

/** A deterministic generator (xorshift) of values in [0, 1). */
export function rng(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** `n` argument values of `dtype`: f32 in [-1, 1) (exact in f32), i32 in 0..3, bool 0/1. */
export function argumentValues(dtype: string, n: number, next: () => number): number[] {
  if (dtype === "f32") return Array.from({ length: n }, () => Math.fround(next() * 2 - 1));
  if (dtype === "i32") return Array.from({ length: n }, () => Math.floor(next() * 4));
  return Array.from({ length: n }, () => (next() < 0.5 ? 1 : 0));
}
