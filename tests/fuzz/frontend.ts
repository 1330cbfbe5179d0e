/**
 * The front-end fuzzer: generated and mutated `.nn` programs run through what
 * `nnc check` does (the pipeline up to `check`, in process), and, when they
 * check, through the whole build (lowering, autodiff, optimization, planning,
 * emission). The property: every program either succeeds or gets diagnostics,
 * each with a message and a location inside a file that was read (and that
 * render as `file:line:col`); nothing throws and nothing hangs.
 *
 * Programs come from two generators, picked per case: the type-directed grammar
 * generator of `generate.ts` (well-typed programs, and programs with deliberate
 * mistakes the checker must reject), and the mutations of `mutate.ts` applied to
 * every `.nn` file in the repository (examples, stdlib, test programs) and to
 * generated programs. Case `i` of run `seed` is a pure function of both, so its
 * id reproduces it (`generateCase`).
 *
 * {@link runFrontendFuzz} runs many cases; with `isolate` each runs in a worker
 * thread under a per-program timeout, so a hang is reported as a failure.
 * Failures are grouped by signature (error class, message shape and the first
 * compiler frame) and each new one is minimized (delta debugging over lines,
 * then tokens).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { SourceFile, Span } from "../../compiler/ast/span.js";
import type { Diagnostic } from "../../compiler/diagnostics/diagnostic.js";
import { location, renderDiagnostics } from "../../compiler/diagnostics/render.js";
import { compile, type CompileResult } from "../../compiler/pipeline.js";
import { SIGNATURES } from "../../compiler/check/args.js";
import "../../compiler/check/builtins.js";
import { generateBuiltinSoup, generateProgram } from "./generate.js";
import { mutate, tokenize } from "./mutate.js";
import { Rng } from "./rng.js";

/** The repository root. */
export const repoRoot: string = fileURLToPath(new URL("../../", import.meta.url));

/** One program to try. */
export interface FuzzCase {
  /** Reproduces the case: `seed=S/case=I/<origin>[:path]`. */
  readonly id: string;
  /** Absolute path the program is compiled as (its folder resolves relative `use`s). */
  readonly path: string;
  readonly source: string;
}

/** What happened to one program. */
export type Outcome =
  | { readonly kind: "passed"; readonly built: boolean }
  | { readonly kind: "diagnosed"; readonly stage: "syntax" | "check" | "build" }
  | { readonly kind: "failure"; readonly error: string; readonly signature: string };

export interface ProbeOptions {
  /** Also run the whole build on programs that check (default true). */
  readonly build?: boolean;
  /** Build only programs at most this long (default: all). */
  readonly buildMaxChars?: number;
}

/** A distinct failure found by a run. */
export interface FuzzFailure {
  readonly id: string;
  readonly source: string;
  /** The smallest program found that fails the same way. */
  readonly minimized: string;
  readonly error: string;
  readonly signature: string;
  /** How many cases of the run failed with this signature. */
  count: number;
}

export interface FuzzReport {
  readonly tried: number;
  /** Programs that passed the checker. */
  readonly passedCheck: number;
  /** Programs that passed the checker and built. */
  readonly built: number;
  /** Programs rejected with diagnostics, by the stage that rejected them. */
  readonly diagnosed: number;
  readonly diagnosedBy: { syntax: number; check: number; build: number };
  /** Programs tried and passing the checker, by generator (`grammar`, `mutated`, …). */
  readonly origins: Record<string, { tried: number; passedCheck: number }>;
  readonly failures: FuzzFailure[];
  /** Slowest program: its id and milliseconds. */
  readonly slowest: { readonly id: string; readonly ms: number };
  readonly elapsedMs: number;
}

export interface FuzzOptions extends ProbeOptions {
  readonly seed: number;
  /** Cases to try (default: unbounded, up to `timeLimitMs`). */
  readonly runs?: number;
  /** Stop starting new cases after this long (default: unbounded, up to `runs`). */
  readonly timeLimitMs?: number;
  /** A program taking longer fails (default 10 s). */
  readonly perProgramMs?: number;
  /** Run each program in a worker thread, killed after `perProgramMs` (default false). */
  readonly isolate?: boolean;
  /** Minimize new failures (default true). */
  readonly minimize?: boolean;
  /** First case index (default 0), to resume or shard a run. */
  readonly firstCase?: number;
  readonly onProgress?: (tried: number, report: FuzzReport) => void;
  /** Called on each new distinct failure, before minimizing it. */
  readonly onFailure?: (failure: FuzzFailure) => void;
}

