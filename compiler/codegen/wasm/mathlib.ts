/**
 * The element functions of the `wasm` backend that WebAssembly lacks (exp, log,
 * sin, tanh, pow, floor-mod, ...), as f32x4 functions: four lanes per call,
 * with the semantics of the CPU reference (compiler/codegen/ts.ts: JS `Math.*`
 * of the f32 input, rounded to f32; its `erf`, `sigmoid` and `floorMod`
 * helpers) up to a few ulp, special values included.
 *
 * How each is computed (see the notes beside each builder):
 * - exp, sigmoid, tanh, log, log1p, erf: f32 polynomials (Cephes; Cody and a
 *   fitted one for erf), no per-lane branches; special values by masks.
 * - sin, cos, tan: reduction by pi/2 in f64 (Cody-Waite, exact enough for
 *   |x| < 2^19), f32 polynomials; lanes at or past 2^19 take an exact
 *   Payne-Hanek reduction on 128 bits of 2/pi (scalar, only when some lane
 *   needs it).
 * - pow: log and exp in f64 (relative error ~1e-13 before the final rounding),
 *   integer exponents up to 64 by repeated squaring in f64; JS's rules for
 *   special values.
 * - mod: exact, in f64 (fmod by subtracting multiples of y scaled to 26 bits
 *   below x, then NumPy's sign rule), so it matches the CPU bit for bit.
 *
 * Functions are added to the module on first use (deterministically), with
 * what they call.
 */
import {
  WasmFunction,
  type LaneOp,
  type PlainOp,
  type ValType,
  type WasmModule,
} from "./encode.js";

/** The element functions the renderer can ask for. */
export type WasmMathFn =
  "exp" | "log" | "log1p" | "sin" | "cos" | "tan" | "tanh" | "sigmoid" | "erf" | "pow" | "mod";

/** Every {@link WasmMathFn} (for tests and tables). */
export const WASM_MATH_FNS: readonly WasmMathFn[] = [
  "exp",
  "log",
  "log1p",
  "sin",
  "cos",
  "tan",
  "tanh",
  "sigmoid",
  "erf",
  "pow",
  "mod",
];

/** Functions only called by other math functions. */
type Internal = "trig" | "trig_large";

interface Spec {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  readonly build: (a: Asm, lib: WasmMath) => void;
}

/**
 * Adds f32x4 math functions to `module` on first use: `(v128) -> v128`, and
 * `(v128, v128) -> v128` for pow and mod. Equal use order gives equal bytes.
 */
export class WasmMath {
  private readonly indices = new Map<WasmMathFn | Internal, number>();

  constructor(private readonly module: WasmModule) {}

  /** The function index of `fn`, adding it (and what it calls) to the module the first time. */
  fn(name: WasmMathFn): number {
    return this.get(name);
  }

  /** @internal */
  get(name: WasmMathFn | Internal): number {
    const known = this.indices.get(name);
    if (known !== undefined) return known;
    const spec = SPECS[name];
    const index = this.module.declare(spec.params, spec.results);
    this.indices.set(name, index);
    const f = new WasmFunction(spec.params, spec.results);
    spec.build(new Asm(f), this);
    this.module.define(index, f);
    return index;
  }
}

// ---------------------------------------------------------------- a small assembler

/** An operand: a local's index, or code that pushes one value (a constant). */
type Arg = number | ((f: WasmFunction) => void);

type Suffix<P extends string> = PlainOp extends infer O
  ? O extends `${P}.${infer S}`
    ? S
    : never
  : never;

const VECTOR = /^(i8x16|i16x8|i32x4|i64x2|f32x4|f64x2|v128)\./;
const COMPARE = /^(eqz|eq|ne|lt|gt|le|ge)(_[su])?$/;

/** The type an instruction leaves on the stack. */
function resultType(name: PlainOp): ValType {
  if (VECTOR.test(name)) return /(any_true|all_true|bitmask)$/.test(name) ? "i32" : "v128";
  const [prefix = "", rest = ""] = name.split(".");
  if (COMPARE.test(rest)) return "i32";
  if (prefix === "i32" || prefix === "i64" || prefix === "f32" || prefix === "f64") return prefix;
  throw new Error(`wasm math: no result type for ${name}`);
}

/**
 * Straight-line code in SSA style: every instruction's result goes to a new
 * local (V8 allocates registers across them), so expressions read like the
 * math they compute.
 */
class Asm {
  constructor(readonly f: WasmFunction) {}

  push(...args: readonly Arg[]): void {
    for (const a of args) {
      if (typeof a === "number") this.f.get(a);
      else a(this.f);
    }
  }

