/**
 * A WebAssembly binary writer: just what the `wasm` renderer needs (numeric
 * MVP instructions, 128-bit SIMD, structured control flow, one imported
 * memory, imported and defined functions, exports). Instructions are named as
 * in the text format (`f32x4.add`, `i32.load`), looked up in {@link OPCODES};
 * a wrong name is a type error.
 *
 * The format: https://webassembly.github.io/spec/core/binary/ and the SIMD
 * proposal's opcode table. Everything here is deterministic: equal calls give
 * equal bytes.
 */

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128";

const VALTYPE: Readonly<Record<ValType, number>> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
};

/** Plain instructions: no immediates (memory and lane instructions are listed apart). */
const PLAIN = {
  unreachable: [0x00],
  nop: [0x01],
  else: [0x05],
  end: [0x0b],
  return: [0x0f],
  drop: [0x1a],
  select: [0x1b],
  "i32.eqz": [0x45],
  "i32.eq": [0x46],
  "i32.ne": [0x47],
  "i32.lt_s": [0x48],
  "i32.lt_u": [0x49],
  "i32.gt_s": [0x4a],
  "i32.gt_u": [0x4b],
  "i32.le_s": [0x4c],
  "i32.le_u": [0x4d],
  "i32.ge_s": [0x4e],
  "i32.ge_u": [0x4f],
  "i64.eqz": [0x50],
  "i64.eq": [0x51],
  "i64.ne": [0x52],
  "i64.lt_s": [0x53],
  "i64.gt_s": [0x55],
  "i64.le_s": [0x57],
  "i64.ge_s": [0x59],
  "f32.eq": [0x5b],
  "f32.ne": [0x5c],
  "f32.lt": [0x5d],
  "f32.gt": [0x5e],
  "f32.le": [0x5f],
  "f32.ge": [0x60],
  "f64.eq": [0x61],
  "f64.ne": [0x62],
  "f64.lt": [0x63],
  "f64.gt": [0x64],
  "f64.le": [0x65],
  "f64.ge": [0x66],
  "i32.clz": [0x67],
  "i32.ctz": [0x68],
  "i32.popcnt": [0x69],
  "i32.add": [0x6a],
  "i32.sub": [0x6b],
  "i32.mul": [0x6c],
  "i32.div_s": [0x6d],
  "i32.div_u": [0x6e],
  "i32.rem_s": [0x6f],
  "i32.rem_u": [0x70],
  "i32.and": [0x71],
  "i32.or": [0x72],
  "i32.xor": [0x73],
  "i32.shl": [0x74],
  "i32.shr_s": [0x75],
  "i32.shr_u": [0x76],
  "i32.rotl": [0x77],
  "i32.rotr": [0x78],
  "i64.add": [0x7c],
  "i64.sub": [0x7d],
  "i64.mul": [0x7e],
  "i64.div_s": [0x7f],
  "i64.rem_s": [0x81],
  "i64.and": [0x83],
  "i64.or": [0x84],
  "i64.xor": [0x85],
  "i64.shl": [0x86],
  "i64.shr_s": [0x87],
  "i64.shr_u": [0x88],
  "f32.abs": [0x8b],
  "f32.neg": [0x8c],
  "f32.ceil": [0x8d],
  "f32.floor": [0x8e],
  "f32.trunc": [0x8f],
  "f32.nearest": [0x90],
  "f32.sqrt": [0x91],
  "f32.add": [0x92],
  "f32.sub": [0x93],
  "f32.mul": [0x94],
  "f32.div": [0x95],
  "f32.min": [0x96],
  "f32.max": [0x97],
  "f32.copysign": [0x98],
  "f64.abs": [0x99],
  "f64.neg": [0x9a],
  "f64.ceil": [0x9b],
  "f64.floor": [0x9c],
  "f64.trunc": [0x9d],
  "f64.nearest": [0x9e],
  "f64.sqrt": [0x9f],
  "f64.add": [0xa0],
  "f64.sub": [0xa1],
  "f64.mul": [0xa2],
  "f64.div": [0xa3],
  "f64.min": [0xa4],
  "f64.max": [0xa5],
  "f64.copysign": [0xa6],
  "i32.wrap_i64": [0xa7],
  "i32.trunc_f32_s": [0xa8],
  "i32.trunc_f64_s": [0xaa],
  "i64.extend_i32_s": [0xac],
  "i64.extend_i32_u": [0xad],
  "f32.convert_i32_s": [0xb2],
  "f32.convert_i32_u": [0xb3],
  "f32.convert_i64_s": [0xb4],
  "f32.demote_f64": [0xb6],
  "f64.convert_i32_s": [0xb7],
  "f64.convert_i32_u": [0xb8],
  "f64.convert_i64_s": [0xb9],
  "f64.promote_f32": [0xbb],
  "i32.reinterpret_f32": [0xbc],
  "i64.reinterpret_f64": [0xbd],
  "f32.reinterpret_i32": [0xbe],
  "f64.reinterpret_i64": [0xbf],
  "i32.extend8_s": [0xc0],
  "i32.extend16_s": [0xc1],
  "i32.trunc_sat_f32_s": [0xfc, 0x00],
  "i32.trunc_sat_f32_u": [0xfc, 0x01],
  "i32.trunc_sat_f64_s": [0xfc, 0x02],
  "i32.trunc_sat_f64_u": [0xfc, 0x03],
  // ---- SIMD (prefix 0xfd, then the opcode as an unsigned LEB128)
  "i8x16.swizzle": simd(14),
  "i32x4.splat": simd(17),
  "i64x2.splat": simd(18),
  "f32x4.splat": simd(19),
  "f64x2.splat": simd(20),
  "i32x4.eq": simd(55),
  "i32x4.ne": simd(56),
  "i32x4.lt_s": simd(57),
  "i32x4.lt_u": simd(58),
  "i32x4.gt_s": simd(59),
  "i32x4.gt_u": simd(60),
  "i32x4.le_s": simd(61),
  "i32x4.le_u": simd(62),
  "i32x4.ge_s": simd(63),
  "i32x4.ge_u": simd(64),
  "f32x4.eq": simd(65),
  "f32x4.ne": simd(66),
  "f32x4.lt": simd(67),
  "f32x4.gt": simd(68),
  "f32x4.le": simd(69),
  "f32x4.ge": simd(70),
  "f64x2.eq": simd(71),
  "f64x2.ne": simd(72),
  "f64x2.lt": simd(73),
  "f64x2.gt": simd(74),
  "f64x2.le": simd(75),
  "f64x2.ge": simd(76),
  "v128.not": simd(77),
  "v128.and": simd(78),
  "v128.andnot": simd(79),
  "v128.or": simd(80),
  "v128.xor": simd(81),
  "v128.bitselect": simd(82),
  "v128.any_true": simd(83),
  "f32x4.demote_f64x2_zero": simd(94),
  "f64x2.promote_low_f32x4": simd(95),
  "f32x4.ceil": simd(103),
  "f32x4.floor": simd(104),
  "f32x4.trunc": simd(105),
  "f32x4.nearest": simd(106),
  "f64x2.ceil": simd(116),
  "f64x2.floor": simd(117),
  "f64x2.trunc": simd(122),
  "f64x2.nearest": simd(148),
  "i32x4.abs": simd(160),
  "i32x4.neg": simd(161),
  "i32x4.all_true": simd(163),
  "i32x4.bitmask": simd(164),
  "i32x4.shl": simd(171),
  "i32x4.shr_s": simd(172),
  "i32x4.shr_u": simd(173),
  "i32x4.add": simd(174),
  "i32x4.sub": simd(177),
  "i32x4.mul": simd(181),
  "i32x4.min_s": simd(182),
  "i32x4.min_u": simd(183),
  "i32x4.max_s": simd(184),
  "i32x4.max_u": simd(185),
  "i64x2.shl": simd(203),
  "i64x2.shr_s": simd(204),
  "i64x2.shr_u": simd(205),
  "i64x2.add": simd(206),
  "i64x2.sub": simd(209),
  "f32x4.abs": simd(224),
  "f32x4.neg": simd(225),
  "f32x4.sqrt": simd(227),
  "f32x4.add": simd(228),
  "f32x4.sub": simd(229),
  "f32x4.mul": simd(230),
  "f32x4.div": simd(231),
  "f32x4.min": simd(232),
  "f32x4.max": simd(233),
  "f32x4.pmin": simd(234),
  "f32x4.pmax": simd(235),
  "f64x2.abs": simd(236),
  "f64x2.neg": simd(237),
  "f64x2.sqrt": simd(239),
  "f64x2.add": simd(240),
  "f64x2.sub": simd(241),
  "f64x2.mul": simd(242),
  "f64x2.div": simd(243),
  "f64x2.min": simd(244),
  "f64x2.max": simd(245),
  "f64x2.pmin": simd(246),
  "f64x2.pmax": simd(247),
  "i32x4.trunc_sat_f32x4_s": simd(248),
  "i32x4.trunc_sat_f32x4_u": simd(249),
  "f32x4.convert_i32x4_s": simd(250),
  "f32x4.convert_i32x4_u": simd(251),
  "i32x4.trunc_sat_f64x2_s_zero": simd(252),
  "f64x2.convert_low_i32x4_s": simd(254),
  // relaxed SIMD (only in modules built for engines that have it)
  "f32x4.relaxed_madd": simd(0x105),
  "f32x4.relaxed_nmadd": simd(0x106),
} satisfies Record<string, readonly number[]>;

