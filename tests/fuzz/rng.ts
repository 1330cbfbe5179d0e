/**
 * A small seeded PRNG for the fuzzers, so every generated program is a pure
 * function of `(seed, index)` and a failure reproduces from its id alone.
 */

/** A random source: uniform floats in [0, 1) and helpers over them. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** The generator of case `index` of run `seed`: independent streams per case. */
  static forCase(seed: number, index: number): Rng {
    return new Rng(mix(mix(seed) ^ mix(index + 0x9e3779b9)));
  }

  /** mulberry32 */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error("Rng.pick of an empty list");
    return xs[Math.floor(this.next() * xs.length)] as T;
  }

  /** An index by weight: `i` with probability `ws[i] / sum(ws)`. */
  weightedIndex(ws: readonly number[]): number {
    let x = this.next() * ws.reduce((a, b) => a + b, 0);
    for (let i = 0; i < ws.length; i++) {
      x -= ws[i]!;
      if (x < 0) return i;
    }
    return ws.length - 1;
  }

  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(options: readonly (readonly [number, T])[]): T {
    const total = options.reduce((s, [w]) => s + w, 0);
    let x = this.next() * total;
    for (const [w, v] of options) {
      x -= w;
      if (x < 0) return v;
    }
    const last = options[options.length - 1];
    if (!last) throw new Error("Rng.weighted of an empty list");
    return last[1];
  }
}

/** A 32-bit integer hash (splitmix-style finalizer). */
function mix(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}
