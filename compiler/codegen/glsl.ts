/**
 * The GLSL renderer: prints one kernel of the kernel IR as GLSL ES 3.00
 * fragment shaders for WebGL2, one per draw pass (see docs/webgl2.md).
 *
 * Conventions shared with the WebGL2 runtime (`runtime/backends/webgl2.ts`;
 * the types are `GlslKernelSource` and `GL_ROW` in `runtime/plan.ts`):
 *
 * - Every buffer is a 2-D texture `GL_ROW` texels wide: element j is texel
 *   `(j % GL_ROW, j / GL_ROW)`. `f32` is R32F; `i32` and `bool` (0/1) are R32I.
 * - Read slot k is the uniform `buf<k>` (`sampler2D` or `isampler2D`), read
 *   through a helper `ld<k>(j)`. Every read slot is declared; one a pass does
 *   not use is optimized away by the driver (the runtime skips its null
 *   location).
 * - The size symbols are `uniform ivec4 syms[S]`, `S = max(1, ceil(symbols / 4))`;
 *   symbol k is `syms[k / 4]`, component `k % 4`.
 * - A pass writes the slots listed in its `outputs`, output j at
 *   `layout(location = j)` as `out<slot>` (`float`, or `int` for i32 and bool).
 * - One fragment per output element: `i = y * GL_ROW + x` of the fragment,
 *   discarded when `i >= size`.
 *
 * The kernel is first rewritten for fragments (`compiler/kernel/fragments.ts`):
 * reductions become serial loops, matrix products serial sums over k, and the
 * stores are split into passes of at most {@link MAX_PASS_OUTPUTS} outputs.
 * So this file prints map and serial reduce kernels only.
 *
 * Every value has the semantics of the CPU reference (`ts.ts`), up to f32
 * rounding, like the WGSL renderer's (see the Notes in `cstyle.ts`): the
 * helpers are the WGSL helpers in GLSL; integer division and remainder go
 * through unsigned arithmetic where GLSL leaves signed operands undefined
 * (negative `%`, division by zero, the smallest int divided by -1); and
 * builtins that GLSL leaves undefined or rough are helpers too (Note [GLSL
 * builtins]). docs/webgl2.md, "Exactness", lists what still differs.
 */
import { GL_ROW, type GlslKernelSource, type GlslPass } from "../../runtime/plan.js";
import type { DType } from "../core/dtype.js";
import { assertNever, invariant } from "../diagnostics/diagnostic.js";
import { forFragments } from "../kernel/fragments.js";
import type { Kernel } from "../kernel/kernelIr.js";
import { Code, mapBody, Printer, serialReduceBody, type Dialect, type Helper } from "./cstyle.js";

/** Outputs per pass: WebGL2's guaranteed minimum of `MAX_DRAW_BUFFERS`. */
export const MAX_PASS_OUTPUTS = 4;

/** The first lines of every pass. */
export const GLSL_HEADER = [
  "#version 300 es",
  "precision highp float;",
  "precision highp int;",
  "precision highp sampler2D;",
  "precision highp isampler2D;",
].join("\n");

/** Renders `kernel` as the fragment shaders of its passes, with the access of each slot. */
export function renderGlsl(kernel: Kernel): GlslKernelSource {
  return {
    access: kernel.bindings.map((b) => b.access),
    passes: forFragments(kernel, MAX_PASS_OUTPUTS).map(renderPass),
  };
}