  /** Pushes `args`, runs `name`, stores the result in a new local. */
  op(name: PlainOp, ...args: readonly Arg[]): number {
    this.push(...args);
    this.f.op(name);
    return this.save(resultType(name));
  }

  save(type: ValType): number {
    const local = this.f.local(type);
    this.f.set(local);
    return local;
  }

  /** Stores `value` in an existing local (loop-carried and conditionally replaced values). */
  assign(local: number, value: Arg): void {
    this.push(value);
    this.f.set(local);
  }

  lane(name: LaneOp, lane: number, type: ValType, ...args: readonly Arg[]): number {
    this.push(...args);
    this.f.lane(name, lane);
    return this.save(type);
  }

  /** `cond ? a : b` for scalars of `type`. */
  select(type: ValType, a: Arg, b: Arg, cond: Arg): number {
    this.push(a, b, cond);
    this.f.op("select");
    return this.save(type);
  }

  shuffle(a: Arg, b: Arg, lanes: readonly number[]): number {
    this.push(a, b);
    this.f.shuffle(lanes);
    return this.save("v128");
  }

  f4(name: Suffix<"f32x4">, ...args: readonly Arg[]): number {
    return this.op(`f32x4.${name}`, ...args);
  }

  d2(name: Suffix<"f64x2">, ...args: readonly Arg[]): number {
    return this.op(`f64x2.${name}`, ...args);
  }

  i4(name: Suffix<"i32x4">, ...args: readonly Arg[]): number {
    return this.op(`i32x4.${name}`, ...args);
  }

  v(name: Suffix<"v128">, ...args: readonly Arg[]): number {
    return this.op(`v128.${name}`, ...args);
  }

  /** `mask ? a : b`, lane by lane (bits). */
  sel(mask: Arg, a: Arg, b: Arg): number {
    return this.op("v128.bitselect", a, b, mask);
  }

  /** `c[0] x^(k-1) + ... + c[k-1]` by Horner's rule, in f32x4 or f64x2. */
  horner(x: Arg, coeffs: readonly number[], kind: "f32x4" | "f64x2"): number {
    const k = kind === "f32x4" ? F : D;
    const [first, ...rest] = coeffs;
    if (first === undefined) throw new Error("horner: no coefficients");
    let p = this.op(`${kind}.mul`, k(first), x);
    rest.forEach((c, j) => {
      p = this.op(`${kind}.add`, p, k(c));
      if (j < rest.length - 1) p = this.op(`${kind}.mul`, p, x);
    });
    return p;
  }
}

/** f32x4 splat constant. */
const F =
  (c: number): Arg =>
  (f) =>
    f.v128f32([c, c, c, c]);
/** i32x4 splat constant (bits). */
const I =
  (c: number): Arg =>
  (f) =>
    f.v128i32([c, c, c, c]);
/** i64x2 splat constant. */
const L =
  (c: bigint): Arg =>
  (f) => {
    const lo = Number(BigInt.asUintN(32, c));
    const hi = Number(BigInt.asUintN(32, c >> 32n));
    f.v128i32([lo, hi, lo, hi]);
  };
/** f64x2 splat constant. */
const D = (c: number): Arg => {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, c, true);
  return L(dv.getBigUint64(0, true));
};
const i32 =
  (c: number): Arg =>
  (f) =>
    f.i32(c);
const i64 =
  (c: bigint): Arg =>
  (f) =>
    f.i64(c);
const f64 =
  (c: number): Arg =>
  (f) =>
    f.f64(c);

const SIGN = 0x80000000;
const MAGIC32 = 12582912; // 1.5 * 2^23: n + MAGIC32 holds a small integer n in its low bits
const MAGIC32_BITS = 0x4b400000;
const MAGIC = 6755399441055744; // 1.5 * 2^52, the same in f64
const NAN_BITS = 0x7fc00000;
const NAN = I(NAN_BITS);

/** Lanes 2, 3 moved to lanes 0, 1 (for the f64x2 halves of an f32x4). */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** Lanes 0, 1 of the first operand, then lanes 0, 1 of the second. */
const JOIN_LOW = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/** The two f64x2 halves of an f32x4 value. */
function promote(a: Asm, x: Arg): [number, number] {
  const hi = a.shuffle(x, x, HIGH_HALF);
  return [a.d2("promote_low_f32x4", x), a.d2("promote_low_f32x4", hi)];
}

/** An f32x4 from two f64x2 halves, each rounded once. */
function demote(a: Asm, lo: Arg, hi: Arg): number {
  return a.shuffle(
    a.op("f32x4.demote_f64x2_zero", lo),
    a.op("f32x4.demote_f64x2_zero", hi),
    JOIN_LOW,
  );
}

