/**
 * Tensor dimensions: integer constants or symbolic polynomials over size
 * symbols (`B`, `N`, `B*28`, `N+M`). Symbols are bound at run time from the shapes
 * of a function's inputs; everything else is known at compile time.
 *
 * A `Dim` is a plain number when constant (the common case, cheap to compare) and
 * a {@link Poly} in canonical form otherwise, so two dims are equal exactly when
 * their canonical keys are equal.
 */

/** A monomial `coef * s1 * s2 * ...`; `syms` sorted, repeated for powers. */
export interface Term {
  readonly coef: number;
  readonly syms: readonly string[];
}

/** A polynomial with at least one non-constant term, in canonical order. */
export interface Poly {
  readonly kind: "poly";
  readonly terms: readonly Term[];
}

export type Dim = number | Poly;

function termKey(syms: readonly string[]): string {
  return syms.join("*");
}

function normalize(terms: readonly Term[]): Dim {
  const acc = new Map<string, { coef: number; syms: readonly string[] }>();
  for (const t of terms) {
    if (t.coef === 0) continue;
    const syms = [...t.syms].sort();
    const key = termKey(syms);
    const prev = acc.get(key);
    if (prev) prev.coef += t.coef;
    else acc.set(key, { coef: t.coef, syms });
  }
  const out: Term[] = [];
  for (const t of acc.values()) if (t.coef !== 0) out.push({ coef: t.coef, syms: t.syms });
  // Higher degree first, then lexicographic: a stable, readable canonical order.
  out.sort(
    (a, b) =>
      b.syms.length - a.syms.length ||
      (termKey(a.syms) < termKey(b.syms) ? -1 : termKey(a.syms) > termKey(b.syms) ? 1 : 0),
  );
  if (out.length === 0) return 0;
  if (out.length === 1 && out[0]!.syms.length === 0) return out[0]!.coef;
  return Object.freeze({
    kind: "poly",
    terms: Object.freeze(
      out.map((t) => Object.freeze({ coef: t.coef, syms: Object.freeze([...t.syms]) })),
    ),
  });
}

function termsOf(d: Dim): readonly Term[] {
  return typeof d === "number" ? [{ coef: d, syms: [] }] : d.terms;
}