/** One pass: a kernel of at most {@link MAX_PASS_OUTPUTS} stores, as a complete fragment shader. */
function renderPass(k: Kernel): GlslPass {
  const outputs = k.stores.map((s) => s.slot);
  invariant(
    outputs.length >= 1 && outputs.length <= MAX_PASS_OUTPUTS,
    `glsl: a pass with ${outputs.length} outputs`,
  );
  invariant(new Set(outputs).size === outputs.length, "glsl: a slot stored twice");
  const p = new Printer(k, GLSL);
  const code = new Code();
  code.line(`int i = int(gl_FragCoord.y) * ${GL_ROW} + int(gl_FragCoord.x);`);
  code.line(`int size = ${p.expr(code, k.size)};`);
  code.open("if (i >= size)");
  code.line("discard;");
  code.close();
  let fns: string[] = [];
  switch (k.kind) {
    case "map":
      mapBody(p, code, k);
      break;
    case "reduce":
      invariant(k.schedule.kind === "serial", "glsl: a tree reduction reached the printer");
      fns = serialReduceBody(p, code, k);
      break;
    case "matmul":
      invariant(false, "glsl: a matrix product reached the printer");
      break;
    default:
      return assertNever(k, "kernel kind");
  }
  const main = code.fn("void main()");
  const parts = [
    GLSL_HEADER,
    declarations(k, outputs),
    ...p.loadedSlots().map((slot) => loader(slot, k.bindings[slot]!.dtype)),
    ...p.helperSources(),
    ...fns,
    main,
  ];
  return { code: parts.join("\n\n") + "\n", outputs };
}

// ---------------------------------------------------------------- declarations

/** The samplers of the read slots, the size symbols, and the outputs in location order. */
function declarations(k: Kernel, outputs: readonly number[]): string {
  const lines: string[] = [];
  k.bindings.forEach((b, slot) => {
    if (b.access === "read")
      lines.push(`uniform highp ${b.dtype === "f32" ? "sampler2D" : "isampler2D"} buf${slot};`);
  });
  lines.push(`uniform highp ivec4 syms[${Math.max(1, Math.ceil(k.symbols / 4))}];`);
  outputs.forEach((slot, location) => {
    const b = k.bindings[slot];
    invariant(b !== undefined && b.access === "write", `glsl: store to slot ${slot}`);
    const type = b.dtype === "f32" ? "float" : "int";
    lines.push(`layout(location = ${location}) out highp ${type} out${slot};`);
  });
  return lines.join("\n");
}

const ROW_MASK = GL_ROW - 1;
const ROW_SHIFT = Math.log2(GL_ROW);
invariant(Number.isInteger(ROW_SHIFT), "glsl: GL_ROW must be a power of two");

/** `ld<slot>(j)`: element j of read slot `slot` (texel `(j % GL_ROW, j / GL_ROW)`). */
function loader(slot: number, dtype: DType): string {
  const texel = `texelFetch(buf${slot}, ivec2(j & ${ROW_MASK}, j >> ${ROW_SHIFT}), 0).x`;
  const value = dtype === "bool" ? `${texel} != 0` : texel;
  return `${glslType(dtype)} ld${slot}(int j) {\n  return ${value};\n}`;
}

// ---------------------------------------------------------------- helpers

// Note [GLSL builtins]
// GLSL ES 3.00 leaves log(x) undefined for x <= 0 and sqrt(x) for x < 0, need
// not propagate NaN, and lets sin and cos be rough: SwiftShader (WebGL2's
// software renderer) returns log |x| for negative x and an infinite exp(NaN),
// and computes sin and cos with an absolute error up to 2e-4 (Vulkan allows
// 2^-11). So these builtins are printed as helpers with the CPU reference's
// special cases (NaN, -inf, -0), and sin, cos and tan reduce their argument
// themselves and evaluate Cephes' polynomials, to a few ulp up to |x| = 8192
// (beyond, the builtin: the reduction is no longer exact there).

const NAN = "f32_bits(0x7fc00000u)";
const INF = "f32_bits(0x7f800000u)";