/** The sign bit of `x`'s lanes. */
function signOf(a: Asm, x: Arg): number {
  return a.v("and", x, I(SIGN));
}

// ---------------------------------------------------------------- exp

/** Where an exp argument is known to lie: clamps to apply, and whether 2^n fits one factor. */
interface ExpRange {
  /** Clamp below (where the result is 0 anyway); null if the argument is never below -104. */
  readonly lo: number | null;
  /** Clamp above (where the result is Inf, or its use saturates); null if never above 89. */
  readonly hi: number | null;
  /** The result is normal and finite (2^n built directly, no subnormals or overflow). */
  readonly normal: boolean;
}

const EXP_ANY: ExpRange = { lo: -104, hi: 89, normal: false };

// Cephes expf: x = n ln2 + r with |r| <= ln2/2 (ln2 in two parts, the first
// with 9 bits so that n * C1 is exact), e^r = 1 + r + r^2 P(r), then 2^n: in
// general as two factors, so that 2^-150 .. 2^128 need no special case (the
// last product rounds once, into subnormals or to infinity). Past the clamps
// the result is 0 or Inf anyway; pmin/pmax keep a NaN first operand.
function expBody(a: Asm, x: Arg, range: ExpRange = EXP_ANY): number {
  let xc: Arg = x;
  if (range.lo !== null) xc = a.f4("pmax", xc, F(range.lo));
  if (range.hi !== null) xc = a.f4("pmin", xc, F(range.hi));
  // n = round(x log2 e): adding 1.5 * 2^23 rounds to an integer, held in the low bits
  const t = a.f4("add", a.f4("mul", xc, F(Math.LOG2E)), F(MAGIC32));
  const n = a.f4("sub", t, F(MAGIC32));
  const ni = a.i4("sub", t, I(MAGIC32_BITS));
  const r = a.f4(
    "sub",
    a.f4("sub", xc, a.f4("mul", n, F(0.693359375))),
    a.f4("mul", n, F(-2.1219444e-4)),
  );
  const z = a.f4("mul", r, r);
  const p = a.horner(
    r,
    [
      1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1,
      5.0000001201e-1,
    ],
    "f32x4",
  );
  const e = a.f4("add", a.f4("add", a.f4("mul", p, z), r), F(1));
  // (a multiply, not an add to the exponent bits, so that NaN stays NaN)
  if (range.normal) return a.f4("mul", e, a.i4("shl", a.i4("add", ni, I(127)), i32(23)));
  const h = a.i4("shr_s", ni, i32(1));
  const s1 = a.i4("shl", a.i4("add", h, I(127)), i32(23));
  const s2 = a.i4("shl", a.i4("add", a.i4("sub", ni, h), I(127)), i32(23));
  return a.f4("mul", a.f4("mul", e, s1), s2);
}

// ---------------------------------------------------------------- log

// x = m 2^e with m in [sqrt(1/2), sqrt(2)) (subnormals scaled by 2^23 first),
// then Cephes logf: f = m - 1, log m = f - f^2/2 + f^3 P(f), e ln2 in two parts.
function logBody(a: Asm, x: number): number {
  const sub = a.f4("lt", x, F(2 ** -126));
  const xs = a.sel(sub, a.f4("mul", x, F(2 ** 23)), x);
  const e = a.i4("shr_s", a.i4("sub", xs, I(0x3f3504f3)), i32(23));
  const m = a.i4("sub", xs, a.i4("shl", e, i32(23)));
  const ef = a.f4("convert_i32x4_s", a.i4("sub", e, a.v("and", sub, I(23))));
  const f = a.f4("sub", m, F(1));
  const z = a.f4("mul", f, f);
  const p = a.horner(
    f,
    [
      7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1,
      -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
    ],
    "f32x4",
  );
  let y = a.f4("mul", a.f4("mul", p, f), z);
  y = a.f4("add", y, a.f4("mul", ef, F(-2.1219444e-4)));
  y = a.f4("sub", y, a.f4("mul", z, F(0.5)));
  let r = a.f4("add", f, y);
  r = a.f4("add", r, a.f4("mul", ef, F(0.693359375)));
  // negative and NaN -> NaN; 0 -> -Inf; Inf -> Inf
  r = a.sel(a.f4("ge", x, F(0)), r, NAN);
  r = a.sel(a.f4("eq", x, F(0)), F(-Infinity), r);
  return a.sel(a.f4("eq", x, F(Infinity)), x, r);
}