// ------------------------------------------------------------------ corpus

let corpusCache: readonly { path: string; text: string }[] | undefined;

/** Every `.nn` file of the repository's examples, stdlib, tests and benchmarks, sorted. */
export function corpus(): readonly { path: string; text: string }[] {
  if (corpusCache) return corpusCache;
  const out: { path: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".nn")) out.push({ path: p, text: readFileSync(p, "utf8") });
    }
  };
  for (const d of ["examples", "stdlib", "tests", "bench/programs"]) walk(join(repoRoot, d));
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  corpusCache = out;
  return out;
}

// ------------------------------------------------------------------ cases

const GENERATED_PATH = join(repoRoot, "tests/fuzz/generated.nn");

/** Case `index` of run `seed`: a generated or mutated program. */
export function generateCase(seed: number, index: number): FuzzCase {
  const rng = Rng.forCase(seed, index);
  const id = `seed=${seed}/case=${index}`;
  const origin = rng.weighted([
    [30, "grammar" as const],
    [15, "grammar-mistakes" as const],
    [15, "builtin-soup" as const],
    [30, "mutated-corpus" as const],
    [10, "mutated-grammar" as const],
  ]);
  switch (origin) {
    case "grammar":
      return {
        id: `${id}/grammar`,
        path: GENERATED_PATH,
        source: generateProgram(rng, { mistakes: 0 }),
      };
    case "grammar-mistakes":
      return {
        id: `${id}/grammar-mistakes`,
        path: GENERATED_PATH,
        source: generateProgram(rng, { mistakes: rng.int(1, 2) }),
      };
    case "builtin-soup":
      return {
        id: `${id}/builtin-soup`,
        path: GENERATED_PATH,
        source: generateBuiltinSoup(rng, SIGNATURES),
      };
    case "mutated-grammar": {
      const base = generateProgram(rng, { mistakes: 0 });
      return { id: `${id}/mutated-grammar`, path: GENERATED_PATH, source: mutate(base, rng).text };
    }
    case "mutated-corpus": {
      const file = rng.pick(corpus());
      const rel = relative(repoRoot, file.path).split("\\").join("/");
      return { id: `${id}/mutated:${rel}`, path: file.path, source: mutate(file.text, rng).text };
    }
  }
}

// ------------------------------------------------------------------ the property

/** Why a span is not a usable location, or undefined when it is one. */
function badSpan(span: Span, sources: ReadonlyMap<string, SourceFile>): string | undefined {
  const file = sources.get(span.file);
  if (!file) return `span in a file that was not read: ${JSON.stringify(span.file)}`;
  const { start, end, line, col } = span;
  if (![start, end, line, col].every(Number.isInteger))
    return `non-integer span ${JSON.stringify(span)}`;
  if (start < 0 || end < start || end > file.text.length)
    return `span [${start}, ${end}) outside the file (${file.text.length} characters)`;
  const pos = file.position(start);
  if (pos.line !== line || pos.col !== col)
    return `span says ${line}:${col} but offset ${start} is at ${pos.line}:${pos.col}`;
  return undefined;
}

/** Why a diagnostic is malformed, or undefined when it is fine. */
function badDiagnostic(
  d: Diagnostic,
  result: CompileResult,
  sourceText: string,
): string | undefined {
  if (!/^[EW]\d{4}$/.test(d.code)) return `bad code ${JSON.stringify(d.code)}`;
  if (typeof d.message !== "string" || d.message.trim() === "") return "empty message";
  if (/\n\s+at /.test(d.message)) return "a stack trace in the message";
  if (d.message.includes("[object Object]")) return "[object Object] in the message";
  if (/\bundefined\b/.test(d.message) && !sourceText.includes("undefined"))
    return "`undefined` in the message";
  if (/\bNaN\b/.test(d.message) && !/nan/i.test(sourceText)) return "NaN in the message";
  const where = badSpan(d.span, result.sources);
  if (where) return where;
  for (const n of d.notes) {
    if (typeof n.message !== "string" || n.message.trim() === "") return "empty note";
    if (n.span) {
      const w = badSpan(n.span, result.sources);
      if (w) return `note: ${w}`;
    }
  }
  return undefined;
}

