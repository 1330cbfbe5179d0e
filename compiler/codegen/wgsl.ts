/**
 * The WGSL renderer: prints one kernel of the kernel IR as a complete WebGPU
 * compute shader with a single entry point, `main`.
 *
 * Conventions shared with the WebGPU runtime (see `runtime/backends/webgpu.ts`):
 *
 * - Slot k is `@group(0) @binding(k)`, `var<storage, read>` or
 *   `var<storage, read_write>`, named `buf<k>`. Elements are 4 bytes: `f32`,
 *   `i32`, and `bool` as a `u32` 0/1.
 * - The function's size symbols follow at binding `bindings.length` as
 *   `var<uniform> syms: array<vec4<i32>, S>`; symbol k is `syms[k / 4][k % 4]`.
 * - Grids: `map` and serial `reduce` kernels run one invocation per output
 *   element, `threads` per workgroup; tree `reduce` kernels run one workgroup
 *   per output element. Both grids are 1-D and may be folded into x and y by
 *   the runtime, so kernels compute the linear workgroup index
 *   `wid.x + wid.y * nwg.x` and skip what lies past the end. `matmul` kernels
 *   run a 3-D grid: x over column tiles, y over row tiles, z over the batch.
 *
 * Every value has the semantics of the CPU reference (`ts.ts`), up to f32
 * rounding: helpers such as `div_i32`, `pow_f32` or `tanh_f32` implement what
 * WGSL leaves undefined or imprecise. They are emitted only when used, each
 * once, in a fixed order, so equal kernels print equal text. Generated names
 * are the only identifiers: `t<id>` for lets, `c<n>` for hoisted literals (see
 * Note [Literals are not constant expressions]), `buf<k>`, `syms`, the kernel
 * variables `i r b m n k`, and fixed locals of each kernel kind.
 */
import type { GpuKernelSource } from "../../runtime/plan.js";
import type { DType } from "../core/dtype.js";
import { assertNever, invariant } from "../diagnostics/diagnostic.js";
import type { Block, Kernel, MapKernel, MatmulKernel, ReduceKernel } from "../kernel/kernelIr.js";
import {
  argmaxNone,
  argmaxTakes,
  checkReduce,
  Code,
  mapBody,
  Printer,
  reduceBody,
  reduceInit,
  reduceStep,
  serialReduceBody,
  type Dialect,
  type Helper,
} from "./cstyle.js";

// See Note [Literals are not constant expressions] and Note [NaN on the GPU]
// in cstyle.ts: both apply to WGSL.

/** Renders `kernel` as a WGSL compute shader with the access of each slot. */
export function renderWgsl(kernel: Kernel): GpuKernelSource {
  const s = new Printer(kernel, WGSL);
  let parts: string[];
  switch (kernel.kind) {
    case "map":
      parts = mapKernel(s, kernel);
      break;
    case "reduce":
      parts = kernel.schedule.kind === "serial" ? serialReduce(s, kernel) : treeReduce(s, kernel);
      break;
    case "matmul":
      parts = matmulKernel(s, kernel);
      break;
    default:
      return assertNever(kernel, "kernel kind");
  }
  const code = [declarations(kernel), ...s.helperSources(), ...parts].join("\n\n") + "\n";
  const access = kernel.bindings.map((b) => b.access);
  if (kernel.kind !== "matmul") return { code, access };
  const sw = new Printer(kernel, WGSL);
  const swParts = matmulRegisters(sw, kernel);
  const softwareCode =
    [declarations(kernel), ...sw.helperSources(), ...swParts].join("\n\n") + "\n";
  return { code, access, softwareCode };
}

// ---------------------------------------------------------------- helpers

const NAN = "f32_bits(0x7fc00000u)";
const INF = "f32_bits(0x7f800000u)";

/** The helpers that replace GLSL builtins; WGSL's builtins are used as they are. */
type GlslOnly = "exp_f32" | "log_f32" | "sqrt_f32" | "sin_turn" | "sin_f32" | "cos_f32" | "tan_f32";