// log(u) + (x - (u - 1)) / u with u = 1 + x rounded: the quotient is the
// first-order correction for that rounding (0 where it is NaN: u = 0 or Inf).
function log1pBody(a: Asm, x: number): number {
  const u = a.f4("add", x, F(1));
  const c = a.f4("div", a.f4("sub", x, a.f4("sub", u, F(1))), u);
  const cc = a.v("and", c, a.f4("eq", c, c));
  const r = a.f4("add", logBody(a, u), cc);
  // -0 -> -0
  return a.sel(a.f4("eq", x, F(0)), x, r);
}

// ---------------------------------------------------------------- tanh, sigmoid

// Cephes tanhf on |x|: x + x^3 P(x^2) below 0.625 (no cancellation near 0),
// 1 - 2 / (e^2x + 1) above (exp overflow gives 1); then x's sign, so -0 -> -0.
function tanhBody(a: Asm, x: number): number {
  const ax = a.f4("abs", x);
  const z = a.f4("mul", ax, ax);
  const p = a.horner(
    z,
    [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1],
    "f32x4",
  );
  const small = a.f4("add", ax, a.f4("mul", a.f4("mul", ax, z), p));
  // tanh rounds to 1 from |x| = 9.01: clamping 2|x| at 44 keeps e^2|x| normal
  const e = expBody(a, a.f4("add", ax, ax), { lo: null, hi: 44, normal: true });
  const big = a.f4("sub", F(1), a.f4("div", F(2), a.f4("add", e, F(1))));
  const t = a.sel(a.f4("lt", ax, F(0.625)), small, big);
  return a.v("or", t, signOf(a, x));
}

// the CPU's sigmoid: 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below, with
// e = e^-|x| in (0, 1] so that nothing overflows.
function sigmoidBody(a: Asm, x: number): number {
  const e = expBody(a, a.f4("neg", a.f4("abs", x)), { lo: -104, hi: null, normal: false });
  const num = a.sel(a.f4("lt", x, F(0)), e, F(1));
  return a.f4("div", num, a.f4("add", e, F(1)));
}

// ---------------------------------------------------------------- erf

// Below 1: erf x = x + x P(x^2), P fitted (minimax relative error, f32
// coefficients) so that the result is within 1 ulp. From 1 to 4: W. J. Cody's
// rational approximation of erfc (as the CPU's erf) in f32, whose error shrinks
// by erfc/erf <= 0.19 in 1 - erfc. Past 4, erf rounds to +-1. Both regions
// computed, selected by mask.
function erfBody(a: Asm, x: number): number {
  const y = a.f4("abs", x);
  const z = a.f4("mul", y, y);
  const sp = a.horner(
    z,
    [
      7.804245251463726e-5, -7.997346110641956e-4, 5.187131464481354e-3, -2.6853341609239578e-2,
      1.1283578723669052e-1, -3.761262595653534e-1, 1.2837916612625122e-1,
    ],
    "f32x4",
  );
  const small = a.f4("add", y, a.f4("mul", y, sp));
  // 1 <= y < 4 (clamped, so that the polynomials stay finite past 4)
  const ym = a.f4("pmin", y, F(4));
  const mNum = a.horner(
    ym,
    [
      2.15311535474403846e-8, 0.564188496988670089, 8.88314979438837594, 66.1191906371416295,
      298.635138197400131, 881.95222124176909, 1712.04761263407058, 2051.07837782607147,
      1230.33935479799725,
    ],
    "f32x4",
  );
  const mDen = a.f4(
    "add",
    a.f4(
      "mul",
      a.horner(
        ym,
        [
          1, 15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019,
          3290.79923573345963, 4362.61909014324716, 3439.36767414372164,
        ],
        "f32x4",
      ),
      ym,
    ),
    F(1230.33935480374942),
  );
  // erfc(y) = e^(-y^2) num / den; e^(-y^2) in two parts, h with 4 fraction bits
  // (h^2 exact), so that the rounding of y^2 is not amplified
  const h = a.f4("mul", a.f4("trunc", a.f4("mul", ym, F(16))), F(0.0625));
  const d = a.f4("mul", a.f4("sub", ym, h), a.f4("add", ym, h));
  const eh = expBody(a, a.f4("neg", a.f4("mul", h, h)), { lo: null, hi: null, normal: true });
  const ed = expBody(a, a.f4("neg", d), { lo: null, hi: null, normal: true });
  const erfc = a.f4("mul", a.f4("mul", eh, ed), a.f4("div", mNum, mDen));
  const mid = a.f4("add", a.f4("sub", F(0.5), erfc), F(0.5));
  let r = a.sel(a.f4("lt", y, F(1)), small, mid);
  r = a.sel(a.f4("ge", y, F(4)), F(1), r);
  return a.v("or", r, signOf(a, x));
}