/** Checks one compile result's diagnostics; returns a failure text or undefined. */
function checkResult(result: CompileResult, what: string, sourceText: string): string | undefined {
  if (!result.ok && !result.diagnostics.some((d) => d.severity === "error"))
    return `${what} failed without an error diagnostic`;
  for (const d of result.diagnostics) {
    const bad = badDiagnostic(d, result, sourceText);
    if (bad) return `${what}: malformed diagnostic ${d.code} "${d.message}": ${bad}`;
  }
  const text = renderDiagnostics(result.diagnostics, (p) => result.sources.get(p));
  for (const d of result.diagnostics)
    if (!text.includes(location(d.span))) return `${what}: rendering lacks ${location(d.span)}`;
  return undefined;
}

/** A failure signature: error class, message with numbers and names blurred, first nnc frame. */
function signatureOf(e: unknown): string {
  if (!(e instanceof Error)) return `non-Error thrown: ${typeof e}`;
  const msg = e.message
    .split("\n")[0]!
    .replace(/`[^`]*`|"[^"]*"|'[^']*'/g, "_")
    .replace(/%\d+|\d+/g, "0")
    .slice(0, 120);
  const frame = (e.stack ?? "")
    .split("\n")
    .find((l) => /\/(compiler|runtime)\//.test(l) && !l.includes("/compiler/diagnostics/"))
    ?.replace(/^.*\/((?:compiler|runtime)\/[^:]+):\d+:\d+\)?$/, "$1")
    .replace(/^\s*at\s+/, "");
  return `${e.name}: ${msg} @ ${frame ?? "?"}`;
}

function describeError(e: unknown): string {
  if (!(e instanceof Error)) return `thrown: ${String(e)}`;
  const frames = (e.stack ?? "")
    .split("\n")
    .filter((l) => /^\s+at /.test(l))
    .slice(0, 8)
    .map((l) => l.replace(repoRoot, ""));
  return `${e.name}: ${e.message}\n${frames.join("\n")}`;
}

/**
 * Runs one program through `nnc check` (in process), and through the whole
 * build when it checks; reports a failure when the property does not hold.
 */
export async function probe(c: FuzzCase, options: ProbeOptions = {}): Promise<Outcome> {
  const fail = (error: string, signature = error.replace(/\d+/g, "0").slice(0, 160)): Outcome => ({
    kind: "failure",
    error,
    signature,
  });
  let checked: CompileResult;
  try {
    checked = await compile(c.path, { entryText: c.source, stopAfter: "check" });
  } catch (e) {
    return fail(`nnc check threw ${describeError(e)}`, `check: ${signatureOf(e)}`);
  }
  try {
    const bad = checkResult(checked, "nnc check", c.source);
    if (bad) return fail(bad);
  } catch (e) {
    return fail(`rendering diagnostics threw ${describeError(e)}`, `render: ${signatureOf(e)}`);
  }
  if (!checked.ok) {
    const syntax = checked.diagnostics.some((d) => /^E01/.test(d.code));
    return { kind: "diagnosed", stage: syntax ? "syntax" : "check" };
  }
  if (options.build === false || c.source.length > (options.buildMaxChars ?? Infinity))
    return { kind: "passed", built: false };
  let built: CompileResult;
  try {
    built = await compile(c.path, { entryText: c.source, runtimeImport: "nnc/runtime" });
  } catch (e) {
    return fail(`nnc build threw ${describeError(e)}`, `build: ${signatureOf(e)}`);
  }
  try {
    const bad = checkResult(built, "nnc build", c.source);
    if (bad) return fail(bad);
  } catch (e) {
    return fail(`rendering diagnostics threw ${describeError(e)}`, `render: ${signatureOf(e)}`);
  }
  if (!built.ok) return { kind: "diagnosed", stage: "build" };
  if (!built.files || built.files.length === 0) return fail("nnc build succeeded without files");
  return { kind: "passed", built: true };
}

/** Probes a program and measures it; a program slower than `limitMs` fails. */
async function timedProbe(
  c: FuzzCase,
  options: ProbeOptions,
  limitMs: number,
): Promise<{ outcome: Outcome; ms: number }> {
  const t0 = performance.now();
  const outcome = await probe(c, options);
  const ms = performance.now() - t0;
  if (outcome.kind !== "failure" && ms > limitMs)
    return {
      outcome: {
        kind: "failure",
        error: `took ${ms.toFixed(0)} ms (limit ${limitMs} ms)`,
        signature: "slow",
      },
      ms,
    };
  return { outcome, ms };
}

// ------------------------------------------------------------------ isolation

interface WorkerRequest {
  readonly n: number;
  readonly c: FuzzCase;
  readonly options: ProbeOptions;
}

/** Runs probes in a worker thread; a probe past its time limit kills the worker and fails. */
class IsolatedProber {
  private worker: Worker | undefined;
  private n = 0;
  private uses = 0;

  private start(): Worker {
    // from TypeScript source (tsx, vitest), `worker.mjs` registers the TypeScript loader first
    const entry = import.meta.url.endsWith(".ts")
      ? new URL("./worker.mjs", import.meta.url)
      : new URL(import.meta.url);
    const w = new Worker(entry, { workerData: { nncFrontendFuzz: true } });
    w.unref();
    this.uses = 0;
    return w;
  }

  async probe(
    c: FuzzCase,
    options: ProbeOptions,
    limitMs: number,
  ): Promise<{ outcome: Outcome; ms: number }> {
    // a fresh worker now and then keeps one leak from slowing a long run down
    if (this.worker && this.uses >= 2000) await this.stop();
    const fresh = !this.worker;
    const w = (this.worker ??= this.start());
    this.uses++;
    const n = ++this.n;
    // the first program of a worker also pays for loading the compiler
    const limit = fresh ? limitMs + 60_000 : limitMs;
    const t0 = performance.now();
    const outcome = await new Promise<Outcome>((resolve, reject) => {
      const done = (o: Outcome) => {
        clearTimeout(timer);
        w.off("message", onMessage);
        w.off("error", onError);
        w.off("exit", onExit);
        resolve(o);
      };
      const onMessage = (m: { n: number; outcome: Outcome }) => {
        if (m.n === n) done(m.outcome);
      };
      // a worker that dies before its first answer could not start: that is no program's fault
      const died = (error: string, signature: string) => {
        this.worker = undefined;
        if (fresh) {
          clearTimeout(timer);
          reject(new Error(`the fuzzer's worker thread could not start: ${error}`));
        } else done({ kind: "failure", error, signature });
      };
      const onError = (e: unknown) =>
        died(`the worker died: ${describeError(e)}`, `worker: ${signatureOf(e)}`);
      const onExit = (code: number) => died(`the worker exited with code ${code}`, "worker exit");
      const timer = setTimeout(() => {
        this.worker = undefined;
        void w.terminate();
        done({
          kind: "failure",
          error: `no answer in ${limit} ms (a hang?)`,
          signature: "timeout",
        });
      }, limit);
      w.on("message", onMessage);
      w.on("error", onError);
      w.on("exit", onExit);
      w.postMessage({ n, c, options } satisfies WorkerRequest);
    });
    return { outcome, ms: performance.now() - t0 };
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}