/** Source of every helper; each is pure (it reads only its arguments). */
const HELPERS: Readonly<Record<Exclude<Helper, GlslOnly>, string>> = {
  // NaN, infinities and -0 as run-time values (see Note [Literals are not constant expressions])
  f32_bits: `fn f32_bits(x: u32) -> f32 {
  return bitcast<f32>(x);
}`,
  // on the bits, so that no fast-math assumption can fold it away
  is_nan: `fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}`,
  is_inf: `fn is_inf(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u;
}`,
  // the counter-based hash of the random op, in u32 wrapping arithmetic
  mix32: `fn mix32(x0: u32) -> u32 {
  var x = x0;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}`,
  random_key: `fn random_key(seed: i32, salt: u32) -> u32 {
  return mix32(mix32(bitcast<u32>(seed) ^ 0x9e3779b9u) ^ salt);
}`,
  // 2^-24: the top 24 bits of a draw make an exact f32 in [0, 1)
  random_uniform: `fn random_uniform(seed: i32, salt: u32, counter: i32) -> f32 {
  let key = random_key(seed, salt);
  return f32(mix32(key + bitcast<u32>(counter)) >> 8u) * 5.9604644775390625e-8f;
}`,
  random_normal: `fn random_normal(seed: i32, salt: u32, counter: i32) -> f32 {
  let key = random_key(seed, salt);
  let c = bitcast<u32>(counter) * 2u;
  let u1 = (f32(mix32(key + c) >> 8u) + 1.0f) * 5.9604644775390625e-8f;
  let u2 = f32(mix32(key + c + 1u) >> 8u) * 5.9604644775390625e-8f;
  return sqrt(-2.0f * log(u1)) * cos(6.283185307179586f * u2);
}`,
  // W. J. Cody's rational approximations (as in ts.ts), evaluated in f32; past
  // |x| = 4, erfc(x) < 2^-26 and erf rounds to +-1 in f32
  erf_f32: `fn erf_f32(x: f32) -> f32 {
  let y = abs(x);
  if (y <= 0.46875f) {
    let z = y * y;
    var num = 0.185777706184603153f * z;
    var den = z;
    num = (num + 3.1611237438705656f) * z;
    den = (den + 23.6012909523441209f) * z;
    num = (num + 113.864154151050156f) * z;
    den = (den + 244.024637934444173f) * z;
    num = (num + 377.485237685302021f) * z;
    den = (den + 1282.61652607737228f) * z;
    return x * (num + 3209.37758913846947f) / (den + 2844.23683343917062f);
  }
  if (is_nan(x)) {
    return x;
  }
  if (y >= 4.0f) {
    return select(1.0f, -1.0f, x < 0.0f);
  }
  var num = 2.15311535474403846e-8f * y;
  var den = y;
  num = (num + 0.564188496988670089f) * y;
  den = (den + 15.7449261107098347f) * y;
  num = (num + 8.88314979438837594f) * y;
  den = (den + 117.693950891312499f) * y;
  num = (num + 66.1191906371416295f) * y;
  den = (den + 537.181101862009858f) * y;
  num = (num + 298.635138197400131f) * y;
  den = (den + 1621.38957456669019f) * y;
  num = (num + 881.95222124176909f) * y;
  den = (den + 3290.79923573345963f) * y;
  num = (num + 1712.04761263407058f) * y;
  den = (den + 4362.61909014324716f) * y;
  num = (num + 2051.07837782607147f) * y;
  den = (den + 3439.36767414372164f) * y;
  var r = (num + 1230.33935479799725f) / (den + 1230.33935480374942f);
  // exp(-y*y) in two parts, so the rounding error of y*y is not amplified
  let h = trunc(y * 16.0f) / 16.0f;
  let d = (y - h) * (y + h);
  r = exp(-h * h) * exp(-d) * r;
  let e = 0.5f - r + 0.5f;
  return select(e, -e, x < 0.0f);
}`,
  // branch on the sign so that exp never overflows
  sigmoid_f32: `fn sigmoid_f32(x: f32) -> f32 {
  if (x >= 0.0f) {
    return 1.0f / (1.0f + exp(-x));
  }
  let e = exp(x);
  return e / (1.0f + e);
}`,
  // the Taylor series near 0 (where 1 - 2 / (e^2y + 1) cancels), |x| clamped
  // to 15 elsewhere so that exp stays finite (f32 tanh is +-1 long before)
  tanh_f32: `fn tanh_f32(x: f32) -> f32 {
  if (is_nan(x)) {
    return x;
  }
  let y = abs(x);
  if (y < 0.55f) {
    let z = x * x;
    var p = 0.000590027426f;
    p = p * z - 0.00145583437f;
    p = p * z + 0.00359212793f;
    p = p * z - 0.00886323582f;
    p = p * z + 0.0218694881f;
    p = p * z - 0.0539682545f;
    p = p * z + 0.133333340f;
    p = p * z - 0.333333343f;
    return x + x * (z * p);
  }
  let t = 1.0f - 2.0f / (exp(2.0f * min(y, 15.0f)) + 1.0f);
  return select(t, -t, x < 0.0f);
}`,
  // small |x|: 2 atanh(s) with s = x / (2 + x) as a series; elsewhere log(1 + x)
  // with the rounding of 1 + x corrected
  log1p_f32: `fn log1p_f32(x: f32) -> f32 {
  if (abs(x) < 0.25f) {
    let s = 2.0f * (x / (2.0f + x));
    let z = 0.25f * s * s;
    return s + s * z * (0.333333333f + z * (0.2f + z * (0.142857143f + z * 0.111111111f)));
  }
  let u = 1.0f + x;
  let d = u - 1.0f;
  if (d == x) {
    return log(u);
  }
  return log(u) * (x / d);
}`,
  // Math.sign: zeros and NaN are returned unchanged
  sign_f32: `fn sign_f32(x: f32) -> f32 {
  if (x == 0.0f || is_nan(x)) {
    return x;
  }
  return select(-1.0f, 1.0f, x > 0.0f);
}`,
  // Math.max: NaN if either is NaN, max(-0, 0) = 0
  max_f32: `fn max_f32(a: f32, b: f32) -> f32 {
  if (is_nan(a) || is_nan(b)) {
    return ${NAN};
  }
  if (a == b) {
    return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b));
  }
  return select(b, a, a > b);
}`,
  // Math.min: NaN if either is NaN, min(-0, 0) = -0
  min_f32: `fn min_f32(a: f32, b: f32) -> f32 {
  if (is_nan(a) || is_nan(b)) {
    return ${NAN};
  }
  if (a == b) {
    return bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b));
  }
  return select(b, a, a < b);
}`,
  // Math.pow (WGSL's pow is undefined for x < 0): integer exponents of negative
  // bases, 0^0 = 1, 0^-y = inf, (+-1)^inf = NaN; small integer exponents by
  // repeated squaring (up to 64), which is exact where the CPU is (x^2, x^-1)
  pow_f32: `fn pow_f32(x: f32, y: f32) -> f32 {
  if (y == 0.0f) {
    return 1.0f;
  }
  if (is_nan(x) || is_nan(y)) {
    return ${NAN};
  }
  let ax = abs(x);
  if (is_inf(y)) {
    if (ax == 1.0f) {
      return ${NAN};
    }
    return select(0.0f, ${INF}, (ax > 1.0f) == (y > 0.0f));
  }
  let ay = abs(y);
  let whole = floor(ay) == ay;
  if (x < 0.0f && !whole) {
    return ${NAN};
  }
  // every f32 of magnitude 2^24 or more is an even integer
  let odd = whole && ay < 16777216.0f && (i32(ay) & 1i) == 1i;
  var r = 1.0f;
  if (ax == 0.0f) {
    r = select(${INF}, 0.0f, y > 0.0f);
  } else if (is_inf(ax)) {
    r = select(0.0f, ${INF}, y > 0.0f);
  } else if (whole && ay <= 64.0f) {
    var base = ax;
    for (var e = u32(ay); e != 0u; e = e >> 1u) {
      if ((e & 1u) == 1u) {
        r = r * base;
      }
      base = base * base;
    }
    if (y < 0.0f) {
      r = 1.0f / r;
    }
  } else {
    r = pow(ax, y);
  }
  let negative = (bitcast<u32>(x) >> 31u) == 1u;
  return select(r, -r, odd && negative);
}`,
  // C's fmodf (JS's %) on the bits, exact, after musl: shift-and-subtract
  // long division of the significands, one step per binade of the quotient.
  // NaN, infinite x and zero y are the caller's.
  fmod_f32: `fn fmod_f32(x: f32, y: f32) -> f32 {
  var ux = bitcast<u32>(x);
  var uy = bitcast<u32>(y);
  var ex = i32((ux >> 23u) & 0xffu);
  var ey = i32((uy >> 23u) & 0xffu);
  let sx = ux & 0x80000000u;
  if ((ux << 1u) <= (uy << 1u)) {
    if ((ux << 1u) == (uy << 1u)) {
      return bitcast<f32>(sx);
    }
    return x;
  }
  // significands with the implicit bit; subnormals normalized
  if (ex == 0i) {
    for (var i = ux << 9u; (i >> 31u) == 0u; i = i << 1u) {
      ex = ex - 1i;
    }
    ux = ux << u32(1i - ex);
  } else {
    ux = (ux & 0x7fffffu) | 0x800000u;
  }
  if (ey == 0i) {
    for (var i = uy << 9u; (i >> 31u) == 0u; i = i << 1u) {
      ey = ey - 1i;
    }
    uy = uy << u32(1i - ey);
  } else {
    uy = (uy & 0x7fffffu) | 0x800000u;
  }
  for (; ex > ey; ex = ex - 1i) {
    let i = ux - uy;
    if ((i >> 31u) == 0u) {
      if (i == 0u) {
        return bitcast<f32>(sx);
      }
      ux = i;
    }
    ux = ux << 1u;
  }
  let i = ux - uy;
  if ((i >> 31u) == 0u) {
    if (i == 0u) {
      return bitcast<f32>(sx);
    }
    ux = i;
  }
  for (; (ux >> 23u) == 0u; ux = ux << 1u) {
    ex = ex - 1i;
  }
  if (ex > 0i) {
    ux = (ux - 0x800000u) | (u32(ex) << 23u);
  } else {
    ux = ux >> u32(1i - ex);
  }
  return bitcast<f32>(ux | sx);
}`,
  // NumPy's mod: the result takes the sign of the divisor (x mod 0 is NaN)
  mod_f32: `fn mod_f32(x: f32, y: f32) -> f32 {
  if (is_nan(x) || is_nan(y) || is_inf(x) || y == 0.0f) {
    return ${NAN};
  }
  var r = x;
  if (!is_inf(y)) {
    r = fmod_f32(x, y);
  }
  if (r == 0.0f) {
    return select(0.0f, f32_bits(0x80000000u), y < 0.0f);
  }
  if ((r < 0.0f) != (y < 0.0f)) {
    r = r + y;
  }
  return r;
}`,
  // Math.pow of int32 values converted back to int32 like the CPU's store:
  // wrapping, exact while the power is below 2^53 (the CPU's double rounds
  // from there); negative exponents give fractions, which truncate
  pow_i32: `fn pow_i32(a: i32, b: i32) -> i32 {
  if (b < 0i) {
    if (a == 1i) {
      return 1i;
    }
    if (a == -1i) {
      return select(1i, -1i, (b & 1i) == 1i);
    }
    return 0i;
  }
  // past 2^85 the CPU's double is a multiple of 2^32 (or infinite): 0 as an int32
  if (abs(a) >= 2i && f32(b) * log2(abs(f32(a))) >= 85.0f) {
    return 0i;
  }
  var r = 1i;
  var base = a;
  for (var e = b; e != 0i; e = e >> 1u) {
    if ((e & 1i) == 1i) {
      r = r * base;
    }
    base = base * base;
  }
  return r;
}`,
  // truncating; division by zero is 0 (WGSL gives a, and i32 min / -1 wraps)
  div_i32: `fn div_i32(a: i32, b: i32) -> i32 {
  if (b == 0i) {
    return 0i;
  }
  return a / b;
}`,
  // floor-mod; mod by zero is 0 like division by zero
  mod_i32: `fn mod_i32(a: i32, b: i32) -> i32 {
  if (b == 0i) {
    return 0i;
  }
  let r = a % b;
  return select(r, r + b, r != 0i && ((r < 0i) != (b < 0i)));
}`,
  // truncation toward zero, saturating, NaN to 0
  to_i32: `fn to_i32(x: f32) -> i32 {
  if (x >= 2147483648.0f) {
    return 2147483647i;
  }
  if (x <= -2147483648.0f) {
    return i32(-2147483648);
  }
  if (is_nan(x)) {
    return 0i;
  }
  return i32(x);
}`,
};