/** Loads and stores: an alignment hint (log2 bytes) and an offset follow. */
const MEMORY = {
  "i32.load": [[0x28], 2],
  "f32.load": [[0x2a], 2],
  "f64.load": [[0x2b], 3],
  "i32.load8_u": [[0x2d], 0],
  "i32.store": [[0x36], 2],
  "f32.store": [[0x38], 2],
  "f64.store": [[0x39], 3],
  "i32.store8": [[0x3a], 0],
  "v128.load": [simd(0), 4],
  "v128.load32_splat": [simd(9), 2],
  "v128.store": [simd(11), 4],
  "v128.load32_zero": [simd(92), 2],
} as const satisfies Record<string, readonly [readonly number[], number]>;

/** Lane instructions: a lane index follows. */
const LANE = {
  "i32x4.extract_lane": simd(27),
  "i32x4.replace_lane": simd(28),
  "f32x4.extract_lane": simd(31),
  "f32x4.replace_lane": simd(32),
  "f64x2.extract_lane": simd(33),
  "f64x2.replace_lane": simd(34),
} satisfies Record<string, readonly number[]>;

/** Lane loads and stores: memory immediates, then a lane index. */
const MEMORY_LANE = {
  "v128.load32_lane": [simd(86), 2],
  "v128.store32_lane": [simd(90), 2],
} as const satisfies Record<string, readonly [readonly number[], number]>;

