/**
 * Every test program on the wasm backend: each function of each program in
 * `tests/programs/`, `tests/fusion/programs/` and `examples/` (and each model's
 * parameter initializer) runs on the WebAssembly kernels and on the CPU
 * backend in f32 with the same pseudo-random arguments and the same
 * parameters; outputs and state updates must agree within 1e-4 relative
 * (see `tests/gpu/agree.ts` and `tests/gpu/programs.ts`). Integer and boolean
 * results must agree exactly. No GPU or browser needed.
 */
import { describe, it } from "vitest";
import { loadInProcess } from "../../compiler/codegen/inprocess.js";
import { programAgrees } from "../gpu/programs.js";
import { PROGRAM_FILES } from "../fusion/args.js";

describe("programs on wasm agree with the CPU backend", () => {
  it.each(PROGRAM_FILES)(
    "%s",
    (path) =>
      programAgrees(path, (unit, planned) =>
        loadInProcess(
          unit.plan,
          planned.kernels,
          { backend: "wasm", seed: 3 },
          undefined,
          undefined,
          planned.wasmProgram,
        ),
      ),
    300_000,
  );
});
