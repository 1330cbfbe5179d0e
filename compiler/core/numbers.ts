/** Small numeric helpers shared by the compile-time evaluator and the optimizer. */

/** 32-bit FNV-1a of a string: stable salts for random numbers (call sites, parameter paths). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Rounding half to even, the `round` of the kernels (and of NumPy and WGSL). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
