/**
 * The compiler as a straight line of named stages. Each stage is a pure
 * function of the previous stage's output; `--dump-after=<stage>` prints what a
 * stage produced.
 */
import { printAst } from "./ast/print.js";
import type { SourceFile } from "./ast/span.js";
import { checkProgram } from "./check/index.js";
import { printCheckedProgram } from "./check/print.js";
import { loadProgram, type LoadedProgram, type LoadOptions } from "./check/resolve.js";
import type { CheckedProgram } from "./check/types.js";
import { emitProgram, type EmitOptions, type EmittedFile } from "./codegen/host.js";
import type { FunctionPlan } from "../runtime/plan.js";
import { Dims, type Dim } from "./core/dim.js";
import { planIrProgram, printPlans, type PlannedProgram } from "./codegen/program.js";
import { DiagnosticBag, InternalCompilerError, type Diagnostic } from "./diagnostics/diagnostic.js";
import { reachable } from "./ir/build.js";
import { printFunction } from "./ir/print.js";
import { verifyFunction } from "./ir/verify.js";
import { expandDerivatives } from "./autodiff/expand.js";
import { DERIVATIVE_OPS, functionRoots, type IrFunction } from "./ir/ops.js";
import { lowerProgram, transformProgram, type IrProgram } from "./lower/lower.js";
import { simplify } from "./opt/simplify.js";

/** The stages, in order. */
export const STAGES = [
  // read the entry file and its imports; Chevrotain lexer + parser; CST -> AST
  "parse",
  // module scopes, imports, unknown and duplicate names
  "resolve",
  // evaluate compile-time code, bind size symbols, check types and shapes, inline calls
  "check",
  // typed program -> tensor IR (deduplicated SSA graph), verified
  "lower",
  // expand grad/jvp placeholders innermost first: derivatives are ordinary IR
  "autodiff",
  // algebraic simplification, constant folding, CSE and DCE
  "optimize",
  // IR -> execution plans: buffers, kernel launches, CPU kernels
  "plan",
  // TypeScript module, JavaScript and declarations
  "emit",
] as const;

export type Stage = (typeof STAGES)[number];

export function isStage(s: string): s is Stage {
  return (STAGES as readonly string[]).includes(s);
}

export interface CompileOptions extends LoadOptions, EmitOptions {
  /** Stop after this stage (default: `emit`). */
  readonly stopAfter?: Stage;
  /** Stages whose output to render into `dumps`. */
  readonly dumpAfter?: readonly Stage[];
}

export interface StageStats {
  readonly stage: Stage;
  readonly detail: string;
}

export interface CompileResult {
  readonly ok: boolean;
  readonly diagnostics: readonly Diagnostic[];
  /** Source files read, by display path (for rendering diagnostics). */
  readonly sources: ReadonlyMap<string, SourceFile>;
  readonly dumps: readonly { readonly stage: Stage; readonly text: string }[];
  readonly stats: readonly StageStats[];
  readonly loaded?: LoadedProgram;
  readonly checked?: CheckedProgram;
  readonly ir?: IrProgram;
  readonly planned?: PlannedProgram;
  readonly files?: readonly EmittedFile[];
}

function printResolved(p: LoadedProgram): string {
  return p.modules
    .map((m) => {
      const names = [...m.scope.entries()].map(
        ([n, e]) =>
          `  ${n}: ${e.kind}${e.kind === "module" ? ` ${e.module.name}` : e.kind === "builtin" ? "" : ` (${e.module.name})`}`,
      );
      return [`module ${m.name} (${m.file.path})`, ...names].join("\n");
    })
    .join("\n");
}

function irFunctions(ir: IrProgram): { owner: string; fn: IrFunction }[] {
  return [
    ...ir.models.flatMap((m) => [
      ...(m.init ? [{ owner: m.name, fn: m.init }] : []),
      ...m.functions.map((fn) => ({ owner: m.name, fn })),
    ]),
    ...ir.functions.map((fn) => ({ owner: "", fn })),
  ];
}

function printIr(ir: IrProgram): string {
  return irFunctions(ir)
    .map(({ owner, fn }) => (owner ? `// ${owner}\n` : "") + printFunction(fn))
    .join("\n\n");
}

/** After the autodiff stage no `grad` or `jvp` placeholder may remain. */
function noDerivativesLeft(fn: IrFunction): void {
  for (const n of reachable(functionRoots(fn))) {
    if (DERIVATIVE_OPS.has(n.op))
      throw new InternalCompilerError(`${fn.name}: ${n.op} node %${n.id} left after autodiff`);
  }
}

/**
 * Runs the pipeline on one entry file. User mistakes come back as diagnostics;
 * an {@link InternalCompilerError} escapes only for bugs in nnc.
 */
