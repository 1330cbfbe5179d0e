/**
 * Misuse of the layers of std.nn is reported at the user's line, naming the
 * layer and both shapes (or both numbers): a wrong channel count into a
 * `conv2d`, attention heads that do not divide the width, a mask of the wrong
 * shape, and the other preconditions the layers state. Most of these come from
 * the compile-time `assert` of the library, so the builtins `assert` and `str`
 * are checked here too, and the example programs of docs/stdlib.md.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../../compiler/diagnostics/diagnostic.js";
import { check, checkOk } from "./helpers.js";

const USE =
  "use std.nn.{conv2d, max_pool2d, avg_pool2d, dense, dropout, positional_embedding, " +
  "multi_head_attention, transformer_encoder, causal_mask}\n";

/** The one error of a program (the `use` line above it is line 1). */
async function theError(source: string): Promise<Diagnostic> {
  const r = await check(USE + source);
  expect(r.ok).toBe(false);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  expect(errors.map((d) => `${d.code} ${d.message}`)).toHaveLength(1);
  return errors[0]!;
}

const where = (d: Diagnostic) => `${d.span.file.split("/").pop()}:${d.span.line}:${d.span.col}`;
const notes = (d: Diagnostic) =>
  d.notes.map((n) => `${n.message}${n.span ? ` @ ${n.span.file.split("/").pop()}` : ""}`);

describe("conv2d", () => {
  it("a wrong channel count names the layer's model, the expected and the found shape", async () => {
    const e = await theError(`model Net {
  c1 = conv2d(1, 8, 3)
  c2 = conv2d(4, 16, 3)
  fn f(x: f32[B, 1, 28, 28]) = c2(c1(x))
}`);
    expect(e.code).toBe("E0301");
    expect(e.message).toBe(
      "`conv2d.forward` expects argument `x` to be f32[B, 4, 26, 26], found f32[B, 8, 26, 26]",
    );
    // at the argument of `c2`, on the user's line
    expect(where(e)).toBe("inline.nn:5:35");
    expect(notes(e)).toContain("dimension 1 is 8, expected 4");
  });

  it("an input that is not an image is reported with both shapes", async () => {
    const e = await theError(`model Net {
  c = conv2d(1, 8, 3)
  fn f(x: f32[B, 784]) = c(x)
}`);
    expect(e.message).toBe(
      "`conv2d.forward` expects argument `x` to be f32[N, 1, H, W], found f32[B, 784]",
    );
    expect(where(e)).toBe("inline.nn:4:28");
  });

  it("a kernel larger than the padded image is reported by the convolution", async () => {
    const e = await theError(`model Net {
  c = conv2d(1, 8, 5)
  fn f(x: f32[B, 1, 3, 3]) = c(x)
}`);
    expect(e.message).toContain("a 5x5 kernel does not fit a 3x3 image");
    expect(notes(e)).toContain("in the call of `conv2d.forward` here @ inline.nn");
  });
});

