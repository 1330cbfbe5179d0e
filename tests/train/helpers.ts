/** Shared helpers of the training tests: npy files, temp folders, error capture, fake modules. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import type { CpuKernel } from "../../runtime/backends/cpu.js";
import { CompiledModule } from "../../runtime/module.js";
import type { ProgramPlan, TensorSig } from "../../runtime/plan.js";
import { Tensor, type TensorData } from "../../runtime/tensor.js";

/** The bytes of an npy file with the given header fields and raw data. */
export function npy(
  descr: string,
  shape: readonly number[],
  data: ArrayBufferView,
  options: { version?: 1 | 2 | 3; fortran?: boolean; header?: string } = {},
): Uint8Array {
  const version = options.version ?? 1;
  const shapeText = `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
  let header =
    options.header ??
    `{'descr': '${descr}', 'fortran_order': ${options.fortran === true ? "True" : "False"}, 'shape': ${shapeText}, }`;
  const pre = version === 1 ? 10 : 12;
  // numpy pads with spaces and ends with a newline so the data is 64-byte aligned
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header + " ".repeat(total - pre - header.length - 1) + "\n";
  const out = new Uint8Array(pre + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pre + header.length);
  return out;
}

/** The error `f` throws (failing the test if it does not). */
export function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

/** The error a promise rejects with. */
export async function rejected(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

const folders: string[] = [];
afterEach(async () => {
  for (const f of folders.splice(0)) await rm(f, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the test. */
export async function tempFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "nnc-train-"));
  folders.push(dir);
  return dir;
}

/** `[[1, k]]`: the size expression of symbol k alone. */
export const sym = (k: number): [[number, number]] => [[1, k]];

/** A signature for tests: `sig("x", "f32", [sym(0), 2], "f32[N, 2]")`. */
export function sig(
  name: string,
  dtype: TensorSig["dtype"],
  shape: TensorSig["shape"],
  display: string,
): TensorSig {
  return { name, dtype, shape, display };
}

/** A tensor from flat values. */
export function f32(shape: number[], values: number[]): Tensor {
  return new Tensor("f32", shape, Float32Array.from(values));
}

/**
 * A real module with a hand-written plan: parameter `w: f32[1]` (initially
 * 0), state `t: f32` (a step counter), and a training step on `x: f32[N, 1]`
 * with loss mean(((w - 2) x)^2) and a gradient-descent update of `w` (rate
 * `rate`), so `w` converges to 2.
 */
export async function realModule(
  options: { precision?: "f32" | "f64"; rate?: number } = {},
): Promise<CompiledModule> {
  const rate = options.rate ?? 0.1;
  const scalar = (name: string): TensorSig => ({ name, dtype: "f32", shape: [], display: "f32" });
  const plan: ProgramPlan = {
    params: [
      { path: "w", dtype: "f32", shape: [1] },
      { path: "t", kind: "state", dtype: "f32", shape: [] },
    ],
    constants: [],
    init: null,
    functions: {
      step: {
        name: "step",
        symbols: ["N"],
        inputs: [{ name: "x", dtype: "f32", shape: [sym(0), 1], display: "f32[N, 1]" }],
        buffers: [
          { dtype: "f32", size: sym(0), source: { kind: "input", index: 0 } },
          { dtype: "f32", size: 1, source: { kind: "param", path: "w" } },
          { dtype: "f32", size: 1, source: { kind: "param", path: "t" } },
          { dtype: "f32", size: 1, source: { kind: "temp" } },
          { dtype: "f32", size: 1, source: { kind: "temp" } },
          { dtype: "f32", size: 1, source: { kind: "temp" } },
        ],
        steps: [
          { kernel: "loss", inputs: [0, 1], output: 3 },
          { kernel: "update", inputs: [0, 1], output: 4 },
          { kernel: "count", inputs: [2], output: 5 },
        ],
        outputs: [{ buffer: 3, sig: scalar("loss") }],
        updates: [
          { path: "w", buffer: 4 },
          { path: "t", buffer: 5 },
        ],
      },
    },
  };
  const meanSq = (x: TensorData): number => {
    let acc = 0;
    for (const v of x) acc += v * v;
    return acc / x.length;
  };
  const cpu: Record<string, CpuKernel> = {
    loss: ([x, w], o) => {
      o[0] = (w![0]! - 2) ** 2 * meanSq(x!);
    },
    update: ([x, w], o) => {
      o[0] = w![0]! - rate * 2 * (w![0]! - 2) * meanSq(x!);
    },
    count: ([t], o) => {
      o[0] = t![0]! + 1;
    },
  };
  return CompiledModule.create(
    plan,
    { cpu },
    { backend: "cpu", precision: options.precision ?? "f32" },
  );
}