// ---------------------------------------------------------------- the dialect

/** A WGSL type name for a value of `dtype` held in a register. */
function wgslType(dtype: DType): string {
  return dtype === "bool" ? "bool" : dtype;
}

/** The element type of a storage buffer of `dtype`. */
function storageType(dtype: DType): string {
  return dtype === "bool" ? "u32" : dtype;
}

/** WGSL: `let`/`var`, suffixed literals, `select(f, t, cond)`, storage buffers indexed directly. */
const WGSL: Dialect = {
  name: "wgsl",
  helpers: HELPERS,
  deps: {},
  guarded: {},
  floatSuffix: "f",
  // WGSL's round is half to even
  roundEven: "round",
  type: wgslType,
  int: (value) => {
    if (value === -2147483648) return "i32(-2147483648)";
    return value < 0 ? `(-${-value}i)` : `${value}i`;
  },
  let: (name, _dtype, value) => `let ${name} = ${value};`,
  var: (name, dtype, init) =>
    init === undefined ? `var ${name}: ${wgslType(dtype)};` : `var ${name} = ${init};`,
  select: (cond, ifTrue, ifFalse) => `select(${ifFalse}, ${ifTrue}, ${cond})`,
  logical: (fn, a, b) => `(${a} ${fn === "and" ? "&" : "|"} ${b})`,
  load: (slot, dtype, index) => {
    const at = `buf${slot}[${index}]`;
    return dtype === "bool" ? `(${at} != 0u)` : at;
  },
  store: (slot, dtype, value) =>
    `buf${slot}[i] = ${dtype === "bool" ? `select(0u, 1u, ${value})` : value};`,
  fnHeader: (name, params, ret) =>
    `fn ${name}(${params.map(([p, t]) => `${p}: ${wgslType(t)}`).join(", ")})${ret === null ? "" : ` -> ${wgslType(ret)}`}`,
  countUp: (name, limit) => `for (var ${name} = 0i; ${name} < ${limit}; ${name} = ${name} + 1i)`,
};