describe("multi_head_attention", () => {
  it("heads that do not divide the width: both numbers, at the layer's field", async () => {
    const e = await theError(`model Net {
  attn = multi_head_attention(64, 5)
  fn f(x: f32[B, 10, 64]) = attn(x)
}`);
    expect(e.code).toBe("E0408");
    expect(e.message).toBe("multi_head_attention: heads = 5 does not divide dim = 64");
    expect(where(e)).toBe("inline.nn:3:10");
    expect(notes(e)).toEqual(["asserted here @ nn.nn"]);
  });

  it("the same through a transformer_encoder, at the encoder's field", async () => {
    const e = await theError(`model Net {
  enc = transformer_encoder(64, 5, 128)
  fn f(x: f32[B, 10, 64]) = enc(x)
}`);
    expect(e.message).toBe("multi_head_attention: heads = 5 does not divide dim = 64");
    expect(where(e)).toBe("inline.nn:3:9");
    expect(notes(e)).toEqual([
      "asserted here @ nn.nn",
      "in the instantiation of model `multi_head_attention` here @ nn.nn",
    ]);
  });

  it("zero heads is the same error, not a division by zero", async () => {
    const e = await theError(`model Net {
  attn = multi_head_attention(8, 0)
  fn f(x: f32[B, 10, 8]) = attn(x)
}`);
    expect(e.message).toBe("multi_head_attention: heads = 0 does not divide dim = 8");
  });

  it("a mask of the wrong length names the function and both shapes", async () => {
    const e = await theError(`model Net {
  attn = multi_head_attention(16, 4)
  fn f(x: f32[B, 10, 16], m: bool[10, 9]) = attn.masked(x, m)
}`);
    expect(e.code).toBe("E0301");
    expect(e.message).toBe(
      "`multi_head_attention.masked` expects argument `mask` to be bool[10, 10], found bool[10, 9]",
    );
    expect(where(e)).toBe("inline.nn:4:60");
    expect(notes(e)).toContain(
      "`T` is 10 from an earlier argument, but dimension 1 of this one is 9",
    );
  });

  it("a mask per sequence for another batch names both shapes and leads to the user's call", async () => {
    const e = await theError(`model Net {
  attn = multi_head_attention(16, 4)
  fn f(x: f32[B, 10, 16], m: bool[3, 10, 10]) = attn.masked(x, m)
}`);
    expect(e.code).toBe("E0301");
    expect(e.message).toBe(
      "`multi_head_attention.batch_mask` expects argument `mask` to be bool[B, 10, 10], found bool[3, 10, 10]",
    );
    expect(notes(e)).toContain("in the call of `multi_head_attention.masked` here @ inline.nn");
  });

  it("a mask of rank 1 or 4 names both shapes", async () => {
    const low = await theError(`model Net {
  attn = multi_head_attention(16, 4)
  fn f(x: f32[B, 10, 16], m: bool[10]) = attn.masked(x, m)
}`);
    expect(low.message).toBe(
      "`multi_head_attention.masked` expects argument `mask` to be bool[...M, 10, 10], found bool[10]",
    );
    const high = await theError(`model Net {
  attn = multi_head_attention(16, 4)
  fn f(x: f32[B, 10, 16], m: bool[2, B, 10, 10]) = attn.masked(x, m)
}`);
    expect(high.code).toBe("E0408");
    expect(high.message).toBe(
      "multi_head_attention: the mask must be bool[T, T] or bool[B, T, T] for x: f32[B, 10, 16], found bool[2, B, 10, 10]",
    );
    expect(where(high)).toBe("inline.nn:4:52");
  });

  it("a mask through transformer_encoder.masked is checked the same way", async () => {
    const e = await theError(`model Net {
  enc = transformer_encoder(16, 4, 32)
  fn f(x: f32[B, 10, 16]) = enc.masked(x, causal_mask(9))
}`);
    expect(e.message).toBe(
      "`multi_head_attention.masked` expects argument `mask` to be bool[10, 10], found bool[9, 9]",
    );
    expect(notes(e)).toContain("in the call of `transformer_encoder.masked` here @ inline.nn");
  });

  it("an input of another width names the layer and both shapes", async () => {
    const e = await theError(`model Net {
  attn = multi_head_attention(16, 4)
  fn f(x: f32[B, 10, 12]) = attn(x)
}`);
    expect(e.message).toBe(
      "`multi_head_attention.forward` expects argument `x` to be f32[B, 10, 16], found f32[B, 10, 12]",
    );
    expect(where(e)).toBe("inline.nn:4:34");
  });

  it("masks of both forms check", async () => {
    await checkOk(`${USE}model Net {
  attn = multi_head_attention(16, 4)
  enc = transformer_encoder(16, 4, 32, dropout_rate = 0.1)
  fn f(x: f32[B, 10, 16], m: bool[B, 10, 10]) = attn.masked(x, m) + attn.masked(x, causal_mask(10))
  fn g(x: f32[B, 10, 16], m: bool[B, 10, 10], s: i32) = enc.masked(x, m, seed = s, training = true)
}
`);
  });
});

