/**
 * Hand-built WebAssembly kernels for runtime tests (tests/backends/wasm.test.ts,
 * the browser's tests/browser/webgl2.test.ts), written with the binary writer
 * of compiler/codegen/wasm/encode.ts to the contract of `WasmProgramSource`.
 */
import { WasmFunction, WasmModule } from "../../compiler/codegen/wasm/encode.js";
import type { WasmProgramSource } from "../../runtime/plan.js";

/** `for (i = 0; i < count; i++) body(i)`; `count` pushes an i32. */
export function loop(f: WasmFunction, count: () => void, body: (i: number) => void): void {
  const i = f.local("i32");
  const end = f.local("i32");
  count();
  f.set(end);
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).get(end).op("i32.ge_s").brIf(1);
  body(i);
  f.get(i).i32(1).op("i32.add").set(i);
  f.br(0);
  f.op("end").op("end");
}

/** Pushes the address of element `i` of the buffer whose address is local `p`. */
export const at = (f: WasmFunction, p: number, i: number): WasmFunction =>
  f.get(p).get(i).i32(2).op("i32.shl").op("i32.add");

/** Pushes `syms[0]`, the first size symbol. */
export const sym0 = (f: WasmFunction, syms: number): WasmFunction => f.get(syms).mem("i32.load");

export type Body = (f: WasmFunction, slots: number[], syms: number, scratch: number) => void;

/** A program of kernels `name -> [slots, body]`, each `(p0..p<S-1>, syms) -> ()`. */
export function program(defs: Record<string, [number, Body]>): WasmProgramSource {
  const m = new WasmModule();
  const scratch = m.importFunction("env", "scratch", ["i32"], ["i32"]);
  m.importMemory("env", "memory", 1);
  const kernels: Record<string, { access: ("read" | "write")[] }> = {};
  for (const [name, [slots, body]] of Object.entries(defs)) {
    const f = new WasmFunction(Array<"i32">(slots + 1).fill("i32"), []);
    body(
      f,
      Array.from({ length: slots }, (_, k) => k),
      slots,
      scratch,
    );
    m.export(name, m.add(f));
    kernels[name] = {
      access: Array.from({ length: slots }, (_, k) => (k === slots - 1 ? "write" : "read")),
    };
  }
  return { code: Buffer.from(m.encode()).toString("base64"), kernels };
}

export const elementwise =
  (op: "f32.add" | "f32.mul"): Body =>
  (f, [a, b, o], syms) =>
    loop(
      f,
      () => sym0(f, syms),
      (i) => {
        at(f, o!, i);
        at(f, a!, i).mem("f32.load");
        at(f, b!, i).mem("f32.load");
        f.op(op).mem("f32.store");
      },
    );
