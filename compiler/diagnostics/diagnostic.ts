/**
 * Diagnostics are data: `{ code, severity, message, span, notes }`. User mistakes
 * become diagnostics and never exceptions that escape the compiler; bugs in the
 * compiler itself are {@link InternalCompilerError}s, a different class that says so.
 */
import type { Span } from "../ast/span.js";

export type Severity = "error" | "warning";

/** Extra information attached to a diagnostic, optionally pointing at another place. */
export interface Note {
  readonly message: string;
  readonly span?: Span;
}

export interface Diagnostic {
  /** Stable identifier such as `E0301`; see `docs/diagnostics.md`. */
  readonly code: string;
  readonly severity: Severity;
  readonly message: string;
  readonly span: Span;
  readonly notes: readonly Note[];
}

/** Collects the diagnostics of one compilation; every stage appends to it. */
export class DiagnosticBag {
  private readonly items: Diagnostic[] = [];
  private readonly seen = new Set<string>();

  add(d: Diagnostic): void {
    // The same mistake reached twice (for example through two instantiations of
    // one generic function) is reported once: the first report of a code at a
    // place wins, even when a later one words it for other shapes.
    const key = `${d.code}|${d.span.file}|${d.span.start}|${d.span.end}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.items.push(d);
  }

  error(code: string, message: string, span: Span, notes: readonly Note[] = []): void {
    this.add({ code, severity: "error", message, span, notes });
  }

  warning(code: string, message: string, span: Span, notes: readonly Note[] = []): void {
    this.add({ code, severity: "warning", message, span, notes });
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === "error");
  }

  get errorCount(): number {
    return this.items.filter((d) => d.severity === "error").length;
  }

  /** All diagnostics, ordered by file, then position, then insertion. */
  all(): readonly Diagnostic[] {
    return this.items
      .map((d, i) => ({ d, i }))
      .sort(
        (a, b) =>
          (a.d.span.file < b.d.span.file ? -1 : a.d.span.file > b.d.span.file ? 1 : 0) ||
          a.d.span.start - b.d.span.start ||
          a.i - b.i,
      )
      .map((x) => x.d);
  }
}

/**
 * Thrown to abandon the current stage after errors were reported to the bag.
 * Caught by the pipeline; never reaches the user as a stack trace.
 */
export class CompilationFailed extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(`compilation failed with ${diagnostics.length} diagnostic(s)`);
    this.name = "CompilationFailed";
  }
}

/** A bug in nnc, not in the user's program. Rendered as such, with a request to report it. */
export class InternalCompilerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InternalCompilerError";
  }
}

/** Asserts a compiler invariant; a failure is an internal compiler error. */
export function invariant(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) {
    throw new InternalCompilerError(typeof message === "string" ? message : message());
  }
}

/** For exhaustive switches over closed unions. */
export function assertNever(x: never, what = "value"): never {
  throw new InternalCompilerError(`unexpected ${what}: ${JSON.stringify(x)}`);
}