/** The binding declarations: storage slots, then the size symbols. */
function declarations(k: Kernel): string {
  const lines = k.bindings.map((b, slot) => {
    const access = b.access === "read" ? "read" : "read_write";
    const type = storageType(b.dtype);
    return `@group(0) @binding(${slot}) var<storage, ${access}> buf${slot}: array<${type}>;`;
  });
  const vec4s = Math.max(1, Math.ceil(k.symbols / 4));
  lines.push(
    `@group(0) @binding(${k.bindings.length}) var<uniform> syms: array<vec4<i32>, ${vec4s}>;`,
  );
  return lines.join("\n");
}

// ---------------------------------------------------------------- map

/** The parameters of a 1-D entry point. */
const GRID_1D =
  "@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, " +
  "@builtin(local_invocation_id) lid: vec3<u32>";

/** `let i = ...;` for one invocation per element, returning past the end. */
function elementIndex(s: Printer, code: Code, threads: number): void {
  code.line(`let size = ${s.expr(code, s.kernel.size)};`);
  code.line(`let gid = (wid.x + wid.y * nwg.x) * ${threads}u + lid.x;`);
  code.open("if (gid >= u32(size))");
  code.line("return;");
  code.close();
  code.line("let i = i32(gid);");
}

function mapKernel(s: Printer, k: MapKernel): string[] {
  const code = new Code();
  elementIndex(s, code, k.schedule.threads);
  mapBody(s, code, k);
  return [code.fn(`@compute @workgroup_size(${k.schedule.threads})\nfn main(${GRID_1D})`)];
}

