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
 *   path (`ds.element.layers.0.w`), moving one parameter element at a time.
 */
import { describe, expect, it } from "vitest";
import type { CompiledModule } from "../../runtime/module.js";
import { Tensor } from "../../runtime/tensor.js";
import { call1, expectClose, size, t64, values } from "./helpers.js";

export interface Input {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: readonly number[];
  readonly dtype?: "i32";
}

export interface Case {
  /** A unique identifier: the prefix of the generated functions. */
  readonly name: string;
  /** The nnc expression under test, over the inputs' names. */
  readonly expr: string;
  readonly inputs: readonly Input[];
  /** The index of the input to differentiate with respect to (default 0). */
  readonly wrt?: number;
  /** The shape of the value ([] for a scalar). */
  readonly out: readonly number[];
  /** Parameter paths to check the reverse-mode gradient of. */
  readonly params?: readonly string[];
  readonly tol?: number;
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

const typeOf = (i: Input) => `${i.dtype ?? "f32"}[${i.shape.join(", ")}]`;
const outType = (c: Case) => (c.out.length === 0 ? "f32" : `f32[${c.out.join(", ")}]`);
const variable = (c: Case): Input => c.inputs[c.wrt ?? 0]!;
const coords = (c: Case) => variable(c).shape[variable(c).shape.length - 1] ?? 1;
const signature = (c: Case, extra = "") =>
  [...c.inputs.map((i) => `${i.name}: ${typeOf(i)}`), ...(extra ? [extra] : [])].join(", ");

/** `ds.element.layers.0.w` as an nnc expression: `ds.element.layers[0].w`. */
const paramExpr = (path: string) =>
  path
    .split(".")
    .map((seg, k) => (/^\d+$/.test(seg) ? `[${seg}]` : k === 0 ? seg : `.${seg}`))
    .join("");

/** The functions of a case, as lines of a model body. */
export function caseFunctions(c: Case): string[] {
  const v = variable(c).name;
  const weighted = `sum((${c.expr}) * w)`;
  const lines = [
    `fn ${c.name}_v(${signature(c)}) -> ${outType(c)} = ${c.expr}`,
    `fn ${c.name}_g(${signature(c, `w: ${outType(c)}`)}) = grad(${weighted}, ${v})`,
  ];
  for (let i = 0; i < coords(c); i++)
    lines.push(`fn ${c.name}_d${i}(${signature(c)}) = d(${c.expr}, ${v}, ${i})`);
  (c.params ?? []).forEach((p, k) =>
    lines.push(
      `fn ${c.name}_p${k}(${signature(c, `w: ${outType(c)}`)}) = grad(${weighted}, ${paramExpr(p)})`,
    ),
  );
  return lines.map((l) => `  ${l}`);
}

const H = 1e-6;

const tensorOf = (i: Input, data: readonly number[] = i.data): Tensor =>
  i.dtype === "i32" ? new Tensor("i32", [...i.shape], Int32Array.from(data)) : t64(i.shape, data);
const weightsOf = (c: Case) => t64(c.out, c.out.length === 0 ? [1] : values(size(c.out), 99));
const argsWith = (c: Case, v: readonly number[]) =>
  c.inputs.map((i) => (i === variable(c) ? tensorOf(i, v) : tensorOf(i)));

/**
 * The three checks of every case, against the module `get()` returns (a
 * compiled model whose body holds {@link caseFunctions} of each case).
 */
export function describeGradChecks(get: () => CompiledModule, cases: readonly Case[]): void {
  describe.each(cases)("$name: $expr", (cs) => {
    const x = variable(cs).data;
    const objective = async (v: readonly number[]): Promise<number> => {
      const y = await call1(get(), `${cs.name}_v`, argsWith(cs, v));
      const w = weightsOf(cs).data;
      return y.reduce((a, yi, k) => a + yi * w[k]!, 0);
    };

    it("grad matches finite differences of the value", async () => {
      const got = await call1(get(), `${cs.name}_g`, [...argsWith(cs, x), weightsOf(cs)]);
      const fd: number[] = [];
      for (let k = 0; k < x.length; k++) {
        const p = [...x];
        const m = [...x];
        p[k]! += H;
        m[k]! -= H;
        fd.push(((await objective(p)) - (await objective(m))) / (2 * H));
      }
      // a derivative that is zero everywhere would pass without checking anything
      expect(Math.max(...fd.map(Math.abs))).toBeGreaterThan(1e-3);
      expectClose(got, fd, cs.tol ?? 1e-7, `grad of ${cs.expr}`);
    });

    it("d along each coordinate matches finite differences of the value", async () => {
      const n = coords(cs);
      let largest = 0;
      for (let i = 0; i < n; i++) {
        const got = await call1(get(), `${cs.name}_d${i}`, argsWith(cs, x));
        // move coordinate i of every row at once: the tangent of d(y, x, i)
        const shift = (h: number) => x.map((v, k) => (k % n === i ? v + h : v));
        const p = await call1(get(), `${cs.name}_v`, argsWith(cs, shift(H)));
        const m = await call1(get(), `${cs.name}_v`, argsWith(cs, shift(-H)));
        const fd = Array.from(p, (v, k) => (v - m[k]!) / (2 * H));
        largest = Math.max(largest, ...fd.map(Math.abs));
        expectClose(got, fd, cs.tol ?? 1e-7, `d(${cs.expr}, ${variable(cs).name}, ${i})`);
      }
      expect(largest).toBeGreaterThan(1e-3);
    });

    if (cs.params) {
      it.each(cs.params.map((p, k) => [p, k] as const))(
        "grad with respect to %s matches finite differences",
        async (path, k) => {
          const s = get();
          const got = await call1(s, `${cs.name}_p${k}`, [...argsWith(cs, x), weightsOf(cs)]);
          const base = (await s.parameters())[path];
          expect(base, `parameter ${path}`).toBeDefined();
          const fd: number[] = [];
          try {
            for (let e = 0; e < base!.size; e++) {
              const at = async (h: number) => {
                const v = Array.from(base!.data);
                v[e]! += h;
                s.setParameters({ [path]: t64(base!.shape, v) });
                return objective(x);
              };
              fd.push(((await at(H)) - (await at(-H))) / (2 * H));
            }
          } finally {
            s.setParameters({ [path]: base! });
          }
          expect(Math.max(...fd.map(Math.abs))).toBeGreaterThan(1e-3);
          expectClose(got, fd, cs.tol ?? 1e-7, `grad of ${cs.expr} with respect to ${path}`);
        },
      );
    }
  });
}
