/**
 * Renders diagnostics as text: `file:line:col`, the source line, a caret under the
 * offending range, then notes (the two shapes or types that disagree, call sites).
 */
import type { SourceFile, Span } from "../ast/span.js";
import type { Diagnostic } from "./diagnostic.js";

/** Looks up a file's text by the path recorded in spans. */
export type SourceLookup = (path: string) => SourceFile | undefined;

function excerpt(span: Span, sources: SourceLookup, gutter: number): string[] {
  const file = sources(span.file);
  if (!file || span.line < 1) return [];
  const text = file.lineText(span.line);
  const startCol = span.col;
  const endPos = file.position(Math.max(span.start, span.end - 1));
  const width = endPos.line === span.line ? Math.max(1, endPos.col - startCol + 1) : Math.max(1, text.length - startCol + 1);
  const pad = " ".repeat(gutter);
  const lineNo = String(span.line).padStart(gutter);
  // Tabs keep their width in the caret line so the caret lines up.
  const lead = text.slice(0, startCol - 1).replace(/[^\t]/g, " ");
  return [`${pad} |`, `${lineNo} | ${text}`, `${pad} | ${lead}${"^".repeat(width)}`];
}

/** Renders one diagnostic as a multi-line string (no trailing newline). */
export function renderDiagnostic(d: Diagnostic, sources: SourceLookup): string {
  const spans = [d.span, ...d.notes.flatMap((n) => (n.span ? [n.span] : []))];
  const gutter = Math.max(...spans.map((s) => String(Math.max(s.line, 1)).length));
  const pad = " ".repeat(gutter);
  const lines: string[] = [];
  lines.push(`${d.severity}[${d.code}]: ${d.message}`);
  lines.push(`${pad}--> ${location(d.span)}`);
  lines.push(...excerpt(d.span, sources, gutter));
  for (const note of d.notes) {
    if (note.span) {
      lines.push(`${pad} = note: ${note.message}`);
      lines.push(`${pad}--> ${location(note.span)}`);
      lines.push(...excerpt(note.span, sources, gutter));
    } else {
      lines.push(`${pad} = ${note.message}`);
    }
  }
  return lines.join("\n");
}

/** `file:line:col` of a span. */
export function location(span: Span): string {
  return span.line > 0 ? `${span.file}:${span.line}:${span.col}` : span.file;
}

/** Renders all diagnostics, separated by blank lines, with a closing count. */
export function renderDiagnostics(ds: readonly Diagnostic[], sources: SourceLookup): string {
  const body = ds.map((d) => renderDiagnostic(d, sources)).join("\n\n");
  const errors = ds.filter((d) => d.severity === "error").length;
  const warnings = ds.length - errors;
  const parts: string[] = [];
  if (errors) parts.push(`${errors} error${errors === 1 ? "" : "s"}`);
  if (warnings) parts.push(`${warnings} warning${warnings === 1 ? "" : "s"}`);
  return parts.length ? `${body}\n\n${parts.join(", ")}` : body;
}
