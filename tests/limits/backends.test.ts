/**
 * Issue 8, item 4: backend memory limits are a {@link BackendLimitError}
 * naming the backend, the tensor, its bytes and the limit, checked without
 * allocating anything near the limit; and the error class reaches users
 * through the runtime, including the copy `nnc build` writes beside a module.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runtimeFiles } from "../../compiler/codegen/runtimeCopy.js";
import { allocate } from "../../runtime/backends/cpu.js";
import { checkTextureLimits } from "../../runtime/backends/webgl2.js";
import { BackendLimitError } from "../../runtime/errors.js";
import * as runtime from "../../runtime/index.js";
import { TYPED_ARRAY_MAX_LENGTH } from "../../runtime/limits.js";
import { GL_ROW } from "../../runtime/plan.js";

/** The error `f` throws (a test fails when it throws none). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error, none was thrown");
}

describe("cpu: typed-array length", () => {
  it("a buffer over the typed-array maximum length is a BackendLimitError before allocating", () => {
    const cases = [
      { dtype: "f32", precision: "f32", bytes: 4 },
      { dtype: "f32", precision: "f64", bytes: 8 },
      { dtype: "i32", precision: "f32", bytes: 4 },
      { dtype: "bool", precision: "f64", bytes: 1 },
    ] as const;
    for (const { dtype, precision, bytes } of cases) {
      const n = TYPED_ARRAY_MAX_LENGTH + 1;
      const e = thrown(() => allocate(dtype, n, precision, "parameter l1.w"));
      expect(e).toBeInstanceOf(BackendLimitError);
      const err = e as BackendLimitError;
      expect(err.backend).toBe("cpu");
      expect(err.what).toBe("parameter l1.w");
      expect(err.bytes).toBe(n * bytes);
      expect(err.limit).toBe(TYPED_ARRAY_MAX_LENGTH * bytes);
      expect(err.message).toBe(
        `cpu: parameter l1.w needs ${n * bytes} bytes, over the limit of ${TYPED_ARRAY_MAX_LENGTH * bytes} bytes (typed-array maximum length of ${TYPED_ARRAY_MAX_LENGTH} elements)`,
      );
    }
  });

  it("an allocation the host refuses (V8's RangeError) is a BackendLimitError naming the tensor", () => {
    // 2^32 f64 elements (32 GiB) are within the length limit; V8 reserves the
    // memory at once and fails with "Array buffer allocation failed" on a host
    // that cannot back it (a host that can maps it lazily, untouched)
    let got: unknown;
    try {
      got = allocate("f32", TYPED_ARRAY_MAX_LENGTH, "f64", "function f: a temporary buffer");
    } catch (e) {
      got = e;
    }
    if (got instanceof Float64Array) {
      expect(got.length).toBe(TYPED_ARRAY_MAX_LENGTH);
      return;
    }
    expect(got).toBeInstanceOf(BackendLimitError);
    expect((got as BackendLimitError).limit).toBeUndefined();
    expect((got as Error).message).toMatch(
      /^cpu: function f: a temporary buffer needs 34359738368 bytes, more than what the host could allocate: .+$/,
    );
  });

  it("sizes within the limit allocate as before", () => {
    expect(allocate("f32", 3, "f64")).toEqual(new Float64Array(3));
    expect(allocate("bool", 0, "f32")).toEqual(new Uint8Array(0));
  });
});

describe("webgl2: MAX_TEXTURE_SIZE", () => {
  const limits = { maxTextureSize: 4096 };
  it(`a buffer fits while its rows of ${GL_ROW} texels number at most MAX_TEXTURE_SIZE`, () => {
    for (const n of [0, 1, GL_ROW, GL_ROW * 4096])
      expect(() => checkTextureLimits(n, "parameter w", limits, "test renderer")).not.toThrow();
  });

  it("one element more is a BackendLimitError with the texture's layout and the limit", () => {
    const n = GL_ROW * 4096 + 1;
    const e = thrown(() => checkTextureLimits(n, "parameter w", limits, "test renderer"));
    expect(e).toBeInstanceOf(BackendLimitError);
    const err = e as BackendLimitError;
    expect([err.backend, err.what, err.bytes, err.limit]).toEqual([
      "webgl2",
      "parameter w",
      n * 4,
      GL_ROW * 4096 * 4,
    ]);
    expect(err.message).toBe(
      `webgl2: parameter w needs ${n * 4} bytes, over the limit of ${GL_ROW * 4096 * 4} bytes (MAX_TEXTURE_SIZE 4096: a texture of at most ${GL_ROW} x 4096 texels of 4 bytes on test renderer)`,
    );
  });

  it("a context narrower than a row cannot hold even one element more than it is wide", () => {
    const narrow = { maxTextureSize: 1024 };
    expect(() => checkTextureLimits(1024, "constant 0", narrow, "r")).not.toThrow();
    const e = thrown(() => checkTextureLimits(1025, "constant 0", narrow, "r"));
    expect((e as BackendLimitError).limit).toBe(1024 * 1024 * 4);
  });
});

describe("BackendLimitError reaches users", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("runtime/index.ts exports it and the limits", () => {
    expect(runtime.BackendLimitError).toBe(BackendLimitError);
    expect(runtime.TYPED_ARRAY_MAX_LENGTH).toBe(TYPED_ARRAY_MAX_LENGTH);
    expect(new runtime.BackendLimitError("cpu", "x", 8, 4, "l")).toBeInstanceOf(runtime.NncError);
  });

  it("the runtime copy beside a built module exports it", async () => {
    const files = await runtimeFiles();
    const dir = mkdtempSync(join(tmpdir(), "nnc-limits-"));
    dirs.push(dir);
    for (const f of files) {
      const path = join(dir, f.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.contents);
    }
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
    const copy = (await import(pathToFileURL(join(dir, "nnc-runtime", "index.js")).href)) as {
      BackendLimitError: typeof BackendLimitError;
      NncError: typeof Error;
    };
    const e = new copy.BackendLimitError("wasm", "parameter w", 8, 4, "a limit");
    expect(e).toBeInstanceOf(copy.NncError);
    expect(e.name).toBe("BackendLimitError");
    expect(e.message).toBe("wasm: parameter w needs 8 bytes, over the limit of 4 bytes (a limit)");
    expect(files.find((f) => f.path === "nnc-runtime/index.d.ts")?.contents).toMatch(
      /BackendLimitError/,
    );
  }, 60_000);
});
