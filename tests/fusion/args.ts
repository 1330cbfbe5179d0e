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

/**
 * Programs too large for the kernel-IR interpreter, which evaluates every
 * element in f64 JavaScript one expression at a time: the MNIST network's
 * 28 × 28 convolutions take minutes there. Their layers are compared at a
 * small size by `tests/fusion/programs/cnn.nn` and `tests/programs/conv.nn`,
 * and the example itself runs on WebGPU against the CPU backend.
 */
const TOO_LARGE_TO_INTERPRET = new Set(["examples/cnn.nn"]);

/** The programs the interpreter comparison runs: all but {@link TOO_LARGE_TO_INTERPRET}. */
export const INTERPRETED_FILES: readonly string[] = PROGRAM_FILES.filter(
  (f) => !TOO_LARGE_TO_INTERPRET.has(f),
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