// ---------------------------------------------------------------- reduce

function serialReduce(s: Printer, k: ReduceKernel): string[] {
  const code = new Code();
  elementIndex(s, code, k.schedule.threads);
  const out = serialReduceBody(s, code, k);
  out.push(code.fn(`@compute @workgroup_size(${k.schedule.threads})\nfn main(${GRID_1D})`));
  return out;
}

/**
 * One workgroup per output element: each invocation reduces a strided part of
 * `r`, then the partial results meet in a tree in workgroup memory. Barriers
 * must be in uniform control flow, so invocations past the end of the grid do
 * not return early: they take part in the barriers and store nothing.
 */
function treeReduce(s: Printer, k: ReduceKernel): string[] {
  checkReduce(s, k);
  const threads = k.schedule.threads;
  invariant(threads >= 1, "wgsl: tree reduction without threads");
  const argmax = k.fn === "argmax";
  const none = argmaxNone(WGSL);
  const t = wgslType(k.dtype);
  const out: string[] = [`var<workgroup> red_v: array<${t}, ${threads}>;`];
  if (argmax) {
    out[0] += `\nvar<workgroup> red_i: array<i32, ${threads}>;`;
    out.push(argmaxTakes(s, k.dtype));
  }
  const fn = k.fn;
  const code = new Code();
  code.line(`let size = ${s.expr(code, k.size)};`);
  code.line("let wg = wid.x + wid.y * nwg.x;");
  code.line("let live = wg < u32(size);");
  code.line("let i = i32(wg);");
  code.line("let tid = lid.x;");
  if (fn === "argmax") {
    code.line(`var part_v: ${t};`);
    code.line(`var part_i = ${none};`);
  } else {
    code.line(`var part = ${reduceInit(s, fn, k.dtype)};`);
  }
  code.open("if (live)");
  code.line(`let extent = ${s.expr(code, k.extent)};`);
  s.lets(code, k.prelude ?? []);
  code.open(`for (var r = i32(tid); r < extent; r = r + ${threads}i)`);
  reduceBody(s, code, k.body, k.dtype);
  if (fn === "argmax") {
    code.open("if (argmax_takes(part_v, part_i, v, r))");
    code.line("part_v = v;");
    code.line("part_i = r;");
    code.close();
  } else {
    code.line(`part = ${reduceStep(s, fn, k.dtype, "part", "v")};`);
  }
  code.close();
  code.close();
  if (fn === "argmax") {
    code.line("red_v[tid] = part_v;");
    code.line("red_i[tid] = part_i;");
  } else {
    code.line("red_v[tid] = part;");
  }
  code.line("workgroupBarrier();");
  /** Folds element `tid + offset` into element `tid`. */
  const fold = (offset: string): void => {
    if (fn === "argmax") {
      code.open(
        `if (argmax_takes(red_v[tid], red_i[tid], red_v[tid + ${offset}], red_i[tid + ${offset}]))`,
      );
      code.line(`red_v[tid] = red_v[tid + ${offset}];`);
      code.line(`red_i[tid] = red_i[tid + ${offset}];`);
      code.close();
    } else {
      const step = reduceStep(s, fn, k.dtype, "red_v[tid]", `red_v[tid + ${offset}]`);
      code.line(`red_v[tid] = ${step};`);
    }
  };
  // the largest power of two not above threads
  let half = 1;
  while (half * 2 <= threads) half *= 2;
  if (half < threads) {
    code.open(`if (tid < ${threads - half}u)`);
    fold(`${half}u`);
    code.close();
    code.line("workgroupBarrier();");
  }
  if (half > 1) {
    code.open(`for (var h = ${half / 2}u; h > 0u; h = h >> 1u)`);
    code.open("if (tid < h)");
    fold("h");
    code.close();
    code.line("workgroupBarrier();");
    code.close();
  }
  code.open("if (live && tid == 0u)");
  if (fn === "argmax") code.line(`let acc = select(red_i[0], 0i, red_i[0] == ${none});`);
  else code.line("let acc = red_v[0];");
  s.lets(code, k.epilogue, "acc");
  s.stores(code, k.stores, "acc");
  code.close();
  out.push(code.fn(`@compute @workgroup_size(${threads})\nfn main(${GRID_1D})`));
  return out;
}

