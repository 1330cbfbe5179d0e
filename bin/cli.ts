/**
 * Command-line interface: argument parsing only. Each command calls the
 * pipeline and renders its diagnostics; user mistakes exit with status 1 and a
 * diagnostic, internal compiler errors with status 2 and a request to report.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { renderDiagnostics } from "../compiler/diagnostics/render.js";
import { InternalCompilerError } from "../compiler/diagnostics/diagnostic.js";
import { nncVersion } from "../compiler/paths.js";
import { compile, isStage, STAGES, type CompileResult, type Stage } from "../compiler/pipeline.js";
import { NumericsReport, trainCommand, TrainCommandError } from "../compiler/driver/train.js";
import { BACKEND_NAMES, type BackendName } from "../runtime/backends/index.js";
import { NncError } from "../runtime/errors.js";

/** Where output goes; replaceable in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

function parseInteger(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n))
    throw new CommanderError(1, "nnc.badOption", `${what} must be an integer, not "${v}"`);
  return n;
}

function report(result: CompileResult, io: Io): void {
  if (result.diagnostics.length > 0)
    io.err(renderDiagnostics(result.diagnostics, (p) => result.sources.get(p)) + "\n");
}

function dumps(result: CompileResult, io: Io): void {
  for (const d of result.dumps) io.out(`;; after ${d.stage}\n${d.text}\n`);
}

function stats(result: CompileResult, io: Io): void {
  for (const s of result.stats) io.out(`[stats] ${s.stage}: ${s.detail}\n`);
}

/** Writes a file atomically: a temporary file in the same folder, then a rename. */
function writeAtomic(path: string, contents: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

function parseStages(values: readonly string[]): Stage[] {
  const out: Stage[] = [];
  for (const v of values.flatMap((x) => x.split(","))) {
    if (!isStage(v))
      throw new CommanderError(
        1,
        "nnc.badStage",
        `unknown stage "${v}"; stages are: ${STAGES.join(", ")}`,
      );
    out.push(v);
  }
  return out;
}

/** Runs the CLI on `argv` (without node and script); resolves to the exit status. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let status = 0;
  const program = new Command();
  program
    .name("nnc")
    .description(
      "Compile differentiable .nn programs to TypeScript modules with WGSL/GLSL/CPU kernels.",
    )
    .version(nncVersion, "-V, --version")
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride()
    .showHelpAfterError();

  const dumpOption = () =>
    new Option(
      "--dump-after <stage...>",
      `print the program after a stage (${STAGES.join(", ")}); repeatable or comma-separated`,
    ).default([]);

  program
    .command("build")
    .description(
      "compile a .nn file into an importable module (.ts, .js, .d.ts) and the runtime it needs",
    )
    .argument("<file>", "the .nn file to compile")
    .option("-o, --out <dir>", "output folder", "out")
    .option(
      "--runtime <specifier>",
      "import the runtime from this module specifier (for example nnc/runtime) instead of copying it beside the module",
    )
    .option(
      "-I, --include <dir...>",
      "folders searched for `use` of your own modules (default: the working directory)",
    )
    .option("--stats", "print node and kernel counts of each stage")
    .addOption(dumpOption())
    .action(
      async (
        file: string,
        opts: {
          out: string;
          runtime?: string;
          include?: string[];
          stats?: boolean;
          dumpAfter: string[];
        },
      ) => {
        const result = await compile(file, {
          dumpAfter: parseStages(opts.dumpAfter),
          ...(opts.runtime !== undefined ? { runtimeImport: opts.runtime } : {}),
          ...(opts.include ? { searchPaths: opts.include.map((d) => resolve(d)) } : {}),
        });
        dumps(result, io);
        report(result, io);
        if (!result.ok || !result.files) {
          status = 1;
          return;
        }
        if (opts.stats) stats(result, io);
        for (const f of result.files) writeAtomic(join(opts.out, f.path), f.contents);
        const main = result.files[0]!.path;
        io.err(`nnc: wrote ${join(opts.out, main)} and ${result.files.length - 1} more file(s)\n`);
      },
    );

  program
    .command("check")
    .description("check a .nn file and print its diagnostics, without writing anything")
    .argument("<file>", "the .nn file to check")
    .option("-I, --include <dir...>", "folders searched for `use` of your own modules")
    .addOption(dumpOption())
    .action(async (file: string, opts: { include?: string[]; dumpAfter: string[] }) => {
      const dumpAfter = parseStages(opts.dumpAfter);
      const last = dumpAfter.reduce<Stage>(
        (a, s) => (STAGES.indexOf(s) > STAGES.indexOf(a) ? s : a),
        "check",
      );
      const result = await compile(file, {
        stopAfter: last,
        dumpAfter,
        ...(opts.include ? { searchPaths: opts.include.map((d) => resolve(d)) } : {}),
      });
      dumps(result, io);
      report(result, io);
      status = result.ok ? 0 : 1;
    });

  program
    .command("train")
    .description(
      "train the model of a file's `train` declaration and save a checkpoint, the loss curve and plots",
    )
    .argument("<file>", "the .nn file with a `train` declaration")
    .option("--steps <n>", "number of steps (default: the file's `steps`)", (v) =>
      parseInteger(v, "--steps"),
    )
    .option(
      "--seed <n>",
      "seed of the parameters and the data (default: the file's `seed`, else 0)",
      (v) => parseInteger(v, "--seed"),
    )
    .option(
      "--backend <name>",
      "auto (default: a hardware GPU, else WebAssembly SIMD), wasm, cpu (the TypeScript reference), webgpu or webgl2",
      "auto",
    )
    .option("--precision <p>", "f32 (default) or f64 storage on the CPU", "f32")
    .option(
      "-o, --out <dir>",
      "folder for the checkpoint, plots and summary (default: runs/<file name>)",
    )
    .option("--resume <checkpoint>", "continue from a checkpoint written by an earlier run")
    .option("--model <name>", "the model to train, when the file trains several")
    .option("--log-every <n>", "update the progress line every n steps", (v) =>
      parseInteger(v, "--log-every"),
    )
    .option(
      "--data <input=file...>",
      "read the data of a loss input from a .csv, .json or .npy file instead of the declared source",
    )
    .option("-I, --include <dir...>", "folders searched for `use` of your own modules")
    .option(
      "--check-numerics",
      "check every kernel's output for NaN and infinity as it runs, and stop at the first with the source expression that produced it (slow: a debugging mode)",
    )
    .action(
      async (
        file: string,
        opts: {
          checkNumerics?: boolean;
          steps?: number;
          seed?: number;
          backend: string;
          precision: string;
          out?: string;
          resume?: string;
          model?: string;
          logEvery?: number;
          data?: string[];
          include?: string[];
        },
      ) => {
        const entries: [string, string][] = [];
        for (const d of opts.data ?? []) {
          const eq = d.indexOf("=");
          if (eq <= 0)
            throw new CommanderError(1, "nnc.badOption", `--data needs input=file, not "${d}"`);
          entries.push([d.slice(0, eq), d.slice(eq + 1)]);
        }
        // fromEntries: an input named `__proto__` is a property, not the prototype
        const data: Record<string, string> = Object.fromEntries(entries);
        if (!(BACKEND_NAMES as readonly string[]).includes(opts.backend))
          throw new CommanderError(
            1,
            "nnc.badOption",
            `unknown backend "${opts.backend}"; use ${BACKEND_NAMES.join(", ")}`,
          );
        if (opts.precision !== "f32" && opts.precision !== "f64")
          throw new CommanderError(
            1,
            "nnc.badOption",
            `--precision must be f32 or f64, not "${opts.precision}"`,
          );
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once("SIGINT", stop);
        try {
          const outcome = await trainCommand(file, {
            ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
            ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
            backend: opts.backend as BackendName,
            precision: opts.precision,
            checkNumerics: opts.checkNumerics === true,
            ...(opts.out !== undefined ? { out: opts.out } : {}),
            ...(opts.resume !== undefined ? { resume: opts.resume } : {}),
            ...(opts.model !== undefined ? { model: opts.model } : {}),
            ...(opts.logEvery !== undefined ? { logEvery: opts.logEvery } : {}),
            data,
            ...(opts.include ? { searchPaths: opts.include.map((d) => resolve(d)) } : {}),
            write: (t) => io.err(t),
            isTTY: io === processIo && process.stderr.isTTY === true,
            signal: controller.signal,
          });
          if ("diagnostics" in outcome) {
            report(outcome, io);
            status = 1;
          }
        } finally {
          process.removeListener("SIGINT", stop);
        }
      },
    );

  try {
    await program.parseAsync(argv as string[], { from: "user" });
    return status;
  } catch (e) {
    if (e instanceof NumericsReport) {
      // like a diagnostic: file:line:col: error: ..., the line and a caret
      io.err(`${e.rendered}\n`);
      return 1;
    }
    if (e instanceof TrainCommandError || e instanceof NncError) {
      // a bad option, a missing data file, an unavailable backend, a non-finite loss…
      io.err(`nnc: ${e.message}\n`);
      return 1;
    }
    if (e instanceof CommanderError) {
      if (e.code === "nnc.badOption") io.err(`error: ${e.message}\n`);
      if (
        e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        e.code === "commander.help"
      )
        return 0;
      if (e.code === "nnc.badStage") io.err(`error: ${e.message}\n`);
      return e.exitCode === 0 ? 0 : 1;
    }
    if (
      !(e instanceof InternalCompilerError) &&
      e instanceof Error &&
      typeof (e as NodeJS.ErrnoException).code === "string" &&
      (e as NodeJS.ErrnoException).syscall
    ) {
      // the operating system refused something (a file could not be written, say)
      io.err(`nnc: ${e.message}\n`);
      return 1;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    io.err(
      `internal compiler error: ${err.message}\nThis is a bug in nnc ${nncVersion}, not in your program. Please report it with the input file.\n${err.stack ?? ""}\n`,
    );
    return 2;
  }
}
