/**
 * Gradient checks of standard-library functions as data: a case is an nnc
 * expression over named inputs, differentiated with respect to one of them
 * (and optionally some model parameters). {@link caseFunctions} writes the
 * value, reverse-mode and forward-mode functions of a case into the source of
 * a model; {@link describeGradChecks} compares them with central finite
 * differences in f64 of the compiled value function:
 *
 * - reverse: `grad(sum(f(...) * w), v)` with fixed weights `w`, against the
 *   differences of Σ f · w;
 * - forward: `d(f(...), v, i)` for each coordinate `i` of `v`'s last axis,
 *   against the differences when coordinate `i` of every row moves;
 * - parameters: `grad(sum(f(...) * w), p)` for each parameter `p` named by its
 *   path (`ds.element.layers.0.w`), moving one parameter element at a time,
 *   and with {@link GradCheckOptions.paramShapes} `d(f(...), p, i)` along each
 *   coordinate of the parameter's last axis too (except `Case.gradOnly`).
 *
 * A derivative that finite differences do not see (largest below 1e-3) fails
 * the check, except for the parameters of `Case.zero`, whose derivative must
 * be identically zero on both sides.
 */
import { describe, expect, it } from "vitest";
import type { CompiledModule } from "../../runtime/module.js";
import { Tensor } from "../../runtime/tensor.js";
import { call1, expectClose, size, t64, values } from "./helpers.js";

export interface Input {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: readonly number[];
  readonly dtype?: "i32" | "bool";
}

export interface Case {
  /** A unique identifier: the prefix of the generated functions. */
  readonly name: string;
  /** The nnc expression under test, over the inputs' names. */
  readonly expr: string;
  readonly inputs: readonly Input[];
  /**
   * The index of the f32 input to differentiate with respect to (default 0); null for none
   * (a layer of integer tokens, checked with respect to its parameters only).
   */
  readonly wrt?: number | null;
  /** The shape of the value ([] for a scalar). */
  readonly out: readonly number[];
  /**
   * Parameter paths to check the reverse-mode gradient of; with
   * {@link GradCheckOptions.paramShapes}, the forward-mode derivative too.
   * Parameters are named by their path (`ds.element.layers.0.w`).
   */
  readonly params?: readonly string[];
  /** Parameters checked in reverse mode only (after `params`), and why. */
  readonly gradOnly?: { readonly params: readonly string[]; readonly reason: string };
  /** Parameters (of `params`) whose derivative is identically zero: both sides must be 0. */
  readonly zero?: readonly string[];
  /**
   * Why `d(f(...), v, i)` along each coordinate of the input is identically zero (a value that
   * moving a whole column leaves unchanged): both sides must then be 0.
   */
  readonly forwardZero?: string;
  readonly tol?: number;
}

/** How the checks of a set of cases are made (the same for its functions and its tests). */
export interface GradCheckOptions {
  /**
   * The shape of each parameter: when given, parameters are also checked in forward mode,
   * `d(f(...), p, i)` along each coordinate `i` of the parameter's last axis.
   */
  readonly paramShapes?: Readonly<Record<string, readonly number[]>>;
  /**
   * Each derivative function returns the value and the derivative, flattened and joined, so that
   * finite differences use the very function whose derivative is checked: calls of
   * `random_uniform` (in dropout) draw a stream per call site of each function.
   */
  readonly joined?: boolean;
  /**
   * The paths of all the model's parameters, in path order: when given, the reverse-mode
   * gradient of a parameter is taken with respect to the whole `params` of the model and
   * indexed, `grad(sum(f(...) * w), params)[k]`, instead of naming the parameter.
   */
  readonly paramsTuple?: readonly string[];
}

/** An f32 input of `shape` with values from the seeded generator, in ±scale. */
export const mat = (name: string, shape: readonly number[], seed: number, scale = 1.5): Input => ({
  name,
  shape,
  data: values(size(shape), seed, scale),
});

/** An i32 input. */
export const ints = (name: string, shape: readonly number[], data: readonly number[]): Input => ({
  name,
  shape,
  data,
  dtype: "i32",
});

const typeOf = (i: Input) =>
  `${i.dtype ?? "f32"}${i.shape.length === 0 ? "" : `[${i.shape.join(", ")}]`}`;
const outType = (c: Case) => (c.out.length === 0 ? "f32" : `f32[${c.out.join(", ")}]`);
const lastAxis = (shape: readonly number[]) => shape[shape.length - 1] ?? 1;
const signature = (c: Case, extra = "") =>
  [...c.inputs.map((i) => `${i.name}: ${typeOf(i)}`), ...(extra ? [extra] : [])].join(", ");

