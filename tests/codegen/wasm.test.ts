/**
 * The WebAssembly renderer (compiler/codegen/wasm/render.ts): the kernels and
 * edge-case tables the WGSL and GLSL tests run (tests/codegen/checks.ts) run
 * here as WebAssembly in Node, against the CPU's values; plus the group and
 * tail handling of each kernel kind at every size around a group of four,
 * and a matmul large enough to use every cache block of the product.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderWasmKernel, renderWasmProgram } from "../../compiler/codegen/wasm/render.js";
import type { Kernel, ReduceKernel } from "../../compiler/kernel/kernelIr.js";
import {
  argmaxCase,
  argmaxI32Case,
  biasTanhCase,
  literalKernel,
  LITERALS,
  matmulBiasTanhCase,
  MODERATE_ARGS,
  reductions,
  type Data,
} from "./cases.js";
import * as check from "./checks.js";
import { expectClose, expectMatmulBiasTanh, expectReduced, type RunKernel } from "./checks.js";
import {
  bin,
  biasTanh,
  idx,
  int,
  load,
  matmulBiasTanh,
  MATMUL_SCHEDULE,
  read,
  sym,
  treeKernel,
  v,
  write,
} from "./kernels.js";

/**
 * Runs `kernel` as the runtime does: every buffer in one memory, 16-byte
 * aligned, the symbols after them, scratch memory past everything (its
 * contents are garbage, so a kernel that relies on zeroed scratch fails).
 */
export async function runWasm(
  kernel: Kernel,
  inputs: readonly Data[],
  count: number,
  symbols: readonly number[] = [],
  bytes: Uint8Array<ArrayBuffer> = renderWasmKernel("k", kernel),
): Promise<Data[]> {
  const module = await WebAssembly.compile(bytes);
  const writes = kernel.bindings.filter((b) => b.access === "write");
  const sizes = [
    ...inputs.map((x) => x.length),
    ...writes.map(() => count),
    Math.max(1, symbols.length),
  ];
  const offsets: number[] = [];
  let top = 64;
  for (const n of sizes) {
    offsets.push(top);
    top += Math.ceil((4 * n) / 16) * 16 + 16;
  }
  const memory = new WebAssembly.Memory({ initial: Math.ceil((top + 65536) / 65536) });
  let scratchTop = top;
  const scratch = (bytes: number): number => {
    const at = scratchTop;
    scratchTop += Math.ceil(bytes / 16) * 16;
    const need = scratchTop - memory.buffer.byteLength;
    if (need > 0) memory.grow(Math.ceil(need / 65536));
    new Uint8Array(memory.buffer, at, scratchTop - at).fill(0xa5);
    return at;
  };
  const instance = await WebAssembly.instantiate(module, { env: { memory, scratch } });
  const heap = () => new Int32Array(memory.buffer);
  inputs.forEach((x, j) =>
    heap().set(new Int32Array(x.buffer, x.byteOffset, x.length), offsets[j]! / 4),
  );
  // outputs start as garbage too
  writes.forEach((_, j) =>
    heap().fill(
      0x5a5a5a5a,
      offsets[inputs.length + j]! / 4,
      offsets[inputs.length + j]! / 4 + count,
    ),
  );
  heap().set(symbols, offsets[sizes.length - 1]! / 4);
  const fn = instance.exports["k"] as (...args: number[]) => void;
  fn(...offsets);
  return writes.map((b, j) => {
    const at = offsets[inputs.length + j]!;
    const bytes = memory.buffer.slice(at, at + 4 * count);
    return b.dtype === "f32" ? new Float32Array(bytes) : new Int32Array(bytes);
  });
}

const run: RunKernel = (kernel, inputs, count, symbols) => runWasm(kernel, inputs, count, symbols);

function serial(k: ReduceKernel): ReduceKernel {
  return { ...k, schedule: { kind: "serial", threads: 64 } };
}

describe("renderWasm: modules", () => {
  it("validates, and is deterministic", () => {
    const a = renderWasmKernel("k", matmulBiasTanh);
    expect(WebAssembly.validate(a)).toBe(true);
    expect(renderWasmKernel("k", matmulBiasTanh)).toEqual(a);
  });

  it("builds a relaxed-SIMD variant only for programs with f32 products", () => {
    const decode = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const withProduct = renderWasmProgram([
      { name: "g0", kernel: biasTanh },
      { name: "g1", kernel: matmulBiasTanh },
    ]);
    expect(Object.keys(withProduct.kernels)).toEqual(["g0", "g1"]);
    expect(withProduct.kernels["g1"]!.access).toEqual(["read", "read", "read", "write", "write"]);
    expect(WebAssembly.validate(decode(withProduct.code))).toBe(true);
    // the same module but for the product's body, which Node 20 cannot validate without a flag
    expect(withProduct.relaxedCode).toBeDefined();
    expect(withProduct.relaxedCode).not.toBe(withProduct.code);
    expect(renderWasmProgram([{ name: "g0", kernel: biasTanh }]).relaxedCode).toBeUndefined();
  });
});