export type PlainOp = keyof typeof PLAIN;
export type MemoryOp = keyof typeof MEMORY;
export type LaneOp = keyof typeof LANE;
export type MemoryLaneOp = keyof typeof MEMORY_LANE;

/** Every instruction name this writer knows (for tests and tables). */
export const OPCODES: ReadonlySet<string> = new Set([
  ...Object.keys(PLAIN),
  ...Object.keys(MEMORY),
  ...Object.keys(LANE),
  ...Object.keys(MEMORY_LANE),
]);

function simd(op: number): number[] {
  return [0xfd, ...uleb(op)];
}

// ---------------------------------------------------------------- LEB128

export function uleb(n: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`uleb: ${n}`);
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/** The parts one after another (without spreading: bodies are large). */
function cat(...parts: readonly (readonly number[])[]): number[] {
  const out: number[] = [];
  for (const p of parts) for (let j = 0; j < p.length; j++) out.push(p[j]!);
  return out;
}

/** A length-prefixed vector of `items` (not spread into arguments: there may be any number). */
function vec(items: readonly (readonly number[])[]): number[] {
  const out = uleb(items.length);
  for (const p of items) for (let j = 0; j < p.length; j++) out.push(p[j]!);
  return out;
}

// ---------------------------------------------------------------- functions

/** A block's type: nothing, or one value. */
export type BlockType = "void" | ValType;

/** The JS API's implementation limits on one function (locals include parameters). */
export const MAX_FUNCTION_LOCALS = 50_000;
export const MAX_FUNCTION_SIZE = 7_654_321;

/**
 * A function body under construction. Parameters are locals `0..params-1`;
 * {@link local} adds more. Instructions are appended in order.
 */

export class WasmFunction {
  private readonly bytes: number[] = [];
  private readonly locals: ValType[] = [];
  private depth = 0;

  constructor(
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}