export async function compile(
  entryPath: string,
  options: CompileOptions = {},
): Promise<CompileResult> {
  const bag = new DiagnosticBag();
  const sources = new Map<string, SourceFile>();
  const dumps: { stage: Stage; text: string }[] = [];
  const stats: StageStats[] = [];
  const stopAfter = options.stopAfter ?? "emit";
  const wants = (s: Stage) => options.dumpAfter?.includes(s) ?? false;
  const done = (s: Stage) => STAGES.indexOf(s) >= STAGES.indexOf(stopAfter);
  const succeed = (extra: Partial<CompileResult>): CompileResult => ({
    ok: true,
    diagnostics: bag.all(),
    sources,
    dumps,
    stats,
    ...extra,
  });
  const fail = (extra: Partial<CompileResult> = {}): CompileResult => ({
    ok: false,
    diagnostics: bag.all(),
    sources,
    dumps,
    stats,
    ...extra,
  });

  const loaded = loadProgram(entryPath, bag, options, sources);
  if (!loaded) return fail();
  if (wants("parse"))
    dumps.push({
      stage: "parse",
      text: loaded.modules.map((m) => `// ${m.file.path}\n${printAst(m.ast)}`).join("\n\n"),
    });
  if (wants("resolve")) dumps.push({ stage: "resolve", text: printResolved(loaded) });
  stats.push({ stage: "parse", detail: `${loaded.modules.length} module(s)` });
  if (done("resolve")) return succeed({ loaded });

  const checked = checkProgram(loaded, bag);
  if (!checked) return fail({ loaded });
  if (wants("check")) dumps.push({ stage: "check", text: printCheckedProgram(checked) });
  const entries = checked.models.reduce((n, m) => n + m.functions.length, checked.functions.length);
  stats.push({
    stage: "check",
    detail: `${checked.models.length} model(s), ${entries} entry function(s)`,
  });
  if (done("check")) return succeed({ loaded, checked });

  // The IR stages: each maps the program to a new one; every result is verified.
  const irStages: readonly {
    stage: Stage;
    run: (p: IrProgram) => IrProgram;
    check?: (fn: IrFunction) => void;
  }[] = [
    { stage: "lower", run: () => lowerProgram(checked) },
    {
      stage: "autodiff",
      run: (p) => transformProgram(p, expandDerivatives),
      check: noDerivativesLeft,
    },
    { stage: "optimize", run: (p) => transformProgram(p, simplify) },
  ];
  let ir: IrProgram | undefined;
  for (const { stage, run, check } of irStages) {
    ir = run(ir!);
    for (const { owner, fn } of irFunctions(ir)) {
      verifyFunction(fn);
      check?.(fn);
      stats.push({
        stage,
        detail: `${owner ? `${owner}.` : ""}${fn.name}: ${reachable(functionRoots(fn)).length} IR nodes`,
      });
    }
    if (wants(stage)) dumps.push({ stage, text: printIr(ir) });
    if (done(stage)) return succeed({ loaded, checked, ir });
  }
  if (!ir) throw new InternalCompilerError("no IR stage ran");

  const planned = planIrProgram(ir, (path) => sources.get(path));
  if (wants("plan")) dumps.push({ stage: "plan", text: printPlans(planned) });
  for (const unit of planned.units) {
    for (const [name, f] of Object.entries(unit.plan.functions)) {
      stats.push({
        stage: "plan",
        detail: `${unit.name}.${name}: cpu ${f.steps.length} kernel launch(es), ${f.buffers.length} buffer(s); gpu ${f.gpu ? `${f.gpu.launches.length} fused kernel(s), peak temp memory ${gpuTempBytes(f)} bytes` : "none"}`,
      });
    }
  }
  if (done("plan")) return succeed({ loaded, checked, ir, planned });

  const files = await emitProgram(planned, options);
  if (wants("emit"))
    dumps.push({
      stage: "emit",
      text: files.find((f) => f.path.endsWith(".ts") && !f.path.endsWith(".d.ts"))?.contents ?? "",
    });
  return succeed({ loaded, checked, ir, planned, files });
}

/** Bytes of a function's GPU temp buffers (all alive during a call), as a size formula. */
function gpuTempBytes(f: FunctionPlan): string {
  let total: Dim = 0;
  for (const b of f.gpu?.buffers ?? []) {
    if (b.source.kind !== "temp") continue;
    const size: Dim =
      typeof b.size === "number"
        ? b.size
        : b.size.reduce<Dim>(
            (acc, t) =>
              Dims.add(
                acc,
                t
                  .slice(1)
                  .reduce<Dim>((m, k) => Dims.mul(m, Dims.sym(f.symbols[k] ?? `#${k}`)), t[0] ?? 0),
              ),
            0,
          );
    total = Dims.add(total, Dims.mul(4, size));
  }
  return Dims.format(total);
}

export { InternalCompilerError };
