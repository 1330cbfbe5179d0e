/**
 * `nnc train` failures a user can fix: a missing or mis-shaped data file, a
 * file without a `train` declaration, a backend that is not available. Each
 * is a clear message naming what is wrong (the file, the input, the backend),
 * and the CLI exits with status 1 without a stack trace.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { trainCommand } from "../../compiler/driver/train.js";
import { DataError } from "../../runtime/train/data.js";
import { nnc, scratch, writeNpy, writeText } from "./helpers.js";

const program = (x: string, y = 'npy("y.npy")') => `
use std.nn.{dense}
use std.loss.{mse}
use std.optim.{sgd}

model Regressor {
  layer = dense(2, 1)
  loss fit(x: f32[N, 2], y: f32[N, 1]) = mse(layer(x), y)
}

train Regressor.fit with sgd(lr = 0.1) {
  steps = 5
  x = ${x}
  y = ${y}
}
`;

let dir: string;
const silent = { write: () => {}, isTTY: false } as const;

/** A user-facing failure: status 1, one `nnc: ` message, no stack trace or internal error. */
function expectUserError(r: { status: number; out: string; err: string }): void {
  expect(r.status, r.err).toBe(1);
  expect(r.out).toBe("");
  expect(r.err).not.toContain("internal compiler error");
  expect(r.err).not.toMatch(/^\s+at /m);
}

beforeAll(() => {
  dir = scratch("cli");
  writeNpy(join(dir, "x.npy"), [4, 2], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
  writeNpy(join(dir, "y.npy"), [4, 1], [1, 2, 3, 4]);
  writeNpy(
    join(dir, "x3.npy"),
    [4, 3],
    Array.from({ length: 12 }, (_, i) => i / 10),
  );
  writeNpy(
    join(dir, "flat.npy"),
    [8],
    Array.from({ length: 8 }, (_, i) => i / 10),
  );
  writeNpy(join(dir, "y5.npy"), [5, 1], [1, 2, 3, 4, 5]);
  writeText(dir, "good.nn", program('npy("x.npy")'));
  writeText(dir, "missing.nn", program('npy("data/missing.npy")'));
  writeText(dir, "wide.nn", program('npy("x3.npy")'));
  writeText(dir, "flat.nn", program('npy("flat.npy")'));
  writeText(dir, "rows.nn", program('npy("x.npy")', 'npy("y5.npy")'));
  writeText(dir, "notrain.nn", "fn f(x: f32[N]) -> f32[N] = 2.0 * x\n");
  writeText(dir, "broken.nn", program('npy("x.npy")').replace("steps = 5", "stpes = 5"));
});

const out = () => ["-o", join(dir, "runs")];

describe("nnc train: data errors", () => {
  it("a well-formed program trains (the baseline of the cases below)", async () => {
    const r = await nnc(["train", join(dir, "good.nn"), ...out()]);
    expect(r.status, r.err).toBe(0);
    // the default backend, auto: a hardware GPU, else the WebAssembly kernels
    expect(r.err).toMatch(/nnc train: Regressor\.fit with sgd\(lr = 0\.1\), 5 steps on (wasm|webgpu)/);
  });

  it("a missing data file names the file, and the CLI exits 1", async () => {
    await expect(
      trainCommand(join(dir, "missing.nn"), { ...silent, out: join(dir, "runs") }),
    ).rejects.toThrow(DataError);
    const r = await nnc(["train", join(dir, "missing.nn"), ...out()]);
    expectUserError(r);
    expect(r.err).toMatch(
      /^nnc: data for input "x": data\/missing\.npy: cannot read the data file .*missing\.npy: no such file\n$/,
    );
  });

  it("a missing data file also names the input", async () => {
    const r = await nnc(["train", join(dir, "missing.nn"), ...out()]);
    expect(r.err).toMatch(/input "?x"?/);
  });

  it("an npy file of the wrong width names the input, the file and both shapes", async () => {
    const r = await nnc(["train", join(dir, "wide.nn"), ...out()]);
    expectUserError(r);
    expect(r.err).toBe('nnc: data for input "x" (x3.npy): expected f32[N, 2], got shape [4, 3]\n');
  });

  it("an npy file of the wrong rank", async () => {
    const r = await nnc(["train", join(dir, "flat.nn"), ...out()]);
    expectUserError(r);
    expect(r.err).toBe('nnc: data for input "x" (flat.npy): expected f32[N, 2], got shape [8]\n');
  });

  it("files whose rows disagree on a size symbol", async () => {
    const r = await nnc(["train", join(dir, "rows.nn"), ...out()]);
    expectUserError(r);
    expect(r.err).toBe(
      'nnc: data for input "y" (y5.npy): expected f32[N, 1] with N = 4 (from input "x"), got 5 rows\n',
    );
  });
});

describe("nnc train: other user errors", () => {
  it("a file without a train declaration", async () => {
    const r = await nnc(["train", join(dir, "notrain.nn"), ...out()]);
    expectUserError(r);
    expect(r.err).toBe(
      "nnc: this file has no `train` declaration; add one, like `train Model.loss with adam(lr = 1e-3) { ... }`\n",
    );
  });

  it("a program that does not compile prints its diagnostics", async () => {
    const r = await nnc(["train", join(dir, "broken.nn"), ...out()]);
    expectUserError(r);
    expect(r.err).toContain(
      "error[E0512]: `stpes` is neither a train option nor an input of `Regressor.fit`",
    );
    expect(r.err).toContain("did you mean `steps`?");
  });

  it("prints the program's warnings before training", async () => {
    const warned = writeText(
      dir,
      "warned.nn",
      program('npy("x.npy")').replace(
        "  loss fit",
        "  fn g(x: f32[N, 2], y: f32[N, 2]) -> f32[N, 2] = grad(sum(y ^ 2), x)\n  loss fit",
      ),
    );
    const check = await nnc(["check", warned]);
    expect(check.status).toBe(0);
    expect(check.err).toContain("warning[W0601]");
    const r = await nnc(["train", warned, ...out()]);
    expect(r.status).toBe(0);
    expect(r.err).toContain("warning[W0601]");
  });

  it("--backend webgl2 in Node (no browser) fails naming the backend", async () => {
    const r = await nnc(["train", join(dir, "good.nn"), "--backend", "webgl2", ...out()]);
    expectUserError(r);
    expect(r.err).toMatch(/^nnc: backend "webgl2" is not available/);
  });

  it("an unknown backend", async () => {
    const r = await nnc(["train", join(dir, "good.nn"), "--backend", "tpu", ...out()]);
    expectUserError(r);
    expect(r.err).toContain('unknown backend "tpu"; use cpu, wasm, webgpu, webgl2, auto');
  });

  it("--backend wasm trains on the WebAssembly kernels", async () => {
    const r = await nnc(["train", join(dir, "good.nn"), "--backend", "wasm", ...out()]);
    expect(r.status, r.err).toBe(0);
    expect(r.err).toContain(
      "nnc train: Regressor.fit with sgd(lr = 0.1), 5 steps on wasm (WebAssembly SIMD)",
    );
  });

  it("a missing program file", async () => {
    const r = await nnc(["train", join(dir, "nowhere.nn"), ...out()]);
    expectUserError(r);
    expect(r.err).toContain("nowhere.nn");
  });
});
