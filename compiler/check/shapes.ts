/**
 * Shape rules shared by the checker's builtins: NumPy broadcasting, axis
 * normalization, matrix-product shapes. Each returns either a result or a
 * reason that the caller turns into a diagnostic at the right span.
 */
import { Dims, formatShape, type Dim } from "../core/dim.js";

export type ShapeResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const ok = <T>(value: T): ShapeResult<T> => ({ ok: true, value });
const fail = <T>(reason: string): ShapeResult<T> => ({ ok: false, reason });

/** NumPy broadcasting of any number of shapes (aligned right; equal dims or 1). */
export function broadcastShapes(...shapes: (readonly Dim[])[]): ShapeResult<Dim[]> {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = s.length - rank + i;
      if (k < 0) continue;
      const e = s[k]!;
      if (Dims.equal(e, 1)) continue;
      if (Dims.equal(d, 1)) d = e;
      else if (!Dims.equal(d, e)) {
        return fail(
          `${fromEnd(i - rank)} is ${Dims.format(d)} in one operand and ${Dims.format(e)} in another; broadcasting needs them equal, or one of them 1`,
        );
      }
    }
    out.push(d);
  }
  return ok(out);
}

/** Shapes align from the right: `-1` is "the last dimension". */
function fromEnd(k: number): string {
  const ordinals = ["last", "second-to-last", "third-to-last"];
  const o = ordinals[-k - 1];
  return o ? `the ${o} dimension` : `dimension ${k} (from the end)`;
}

/** An axis given by the user (negative counts from the end) made non-negative. */
export function normalizeAxis(axis: number, rank: number): ShapeResult<number> {
  if (!Number.isInteger(axis)) return fail(`axis must be an integer, found ${axis}`);
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) return fail(`axis ${axis} is out of range for a tensor of rank ${rank}`);
  return ok(a);
}

/** Matrix product shape with NumPy semantics (1-D operands, broadcast batch dims). */
export function matmulShape(a: readonly Dim[], b: readonly Dim[]): ShapeResult<Dim[]> {
  if (a.length === 0 || b.length === 0) return fail("matrix product of a scalar; use `*`");
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  const k1 = a2[a2.length - 1]!;
  const k2 = b2[b2.length - 2]!;
  if (!Dims.equal(k1, k2))
    return fail(`inner dimensions differ (${Dims.format(k1)} vs ${Dims.format(k2)})`);
  const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2));
  if (!batch.ok)
    return fail(
      `batch dimensions ${formatShape(a2.slice(0, -2))} and ${formatShape(b2.slice(0, -2))} do not broadcast`,
    );
  const out = [...batch.value];
  if (a.length > 1) out.push(a2[a2.length - 2]!);
  if (b.length > 1) out.push(b2[b2.length - 1]!);
  return ok(out);
}

/** The shape of `reshape(x, target)` where one entry may be -1 (inferred). */
export function reshapeShape(from: readonly Dim[], target: readonly Dim[]): ShapeResult<Dim[]> {
  const total = Dims.product(from);
  const holes = target.filter((d) => Dims.equal(d, -1)).length;
  if (holes > 1) return fail("at most one dimension can be -1");
  for (const d of target)
    if (!Dims.equal(d, -1) && !Dims.nonNegative(d))
      return fail(`negative dimension ${Dims.format(d)}`);
  if (holes === 1) {
    const known = Dims.product(target.filter((d) => !Dims.equal(d, -1)));
    const missing = Dims.divExact(total, known);
    if (missing === undefined)
      return fail(
        `cannot infer -1: ${Dims.format(total)} elements are not divisible by ${Dims.format(known)}`,
      );
    return ok(target.map((d) => (Dims.equal(d, -1) ? missing : d)));
  }
  if (!Dims.equal(Dims.product(target), total)) {
    return fail(
      `${Dims.format(total)} elements cannot be reshaped into ${Dims.format(Dims.product(target))}`,
    );
  }
  return ok([...target]);
}