// ---------------------------------------------------------------- matmul

/** An operand block as a helper function of its three kernel variables. */
function operandFn(s: Printer, name: string, vars: string, block: Block, t: string): string {
  const code = new Code();
  s.lets(code, block.lets);
  code.line(`return ${s.expr(code, block.value)};`);
  return code.fn(`fn ${name}(${vars}) -> ${t}`);
}

/** The operand loaders and the epilogue of a matrix product, as WGSL functions. */
function matmulHelpers(s: Printer, k: MatmulKernel, t: string): string[] {
  const epi = new Code();
  s.lets(epi, k.epilogue, "acc");
  s.stores(epi, k.stores, "acc");
  return [
    operandFn(s, "load_a", "b: i32, m: i32, k: i32", k.a, t),
    operandFn(s, "load_b", "b: i32, k: i32, n: i32", k.b, t),
    epi.fn(`fn epilogue(i: i32, b: i32, m: i32, n: i32, acc: ${t})`),
  ];
}

/** The start of a matrix product's main function: its sizes and batch. */
function matmulPrelude(s: Printer, k: MatmulKernel): Code {
  const code = new Code();
  code.line(`let dim_m = ${s.expr(code, k.m)};`);
  code.line(`let dim_n = ${s.expr(code, k.n)};`);
  code.line(`let dim_k = ${s.expr(code, k.kk)};`);
  code.line("let b = i32(wid.z);");
  return code;
}

