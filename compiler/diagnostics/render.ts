/**
 * Renders diagnostics as text: `file:line:col`, the source line, a caret under the
 * offending range, then notes (the two shapes or types that disagree, call sites).
 * A note that points into the same source line as the error is drawn as a
 * labelled underline (`---- right is f32[4]`) below the caret instead of
 * repeating the line.
 */
import type { SourceFile, Span } from "../ast/span.js";
import type { Diagnostic, Note } from "./diagnostic.js";

/** Looks up a file's text by the path recorded in spans. */
export type SourceLookup = (path: string) => SourceFile | undefined;

/** The part of `span`'s first line that it covers: leading blanks and width in columns. */
function underline(span: Span, file: SourceFile, text: string): { lead: string; width: number } {
  const endPos = file.position(Math.max(span.start, span.end - 1));
  const width =
    endPos.line === span.line
      ? Math.max(1, endPos.col - span.col + 1)
      : Math.max(1, text.length - span.col + 1);
  // Tabs keep their width in the caret line so the caret lines up.
  const lead = text.slice(0, span.col - 1).replace(/[^\t]/g, " ");
  return { lead, width };
}

function excerpt(
  span: Span,
  sources: SourceLookup,
  gutter: number,
  labels: readonly Note[] = [],
): string[] {
  const file = sources(span.file);
  if (!file || span.line < 1) return [];
  const text = file.lineText(span.line);
  const pad = " ".repeat(gutter);
  const lineNo = String(span.line).padStart(gutter);
  const main = underline(span, file, text);
  const out = [`${pad} |`, `${lineNo} | ${text}`, `${pad} | ${main.lead}${"^".repeat(main.width)}`];
  for (const label of labels) {
    const u = underline(label.span!, file, text);
    out.push(`${pad} | ${u.lead}${"-".repeat(u.width)} ${label.message}`);
  }
  return out;
}

/** Whether a note can be drawn as a label under the error's own source line. */
function isInlineLabel(note: Note, primary: Span, sources: SourceLookup): boolean {
  const s = note.span;
  if (!s || s.file !== primary.file || s.line !== primary.line || primary.line < 1) return false;
  const file = sources(s.file);
  return file !== undefined && file.position(Math.max(s.start, s.end - 1)).line === s.line;
}

/** Renders one diagnostic as a multi-line string (no trailing newline). */
export function renderDiagnostic(d: Diagnostic, sources: SourceLookup): string {
  const spans = [d.span, ...d.notes.flatMap((n) => (n.span ? [n.span] : []))];
  const gutter = Math.max(...spans.map((s) => String(Math.max(s.line, 1)).length));
  const pad = " ".repeat(gutter);
  const inline = d.notes
    .filter((n) => isInlineLabel(n, d.span, sources))
    .sort((a, b) => a.span!.start - b.span!.start);
  const lines: string[] = [];
  lines.push(`${d.severity}[${d.code}]: ${d.message}`);
  lines.push(`${pad}--> ${location(d.span)}`);
  lines.push(...excerpt(d.span, sources, gutter, inline));
  for (const note of d.notes) {
    if (inline.includes(note)) continue;
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