export const Dims = {
  /** The symbolic dimension named `name`. */
  sym(name: string): Dim {
    return normalize([{ coef: 1, syms: [name] }]);
  },

  isConst(d: Dim): d is number {
    return typeof d === "number";
  },

  add(a: Dim, b: Dim): Dim {
    if (typeof a === "number" && typeof b === "number") return a + b;
    return normalize([...termsOf(a), ...termsOf(b)]);
  },

  sub(a: Dim, b: Dim): Dim {
    if (typeof a === "number" && typeof b === "number") return a - b;
    return normalize([...termsOf(a), ...termsOf(b).map((t) => ({ coef: -t.coef, syms: t.syms }))]);
  },

  mul(a: Dim, b: Dim): Dim {
    if (typeof a === "number" && typeof b === "number") return a * b;
    const out: Term[] = [];
    for (const x of termsOf(a))
      for (const y of termsOf(b)) out.push({ coef: x.coef * y.coef, syms: [...x.syms, ...y.syms] });
    return normalize(out);
  },

  /** Product of a list of dims (1 for the empty list). */
  product(ds: readonly Dim[]): Dim {
    let p: Dim = 1;
    for (const d of ds) p = Dims.mul(p, d);
    return p;
  },

  /**
   * `a / b` when the division is exact for every value of the symbols
   * (b a nonzero constant dividing every coefficient, or a monomial dividing
   * every term); otherwise `undefined`.
   */
  divExact(a: Dim, b: Dim): Dim | undefined {
    if (typeof b === "number") {
      if (b === 0) return undefined;
      if (typeof a === "number") return a % b === 0 ? a / b : undefined;
      if (a.terms.some((t) => t.coef % b !== 0)) return undefined;
      return normalize(a.terms.map((t) => ({ coef: t.coef / b, syms: t.syms })));
    }
    if (b.terms.length !== 1) return Dims.equal(a, b) ? 1 : undefined;
    const [bt] = b.terms as [Term];
    const out: Term[] = [];
    for (const t of termsOf(a)) {
      if (t.coef % bt.coef !== 0) return undefined;
      const rest = [...t.syms];
      for (const s of bt.syms) {
        const i = rest.indexOf(s);
        if (i < 0) return undefined;
        rest.splice(i, 1);
      }
      out.push({ coef: t.coef / bt.coef, syms: rest });
    }
    return normalize(out);
  },

  equal(a: Dim, b: Dim): boolean {
    if (typeof a === "number" || typeof b === "number") return a === b;
    return Dims.key(a) === Dims.key(b);
  },

  /** A canonical string, equal for equal dims. */
  key(d: Dim): string {
    return Dims.format(d);
  },

  /** The symbols a dim mentions, sorted. */
  symbols(d: Dim): string[] {
    if (typeof d === "number") return [];
    return [...new Set(d.terms.flatMap((t) => t.syms))].sort();
  },

  /** Human-readable form: `B`, `28*B`, `N + M - 1`. */
  format(d: Dim): string {
    if (typeof d === "number") return String(d);
    let s = "";
    d.terms.forEach((t, i) => {
      const mag = Math.abs(t.coef);
      const body =
        t.syms.length === 0 ? String(mag) : (mag === 1 ? "" : `${mag}*`) + t.syms.join("*");
      if (i === 0) s += (t.coef < 0 ? "-" : "") + body;
      else s += (t.coef < 0 ? " - " : " + ") + body;
    });
    return s;
  },

  /** Replaces symbols by dims; symbols missing from `env` stay. */
  substitute(d: Dim, env: ReadonlyMap<string, Dim>): Dim {
    if (typeof d === "number") return d;
    let acc: Dim = 0;
    for (const t of d.terms) {
      let term: Dim = t.coef;
      for (const s of t.syms) term = Dims.mul(term, env.get(s) ?? Dims.sym(s));
      acc = Dims.add(acc, term);
    }
    return acc;
  },

  /** Evaluates with all symbols bound; `undefined` if a symbol is unbound. */
  evaluate(d: Dim, env: (sym: string) => number | undefined): number | undefined {
    if (typeof d === "number") return d;
    let acc = 0;
    for (const t of d.terms) {
      let v = t.coef;
      for (const s of t.syms) {
        const x = env(s);
        if (x === undefined) return undefined;
        v *= x;
      }
      acc += v;
    }
    return acc;
  },

  /**
   * A JavaScript expression computing the dim, given an expression for each
   * symbol (for example `s[0]`). Used by code generators.
   */
  toJs(d: Dim, symExpr: (sym: string) => string): string {
    if (typeof d === "number") return d < 0 ? `(${d})` : String(d);
    let s = "";
    d.terms.forEach((t, i) => {
      const mag = Math.abs(t.coef);
      const factors = [
        ...(mag !== 1 || t.syms.length === 0 ? [String(mag)] : []),
        ...t.syms.map(symExpr),
      ];
      const body = factors.join(" * ");
      if (i === 0) s += t.coef < 0 ? `-${body}` : body;
      else s += t.coef < 0 ? ` - ${body}` : ` + ${body}`;
    });
    return d.terms.length > 1 ? `(${s})` : s;
  },

  /** Whether a dim is known to be non-negative for all non-negative symbol values. */
  nonNegative(d: Dim): boolean {
    if (typeof d === "number") return d >= 0;
    return d.terms.every((t) => t.coef >= 0);
  },
};

export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.map(Dims.format).join(", ")}]`;
}

export function shapesEqual(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => Dims.equal(d, b[i]!));
}

/** Row-major strides of a shape (the last axis has stride 1). */
export function rowMajorStrides(shape: readonly Dim[]): Dim[] {
  const out: Dim[] = new Array<Dim>(shape.length);
  let acc: Dim = 1;
  for (let a = shape.length - 1; a >= 0; a--) {
    out[a] = acc;
    acc = Dims.mul(acc, shape[a]!);
  }
  return out;
}

/** Splits a shape at `axis` into the sizes before it, at it and after it. */
export function splitAt(shape: readonly Dim[], axis: number): { outer: Dim; mid: Dim; inner: Dim } {
  return {
    outer: Dims.product(shape.slice(0, axis)),
    mid: shape[axis]!,
    inner: Dims.product(shape.slice(axis + 1)),
  };
}