// ---------------------------------------------------------------- sin, cos, tan

const TWO_OVER_PI = 2 / Math.PI;
// fdlibm's pio2_1 (33 bits, so n * PIO2_1 is exact for n < 2^20) and pi/2 - pio2_1
const PIO2_1 = 1.57079632673412561417;
const PIO2_1T = 6.07710050650619224932e-11;
/** Lanes from here on take the exact (Payne-Hanek) reduction. */
const TRIG_LARGE = 2 ** 19;

// Note [Trig reduction]
// sin, cos and tan share `trig(x) -> (sin|x|, cos|x|)`. |x| = n pi/2 + r:
// below 2^19, n = round(|x| 2/pi) and r = (|x| - n pio2_1) - n pio2_1t in f64;
// |x| - n pio2_1 is exact and the rest errs by ~2^-66 absolutely, while no f32
// comes within ~2^-30 of a multiple of pi/2, so r is good to f64 precision
// relative. Larger finite lanes go to `trig_large` (only if there are any).
// r is then rounded to f32 (|r| <= pi/4) and Cephes's sinf/cosf polynomials
// give sin r and cos r; n mod 4 picks and negates them.
function buildTrig(a: Asm, lib: WasmMath): void {
  const x = 0;
  const ax = a.f4("abs", x);
  const halves = promote(a, ax).map((d) => {
    // n = round(|x| 2/pi) by adding 1.5 * 2^52: n mod 4 is in the low bits
    const t = a.d2("add", a.d2("mul", d, D(TWO_OVER_PI)), D(MAGIC));
    const n = a.d2("sub", t, D(MAGIC));
    const r = a.d2("sub", a.d2("sub", d, a.d2("mul", n, D(PIO2_1))), a.d2("mul", n, D(PIO2_1T)));
    return { r: a.op("f32x4.demote_f64x2_zero", r), t };
  });
  const [lo, hi] = halves as [(typeof halves)[0], (typeof halves)[0]];
  const r = a.shuffle(lo.r, hi.r, JOIN_LOW);
  // the low 32 bits of each t
  const q = a.shuffle(lo.t, hi.t, [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27]);
  // the exact reduction, lane by lane, where needed
  const big = a.v("and", a.f4("ge", ax, F(TRIG_LARGE)), a.f4("lt", ax, F(Infinity)));
  const large = lib.get("trig_large");
  const lr = a.f.local("f32");
  const lq = a.f.local("i32");
  a.push(big);
  a.f.op("v128.any_true").if();
  for (let j = 0; j < 4; j++) {
    a.push(big);
    a.f.lane("i32x4.extract_lane", j).if();
    a.push(ax);
    a.f.lane("f32x4.extract_lane", j).call(large).set(lq).set(lr);
    a.push(r, lr);
    a.f.lane("f32x4.replace_lane", j).set(r);
    a.push(q, lq);
    a.f.lane("i32x4.replace_lane", j).set(q);
    a.f.op("end");
  }
  a.f.op("end");
  const z = a.f4("mul", r, r);
  const sp = a.horner(z, [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1], "f32x4");
  const s = a.f4("add", r, a.f4("mul", a.f4("mul", r, z), sp));
  const cp = a.horner(
    z,
    [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2],
    "f32x4",
  );
  const c = a.f4(
    "add",
    a.f4("sub", a.f4("mul", a.f4("mul", cp, z), z), a.f4("mul", z, F(0.5))),
    F(1),
  );
  // n odd swaps sin and cos; sin is negated for n mod 4 in {2, 3}, cos for {1, 2}
  const swap = a.i4("eq", a.v("and", q, I(1)), I(1));
  const sNeg = a.i4("shl", a.i4("shr_u", q, i32(1)), i32(31));
  const cNeg = a.i4("shl", a.i4("shr_u", a.i4("add", q, I(1)), i32(1)), i32(31));
  a.push(a.v("xor", a.sel(swap, c, s), sNeg), a.v("xor", a.sel(swap, s, c), cNeg));
}

// 2/pi = 0.A2F9836E4E441529FC2757D1F534DDC0DB6295993C439041FE5163ABDEBBC5..., as
// bits T[8..] of four words (T[0..7] = 0, for exponents below the first bit).
const TWO_OVER_PI_WORDS = [
  0x00a2f9836e4e4415n,
  0x29fc2757d1f534ddn,
  0xc0db6295993c4390n,
  0x41fe5163abdebbc5n,
];

