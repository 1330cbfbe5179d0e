/**
 * Every GLSL pass of every test program, fusion program and example, for the
 * tests that check them all (structure here, compiling and linking in a
 * browser in tests/browser).
 */
import type { Kernel } from "../../compiler/kernel/kernelIr.js";
import { PROGRAM_FILES } from "../fusion/args.js";
import { compileProgram } from "../programs/harness.js";

/** One fragment shader of a program's fused kernel. */
export interface GlslProgramPass {
  /** The program's path (`examples/mlp.nn`). */
  readonly program: string;
  /** The fused kernel's name in the module (`g3`). */
  readonly kernel: string;
  /** The index of the pass among the kernel's passes. */
  readonly pass: number;
  /** The fragment shader. */
  readonly code: string;
  /** The slots the pass writes, in location order. */
  readonly outputs: readonly number[];
  /** The fused kernel the pass belongs to. */
  readonly fused: Kernel;
}

/**
 * The passes of every kernel of `files` (default: every program), in program
 * and kernel order; `compile` lets a caller share its compiled programs.
 */
export async function glslProgramPasses(
  files: readonly string[] = PROGRAM_FILES,
  compile: typeof compileProgram = compileProgram,
): Promise<GlslProgramPass[]> {
  const out: GlslProgramPass[] = [];
  for (const program of files) {
    const { planned } = await compile(program);
    const fused = new Map(planned.fusedKernels.map((k) => [k.name, k.kernel]));
    for (const k of planned.glslKernels) {
      const kernel = fused.get(k.name);
      if (kernel === undefined) throw new Error(`${program}: no fused kernel ${k.name}`);
      k.source.passes.forEach((p, pass) =>
        out.push({
          program,
          kernel: k.name,
          pass,
          code: p.code,
          outputs: p.outputs,
          fused: kernel,
        }),
      );
    }
  }
  return out;
}
