/**
 * The pseudo-random generator behind all training-data sampling.
 *
 * xoshiro128** (Blackman and Vigna, 2018): 128 bits of state, period 2^128 - 1,
 * passes BigCrush and PractRand, and needs only 32-bit integer operations,
 * which JavaScript does exactly and fast (`Math.imul`, `>>>`). Generators are
 * seeded through a 64-bit MurmurHash3-based hash of a key path (run seed,
 * stream name, step number) followed by SplitMix32, so that every stream,
 * including the one for step k of a resumed run, is a pure function of the
 * run's seed: a run is reproducible from one number, and resuming at step k
 * sees exactly the data an uninterrupted run would have seen.
 */

/** A key of a derived stream: a name or an integer (a step, a size). */
export type StreamKey = string | number;

/** Rotates a 32-bit value left. */
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The MurmurHash3 finalizer: a bijective 32-bit mixer with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The 32-bit words a key path is hashed from; each key is tagged with its kind and length so paths never collide by concatenation. */
function keyWords(seed: number, keys: readonly StreamKey[]): number[] {
  const words: number[] = [];
  const pushInteger = (v: number, what: string): void => {
    if (!Number.isSafeInteger(v)) throw new RangeError(`${what} must be a safe integer, got ${v}`);
    // two's complement over 64 bits, so negative seeds are distinct from positive ones
    const lo = v >>> 0;
    const hi = Math.floor(v / 4294967296) >>> 0;
    words.push(lo, hi);
  };
  pushInteger(seed, "seed");
  for (const k of keys) {
    if (typeof k === "number") {
      words.push(0x6e756d00);
      pushInteger(k, "stream key");
    } else {
      words.push(0x73747200, k.length);
      for (let i = 0; i < k.length; i += 2)
        words.push(k.charCodeAt(i) | ((i + 1 < k.length ? k.charCodeAt(i + 1) : 0) << 16));
    }
  }
  return words;
}

/** MurmurHash3_x86_32 over 32-bit words. */
function murmur3(words: readonly number[], seed: number): number {
  let h = seed >>> 0;
  for (const w of words) {
    let k = Math.imul(w, 0xcc9e2d51);
    k = rotl(k, 15);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = rotl(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix32(h ^ (words.length * 4));
}

/** A seeded xoshiro128** generator. Not for cryptography. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** The second value of the last Box-Muller pair, or null. */
  private spare: number | null = null;

  /**
   * A generator for `seed` (any safe integer), optionally specialised by a
   * key path: `new Rng(7, "data", "x", 12)` is the stream for input `x` at
   * step 12 of the run with seed 7. Different paths give independent streams.
   */
  constructor(seed: number, ...keys: StreamKey[]) {
    const words = keyWords(seed, keys);
    // a 64-bit hash (two 32-bit lanes), so millions of per-step streams stay collision-free
    let a = murmur3(words, 0x2545f491);
    let b = murmur3(words, 0x9e3779b9);
    // SplitMix32 expands each lane into two state words, as xoshiro's authors recommend
    const next = (x: number): [number, number] => {
      const y = (x + 0x9e3779b9) >>> 0;
      return [y, fmix32(y)];
    };
    let w: number;
    [a, w] = next(a);
    this.s0 = w;
    [a, w] = next(a);
    this.s1 = w;
    [b, w] = next(b);
    this.s2 = w;
    [b, w] = next(b);
    this.s3 = w;
    // the all-zero state is the one fixed point of xoshiro
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /**
   * A generator with the given raw state (four 32-bit words, not all zero):
   * for checking against the reference implementation's test vectors.
   */
  static fromState(state: readonly [number, number, number, number]): Rng {
    if (state.every((w) => w >>> 0 === 0))
      throw new RangeError("Rng.fromState: the all-zero state is not allowed");
    const r = new Rng(0);
    [r.s0, r.s1, r.s2, r.s3] = state.map((w) => w | 0) as [number, number, number, number];
    r.spare = null;
    return r;
  }

  /** The next 32 random bits, as an integer in [0, 2^32). */
  u32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform number in [0, 1) with 32 random bits (finer than an f32's 24-bit mantissa). */
  float(): number {
    return this.u32() * 2.3283064365386963e-10;
  }

  /** A uniform number in [0, 1) with 53 random bits. */
  double(): number {
    const hi = this.u32() >>> 5;
    const lo = this.u32() >>> 6;
    return (hi * 67108864 + lo) * 1.1102230246251565e-16;
  }

  /** A uniform integer in [0, n), without modulo bias for n up to 2^32. */
  int(n: number): number {
    if (!(n >= 1) || !Number.isSafeInteger(n))
      throw new RangeError(`Rng.int: n must be a positive integer, got ${n}`);
    if (n > 4294967296) return Math.floor(this.double() * n);
    // reject the top partial block of the 2^32 range so every residue is equally likely
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const u = this.u32();
      if (u < limit) return u % n;
    }
  }

  /** A standard normal deviate (Box-Muller; pairs are used in order). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    // 1 - u lies in (0, 1], so the logarithm is finite
    const r = Math.sqrt(-2 * Math.log(1 - this.double()));
    const theta = 2 * Math.PI * this.double();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Shuffles `a` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [k: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}