// Note [Payne-Hanek]
// |x| = M 2^E with M < 2^24 an integer. |x| 2/pi mod 4 only needs the bits
// b_k of 2/pi with k >= E - 1 (the earlier ones give multiples of 4). With W,
// W2 the 128 bits from b_(E-1) on, M W mod 2^64 plus the carry of M W2 is |x|
// 2/pi mod 4 in 2.62 fixed point, and M W2 mod 2^64 the next 64 bits (the
// truncated tail errs by < 2^-100). Rounding to the nearest quadrant q leaves
// the fraction, converted to f64 and scaled by pi/2. (f32 |x|) -> (f32 r, i32 q).
function buildTrigLarge(a: Asm): void {
  const bits = a.op("i32.reinterpret_f32", 0);
  const mant = a.op(
    "i64.extend_i32_u",
    a.op("i32.or", a.op("i32.and", bits, i32(0x7fffff)), i32(0x800000)),
  );
  // window start in T: b_k is T[k + 7], and k = E - 1 = biased exponent - 151
  const start = a.op("i32.sub", a.op("i32.shr_u", bits, i32(23)), i32(144));
  const word = (j: number): number =>
    a.select(
      "i64",
      i64(TWO_OVER_PI_WORDS[0]!),
      a.select(
        "i64",
        i64(TWO_OVER_PI_WORDS[1]!),
        a.select(
          "i64",
          i64(TWO_OVER_PI_WORDS[2]!),
          i64(TWO_OVER_PI_WORDS[3]!),
          a.op("i32.eq", j, i32(2)),
        ),
        a.op("i32.eq", j, i32(1)),
      ),
      a.op("i32.eqz", j),
    );
  const window = (at: number): number => {
    const j = a.op("i32.shr_u", at, i32(6));
    const s = a.op("i64.extend_i32_u", a.op("i32.and", at, i32(63)));
    const head = a.op("i64.shl", word(j), s);
    const tail = a.op("i64.shr_u", word(a.op("i32.add", j, i32(1))), a.op("i64.sub", i64(64n), s));
    return a.select("i64", head, a.op("i64.or", head, tail), a.op("i64.eqz", s));
  };
  const w = window(start);
  const w2 = window(a.op("i32.add", start, i32(64)));
  const mid = a.op(
    "i64.add",
    a.op("i64.mul", mant, a.op("i64.shr_u", w2, i64(32n))),
    a.op("i64.shr_u", a.op("i64.mul", mant, a.op("i64.and", w2, i64(0xffffffffn))), i64(32n)),
  );
  const hi = a.op("i64.add", a.op("i64.mul", mant, w), a.op("i64.shr_u", mid, i64(32n)));
  const lo = a.op("i64.mul", mant, w2);
  const rounded = a.op("i64.add", hi, i64(1n << 61n));
  const q = a.op("i32.wrap_i64", a.op("i64.shr_u", rounded, i64(62n)));
  const frac = a.op("i64.sub", a.op("i64.and", rounded, i64((1n << 62n) - 1n)), i64(1n << 61n));
  const f = a.op(
    "f64.add",
    a.op("f64.mul", a.op("f64.convert_i64_s", frac), f64(2 ** -62)),
    a.op("f64.mul", a.op("f64.convert_i64_s", a.op("i64.shr_u", lo, i64(11n))), f64(2 ** -115)),
  );
  a.push(a.op("f32.demote_f64", a.op("f64.mul", f, f64(Math.PI / 2))), q);
}

function buildSinCosTan(fn: "sin" | "cos" | "tan"): (a: Asm, lib: WasmMath) => void {
  return (a, lib) => {
    a.push(0);
    a.f.call(lib.get("trig"));
    const c = a.save("v128");
    const s = a.save("v128");
    // sin and tan are odd, cos is even
    if (fn === "cos") a.push(c);
    else a.push(a.v("xor", fn === "sin" ? s : a.f4("div", s, c), signOf(a, 0)));
  };
}

// ---------------------------------------------------------------- pow

const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;