/**
 * A tiled batched matrix product. Workgroup (x, y, z) computes rows
 * `y * tileM ..` and columns `x * tileN ..` of batch z; invocation `tid`
 * accumulates a `threadM x threadN` block of the tile in registers, strided
 * so that neighbouring invocations own neighbouring columns. Per step of `tileK`, the workgroup stages the A
 * and B tiles (zero outside the matrices) in workgroup memory. The epilogue is
 * a function called for each element of the block that lies in the output.
 */
function matmulKernel(s: Printer, k: MatmulKernel): string[] {
  const { tileM, tileN, tileK, threadM, threadN } = k.schedule;
  invariant(
    tileM % threadM === 0 && tileN % threadN === 0,
    "wgsl: matmul tiles must be multiples of the register blocks",
  );
  invariant(k.dtype !== "bool", "wgsl: matmul of bool values");
  const t = wgslType(k.dtype);
  const zero = k.dtype === "f32" ? "0.0f" : "0i";
  const across = tileN / threadN;
  const threads = across * (tileM / threadM);
  const out: string[] = [
    `var<workgroup> tile_a: array<${t}, ${tileM * tileK}>;\n` +
      `var<workgroup> tile_b: array<${t}, ${tileK * tileN}>;`,
    ...matmulHelpers(s, k, t),
  ];
  const code = matmulPrelude(s, k);
  code.line(`let row = i32(wid.y) * ${tileM}i;`);
  code.line(`let col = i32(wid.x) * ${tileN}i;`);
  code.line("let tid = i32(lidx);");
  // invocation (ty, tx) owns rows ty + r * down and columns tx + c * across of the
  // tile: neighbouring invocations read neighbouring columns of tile_b (one
  // vector load on SIMD lanes) and the same rows of tile_a (a broadcast)
  code.line(`let ty = tid / ${across}i;`);
  code.line(`let tx = tid % ${across}i;`);
  // accumulators in a private array indexed by constants in the product (kept
  // in registers) and looped over once for the epilogue, so that a long
  // epilogue is printed once, not threadM * threadN times
  const accName = (r: number, c: number): string => `acc[${r * threadN + c}]`;
  code.line(`var acc: array<${t}, ${threadM * threadN}>;`);
  code.open(`for (var k0 = 0i; k0 < dim_k; k0 = k0 + ${tileK}i)`);
  const stage = (tile: string, count: number, lines: readonly string[]): void => {
    code.open(`for (var e = tid; e < ${count}i; e = e + ${threads}i)`);
    for (const l of lines) code.line(l);
    code.line(`${tile}[e] = v;`);
    code.close();
  };
  stage("tile_a", tileM * tileK, [
    `let m = row + e / ${tileK}i;`,
    `let k = k0 + e % ${tileK}i;`,
    `var v = ${zero};`,
    "if (m < dim_m && k < dim_k) { v = load_a(b, m, k); }",
  ]);
  stage("tile_b", tileK * tileN, [
    `let k = k0 + e / ${tileN}i;`,
    `let n = col + e % ${tileN}i;`,
    `var v = ${zero};`,
    "if (k < dim_k && n < dim_n) { v = load_b(b, k, n); }",
  ]);
  code.line("workgroupBarrier();");
  code.open(`for (var kk = 0i; kk < ${tileK}i; kk = kk + 1i)`);
  const down = tileM / threadM;
  const plus = (base: string, d: number): string => (d === 0 ? base : `(${base} + ${d}i)`);
  for (let r = 0; r < threadM; r++)
    code.line(`let a${r} = tile_a[${plus("ty", r * down)} * ${tileK}i + kk];`);
  for (let c = 0; c < threadN; c++)
    code.line(`let b${c} = tile_b[kk * ${tileN}i + ${plus("tx", c * across)}];`);
  for (let r = 0; r < threadM; r++)
    for (let c = 0; c < threadN; c++) {
      const a = accName(r, c);
      code.line(`${a} = ${a} + a${r} * b${c};`);
    }
  code.close();
  code.line("workgroupBarrier();");
  code.close();
  storeAccumulators(code, threadM, threadN, `row + ty + r * ${down}i`, `col + tx + c * ${across}i`);
  out.push(mainFn(code, threads));
  return out;
}