if (!isMainThread && (workerData as { nncFrontendFuzz?: boolean } | null)?.nncFrontendFuzz) {
  const port = parentPort;
  port?.on("message", (req: WorkerRequest) => {
    void probe(req.c, req.options).then((outcome) => port.postMessage({ n: req.n, outcome }));
  });
}

// ------------------------------------------------------------------ minimizing

/**
 * Delta debugging: removes chunks of lines, then of tokens, while `fails` still
 * holds; at most `budget` calls of `fails`.
 */
export async function minimize(
  source: string,
  fails: (text: string) => Promise<boolean>,
  budget = 300,
): Promise<string> {
  let calls = 0;
  const test = async (text: string) => calls++ < budget && (await fails(text));
  const pass = async (units: string[]): Promise<string[]> => {
    let chunk = Math.max(1, Math.floor(units.length / 2));
    for (;;) {
      let removed = false;
      for (let i = 0; i < units.length && calls < budget;) {
        const candidate = [...units.slice(0, i), ...units.slice(i + chunk)];
        if (candidate.length < units.length && (await test(candidate.join("")))) {
          units = candidate;
          removed = true;
        } else i += chunk;
      }
      if (calls >= budget) return units;
      if (chunk === 1 && !removed) return units;
      if (!removed) chunk = Math.max(1, Math.floor(chunk / 2));
    }
  };
  let text = (await pass(source.split(/(?<=\n)/))).join("");
  // tokens: a whitespace piece goes with the token before it
  const pieces = tokenize(text);
  const units: string[] = [];
  for (const p of pieces) {
    if (p.trivia && units.length > 0 && !p.text.startsWith("/")) units[units.length - 1] += p.text;
    else units.push(p.text);
  }
  text = (await pass(units)).join("");
  return text;
}