// JS's Math.pow: |x|^y = e^(y ln|x|) in f64, or by repeated squaring in f64 for
// integer |y| <= 64 (x^2 and x^3 exact before the final rounding, like the
// CPU); each path runs only if some lane needs it. Then the sign (negative x,
// odd integer y) and the special rules: y = 0 -> 1 (even for NaN x), negative
// finite x with non-integer y -> NaN, (+-1)^(+-Inf) = NaN (from 0 * Inf).
function buildPow(a: Asm): void {
  const x = 0;
  const y = 1;
  const ax = a.f4("abs", x);
  const ay = a.f4("abs", y);
  const whole = a.f4("eq", a.f4("floor", ay), ay);
  const small = a.v("and", whole, a.f4("le", ay, F(64)));
  // (saturates to an odd 2^31 - 1 from 2^31 on: only read below 2^24)
  const yi = a.i4("trunc_sat_f32x4_s", ay);
  const odd = a.v(
    "and",
    a.v("and", whole, a.f4("lt", ay, F(2 ** 24))),
    a.i4("eq", a.v("and", yi, I(1)), I(1)),
  );
  // ax = m 2^e with m in [sqrt(1/2), sqrt(2)), as in log
  const sub = a.f4("lt", ax, F(2 ** -126));
  const xs = a.sel(sub, a.f4("mul", ax, F(2 ** 23)), ax);
  const ei = a.i4("shr_s", a.i4("sub", xs, I(0x3f3504f3)), i32(23));
  const m = a.i4("sub", xs, a.i4("shl", ei, i32(23)));
  const e = a.i4("sub", ei, a.v("and", sub, I(23)));
  const md = promote(a, m);
  const axd = promote(a, ax);
  const yd = promote(a, y);
  const ed = [
    a.d2("convert_low_i32x4_s", e),
    a.d2("convert_low_i32x4_s", a.shuffle(e, e, HIGH_HALF)),
  ];
  const general = [a.f.local("v128"), a.f.local("v128")];
  const integral = [a.f.local("v128"), a.f.local("v128")];

  a.push(a.v("not", small));
  a.f.op("v128.any_true").if();
  for (let h = 0; h < 2; h++) {
    const mh = md[h]!;
    const s = a.d2("div", a.d2("sub", mh, D(1)), a.d2("add", mh, D(1)));
    const s2 = a.d2("mul", s, s);
    const t2 = a.d2("add", s, s);
    // log m = 2 atanh s = 2 (s + s^3/3 + ... + s^15/15), |s| <= 0.172
    const p = a.horner(s2, [1 / 15, 1 / 13, 1 / 11, 1 / 9, 1 / 7, 1 / 5, 1 / 3], "f64x2");
    let ln = a.d2(
      "add",
      a.d2("mul", ed[h]!, D(Math.LN2)),
      a.d2("add", t2, a.d2("mul", a.d2("mul", t2, s2), p)),
    );
    // log 0 = -Inf, log Inf = Inf, log NaN = NaN
    const axh = axd[h]!;
    const finite = a.v("and", a.d2("gt", axh, D(0)), a.d2("lt", axh, D(Infinity)));
    ln = a.sel(finite, ln, a.sel(a.d2("eq", axh, D(0)), D(-Infinity), axh));
    // e^t, t clamped to where the f32 result is 0 or Inf anyway; NaN passes
    const t = a.d2("pmin", a.d2("pmax", a.d2("mul", yd[h]!, ln), D(-120)), D(100));
    const tn = a.d2("add", a.d2("mul", t, D(Math.LOG2E)), D(MAGIC));
    const n = a.d2("sub", tn, D(MAGIC));
    const r = a.d2("sub", a.d2("sub", t, a.d2("mul", n, D(LN2_HI))), a.d2("mul", n, D(LN2_LO)));
    const factorials = [1];
    for (let k = 1; k <= 11; k++) factorials.push(factorials[k - 1]! * k);
    const er = a.horner(
      r,
      factorials.map((_, k) => 1 / factorials[11 - k]!),
      "f64x2",
    );
    const scale = a.op("i64x2.shl", a.op("i64x2.add", tn, L(1023n - 0x4338000000000000n)), i32(52));
    a.assign(general[h]!, a.d2("mul", er, scale));
  }
  a.f.op("end");

  a.push(small);
  a.f.op("v128.any_true").if();
  for (let h = 0; h < 2; h++) {
    // each lane's exponent in both halves of its 64-bit lane
    const yh = a.shuffle(
      yi,
      yi,
      h === 0
        ? [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7]
        : [8, 9, 10, 11, 8, 9, 10, 11, 12, 13, 14, 15, 12, 13, 14, 15],
    );
    let acc: Arg = D(1);
    let base: Arg = axd[h]!;
    for (let k = 0; k <= 6; k++) {
      const bit = a.i4("ne", a.v("and", yh, I(1 << k)), I(0));
      acc = a.sel(bit, a.d2("mul", acc, base), acc);
      if (k < 6) base = a.d2("mul", base, base);
    }
    const inv = a.d2("div", D(1), acc);
    a.assign(integral[h]!, a.sel(a.d2("lt", yd[h]!, D(0)), inv, acc));
  }
  a.f.op("end");

  const mag = demote(a, general[0]!, general[1]!);
  const magInt = demote(a, integral[0]!, integral[1]!);
  let res = a.sel(small, magInt, mag);
  res = a.v("xor", res, a.v("and", a.v("and", odd, a.i4("lt_s", x, I(0))), I(SIGN)));
  const negFinite = a.v("and", a.f4("lt", x, F(0)), a.f4("gt", x, F(-Infinity)));
  res = a.sel(a.v("andnot", negFinite, whole), NAN, res);
  a.push(a.sel(a.f4("eq", y, F(0)), F(1), res));
}