/** `ds.element.layers.0.w` as an nnc expression: `ds.element.layers[0].w`. */
const paramExpr = (path: string) =>
  path
    .split(".")
    .map((seg, k) => (/^\d+$/.test(seg) ? `[${seg}]` : k === 0 ? seg : `.${seg}`))
    .join("");

/** What a case is differentiated with respect to: its f32 input, then its parameters. */
interface Variable {
  /** The input's name or the parameter's path. */
  readonly label: string;
  /** As written in nnc. */
  readonly expr: string;
  /** The prefix of its derivative functions (after the case's name). */
  readonly fn: string;
  /** Its index in {@link GradCheckOptions.paramsTuple}, when given. */
  readonly tupleIndex?: number;
  /** The input, or none for a parameter. */
  readonly input?: Input;
  /** Forward mode is checked along each of these coordinates (none: reverse mode only). */
  readonly coords: number;
  /** Whether the derivative is identically zero (see `Case.zero`). */
  readonly zero: boolean;
  /** Whether the forward derivative is identically zero (see `Case.forwardZero`). */
  readonly forwardZero: boolean;
}

function tupleIndex(paths: readonly string[], p: string): number {
  const k = paths.indexOf(p);
  if (k < 0) throw new Error(`parameter ${p} is not in paramsTuple`);
  return k;
}

function variables(c: Case, o: GradCheckOptions): Variable[] {
  const input = c.wrt === null ? undefined : c.inputs[c.wrt ?? 0]!;
  return [
    ...(input
      ? [
          {
            label: input.name,
            expr: input.name,
            fn: "",
            input,
            coords: lastAxis(input.shape),
            zero: false,
            forwardZero: c.forwardZero !== undefined,
          },
        ]
      : []),
    ...[...(c.params ?? []), ...(c.gradOnly?.params ?? [])].map((p, k) => ({
      label: p,
      expr: paramExpr(p),
      ...(o.paramsTuple ? { tupleIndex: tupleIndex(o.paramsTuple, p) } : {}),
      fn: `_p${k}`,
      coords:
        o.paramShapes && !(c.gradOnly?.params ?? []).includes(p) ? lastAxis(o.paramShapes[p]!) : 0,
      zero: (c.zero ?? []).includes(p),
      forwardZero: (c.zero ?? []).includes(p),
    })),
  ];
}

/** The functions of a case, as lines of a model body, made with options `o`. */
export const caseFunctionsWith =
  (o: GradCheckOptions) =>
  (c: Case): string[] =>
    functionsOf(c, o);

/** The functions of a case, as lines of a model body. */
export const caseFunctions = caseFunctionsWith({});