  /** A new local of `type`; its index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  op(name: PlainOp): this {
    if (name === "end") this.depth--;
    this.bytes.push(...PLAIN[name]);
    return this;
  }

  /** A load or store at `offset` bytes past the address operand. */
  mem(name: MemoryOp, offset = 0, align?: number): this {
    const [code, natural] = MEMORY[name];
    this.bytes.push(...code, ...uleb(align ?? natural), ...uleb(offset));
    return this;
  }

  lane(name: LaneOp, lane: number): this {
    this.bytes.push(...LANE[name], lane);
    return this;
  }

  memLane(name: MemoryLaneOp, lane: number, offset = 0): this {
    const [code, natural] = MEMORY_LANE[name];
    this.bytes.push(...code, ...uleb(natural), ...uleb(offset), lane);
    return this;
  }

  get(local: number): this {
    this.bytes.push(0x20, ...uleb(local));
    return this;
  }

  set(local: number): this {
    this.bytes.push(0x21, ...uleb(local));
    return this;
  }

  tee(local: number): this {
    this.bytes.push(0x22, ...uleb(local));
    return this;
  }

  i32(value: number): this {
    this.bytes.push(0x41, ...sleb(value | 0));
    return this;
  }

  i64(value: bigint): this {
    this.bytes.push(0x42, ...sleb(BigInt.asIntN(64, value)));
    return this;
  }

  f32(value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.bytes.push(0x43, ...b);
    return this;
  }

  /** An `f32` constant given by its bits (NaN payloads, -0). */
  f32Bits(bits: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, bits >>> 0, true);
    this.bytes.push(0x43, ...b);
    return this;
  }

  f64(value: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    this.bytes.push(0x44, ...b);
    return this;
  }

  /** A `v128` constant of four 32-bit lanes given by their bits. */
  v128i32(lanes: readonly [number, number, number, number]): this {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    lanes.forEach((v, j) => dv.setUint32(4 * j, v >>> 0, true));
    this.bytes.push(...simd(12), ...b);
    return this;
  }

  /** A `v128` constant of four `f32` lanes. */
  v128f32(lanes: readonly [number, number, number, number]): this {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    lanes.forEach((v, j) => dv.setFloat32(4 * j, v, true));
    this.bytes.push(...simd(12), ...b);
    return this;
  }

  /** `i8x16.shuffle` with 16 lane indices. */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new RangeError("shuffle: 16 lanes");
    this.bytes.push(...simd(13), ...lanes);
    return this;
  }

  call(func: number): this {
    this.bytes.push(0x10, ...uleb(func));
    return this;
  }

  block(type: BlockType = "void"): this {
    return this.structured(0x02, type);
  }

  loop(type: BlockType = "void"): this {
    return this.structured(0x03, type);
  }

  if(type: BlockType = "void"): this {
    return this.structured(0x04, type);
  }

  /** `br depth`: 0 is the innermost enclosing block, loop or if. */
  br(depth: number): this {
    this.bytes.push(0x0c, ...uleb(depth));
    return this;
  }

  brIf(depth: number): this {
    this.bytes.push(0x0d, ...uleb(depth));
    return this;
  }

  /**
   * The function's code entry (locals and body, closed by `end`),
   * length-prefixed, as parts to write one after another (the body is not copied).
   */
  encode(): (readonly number[])[] {
    if (this.depth !== 0)
      throw new Error(`wasm function: ${this.depth} unclosed block(s) at the end of the body`);
    // engines refuse a module over the JS API's implementation limits; fusion
    // bounds kernel sizes far below them (docs/fusion.md, the size budget)
    const localCount = this.params.length + this.locals.length;
    if (localCount > MAX_FUNCTION_LOCALS)
      throw new Error(
        `wasm function: ${localCount} locals, over WebAssembly's limit of ${MAX_FUNCTION_LOCALS}`,
      );
    if (this.bytes.length + 1 > MAX_FUNCTION_SIZE)
      throw new Error(
        `wasm function: a body of ${this.bytes.length + 1} bytes, over WebAssembly's limit of ${MAX_FUNCTION_SIZE}`,
      );
    const groups: number[][] = [];
    for (let j = 0; j < this.locals.length;) {
      let n = 1;
      while (this.locals[j + n] === this.locals[j]) n++;
      groups.push([...uleb(n), VALTYPE[this.locals[j]!]]);
      j += n;
    }
    const locals = vec(groups);
    const end = [0x0b];
    return [uleb(locals.length + this.bytes.length + 1), locals, this.bytes, end];
  }

  private structured(code: number, type: BlockType): this {
    this.depth++;
    this.bytes.push(code, type === "void" ? 0x40 : VALTYPE[type]);
    return this;
  }
}

