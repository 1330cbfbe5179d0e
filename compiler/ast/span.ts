/**
 * Source locations. Every AST node, typed-AST node and IR node that came from
 * source text carries a {@link Span}; diagnostics render it as `file:line:col`.
 */

/** A half-open range `[start, end)` of character offsets in one source file. */
export interface Span {
  /** The file's path as shown to the user (relative to the working directory when possible). */
  readonly file: string;
  readonly start: number;
  readonly end: number;
  /** 1-based line of `start`. */
  readonly line: number;
  /** 1-based column of `start`. */
  readonly col: number;
}

/** One source file's text plus a line index for offset → line/column conversion. */
export class SourceFile {
  private readonly lineStarts: number[];

  constructor(
    readonly path: string,
    readonly text: string,
  ) {
    this.lineStarts = [0];
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    }
  }

  /** 1-based line and column of a character offset. */
  position(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - (this.lineStarts[lo] ?? 0) + 1 };
  }

  /** The text of a 1-based line, without its line terminator. */
  lineText(line: number): string {
    const start = this.lineStarts[line - 1];
    if (start === undefined) return "";
    const next = this.lineStarts[line];
    let end = next === undefined ? this.text.length : next - 1;
    if (end > start && this.text.charCodeAt(end - 1) === 13) end--;
    return this.text.slice(start, end);
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  /** A span covering `[start, end)`. */
  span(start: number, end: number): Span {
    const { line, col } = this.position(start);
    return { file: this.path, start, end, line, col };
  }
}

/** The smallest span covering both `a` and `b` (same file assumed). */
export function joinSpans(a: Span, b: Span): Span {
  if (a.file !== b.file) return a;
  const first = a.start <= b.start ? a : b;
  return { ...first, end: Math.max(a.end, b.end) };
}

/** A span for things that have no source location (compiler-made nodes). */
export const noSpan: Span = Object.freeze({ file: "<nnc>", start: 0, end: 0, line: 0, col: 0 });