describe("renderWasm: kernels run in Node", () => {
  it("runs the golden kernels", async () => {
    for (const rows of [1, 2, 3, 4, 5, 37]) await check.goldenKernels(run, rows);
  });

  it("handles every size around a group of four, contiguous and gathered", async () => {
    // out0[i] = a[i] + b[i % 3] * 2; out1[i] = a[(i * 7) % n]
    const k: Kernel = {
      kind: "map",
      bindings: [read(), read(), write(), write()],
      symbols: 1,
      size: sym(0),
      epilogue: [],
      stores: [
        {
          slot: 2,
          value: bin(
            "add",
            load(0, v("i")),
            bin("mul", load(1, idx("mod", v("i"), int(3))), { k: "lit", dtype: "f32", value: 2 }),
          ),
        },
        { slot: 3, value: load(0, idx("mod", idx("mul", v("i"), int(7)), sym(0))) },
      ],
      schedule: { threads: 64 },
    };
    for (let n = 0; n <= 13; n++) {
      const a = Float32Array.from({ length: n }, (_, j) => j * 1.5 - 3);
      const b = Float32Array.from([10, 20, 30]);
      const [o0, o1] = await run(k, [a, b], n, [n]);
      expect([...o0!]).toEqual([...a].map((x, j) => Math.fround(x + b[j % 3]! * 2)));
      expect([...o1!]).toEqual([...a].map((_, j) => a[(j * 7) % n]!));
    }
  });

  it("reproduces the CPU's i32 arithmetic", async () => {
    await check.i32Arithmetic(run);
  });

  it("reproduces the CPU's f32 binary functions", async () => {
    await check.f32Binary(run, { subnormalOperandsMayBeZero: false });
  });

  it("reproduces the CPU's f32 unary functions", async () => {
    await check.f32Unary(run);
    const mid = Float32Array.from(MODERATE_ARGS);
    for (const fn of ["sin", "cos", "tan"] as const)
      await check.unary(run, fn, mid, Math[fn], 2e-6, 2e-7);
  });

  it("reproduces the CPU's casts", async () => {
    await check.casts(run);
  });

  it("computes operations on literals", async () => {
    for (let at = 0; at < LITERALS.length; at += 8) {
      const group = LITERALS.slice(at, at + 8);
      const out = await run(literalKernel(group), [], 1);
      expectClose(
        out.map((o) => o[0]!),
        group.map(([, , want]) => want),
      );
    }
  });

  it("reduces", async () => {
    for (const c of reductions()) {
      for (const k of [
        treeKernel(c.fn, c.dtype, c.rows, c.extent, 64),
        serial(treeKernel(c.fn, c.dtype, c.rows, c.extent)),
      ]) {
        const [out] = await run(k, [c.input], c.rows);
        expectReduced(out!, c, `${c.dtype} ${c.fn} ${k.schedule.kind}`);
      }
    }
  });

  it("finds the first maximum, NaN counting as the largest", async () => {
    const c = argmaxCase();
    const [out] = await run(treeKernel("argmax", "f32", c.rows, c.extent, 64), [c.x], c.rows);
    expect([...out!]).toEqual(c.want);
    const ci = argmaxI32Case();
    const [outi] = await run(treeKernel("argmax", "i32", 2, 70, 64), [ci.x], 2);
    expect([...outi!]).toEqual(ci.want);
  });

  it("multiplies 70x33 by 33x45 matrices with a fused epilogue", async () => {
    const c = matmulBiasTanhCase();
    expectMatmulBiasTanh(await run(matmulBiasTanh, c.inputs, c.count, c.symbols), c, "");
  });

  it("multiplies i32 matrices with a transposed operand", async () => {
    await check.i32Matmul(run);
  });

  it("draws the CPU's random numbers", async () => {
    await check.random(run);
  });

  it("runs the bias-tanh kernel at every row count around a group", async () => {
    for (const rows of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
      const c = biasTanhCase(rows);
      const [out] = await run(biasTanh, c.inputs, c.count, c.symbols);
      expectClose(out!, [...c.want], 2e-6, 1e-7);
    }
  });
});