// ---------------------------------------------------------------- modules

interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/**
 * A module: imported functions first (indices `0..imports-1`), then defined
 * ones; at most one imported memory.
 */
export class WasmModule {
  private readonly types: FuncType[] = [];
  private readonly typeKeys = new Map<string, number>();
  private readonly imports: { module: string; name: string; type: number }[] = [];
  private readonly funcs: { fn: WasmFunction | null; type: number }[] = [];
  private readonly exports: { name: string; func: number }[] = [];
  private memory: { module: string; name: string; minPages: number } | null = null;

  importMemory(module: string, name: string, minPages: number): void {
    this.memory = { module, name, minPages };
  }

  /** Imports a function; must precede every {@link declare}. */
  importFunction(
    module: string,
    name: string,
    params: readonly ValType[],
    results: readonly ValType[],
  ): number {
    if (this.funcs.length > 0) throw new Error("wasm module: imports come before functions");
    this.imports.push({ module, name, type: this.typeIndex({ params, results }) });
    return this.imports.length - 1;
  }

  /** Reserves a function index (so functions can call each other before their bodies exist). */
  declare(params: readonly ValType[], results: readonly ValType[]): number {
    this.funcs.push({ fn: null, type: this.typeIndex({ params, results }) });
    return this.imports.length + this.funcs.length - 1;
  }

  /** Gives a declared function its body. */
  define(index: number, fn: WasmFunction): void {
    const slot = this.funcs[index - this.imports.length];
    if (slot === undefined || slot.fn !== null)
      throw new Error(`wasm module: function ${index} is not declared or already defined`);
    slot.fn = fn;
  }

  /** Declares and defines `fn`; its index. */
  add(fn: WasmFunction): number {
    const index = this.declare(fn.params, fn.results);
    this.define(index, fn);
    return index;
  }

  export(name: string, func: number): void {
    this.exports.push({ name, func });
  }

  /**
   * The module's bytes; `overrides` replaces the bodies of some defined
   * functions (same types), for variants of one module.
   */
  encode(overrides: ReadonlyMap<number, WasmFunction> = new Map()): Uint8Array<ArrayBuffer> {
    const section = (id: number, body: number[]): number[] =>
      body.length === 0 ? [] : cat([id], uleb(body.length), body);
    const typeSec = vec(
      this.types.map((t) => [
        0x60,
        ...vec(t.params.map((p) => [VALTYPE[p]])),
        ...vec(t.results.map((r) => [VALTYPE[r]])),
      ]),
    );
    const importEntries = this.imports.map((im) => [
      ...utf8(im.module),
      ...utf8(im.name),
      0x00,
      ...uleb(im.type),
    ]);
    if (this.memory !== null)
      importEntries.push([
        ...utf8(this.memory.module),
        ...utf8(this.memory.name),
        0x02,
        0x00,
        ...uleb(this.memory.minPages),
      ]);
    const funcSec = vec(this.funcs.map((f) => uleb(f.type)));
    const exportSec = vec(this.exports.map((e) => [...utf8(e.name), 0x00, ...uleb(e.func)]));
    // the code section as parts: function bodies are large, and copied once, below
    const code: (readonly number[])[] = [uleb(this.funcs.length)];
    this.funcs.forEach((f, j) => {
      const fn = overrides.get(j + this.imports.length) ?? f.fn;
      if (fn === null) throw new Error(`wasm module: function ${j} declared, never defined`);
      code.push(...fn.encode());
    });
    const codeSize = code.reduce((n, p) => n + p.length, 0);
    const parts: (readonly number[])[] = [
      [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      section(1, this.types.length ? typeSec : []),
      section(2, importEntries.length ? vec(importEntries) : []),
      section(3, this.funcs.length ? funcSec : []),
      section(7, this.exports.length ? exportSec : []),
      ...(this.funcs.length ? [[10, ...uleb(codeSize)], ...code] : []),
    ];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  private typeIndex(t: FuncType): number {
    const key = `${t.params.join(",")}>${t.results.join(",")}`;
    let index = this.typeKeys.get(key);
    if (index === undefined) {
      index = this.types.length;
      this.types.push(t);
      this.typeKeys.set(key, index);
    }
    return index;
  }
}