/** Source of every helper: the WGSL helpers (wgsl.ts) in GLSL ES 3.00; each is pure. */
const HELPERS: Readonly<Record<Helper, string>> = {
  // NaN, infinities and -0 as run-time values (see Note [Literals are not constant expressions])
  f32_bits: `float f32_bits(uint x) {
  return uintBitsToFloat(x);
}`,
  // on the bits, so that no fast-math assumption can fold it away
  is_nan: `bool is_nan(float x) {
  return (floatBitsToUint(x) & 0x7fffffffu) > 0x7f800000u;
}`,
  is_inf: `bool is_inf(float x) {
  return (floatBitsToUint(x) & 0x7fffffffu) == 0x7f800000u;
}`,
  // the counter-based hash of the random op, in uint wrapping arithmetic
  mix32: `uint mix32(uint x0) {
  uint x = x0;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}`,
  // uint(int) keeps the bits
  random_key: `uint random_key(int seed, uint salt) {
  return mix32(mix32(uint(seed) ^ 0x9e3779b9u) ^ salt);
}`,
  // 2^-24: the top 24 bits of a draw make an exact float in [0, 1)
  random_uniform: `float random_uniform(int seed, uint salt, int counter) {
  uint key = random_key(seed, salt);
  return float(mix32(key + uint(counter)) >> 8u) * 5.9604644775390625e-8;
}`,
  random_normal: `float random_normal(int seed, uint salt, int counter) {
  uint key = random_key(seed, salt);
  uint c = uint(counter) * 2u;
  float u1 = (float(mix32(key + c) >> 8u) + 1.0) * 5.9604644775390625e-8;
  float u2 = float(mix32(key + c + 1u) >> 8u) * 5.9604644775390625e-8;
  // log(u1) as log1p(u1 - 1) (u1 - 1 is exact): near u1 = 1 the builtin log's
  // absolute error, which GLSL ES allows, would swamp the small result
  return sqrt(-2.0 * log1p_f32(u1 - 1.0)) * cos_f32(6.283185307179586 * u2);
}`,
  // Math.exp: NaN stays NaN
  exp_f32: `float exp_f32(float x) {
  if (is_nan(x)) {
    return x;
  }
  return exp(x);
}`,
  // Math.log: NaN below 0, -inf at 0 (GLSL's log is undefined for x <= 0)
  log_f32: `float log_f32(float x) {
  if (x < 0.0 || is_nan(x)) {
    return ${NAN};
  }
  if (x == 0.0) {
    return -${INF};
  }
  return log(x);
}`,
  // Math.sqrt: NaN below 0 (GLSL's sqrt is undefined there); sqrt(-0) = -0
  sqrt_f32: `float sqrt_f32(float x) {
  if (x < 0.0) {
    return ${NAN};
  }
  return sqrt(x);
}`,
  // sin(|x| + k pi/2) for |x| <= 8192, after Cephes' sinf and cosf: |x| = y pi/4
  // + z with y even and |z| <= pi/4 (pi/4 in three parts, the first two exact
  // in f32 products), then a minimax polynomial of sin or cos on z
  sin_turn: `float sin_turn(float ax, int k) {
  int j = int(ax * 1.2732395447351628);
  float y = float(j);
  if ((j & 1) == 1) {
    j = j + 1;
    y = y + 1.0;
  }
  float z = ((ax - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8;
  int q = ((j >> 1) + k) & 3;
  float zz = z * z;
  float r;
  if ((q & 1) == 0) {
    r = ((-1.9515295891e-4 * zz + 8.3321608736e-3) * zz - 1.6666654611e-1) * zz * z + z;
  } else {
    r = ((2.443315711809948e-5 * zz - 1.388731625493765e-3) * zz + 4.166664568298827e-2) * zz * zz - 0.5 * zz + 1.0;
  }
  return (q >= 2 ? -r : r);
}`,
  // Math.sin to a few ulp up to |x| = 8192 (the builtin beyond), sin(-0) = -0
  sin_f32: `float sin_f32(float x) {
  if (is_nan(x) || is_inf(x)) {
    return ${NAN};
  }
  float ax = abs(x);
  if (ax > 8192.0) {
    return sin(x);
  }
  float s = sin_turn(ax, 0);
  return ((floatBitsToUint(x) >> 31u) == 1u ? -s : s);
}`,
  cos_f32: `float cos_f32(float x) {
  if (is_nan(x) || is_inf(x)) {
    return ${NAN};
  }
  float ax = abs(x);
  if (ax > 8192.0) {
    return cos(x);
  }
  return sin_turn(ax, 1);
}`,
  tan_f32: `float tan_f32(float x) {
  if (is_nan(x) || is_inf(x)) {
    return ${NAN};
  }
  float ax = abs(x);
  if (ax > 8192.0) {
    return tan(x);
  }
  float t = sin_turn(ax, 0) / sin_turn(ax, 1);
  return ((floatBitsToUint(x) >> 31u) == 1u ? -t : t);
}`,
  // W. J. Cody's rational approximations (as in ts.ts), evaluated in f32; past
  // |x| = 4, erfc(x) < 2^-26 and erf rounds to +-1 in f32
  erf_f32: `float erf_f32(float x) {
  float y = abs(x);
  if (y <= 0.46875) {
    float z = y * y;
    float num = 0.185777706184603153 * z;
    float den = z;
    num = (num + 3.1611237438705656) * z;
    den = (den + 23.6012909523441209) * z;
    num = (num + 113.864154151050156) * z;
    den = (den + 244.024637934444173) * z;
    num = (num + 377.485237685302021) * z;
    den = (den + 1282.61652607737228) * z;
    return x * (num + 3209.37758913846947) / (den + 2844.23683343917062);
  }
  if (is_nan(x)) {
    return x;
  }
  if (y >= 4.0) {
    return (x < 0.0 ? -1.0 : 1.0);
  }
  float num = 2.15311535474403846e-8 * y;
  float den = y;
  num = (num + 0.564188496988670089) * y;
  den = (den + 15.7449261107098347) * y;
  num = (num + 8.88314979438837594) * y;
  den = (den + 117.693950891312499) * y;
  num = (num + 66.1191906371416295) * y;
  den = (den + 537.181101862009858) * y;
  num = (num + 298.635138197400131) * y;
  den = (den + 1621.38957456669019) * y;
  num = (num + 881.95222124176909) * y;
  den = (den + 3290.79923573345963) * y;
  num = (num + 1712.04761263407058) * y;
  den = (den + 4362.61909014324716) * y;
  num = (num + 2051.07837782607147) * y;
  den = (den + 3439.36767414372164) * y;
  float r = (num + 1230.33935479799725) / (den + 1230.33935480374942);
  // exp(-y*y) in two parts, so the rounding error of y*y is not amplified
  float h = trunc(y * 16.0) / 16.0;
  float d = (y - h) * (y + h);
  r = exp(-h * h) * exp(-d) * r;
  float e = 0.5 - r + 0.5;
  return (x < 0.0 ? -e : e);
}`,
  // branch on the sign so that exp never overflows
  sigmoid_f32: `float sigmoid_f32(float x) {
  if (x >= 0.0) {
    return 1.0 / (1.0 + exp(-x));
  }
  float e = exp(x);
  return e / (1.0 + e);
}`,
  // the Taylor series near 0 (where 1 - 2 / (e^2y + 1) cancels), |x| clamped
  // to 15 elsewhere so that exp stays finite (f32 tanh is +-1 long before)
  tanh_f32: `float tanh_f32(float x) {
  if (is_nan(x)) {
    return x;
  }
  float y = abs(x);
  if (y < 0.55) {
    float z = x * x;
    float p = 0.000590027426;
    p = p * z - 0.00145583437;
    p = p * z + 0.00359212793;
    p = p * z - 0.00886323582;
    p = p * z + 0.0218694881;
    p = p * z - 0.0539682545;
    p = p * z + 0.133333340;
    p = p * z - 0.333333343;
    return x + x * (z * p);
  }
  float t = 1.0 - 2.0 / (exp(2.0 * min(y, 15.0)) + 1.0);
  return (x < 0.0 ? -t : t);
}`,
  // small |x|: 2 atanh(s) with s = x / (2 + x) as a series; elsewhere log(1 + x)
  // with the rounding of 1 + x corrected
  log1p_f32: `float log1p_f32(float x) {
  if (abs(x) < 0.25) {
    float s = 2.0 * (x / (2.0 + x));
    float z = 0.25 * s * s;
    return s + s * z * (0.333333333 + z * (0.2 + z * (0.142857143 + z * 0.111111111)));
  }
  float u = 1.0 + x;
  float d = u - 1.0;
  if (d == x) {
    return log_f32(u);
  }
  return log_f32(u) * (x / d);
}`,
  // Math.sign: zeros and NaN are returned unchanged
  sign_f32: `float sign_f32(float x) {
  if (x == 0.0 || is_nan(x)) {
    return x;
  }
  return (x > 0.0 ? 1.0 : -1.0);
}`,
  // Math.max: NaN if either is NaN, max(-0, 0) = 0. Equal values with
  // different bits are zeros, or subnormals on a device that reads them as
  // zero (SwiftShader): the one with the sign bit clear, which is the CPU's
  // answer in both cases
  max_f32: `float max_f32(float a, float b) {
  if (is_nan(a) || is_nan(b)) {
    return ${NAN};
  }
  if (a == b) {
    return ((floatBitsToUint(a) >> 31u) == 0u ? a : b);
  }
  return (a > b ? a : b);
}`,
  // Math.min: NaN if either is NaN, min(-0, 0) = -0 (equal values: the one
  // with the sign bit set, as in max_f32)
  min_f32: `float min_f32(float a, float b) {
  if (is_nan(a) || is_nan(b)) {
    return ${NAN};
  }
  if (a == b) {
    return ((floatBitsToUint(a) >> 31u) == 1u ? a : b);
  }
  return (a < b ? a : b);
}`,
  // Math.pow (GLSL's pow is undefined for x < 0 and for x = 0, y <= 0):
  // integer exponents of negative bases, 0^0 = 1, 0^-y = inf, (+-1)^inf = NaN;
  // small integer exponents by repeated squaring (up to 64), which is exact
  // where the CPU is (x^2, x^-1)
  pow_f32: `float pow_f32(float x, float y) {
  if (y == 0.0) {
    return 1.0;
  }
  if (is_nan(x) || is_nan(y)) {
    return ${NAN};
  }
  float ax = abs(x);
  if (is_inf(y)) {
    if (ax == 1.0) {
      return ${NAN};
    }
    return ((ax > 1.0) == (y > 0.0) ? ${INF} : 0.0);
  }
  float ay = abs(y);
  bool whole = floor(ay) == ay;
  if (x < 0.0 && !whole) {
    return ${NAN};
  }
  // every f32 of magnitude 2^24 or more is an even integer
  bool odd = whole && ay < 16777216.0 && (int(ay) & 1) == 1;
  float r = 1.0;
  if (ax == 0.0) {
    r = (y > 0.0 ? 0.0 : ${INF});
  } else if (is_inf(ax)) {
    r = (y > 0.0 ? ${INF} : 0.0);
  } else if (whole && ay <= 64.0) {
    float base = ax;
    for (uint e = uint(ay); e != 0u; e = e >> 1u) {
      if ((e & 1u) == 1u) {
        r = r * base;
      }
      base = base * base;
    }
    if (y < 0.0) {
      r = 1.0 / r;
    }
  } else {
    r = pow(ax, y);
  }
  bool negative = (floatBitsToUint(x) >> 31u) == 1u;
  return (odd && negative ? -r : r);
}`,
  // C's fmodf (JS's %) on the bits, exact, after musl: shift-and-subtract
  // long division of the significands, one step per binade of the quotient.
  // NaN, infinite x and zero y are the caller's.
  fmod_f32: `float fmod_f32(float x, float y) {
  uint ux = floatBitsToUint(x);
  uint uy = floatBitsToUint(y);
  int ex = int((ux >> 23u) & 0xffu);
  int ey = int((uy >> 23u) & 0xffu);
  uint sx = ux & 0x80000000u;
  if ((ux << 1u) <= (uy << 1u)) {
    if ((ux << 1u) == (uy << 1u)) {
      return uintBitsToFloat(sx);
    }
    return x;
  }
  // significands with the implicit bit; subnormals normalized
  if (ex == 0) {
    for (uint q = ux << 9u; (q >> 31u) == 0u; q = q << 1u) {
      ex = ex - 1;
    }
    ux = ux << uint(1 - ex);
  } else {
    ux = (ux & 0x7fffffu) | 0x800000u;
  }
  if (ey == 0) {
    for (uint q = uy << 9u; (q >> 31u) == 0u; q = q << 1u) {
      ey = ey - 1;
    }
    uy = uy << uint(1 - ey);
  } else {
    uy = (uy & 0x7fffffu) | 0x800000u;
  }
  for (; ex > ey; ex = ex - 1) {
    uint q = ux - uy;
    if ((q >> 31u) == 0u) {
      if (q == 0u) {
        return uintBitsToFloat(sx);
      }
      ux = q;
    }
    ux = ux << 1u;
  }
  uint q = ux - uy;
  if ((q >> 31u) == 0u) {
    if (q == 0u) {
      return uintBitsToFloat(sx);
    }
    ux = q;
  }
  for (; (ux >> 23u) == 0u; ux = ux << 1u) {
    ex = ex - 1;
  }
  if (ex > 0) {
    ux = (ux - 0x800000u) | (uint(ex) << 23u);
  } else {
    ux = ux >> uint(1 - ex);
  }
  return uintBitsToFloat(ux | sx);
}`,
  // NumPy's mod: the result takes the sign of the divisor (x mod 0 is NaN)
  mod_f32: `float mod_f32(float x, float y) {
  if (is_nan(x) || is_nan(y) || is_inf(x) || y == 0.0) {
    return ${NAN};
  }
  float r = x;
  if (!is_inf(y)) {
    r = fmod_f32(x, y);
  }
  if (r == 0.0) {
    return (y < 0.0 ? f32_bits(0x80000000u) : 0.0);
  }
  if ((r < 0.0) != (y < 0.0)) {
    r = r + y;
  }
  return r;
}`,
  // Math.pow of int32 values converted back to int32 like the CPU's store:
  // wrapping, exact while the power is below 2^53 (the CPU's double rounds
  // from there); negative exponents give fractions, which truncate
  pow_i32: `int pow_i32(int a, int b) {
  if (b < 0) {
    if (a == 1) {
      return 1;
    }
    if (a == -1) {
      return ((b & 1) == 1 ? -1 : 1);
    }
    return 0;
  }
  // past 2^85 the CPU's double is a multiple of 2^32 (or infinite): 0 as an int32
  float fa = abs(float(a));
  if (fa >= 2.0 && float(b) * log2(fa) >= 85.0) {
    return 0;
  }
  int r = 1;
  int base = a;
  for (int e = b; e != 0; e = e >> 1) {
    if ((e & 1) == 1) {
      r = r * base;
    }
    base = base * base;
  }
  return r;
}`,
  // truncating; division by zero is 0 and the smallest int divided by -1
  // wraps to itself, where GLSL leaves both undefined: on the magnitudes in
  // uint (0u - uint(a) is |a| for every negative a), then the sign
  div_i32: `int div_i32(int a, int b) {
  if (b == 0) {
    return 0;
  }
  uint ua = a < 0 ? 0u - uint(a) : uint(a);
  uint ub = b < 0 ? 0u - uint(b) : uint(b);
  uint q = ua / ub;
  return int((a < 0) != (b < 0) ? 0u - q : q);
}`,
  // floor-mod; mod by zero is 0 like division by zero. GLSL's % is undefined
  // for negative operands: the remainder of the magnitudes takes a's sign
  // (truncated remainder), then moves to b's
  mod_i32: `int mod_i32(int a, int b) {
  if (b == 0) {
    return 0;
  }
  uint ua = a < 0 ? 0u - uint(a) : uint(a);
  uint ub = b < 0 ? 0u - uint(b) : uint(b);
  int r = int(ua % ub);
  if (a < 0) {
    r = -r;
  }
  if (r != 0 && ((r < 0) != (b < 0))) {
    r = r + b;
  }
  return r;
}`,
  // truncation toward zero, saturating, NaN to 0 (GLSL's int() of a float
  // out of range is undefined)
  to_i32: `int to_i32(float x) {
  if (x >= 2147483648.0) {
    return 2147483647;
  }
  if (x <= -2147483648.0) {
    return (-2147483647 - 1);
  }
  if (is_nan(x)) {
    return 0;
  }
  return int(x);
}`,
};