describe("other layers", () => {
  it("positional_embedding: sequences longer than its table", async () => {
    const e = await theError(`model Net {
  pos = positional_embedding(8, 16)
  fn f(x: f32[B, 10, 16]) = pos(x)
}`);
    expect(e.code).toBe("E0408");
    expect(e.message).toBe(
      "positional_embedding: sequences of length 10 do not fit max_length = 8",
    );
    expect(where(e)).toBe("inline.nn:4:29");
  });

  it("pooling windows larger than the image name the layer, the window and the shape", async () => {
    const e = await theError(`fn f(x: f32[B, 1, 5, 5]) = avg_pool2d(x, size = 6)`);
    expect(e.message).toBe(
      "avg_pool2d: windows of size 6 and stride 6 do not fit x: f32[B, 1, 5, 5] (1 <= size <= height, width; stride >= 1)",
    );
    expect(where(e)).toBe("inline.nn:2:28");
  });

  it("a pooling stride of 0", async () => {
    const e = await theError(`fn f(x: f32[B, 1, 5, 5]) = max_pool2d(x, stride = 0)`);
    expect(e.message).toContain("max_pool2d: windows of size 2 and stride 0 do not fit");
  });

  it("dropout: a rate outside [0, 1)", async () => {
    const e = await theError(`fn f(x: f32[B, 4]) = dropout(x, 1.0, 0)`);
    expect(e.message).toBe("dropout: the rate must be in [0, 1), found 1.0");
    expect(where(e)).toBe("inline.nn:2:22");
  });

  it("dropout: a training flag that is a tensor", async () => {
    const e = await theError(`fn f(x: f32[B, 4], t: bool) = dropout(x, 0.5, 0, training = t)`);
    expect(e.code).toBe("E0403");
    expect(notes(e)).toContain("in the call of `dropout` here @ inline.nn");
  });
});

describe("assert and str", () => {
  it("assert gives its value (true by default) when the condition holds", async () => {
    await checkOk(`const A = assert(2 + 2 == 4, "arithmetic")
const B: int = assert(true, "never", 7) + 1
fn f(x: f32[N]) -> f32[N] = x * float(B)
`);
  });

  it("a failed assert at the top level is reported at the assert", async () => {
    const r = await check(
      `const N = 3\nconst A = assert(N % 2 == 0, "N = " + str(N) + " is odd")\n`,
    );
    expect(r.diagnostics.map((d) => `${d.span.line}:${d.span.col} ${d.code} ${d.message}`)).toEqual(
      ["2:11 E0408 N = 3 is odd"],
    );
  });

  it("a failed assert in a function is reported where the function was called", async () => {
    const r =
      await check(`fn half(n: int) = assert(n % 2 == 0, "half: " + str(n) + " is odd", n / 2)
fn f(x: f32[N]) -> f32[N] = x * half(3)
`);
    expect(r.diagnostics).toHaveLength(1);
    const e = r.diagnostics[0]!;
    expect(`${e.span.line}:${e.span.col} ${e.code} ${e.message}`).toBe("2:33 E0408 half: 3 is odd");
    expect(e.notes.map((n) => [n.message, n.span?.line])).toEqual([["asserted here", 1]]);
  });

  it("needs a compile-time bool condition and a string message", async () => {
    const r = await check(`fn f(x: f32[N]) -> f32[N] {
  let a = assert(sum(x) > 0.0, "positive")
  let b = assert(1, "one")
  let c = assert(true, 3)
  return x
}
`);
    expect(r.diagnostics.map((d) => `${d.span.line}:${d.span.col} ${d.code}`)).toEqual([
      "2:18 E0403",
      "3:18 E0301",
      "4:24 E0301",
    ]);
    expect(r.diagnostics[0]!.message).toBe(
      "the condition of `assert` must be a bool known at compile time, found bool scalar",
    );
    expect(r.diagnostics[2]!.message).toBe("the message of `assert` must be a string, found int 3");
  });

  it("str writes numbers, sizes, bools, strings, ranges and lists; not tensors", async () => {
    const r = await check(`fn f(x: f32[N, 3]) -> f32[N, 3] {
  let a = assert(str(x.shape) == "[N, 3]", "shape")
  let b = assert(str([1, 2.5, true, "s", 0..2]) == "[1, 2.5, true, s, 0..2]", "list")
  let c = assert(str(2 * N + 1) == "2*N + 1", "size")
  let d = str(x)
  return x
}
`);
    expect(r.diagnostics.map((d) => `${d.span.line}:${d.span.col} ${d.code} ${d.message}`)).toEqual(
      ["5:15 E0403 `str` needs a compile-time value, found f32[N, 3]"],
    );
  });
});

describe("docs/stdlib.md", () => {
  const doc = readFileSync(new URL("../../docs/stdlib.md", import.meta.url), "utf8");
  const examples = [...doc.matchAll(/```nn\n([\s\S]*?)```/g)].map((m) => m[1]!);

  it("has example programs", () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  it.each(examples.map((e, i) => [i, e] as const))(
    "example %i checks without diagnostics",
    async (_i, source) => {
      await checkOk(source);
    },
  );
});