/**
 * The software schedule of a matrix product (see `MatmulKernel`): the same
 * tile with `(tileM / threadM) * (tileN / threadN)` invocations of the
 * software register block, each reading its operands straight from the
 * buffers (rows and columns clamped into range, results masked), no
 * workgroup memory and no barriers.
 */
function matmulRegisters(s: Printer, k: MatmulKernel): string[] {
  const { tileM, tileN } = k.schedule;
  const { threadM, threadN } = k.schedule.software;
  invariant(
    tileM % threadM === 0 && tileN % threadN === 0,
    "wgsl: matmul tiles must be multiples of the register blocks",
  );
  const t = wgslType(k.dtype);
  const zero = k.dtype === "f32" ? "0.0f" : "0i";
  const across = tileN / threadN;
  const threads = across * (tileM / threadM);
  const out: string[] = matmulHelpers(s, k, t);
  const code = matmulPrelude(s, k);
  code.line("let tid = i32(lidx);");
  code.line(`let row = i32(wid.y) * ${tileM}i + (tid / ${across}i) * ${threadM}i;`);
  code.line(`let col = i32(wid.x) * ${tileN}i + (tid % ${across}i) * ${threadN}i;`);
  const plus = (base: string, d: number): string => (d === 0 ? base : `(${base} + ${d}i)`);
  for (let r = 0; r < threadM; r++) code.line(`let m${r} = min(${plus("row", r)}, dim_m - 1i);`);
  for (let c = 0; c < threadN; c++) code.line(`let n${c} = min(${plus("col", c)}, dim_n - 1i);`);
  // accumulators in a private array: constant indices in the unrolled
  // product (registers), one loop over the block for the epilogue, so a long
  // epilogue is not copied threadM * threadN times into the shader
  code.line(`var acc: array<${t}, ${threadM * threadN}>;`);
  code.open("for (var k = 0i; k < dim_k; k = k + 1i)");
  for (let r = 0; r < threadM; r++) code.line(`let a${r} = load_a(b, m${r}, k);`);
  for (let c = 0; c < threadN; c++) code.line(`let b${c} = load_b(b, k, n${c});`);
  for (let r = 0; r < threadM; r++)
    for (let c = 0; c < threadN; c++) {
      const at = `acc[${r * threadN + c}]`;
      code.line(`${at} = ${at} + a${r} * b${c};`);
    }
  code.close();
  storeAccumulators(code, threadM, threadN, "row + r", "col + c");
  out.push(mainFn(code, threads));
  return out;
}

/**
 * Closes a matmul's main loop body: every thread passes its threadM × threadN
 * accumulators, at rows `m` and columns `n` (expressions of r and c), to the
 * epilogue, skipping those outside the output.
 */
function storeAccumulators(
  code: Code,
  threadM: number,
  threadN: number,
  m: string,
  n: string,
): void {
  code.open(`for (var r = 0i; r < ${threadM}i; r = r + 1i)`);
  code.open(`for (var c = 0i; c < ${threadN}i; c = c + 1i)`);
  code.line(`let m = ${m};`);
  code.line(`let n = ${n};`);
  code.open("if (m < dim_m && n < dim_n)");
  code.line(`epilogue((b * dim_m + m) * dim_n + n, b, m, n, acc[r * ${threadN}i + c]);`);
  code.close();
  code.close();
  code.close();
}

/** The matmul entry point around the body in `code`. */
function mainFn(code: Code, threads: number): string {
  return code.fn(
    `@compute @workgroup_size(${threads})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidx: u32)`,
  );
}