// ---------------------------------------------------------------- mod

const F64_EXP = 0x7ff0000000000000n;
const F64_MANT = 0x000fffffffffffffn;

// Note [Exact floor-mod]
// The CPU computes r = x % y (exact), then r + y in f64 where the signs differ.
// In f64 (where every f32 is normal): while |x| >= |y|, let Y be |y| scaled by
// a power of two to 26 binades below |x| (or |y| itself if that is larger),
// q = trunc(|x| / Y) < 2^27 (so q Y is exact), |x| -= q Y (exact by Sterbenz),
// plus Y if the quotient was rounded up. Each round removes >= 25 binades, so
// at most 12 rounds for f32 inputs. Lanes that are done keep their value.
function buildMod(a: Asm): void {
  const x = 0;
  const y = 1;
  // NaN, infinite x or zero y: NaN (their lanes run as 0 mod 1)
  const bad = a.v(
    "or",
    a.v("not", a.f4("lt", a.f4("abs", x), F(Infinity))),
    a.v("not", a.f4("gt", a.f4("abs", y), F(0))),
  );
  const ax32 = a.v("andnot", a.f4("abs", x), bad);
  const ay32 = a.sel(bad, F(1), a.f4("abs", y));
  const ax = promote(a, ax32);
  const ay = promote(a, ay32);
  const xd = promote(a, x);
  const yd = promote(a, y);

  a.f.block().loop();
  const active = [a.d2("ge", ax[0]!, ay[0]!), a.d2("ge", ax[1]!, ay[1]!)];
  a.push(a.v("or", active[0]!, active[1]!));
  a.f.op("v128.any_true").op("i32.eqz").brIf(1);
  for (let h = 0; h < 2; h++) {
    const axh = ax[h]!;
    const ayh = ay[h]!;
    const cand = a.op(
      "i64x2.sub",
      a.op("i64x2.add", a.v("and", ayh, L(F64_MANT)), a.v("and", axh, L(F64_EXP))),
      L(26n << 52n),
    );
    const big = a.d2("max", ayh, cand);
    const q = a.d2("trunc", a.d2("div", axh, big));
    const r = a.d2("sub", axh, a.d2("mul", q, big));
    const fixed = a.d2("add", r, a.v("and", a.d2("lt", r, D(0)), big));
    a.assign(axh, a.sel(active[h]!, fixed, axh));
  }
  a.f.br(0).op("end").op("end");

  const half = (h: number): number => {
    const yh = yd[h]!;
    const fm = a.v("or", ax[h]!, a.v("and", xd[h]!, L(1n << 63n)));
    const flip = a.v("xor", a.d2("lt", fm, D(0)), a.d2("lt", yh, D(0)));
    const res = a.sel(flip, a.d2("add", fm, yh), fm);
    return a.sel(a.d2("eq", fm, D(0)), a.v("and", yh, L(1n << 63n)), res);
  };
  const lo = half(0);
  const hi = half(1);
  a.push(a.sel(bad, NAN, demote(a, lo, hi)));
}

// ---------------------------------------------------------------- the table

const unary =
  (body: (a: Asm, x: number) => number): Spec["build"] =>
  (a) =>
    a.push(body(a, 0));

const V1: Pick<Spec, "params" | "results"> = { params: ["v128"], results: ["v128"] };
const V2: Pick<Spec, "params" | "results"> = { params: ["v128", "v128"], results: ["v128"] };

const SPECS: Readonly<Record<WasmMathFn | Internal, Spec>> = {
  exp: { ...V1, build: unary(expBody) },
  log: { ...V1, build: unary(logBody) },
  log1p: { ...V1, build: unary(log1pBody) },
  sin: { ...V1, build: buildSinCosTan("sin") },
  cos: { ...V1, build: buildSinCosTan("cos") },
  tan: { ...V1, build: buildSinCosTan("tan") },
  tanh: { ...V1, build: unary(tanhBody) },
  sigmoid: { ...V1, build: unary(sigmoidBody) },
  erf: { ...V1, build: unary(erfBody) },
  pow: { ...V2, build: buildPow },
  mod: { ...V2, build: buildMod },
  trig: { params: ["v128"], results: ["v128", "v128"], build: buildTrig },
  trig_large: { params: ["f32"], results: ["f32", "i32"], build: buildTrigLarge },
};