function functionsOf(c: Case, o: GradCheckOptions): string[] {
  const body = (deriv: (y: string) => string) =>
    o.joined
      ? ` { let y = ${c.expr}; return concat([reshape(y, [-1]), reshape(${deriv("y")}, [-1])]) }`
      : ` = ${deriv(`(${c.expr})`)}`;
  const lines = [`fn ${c.name}_v(${signature(c)}) -> ${outType(c)} = ${c.expr}`];
  for (const v of variables(c, o)) {
    const g = v.input ? "_g" : "";
    const wrt = v.tupleIndex === undefined ? `${v.expr})` : `params)[${v.tupleIndex}]`;
    lines.push(
      `fn ${c.name}${v.fn}${g}(${signature(c, `w: ${outType(c)}`)})${body((y) => `grad(sum(${y} * w), ${wrt}`)}`,
    );
    for (let i = 0; i < v.coords; i++)
      lines.push(
        `fn ${c.name}${v.fn}_d${i}(${signature(c)})${body((y) => `d(${y}, ${v.expr}, ${i})`)}`,
      );
  }
  return lines.map((l) => `  ${l}`);
}

const H = 1e-6;

const tensorOf = (i: Input, data: readonly number[] = i.data): Tensor =>
  i.dtype === "i32"
    ? new Tensor("i32", [...i.shape], Int32Array.from(data))
    : i.dtype === "bool"
      ? new Tensor("bool", [...i.shape], Uint8Array.from(data))
      : t64(i.shape, data);
const weightsOf = (c: Case) => t64(c.out, c.out.length === 0 ? [1] : values(size(c.out), 99));

/** Finite differences should see the derivative (or see none, for an identically zero one). */
function expectSeen(zero: boolean, fd: readonly number[], what: string): void {
  const largest = Math.max(...fd.map(Math.abs));
  if (zero) expect(largest, what).toBeLessThan(1e-8);
  else expect(largest, what).toBeGreaterThan(1e-3);
}

/**
 * The checks of every case, against the module `get()` returns (a compiled model whose body
 * holds {@link caseFunctions} of each case, with the same options).
 */
export function describeGradChecks(
  get: () => CompiledModule,
  cases: readonly Case[],
  o: GradCheckOptions = {},
): void {
  describe.each(cases)("$name: $expr", (cs) => {
    const n = size(cs.out);
    const tol = cs.tol ?? 1e-7;

    /** The current values of a variable. */
    const valuesOf = async (v: Variable): Promise<number[]> =>
      v.input ? [...v.input.data] : Array.from((await get().parameters())[v.label]!.data);

    /** Calls `fn` with `v` set to `data` (a parameter is restored afterwards). */
    const callAt = async (
      v: Variable,
      fn: string,
      data: readonly number[],
      extra: readonly Tensor[] = [],
    ): Promise<Float64Array> => {
      const s = get();
      const args = cs.inputs.map((i) => (i === v.input ? tensorOf(i, data) : tensorOf(i)));
      if (v.input) return call1(s, fn, [...args, ...extra]);
      const base = (await s.parameters())[v.label];
      expect(base, `parameter ${v.label}`).toBeDefined();
      s.setParameters({ [v.label]: t64(base!.shape, data) });
      try {
        return await call1(s, fn, [...args, ...extra]);
      } finally {
        s.setParameters({ [v.label]: base! });
      }
    };
    /** The derivative part of a derivative function's result. */
    const derivAt = async (v: Variable, fn: string, data: readonly number[], extra?: Tensor[]) => {
      const out = await callAt(v, fn, data, extra);
      return o.joined ? out.subarray(n) : out;
    };
    /** The value at `data`: from the same derivative function when joined. */
    const valueAt = async (v: Variable, fn: string, data: readonly number[], extra?: Tensor[]) =>
      o.joined
        ? (await callAt(v, fn, data, extra)).subarray(0, n)
        : callAt(v, `${cs.name}_v`, data);

    for (const v of variables(cs, o)) {
      const what = v.input ? "" : ` with respect to ${v.label}`;
      const along = v.input ? "" : ` of ${v.label}`;
      it(`grad${what} matches finite differences${v.input ? " of the value" : ""}`, async () => {
        const base = await valuesOf(v);
        const w = weightsOf(cs);
        const fn = `${cs.name}${v.fn}${v.input ? "_g" : ""}`;
        const objective = async (data: readonly number[]) =>
          (await valueAt(v, fn, data, [w])).reduce((a, y, k) => a + y * w.data[k]!, 0);
        const got = await derivAt(v, fn, base, [w]);
        const fd: number[] = [];
        for (let e = 0; e < base.length; e++) {
          const p = await objective(base.map((b, k) => (k === e ? b + H : b)));
          const m = await objective(base.map((b, k) => (k === e ? b - H : b)));
          fd.push((p - m) / (2 * H));
        }
        // a derivative that is zero everywhere would pass without checking anything
        expectSeen(v.zero, fd, `finite differences of ${cs.expr} in ${v.label}`);
        expectClose(got, fd, tol, `grad of ${cs.expr}${what}`);
      });

      if (v.coords > 0)
        it(`d along each coordinate${along} matches finite differences${v.input ? " of the value" : ""}`, async () => {
          const base = await valuesOf(v);
          const all: number[] = [];
          for (let i = 0; i < v.coords; i++) {
            const fn = `${cs.name}${v.fn}_d${i}`;
            // move coordinate i of every row at once: the tangent of d(y, v, i)
            const shift = (h: number) => base.map((b, k) => (k % v.coords === i ? b + h : b));
            const got = await derivAt(v, fn, base);
            const p = await valueAt(v, fn, shift(H));
            const m = await valueAt(v, fn, shift(-H));
            const fd = Array.from(p, (e, k) => (e - m[k]!) / (2 * H));
            all.push(...fd);
            expectClose(got, fd, tol, `d(${cs.expr}, ${v.label}, ${i})`);
          }
          expectSeen(v.forwardZero, all, `finite differences of ${cs.expr} along ${v.label}`);
        });
    }
  });
}