// ------------------------------------------------------------------ the runner

/** Runs the fuzzer; see {@link FuzzOptions}. Never throws for a failing program: it reports it. */
export async function runFrontendFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const limitMs = opts.perProgramMs ?? 10_000;
  const runs = opts.runs ?? Infinity;
  const timeLimit = opts.timeLimitMs ?? Infinity;
  if (runs === Infinity && timeLimit === Infinity)
    throw new Error("runFrontendFuzz needs runs or timeLimitMs");
  const prober = opts.isolate ? new IsolatedProber() : undefined;
  const probeOptions: ProbeOptions = {
    ...(opts.build !== undefined ? { build: opts.build } : {}),
    ...(opts.buildMaxChars !== undefined ? { buildMaxChars: opts.buildMaxChars } : {}),
  };
  const run = (c: FuzzCase) =>
    prober ? prober.probe(c, probeOptions, limitMs) : timedProbe(c, probeOptions, limitMs);
  const t0 = performance.now();
  let tried = 0;
  let passedCheck = 0;
  let built = 0;
  const diagnosedBy = { syntax: 0, check: 0, build: 0 };
  const failures: FuzzFailure[] = [];
  const origins: Record<string, { tried: number; passedCheck: number }> = {};
  let slowest = { id: "", ms: 0 };
  const report = (): FuzzReport => ({
    tried,
    passedCheck,
    built,
    diagnosed: diagnosedBy.syntax + diagnosedBy.check + diagnosedBy.build,
    diagnosedBy: { ...diagnosedBy },
    origins,
    failures,
    slowest,
    elapsedMs: performance.now() - t0,
  });
  try {
    for (let i = opts.firstCase ?? 0; tried < runs && performance.now() - t0 < timeLimit; i++) {
      const c = generateCase(opts.seed, i);
      const { outcome, ms } = await run(c);
      tried++;
      if (ms > slowest.ms) slowest = { id: c.id, ms };
      const origin = (origins[/case=\d+\/([\w-]+)/.exec(c.id)?.[1] ?? "?"] ??= {
        tried: 0,
        passedCheck: 0,
      });
      origin.tried++;
      switch (outcome.kind) {
        case "passed":
          passedCheck++;
          origin.passedCheck++;
          if (outcome.built) built++;
          break;
        case "diagnosed":
          diagnosedBy[outcome.stage]++;
          break;
        case "failure": {
          const known = failures.find((f) => f.signature === outcome.signature);
          if (known) {
            known.count++;
            break;
          }
          const failure: FuzzFailure = {
            id: c.id,
            source: c.source,
            minimized: c.source,
            error: outcome.error,
            signature: outcome.signature,
            count: 1,
          };
          failures.push(failure);
          opts.onFailure?.(failure);
          if (
            (opts.minimize ?? true) &&
            outcome.signature !== "timeout" &&
            outcome.signature !== "slow"
          ) {
            const same = async (text: string) => {
              const o = (await run({ ...c, source: text })).outcome;
              return o.kind === "failure" && o.signature === outcome.signature;
            };
            (failure as { minimized: string }).minimized = await minimize(c.source, same);
          }
        }
      }
      opts.onProgress?.(tried, report());
    }
  } finally {
    await prober?.stop();
  }
  return report();
}
