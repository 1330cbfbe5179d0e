/** Number and duration formatting shared by progress lines and plots. */

/**
 * A number in 3 significant digits: plain in [1e-3, 1e4) (`0.00123`, `12.3`,
 * `1230`), exponent form outside it (`1.23e-5`, `4.5e6`).
 */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const e = Math.floor(Math.log10(Math.abs(v)));
  // toPrecision can round up into the next decade (9999 -> 1.00e+4), so decide on the rounded value
  const rounded = Number(v.toPrecision(3));
  if (e >= -3 && e < 4 && Math.abs(rounded) < 1e4) return String(rounded);
  return v
    .toExponential(2)
    .replace(/\.?0+e/, "e")
    .replace("e+", "e");
}

/** A duration for humans: `45s`, `3m05s`, `2h07m`, `3d04h`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const two = (n: number): string => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor((s % 86400) / 3600))}h`;
}
