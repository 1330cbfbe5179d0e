/**
 * Every emitted shader compiles and links: each GLSL pass of each fused
 * kernel of every program in `tests/programs/`, `tests/fusion/programs/` and
 * `examples/` (collected as tests/codegen/glsl_programs.ts does, from the
 * compilation the plan check below shares) is compiled in
 * headless Chromium's WebGL2 (ANGLE on SwiftShader) and linked with the
 * runtime's own vertex shader, in the runtime's shared context (the page asks
 * `glContext()` of `/dist/runtime/backends/webgl2.js` for both). A failure
 * names the program, the kernel and the pass, with the info log. The kernels
 * of the gradient checks are compiled by the runtime itself when the
 * gradient-check harnesses run them on WebGL2 (tests/gpu/webgl2.ts).
 *
 * Beside it, with no browser: every launch binds buffers whose dtype is the
 * one its shader declares for the slot (`sampler2D` and `out float` for f32,
 * `isampler2D` and `out int` for i32 and bool), as a texture's format is
 * fixed by its dtype (R32F or R32I).
 *
 * Needs `npm run build` (the page imports `/dist/runtime/`); without
 * Chromium the browser part is skipped (install it with
 * `bash scripts/install-gpu-hosts.sh`), a failure under `CI=true`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DTypeName, FunctionPlan, GlslKernelSource } from "../../runtime/plan.js";
import { glslProgramPasses, type GlslProgramPass } from "../codegen/glsl_programs.js";
import { PROGRAM_FILES } from "../fusion/args.js";
import { GlPage, glStatus } from "../gpu/webgl2.js";
import { compileProgram } from "../programs/harness.js";
import { describeBrowser } from "./session.js";

/** Shaders per round trip: compiled together, so the driver may work on them in parallel. */
const BATCH = 64;

/** Each program compiled once for both parts of the file. */
const compiled = new Map<string, ReturnType<typeof compileProgram>>();
function compiledProgram(path: string): ReturnType<typeof compileProgram> {
  let c = compiled.get(path);
  if (c === undefined) {
    c = compileProgram(path);
    compiled.set(path, c);
  }
  return c;
}

let passes: GlslProgramPass[] | null = null;
let page: GlPage | null = null;

describeBrowser("every GLSL pass of every program compiles and links in WebGL2", () => {
  beforeAll(async () => {
    const status = glStatus();
    if (!status.ok) throw new Error(status.reason);
    page = await GlPage.open();
    passes = await glslProgramPasses(PROGRAM_FILES, compiledProgram);
  }, 300_000);

  afterAll(async () => {
    const log = page?.log() ?? [];
    if (log.length > 0) console.log(`browser console:\n  ${log.join("\n  ")}`);
    await page?.close();
  });

  it("compiles and links each pass with the runtime's vertex shader", async () => {
    const all = passes!;
    expect(all.length).toBeGreaterThan(0);
    const failures: string[] = [];
    let renderer = "";
    const t0 = performance.now();
    for (let at = 0; at < all.length; at += BATCH) {
      const batch = all.slice(at, at + BATCH);
      const r = await page!.compile(batch.map((p) => p.code));
      renderer = r.renderer;
      expect(r.results.length).toBe(batch.length);
      r.results.forEach((c, k) => {
        if (c.compiled && c.linked) return;
        const p = batch[k]!;
        const lines = p.code
          .split("\n")
          .map((l, n) => `${String(n + 1).padStart(4)} | ${l}`)
          .join("\n");
        failures.push(
          `${p.program}: kernel ${p.kernel} pass ${p.pass} ${c.compiled ? "does not link" : "does not compile"}:\n${c.log}\n${lines}`,
        );
      });
    }
    const programs = new Set(all.map((p) => p.program)).size;
    const kernels = new Set(all.map((p) => `${p.program} ${p.kernel}`)).size;
    console.log(
      `tests/browser/glsl-compile: ${all.length} passes of ${kernels} kernels in ${programs} programs compiled and linked on ${renderer} in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${failures.length} failed`,
    );
    expect(failures, failures.join("\n\n")).toEqual([]);
  }, 300_000);
});

// ------------------------------------------------------------------ no browser

/** What each shader of a kernel declares for a slot: read as f32 or int, written as f32 or int. */
function declarations(src: GlslKernelSource): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>();
  const add = (slot: number, kind: string) => {
    const s = out.get(slot) ?? new Set<string>();
    s.add(kind);
    out.set(slot, s);
  };
  for (const pass of src.passes) {
    for (const m of pass.code.matchAll(/uniform highp (i?)sampler2D buf(\d+);/g))
      add(Number(m[2]), m[1] === "i" ? "int" : "float");
    for (const m of pass.code.matchAll(/out highp (float|int) out(\d+);/g))
      add(Number(m[2]), m[1]!);
  }
  return out;
}

const kindOf = (d: DTypeName) => (d === "f32" ? "float" : "int");

describe("GLSL slots and plan buffers", () => {
  it.each(PROGRAM_FILES)(
    "%s: every launch binds buffers of the dtype its shaders declare",
    async (path) => {
      const { planned } = await compiledProgram(path);
      const glsl = new Map(planned.glslKernels.map((k) => [k.name, declarations(k.source)]));
      const wrong: string[] = [];
      let slots = 0;
      for (const unit of planned.units) {
        const fns: [string, FunctionPlan][] = [
          ...Object.entries(unit.plan.functions),
          ...(unit.plan.init ? [["init", unit.plan.init] as [string, FunctionPlan]] : []),
        ];
        for (const [name, fn] of fns) {
          const gpu = fn.gpu;
          if (gpu === undefined) continue;
          for (const l of gpu.launches) {
            const decl = glsl.get(l.kernel);
            if (decl === undefined) {
              wrong.push(`${unit.name}.${name}: kernel ${l.kernel} has no GLSL`);
              continue;
            }
            l.buffers.forEach((b, slot) => {
              const dtype = gpu.buffers[b]!.dtype;
              for (const kind of decl.get(slot) ?? []) {
                slots++;
                if (kind !== kindOf(dtype))
                  wrong.push(
                    `${unit.name}.${name}: kernel ${l.kernel} slot ${slot} is ${kind} in GLSL, but binds buffer ${b} (${dtype})`,
                  );
              }
            });
          }
        }
      }
      expect(slots).toBeGreaterThan(0);
      expect(wrong).toEqual([]);
    },
  );
});