// ---------------------------------------------------------------- the dialect

function glslType(dtype: DType): string {
  switch (dtype) {
    case "f32":
      return "float";
    case "i32":
      return "int";
    case "bool":
      return "bool";
    default:
      return assertNever(dtype, "dtype");
  }
}

/** An `i32` literal; the smallest int has no decimal literal in GLSL ES 3.00. */
function glslInt(value: number): string {
  if (value === -2147483648) return "(-2147483647 - 1)";
  return value < 0 ? `(-${-value})` : String(value);
}

/** The value a mutable local starts with when none is given (GLSL leaves it undefined). */
function zero(dtype: DType): string {
  return dtype === "f32" ? "0.0" : dtype === "i32" ? "0" : "false";
}

/** GLSL ES 3.00: typed declarations, unsuffixed literals, `?:`, texel fetches and render targets. */
const GLSL: Dialect = {
  name: "glsl",
  helpers: HELPERS,
  deps: {
    exp_f32: ["is_nan"],
    log_f32: ["f32_bits", "is_nan"],
    sqrt_f32: ["f32_bits"],
    sin_f32: ["f32_bits", "is_nan", "is_inf", "sin_turn"],
    cos_f32: ["f32_bits", "is_nan", "is_inf", "sin_turn"],
    tan_f32: ["f32_bits", "is_nan", "is_inf", "sin_turn"],
    random_normal: ["cos_f32", "log1p_f32"],
    log1p_f32: ["log_f32"],
  },
  // See Note [GLSL builtins]
  guarded: {
    exp: "exp_f32",
    log: "log_f32",
    sqrt: "sqrt_f32",
    sin: "sin_f32",
    cos: "cos_f32",
    tan: "tan_f32",
  },
  floatSuffix: "",
  // GLSL's round may round halves either way
  roundEven: "roundEven",
  type: glslType,
  int: glslInt,
  let: (name, dtype, value) => `${glslType(dtype)} ${name} = ${value};`,
  var: (name, dtype, init) => `${glslType(dtype)} ${name} = ${init ?? zero(dtype)};`,
  // only one side is evaluated, which is the same: operands are pure
  select: (cond, ifTrue, ifFalse) => `(${cond} ? ${ifTrue} : ${ifFalse})`,
  logical: (fn, a, b) => `(${a} ${fn === "and" ? "&&" : "||"} ${b})`,
  load: (slot, _dtype, index) => `ld${slot}(${index})`,
  store: (slot, dtype, value) => `out${slot} = ${dtype === "bool" ? `(${value} ? 1 : 0)` : value};`,
  fnHeader: (name, params, ret) =>
    `${ret === null ? "void" : glslType(ret)} ${name}(${params.map(([p, t]) => `${glslType(t)} ${p}`).join(", ")})`,
  countUp: (name, limit) => `for (int ${name} = 0; ${name} < ${limit}; ${name}++)`,
};