describe("renderWasm: reductions along rows and columns", () => {
  /** Sum or max over r of x[i * E + r] (rows) or x[r * R + i] (columns); R and E are symbols 0 and 1. */
  function reduction(fn: "sum" | "max", along: "rows" | "columns"): Kernel {
    const index =
      along === "rows"
        ? idx("add", idx("mul", v("i"), sym(1)), v("r"))
        : idx("add", idx("mul", v("r"), sym(0)), v("i"));
    return {
      kind: "reduce",
      fn,
      dtype: "f32",
      bindings: [read(), write()],
      symbols: 2,
      size: sym(0),
      extent: sym(1),
      body: { lets: [], value: load(0, index) },
      epilogue: [],
      stores: [{ slot: 1, value: { k: "acc", dtype: "f32" } }],
      schedule: { kind: "serial", threads: 64 },
    };
  }

  it("agrees with a plain loop at every size around a group of four", async () => {
    for (const along of ["rows", "columns"] as const)
      for (const fn of ["sum", "max"] as const)
        for (const rows of [1, 3, 4, 5, 9])
          for (const extent of [0, 1, 3, 4, 5, 8, 13]) {
            const x = Float32Array.from({ length: rows * extent }, (_, j) => Math.sin(j * 1.7) * 3);
            const at = (i: number, r: number) => (along === "rows" ? i * extent + r : r * rows + i);
            const want = Array.from({ length: rows }, (_, i) => {
              let acc = fn === "sum" ? 0 : -Infinity;
              for (let r = 0; r < extent; r++)
                acc = fn === "sum" ? acc + x[at(i, r)]! : Math.max(acc, x[at(i, r)]!);
              return acc;
            });
            const [out] = await run(reduction(fn, along), [x], rows, [rows, extent]);
            expectClose(out!, want, 1e-6, 1e-6, `${fn} along ${along}, ${rows} x ${extent}`);
          }
  });
});

describe("renderWasm: matrix products past the cache blocks", () => {
  /** acc[b, m, n] = sum_k A[b, m, k] * B[b, k, n] + bias[n]; sizes are symbols 0..3. */
  const product: Kernel = {
    kind: "matmul",
    bindings: [read(), read(), read(), write()],
    symbols: 4,
    size: idx("mul", idx("mul", sym(0), sym(1)), sym(3)),
    dtype: "f32",
    batch: sym(0),
    m: sym(1),
    kk: sym(2),
    n: sym(3),
    a: {
      lets: [],
      value: load(
        0,
        idx("add", idx("mul", idx("add", idx("mul", v("b"), sym(1)), v("m")), sym(2)), v("k")),
      ),
    },
    b: {
      lets: [],
      value: load(
        1,
        idx("add", idx("mul", idx("add", idx("mul", v("b"), sym(2)), v("k")), sym(3)), v("n")),
      ),
    },
    epilogue: [],
    stores: [{ slot: 3, value: bin("add", { k: "acc", dtype: "f32" }, load(2, v("n"))) }],
    schedule: MATMUL_SCHEDULE,
  };
  const [B, M, K, N] = [2, 70, 300, 37];
  const a = Float32Array.from({ length: B * M * K }, (_, j) => Math.sin(j * 0.37));
  const bm = Float32Array.from({ length: B * K * N }, (_, j) => Math.cos(j * 0.11));
  const bias = Float32Array.from({ length: N }, (_, j) => j / 7);
  const want: number[] = [];
  for (let b = 0; b < B; b++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[(b * M + m) * K + k]! * bm[(b * K + k) * N + n]!;
        want.push(s + bias[n]!);
      }

  it("blocks k and rows, pads rows and columns, and runs per batch", async () => {
    const [out] = await run(product, [a, bm, bias], B * M * N, [B, M, K, N]);
    expectClose(out!, want, 1e-5, 1e-4);
  });

  it("builds a relaxed-SIMD variant that engines with relaxed SIMD run alike", () => {
    const bytes = renderWasmKernel("k", product, true);
    expect(WebAssembly.validate(renderWasmKernel("k", product, false))).toBe(true);
    // Node 20 has relaxed SIMD behind a flag: run the variant in a child process
    const dir = mkdtempSync(join(tmpdir(), "nnc-relaxed-"));
    const data = { a: [...a], b: [...bm], bias: [...bias], sizes: [B, M, K, N] };
    writeFileSync(join(dir, "k.wasm"), bytes);
    writeFileSync(join(dir, "data.json"), JSON.stringify(data));
    const script = `
      const fs = require("node:fs");
      const d = JSON.parse(fs.readFileSync(${JSON.stringify(join(dir, "data.json"))}, "utf8"));
      const bytes = fs.readFileSync(${JSON.stringify(join(dir, "k.wasm"))});
      if (!WebAssembly.validate(bytes)) { console.log("invalid"); process.exit(0); }
      const memory = new WebAssembly.Memory({ initial: 64 });
      let top = 1 << 21;
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory, scratch: (n) => { const at = top; top += Math.ceil(n / 16) * 16; return at; } } });
      const f = new Float32Array(memory.buffer);
      const [B, M, K, N] = d.sizes;
      const at = [0, 1 << 18, 1 << 19, 1 << 20, (1 << 21) - 64];
      f.set(d.a, at[0] / 4); f.set(d.b, at[1] / 4); f.set(d.bias, at[2] / 4);
      new Int32Array(memory.buffer).set(d.sizes, at[4] / 4);
      inst.exports.k(...at);
      console.log(JSON.stringify([...f.subarray(at[3] / 4, at[3] / 4 + B * M * N)]));
    `;
    const r = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", "-e", script], {
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).not.toBe("invalid");
    expectClose(JSON.parse(r.stdout) as number[], want, 1e-5, 1e-4);
  });
});
