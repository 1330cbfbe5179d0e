/**
 * Dependency-free SVG plots for training reports: the loss curve, 1-D
 * prediction-versus-reference lines, and 2-D heatmaps. Output is standalone
 * SVG (it has `xmlns`), deterministic (same input, same bytes: coordinates are
 * rounded to 0.01 px and nothing depends on time or randomness) and all text
 * is XML-escaped.
 */
import { formatNumber } from "./format.js";

/** Size and labels shared by every plot. */
export interface PlotOptions {
  readonly title?: string;
  /** Total width in px (default 640). */
  readonly width?: number;
  /** Total height in px (default 400, heatmaps 480). */
  readonly height?: number;
  readonly xLabel?: string;
  readonly yLabel?: string;
}

/** Escapes text for XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;",
  );
}

/** A coordinate, rounded to 0.01 so output is compact and stable. */
function px(v: number): string {
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? "0" : String(r);
}

/** About `count` round tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  // d3's thresholds: the geometric means between 1, 2, 5 and 10
  const step = (f >= Math.sqrt(50) ? 10 : f >= Math.sqrt(10) ? 5 : f >= Math.SQRT2 ? 2 : 1) * mag;
  const ticks: number[] = [];
  // integer multiples avoid accumulating 0.1 + 0.2 style errors
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++)
    ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** A tick label: plain for moderate values, exponent form for tiny or huge ones. */
function tickLabel(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e6) return String(Number(v.toPrecision(6)));
  return formatNumber(v);
}

/** The label of the decade 10^k: 0.01, 1, 1000, then 1e-5, 1e6. */
function decadeLabel(k: number): string {
  if (k >= -3 && k <= 4) return k < 0 ? (10 ** k).toFixed(-k) : String(10 ** k);
  return `1e${k}`;
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"];
const DASHES = ["", "6 4", "2 3", "8 3 2 3"];

/** The plot area inside the margins, in px. */
interface Frame {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** Opening of the document: root element, white background, title. */
function open(width: number, height: number, title: string | undefined): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  if (title !== undefined && title !== "")
    out.push(
      `<text x="${px(width / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    );
  return out;
}

/** Axis titles below the x axis and rotated left of the y axis. */
function axisTitles(f: Frame, xLabel: string | undefined, yLabel: string | undefined): string[] {
  const out: string[] = [];
  if (xLabel !== undefined && xLabel !== "")
    out.push(
      `<text x="${px(f.left + f.width / 2)}" y="${px(f.top + f.height + 38)}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
    );
  if (yLabel !== undefined && yLabel !== "") {
    const x = px(f.left - 58);
    const y = px(f.top + f.height / 2);
    out.push(
      `<text x="${x}" y="${y}" text-anchor="middle" transform="rotate(-90 ${x} ${y})">${escapeXml(yLabel)}</text>`,
    );
  }
  return out;
}

/** Ticks, labels and (unless `grid` is false) light grid lines along the x axis. */
function xAxis(
  f: Frame,
  ticks: readonly number[],
  toX: (v: number) => number,
  grid = true,
): string[] {
  const bottom = f.top + f.height;
  const out: string[] = [];
  for (const t of ticks) {
    const x = px(toX(t));
    if (grid)
      out.push(`<line x1="${x}" y1="${px(f.top)}" x2="${x}" y2="${px(bottom)}" stroke="#e5e5e5"/>`);
    out.push(
      `<line x1="${x}" y1="${px(bottom)}" x2="${x}" y2="${px(bottom + 5)}" stroke="#333333"/>`,
      `<text x="${x}" y="${px(bottom + 18)}" text-anchor="middle">${escapeXml(tickLabel(t))}</text>`,
    );
  }
  return out;
}

/** Ticks, labels and (unless `grid` is false) grid lines along the y axis; `label` formats each tick. */
function yAxis(
  f: Frame,
  ticks: readonly number[],
  toY: (v: number) => number,
  label: (v: number) => string,
  grid = true,
): string[] {
  const out: string[] = [];
  for (const t of ticks) {
    const y = px(toY(t));
    if (grid)
      out.push(
        `<line x1="${px(f.left)}" y1="${y}" x2="${px(f.left + f.width)}" y2="${y}" stroke="#e5e5e5"/>`,
      );
    out.push(
      `<line x1="${px(f.left - 5)}" y1="${y}" x2="${px(f.left)}" y2="${y}" stroke="#333333"/>`,
      `<text x="${px(f.left - 8)}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(label(t))}</text>`,
    );
  }
  return out;
}

/** The box around the plot area. */
function border(f: Frame): string {
  return `<rect x="${px(f.left)}" y="${px(f.top)}" width="${px(f.width)}" height="${px(f.height)}" fill="none" stroke="#333333"/>`;
}

/** A legend in the top-right corner of the plot area. */
function legend(
  f: Frame,
  entries: readonly { name: string; color: string; dash: string }[],
): string[] {
  if (entries.length === 0) return [];
  const longest = Math.max(...entries.map((e) => e.name.length));
  const w = Math.min(f.width - 20, 44 + longest * 6.6);
  const h = 8 + entries.length * 18;
  const x0 = f.left + f.width - w - 8;
  const y0 = f.top + 8;
  const out = [
    `<rect x="${px(x0)}" y="${px(y0)}" width="${px(w)}" height="${px(h)}" fill="#ffffff" fill-opacity="0.85" stroke="#999999"/>`,
  ];
  entries.forEach((e, i) => {
    const y = y0 + 13 + i * 18;
    const dash = e.dash === "" ? "" : ` stroke-dasharray="${e.dash}"`;
    out.push(
      `<line x1="${px(x0 + 8)}" y1="${px(y)}" x2="${px(x0 + 32)}" y2="${px(y)}" stroke="${e.color}" stroke-width="2"${dash}/>`,
      `<text x="${px(x0 + 38)}" y="${px(y)}" dominant-baseline="middle">${escapeXml(e.name)}</text>`,
    );
  });
  return out;
}

/** A path through the points, broken where a value is not finite. */
function pathData(xs: readonly number[], ys: readonly number[]): string {
  const parts: string[] = [];
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    parts.push(`${pen ? "L" : "M"}${px(x)} ${px(y)}`);
    pen = true;
  }
  return parts.join(" ");
}

/**
 * Keeps, per pixel column, the first, lowest, highest and last point (in
 * order), so a curve of a million steps draws the same envelope with a few
 * thousand points.
 */
function decimate(xs: readonly number[], ys: readonly number[]): { xs: number[]; ys: number[] } {
  const outX: number[] = [];
  const outY: number[] = [];
  let i = 0;
  while (i < xs.length) {
    const col = Math.floor(xs[i]!);
    let j = i;
    let lo = i;
    let hi = i;
    while (j < xs.length && Math.floor(xs[j]!) === col) {
      if (ys[j]! < ys[lo]!) lo = j;
      if (ys[j]! > ys[hi]!) hi = j;
      j++;
    }
    for (const k of [...new Set([i, lo, hi, j - 1])].sort((a, b) => a - b)) {
      outX.push(xs[k]!);
      outY.push(ys[k]!);
    }
    i = j;
  }
  return { xs: outX, ys: outY };
}

/** Options of {@link lossCurveSvg}. */
export interface LossCurveOptions extends PlotOptions {
  /** Draw the best-so-far loss too (default true). */
  readonly best?: boolean;
}

/**
 * The training loss against the step, on a log-scale y axis with a tick per
 * decade, plus the best loss so far. Losses that are not positive finite
 * numbers cannot be placed on a log axis and are skipped.
 */
export function lossCurveSvg(
  points: readonly { readonly step: number; readonly loss: number }[],
  opts: LossCurveOptions = {},
): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 400;
  const f: Frame = { left: 78, top: 40, width: width - 78 - 20, height: height - 40 - 52 };
  const out = open(width, height, opts.title ?? "Training loss");
  const pts = points
    .filter((p) => Number.isFinite(p.step) && Number.isFinite(p.loss) && p.loss > 0)
    .sort((a, b) => a.step - b.step);
  out.push(...axisTitles(f, opts.xLabel ?? "step", opts.yLabel ?? "loss (log scale)"));
  if (pts.length === 0) {
    out.push(
      border(f),
      `<text x="${px(f.left + f.width / 2)}" y="${px(f.top + f.height / 2)}" text-anchor="middle">no positive finite losses to plot</text>`,
      "</svg>",
    );
    return out.join("\n") + "\n";
  }
  let x0 = pts[0]!.step;
  let x1 = pts[pts.length - 1]!.step;
  if (x1 === x0) {
    x0 -= 1;
    x1 += 1;
  }
  let lossMin = Infinity;
  let lossMax = -Infinity;
  for (const p of pts) {
    lossMin = Math.min(lossMin, p.loss);
    lossMax = Math.max(lossMax, p.loss);
  }
  const d0 = Math.floor(Math.log10(lossMin));
  let d1 = Math.ceil(Math.log10(lossMax));
  if (d1 <= d0) d1 = d0 + 1;
  const toX = (s: number): number => f.left + ((s - x0) / (x1 - x0)) * f.width;
  const toY = (l: number): number => f.top + ((d1 - Math.log10(l)) / (d1 - d0)) * f.height;
  out.push(...xAxis(f, niceTicks(x0, x1), toX));
  const decades = d1 - d0;
  // at most about ten labelled decades; minor lines only where they stay readable
  const every = Math.ceil((decades + 1) / 10);
  const majors: number[] = [];
  for (let k = d0; k <= d1; k++) if ((k - d0) % every === 0) majors.push(10 ** k);
  if (decades <= 6)
    for (let k = d0; k < d1; k++)
      for (let m = 2; m <= 9; m++) {
        const y = px(toY(m * 10 ** k));
        out.push(
          `<line x1="${px(f.left)}" y1="${y}" x2="${px(f.left + f.width)}" y2="${y}" stroke="#f3f3f3"/>`,
        );
      }
  out.push(...yAxis(f, majors, toY, (v) => decadeLabel(Math.round(Math.log10(v)))));
  const xs = pts.map((p) => toX(p.step));
  const loss = decimate(
    xs,
    pts.map((p) => toY(p.loss)),
  );
  out.push(
    `<path d="${pathData(loss.xs, loss.ys)}" fill="none" stroke="${PALETTE[0]}" stroke-width="1.2" stroke-linejoin="round"/>`,
  );
  const entries = [{ name: "loss", color: PALETTE[0]!, dash: "" }];
  if (opts.best ?? true) {
    let best = Infinity;
    let bestStep = 0;
    const ys = pts.map((p) => {
      if (p.loss < best) {
        best = p.loss;
        bestStep = p.step;
      }
      return toY(best);
    });
    const b = decimate(xs, ys);
    out.push(
      `<path d="${pathData(b.xs, b.ys)}" fill="none" stroke="${PALETTE[1]}" stroke-width="1.6" stroke-dasharray="6 3"/>`,
    );
    entries.push({
      name: `best so far (${formatNumber(best)} at step ${bestStep})`,
      color: PALETTE[1]!,
      dash: "6 3",
    });
  }
  out.push(border(f), ...legend(f, entries), "</svg>");
  return out.join("\n") + "\n";
}

/** What {@link lineComparisonSvg} plots. */
export interface LineComparison extends PlotOptions {
  readonly x: readonly number[];
  readonly series: readonly { readonly name: string; readonly y: readonly number[] }[];
  readonly title: string;
}

/**
 * Several series over the same x values on linear axes, with a legend: a
 * 1-D prediction against the exact solution. Non-finite values break the line.
 */
export function lineComparisonSvg(c: LineComparison): string {
  for (const s of c.series)
    if (s.y.length !== c.x.length)
      throw new RangeError(
        `lineComparisonSvg: series "${s.name}" has ${s.y.length} values for ${c.x.length} x values`,
      );
  const width = c.width ?? 640;
  const height = c.height ?? 400;
  const f: Frame = { left: 78, top: 40, width: width - 78 - 20, height: height - 40 - 52 };
  const out = open(width, height, c.title);
  out.push(...axisTitles(f, c.xLabel ?? "x", c.yLabel ?? "y"));
  const finite = (v: number): boolean => Number.isFinite(v);
  const xsOk = c.x.filter(finite);
  const ysOk = c.series.flatMap((s) => s.y.filter(finite));
  let x0 = xsOk.length > 0 ? Math.min(...xsOk) : 0;
  let x1 = xsOk.length > 0 ? Math.max(...xsOk) : 1;
  if (x1 === x0) {
    x0 -= 1;
    x1 += 1;
  }
  let y0 = ysOk.length > 0 ? ysOk.reduce((a, b) => Math.min(a, b)) : 0;
  let y1 = ysOk.length > 0 ? ysOk.reduce((a, b) => Math.max(a, b)) : 1;
  if (y1 === y0) {
    const d = Math.abs(y0) > 0 ? Math.abs(y0) * 0.1 : 1;
    y0 -= d;
    y1 += d;
  }
  // a margin so the curves do not run along the frame
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const toX = (v: number): number => f.left + ((v - x0) / (x1 - x0)) * f.width;
  const toY = (v: number): number => f.top + ((y1 - v) / (y1 - y0)) * f.height;
  out.push(...xAxis(f, niceTicks(x0, x1), toX), ...yAxis(f, niceTicks(y0, y1), toY, tickLabel));
  const xs = c.x.map(toX);
  const entries = c.series.map((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const dash = DASHES[i % DASHES.length]!;
    const d = pathData(xs, s.y.map(toY));
    out.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash === "" ? "" : ` stroke-dasharray="${dash}"`}/>`,
    );
    return { name: s.name, color, dash };
  });
  out.push(border(f), ...legend(f, entries), "</svg>");
  return out.join("\n") + "\n";
}

/** What {@link heatmapSvg} plots. */
export interface Heatmap extends PlotOptions {
  /** Cells per row (along x). */
  readonly nx: number;
  /** Rows (along y). */
  readonly ny: number;
  /** Row-major, `ny` rows of `nx`: `values[j*nx + i]` is at (x_i, y_j); row 0 is at the bottom. */
  readonly values: readonly number[] | Float32Array | Float64Array;
  readonly title: string;
  /** The lower corner of the domain, `[x, y]`, for the axes. */
  readonly low: readonly number[];
  /** The upper corner of the domain, `[x, y]`. */
  readonly high: readonly number[];
  /** The values mapped to the ends of the colour scale (default: the finite minimum and maximum). */
  readonly range?: readonly [number, number];
  /** Label of the colour bar. */
  readonly valueLabel?: string;
}

/** Viridis, sampled at 9 points (perceptually uniform, readable in grey and by most colour-blind readers). */
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [0x44, 0x01, 0x54],
  [0x47, 0x2d, 0x7b],
  [0x3b, 0x52, 0x8b],
  [0x2c, 0x72, 0x8e],
  [0x21, 0x91, 0x8c],
  [0x28, 0xae, 0x80],
  [0x5e, 0xc9, 0x62],
  [0xad, 0xdc, 0x30],
  [0xfd, 0xe7, 0x25],
];

/** The viridis colour at t in [0, 1], as #rrggbb. */
export function viridis(t: number): string {
  const u = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const k = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - k;
  const a = VIRIDIS[k]!;
  const b = VIRIDIS[k + 1]!;
  const hex = (i: number): string =>
    Math.round(a[i]! + (b[i]! - a[i]!) * f)
      .toString(16)
      .padStart(2, "0");
  return `#${hex(0)}${hex(1)}${hex(2)}`;
}

/**
 * A 2-D field as coloured cells over the domain `[low, high]`, with a colour
 * bar. Adjacent cells of the same (256-level) colour in a row are merged
 * into one rectangle to keep the file small; non-finite values are grey.
 */
export function heatmapSvg(h: Heatmap): string {
  const { nx, ny, values } = h;
  if (!Number.isSafeInteger(nx) || !Number.isSafeInteger(ny) || nx < 1 || ny < 1)
    throw new RangeError(`heatmapSvg: nx and ny must be positive integers, got ${nx} and ${ny}`);
  if (values.length !== nx * ny)
    throw new RangeError(`heatmapSvg: ${values.length} values for ${nx} x ${ny} cells`);
  if (h.low.length !== 2 || h.high.length !== 2)
    throw new RangeError("heatmapSvg: low and high must be [x, y] corners");
  const width = h.width ?? 640;
  const height = h.height ?? 480;
  const f: Frame = { left: 78, top: 40, width: width - 78 - 110, height: height - 40 - 52 };
  const out = open(width, height, h.title);
  out.push(...axisTitles(f, h.xLabel ?? "x", h.yLabel ?? "y"));
  let v0 = Infinity;
  let v1 = -Infinity;
  for (const v of values)
    if (Number.isFinite(v)) {
      v0 = Math.min(v0, v);
      v1 = Math.max(v1, v);
    }
  if (h.range !== undefined) [v0, v1] = h.range;
  if (!Number.isFinite(v0) || !Number.isFinite(v1)) [v0, v1] = [0, 1];
  if (v1 <= v0) {
    const d = Math.abs(v0) > 0 ? Math.abs(v0) * 0.1 : 0.5;
    v0 -= d;
    v1 += d;
  }
  const levels = 256;
  const level = (v: number): number =>
    Number.isFinite(v)
      ? Math.min(levels - 1, Math.max(0, Math.floor(((v - v0) / (v1 - v0)) * levels)))
      : -1;
  const colour = (l: number): string => (l < 0 ? "#bbbbbb" : viridis(l / (levels - 1)));
  const cw = f.width / nx;
  const ch = f.height / ny;
  out.push(`<g shape-rendering="crispEdges">`);
  for (let j = 0; j < ny; j++) {
    const y = f.top + f.height - (j + 1) * ch;
    let i = 0;
    while (i < nx) {
      const l = level(values[j * nx + i]!);
      let k = i + 1;
      while (k < nx && level(values[j * nx + k]!) === l) k++;
      out.push(
        `<rect x="${px(f.left + i * cw)}" y="${px(y)}" width="${px(cw * (k - i))}" height="${px(ch)}" fill="${colour(l)}"/>`,
      );
      i = k;
    }
  }
  out.push(`</g>`);
  const [lx, ly] = h.low as [number, number];
  const [hx, hy] = h.high as [number, number];
  out.push(
    // no grid lines over the image
    ...xAxis(f, niceTicks(lx, hx), (v) => f.left + ((v - lx) / (hx - lx)) * f.width, false),
    ...yAxis(
      f,
      niceTicks(ly, hy),
      (v) => f.top + ((hy - v) / (hy - ly)) * f.height,
      tickLabel,
      false,
    ),
    border(f),
  );
  // the colour bar: a vertical gradient from v0 (bottom) to v1 (top), with its own ticks
  const bx = f.left + f.width + 24;
  const bw = 18;
  out.push(
    `<defs><linearGradient id="nnc-colour-bar" x1="0" y1="1" x2="0" y2="0">`,
    ...VIRIDIS.map(
      (_, k) =>
        `<stop offset="${px(k / (VIRIDIS.length - 1))}" stop-color="${viridis(k / (VIRIDIS.length - 1))}"/>`,
    ),
    `</linearGradient></defs>`,
    `<rect x="${px(bx)}" y="${px(f.top)}" width="${bw}" height="${px(f.height)}" fill="url(#nnc-colour-bar)" stroke="#333333"/>`,
  );
  for (const t of niceTicks(v0, v1, 5)) {
    const y = px(f.top + ((v1 - t) / (v1 - v0)) * f.height);
    out.push(
      `<line x1="${px(bx + bw)}" y1="${y}" x2="${px(bx + bw + 4)}" y2="${y}" stroke="#333333"/>`,
      `<text x="${px(bx + bw + 7)}" y="${y}" dominant-baseline="middle">${escapeXml(tickLabel(t))}</text>`,
    );
  }
  if (h.valueLabel !== undefined && h.valueLabel !== "")
    out.push(
      `<text x="${px(bx + bw / 2)}" y="${px(f.top - 8)}" text-anchor="middle">${escapeXml(h.valueLabel)}</text>`,
    );
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** What {@link imageRowSvg} plots. */
export interface ImageRow {
  /** Number of images. */
  readonly count: number;
  /** Rows of each image (drawn top to bottom). */
  readonly height: number;
  /** Columns of each image. */
  readonly width: number;
  /** `count` images of `height` rows of `width` values, row-major: `values[(k*height + i)*width + j]`. */
  readonly values: ArrayLike<number>;
  readonly title?: string;
  /** A caption per image (default `#0`, `#1`, …). */
  readonly labels?: readonly string[];
  /** At most this many images per row of the figure (default 10); more wrap onto further rows. */
  readonly columns?: number;
  /** Each image's longer side in px (default 112). */
  readonly size?: number;
}

/**
 * Images side by side, as heatmaps (viridis), the first row of each image at
 * the top: saliency maps of digits, say. Each image has its own colour
 * range (its finite minimum and maximum, shown under it), so a faint map
 * stays visible next to a bright one; non-finite values are grey. Adjacent
 * pixels of the same (256-level) colour in a row are merged into one
 * rectangle.
 */
export function imageRowSvg(r: ImageRow): string {
  const { count, height: h, width: w, values } = r;
  for (const [name, v] of [
    ["count", count],
    ["height", h],
    ["width", w],
  ] as const)
    if (!Number.isSafeInteger(v) || v < 1)
      throw new RangeError(`imageRowSvg: ${name} must be a positive integer, got ${v}`);
  if (values.length !== count * h * w)
    throw new RangeError(`imageRowSvg: ${values.length} values for ${count} images of ${h} x ${w}`);
  if (r.labels !== undefined && r.labels.length !== count)
    throw new RangeError(`imageRowSvg: ${r.labels.length} labels for ${count} images`);
  const columns = Math.min(count, r.columns ?? 10);
  const rows = Math.ceil(count / columns);
  const size = r.size ?? 112;
  const cell = size / Math.max(h, w);
  const pw = cell * w;
  const ph = cell * h;
  const gap = 16;
  const caption = 34;
  const top = r.title !== undefined && r.title !== "" ? 40 : 12;
  const width = Math.ceil(gap + columns * (pw + gap));
  const height = Math.ceil(top + rows * (ph + caption) + 4);
  const out = open(width, height, r.title);
  const levels = 256;
  for (let k = 0; k < count; k++) {
    const x0 = gap + (k % columns) * (pw + gap);
    const y0 = top + Math.floor(k / columns) * (ph + caption);
    const at = (i: number, j: number): number => values[(k * h + i) * w + j]!;
    let v0 = Infinity;
    let v1 = -Infinity;
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        const v = at(i, j);
        if (Number.isFinite(v)) {
          v0 = Math.min(v0, v);
          v1 = Math.max(v1, v);
        }
      }
    const lo = Number.isFinite(v0) ? v0 : 0;
    const spread = Number.isFinite(v1) && v1 > lo ? v1 - lo : 0;
    const level = (v: number): number =>
      !Number.isFinite(v)
        ? -1
        : spread === 0
          ? 0
          : Math.min(levels - 1, Math.max(0, Math.floor(((v - lo) / spread) * levels)));
    out.push(`<g shape-rendering="crispEdges">`);
    for (let i = 0; i < h; i++) {
      let j = 0;
      while (j < w) {
        const l = level(at(i, j));
        let e = j + 1;
        while (e < w && level(at(i, e)) === l) e++;
        const fill = l < 0 ? "#bbbbbb" : viridis(l / (levels - 1));
        out.push(
          `<rect x="${px(x0 + j * cell)}" y="${px(y0 + i * cell)}" width="${px(cell * (e - j))}" height="${px(cell)}" fill="${fill}"/>`,
        );
        j = e;
      }
    }
    out.push(`</g>`);
    out.push(
      `<rect x="${px(x0)}" y="${px(y0)}" width="${px(pw)}" height="${px(ph)}" fill="none" stroke="#333333"/>`,
    );
    const label = r.labels?.[k] ?? `#${k}`;
    const range = Number.isFinite(v0)
      ? `${formatNumber(v0)} to ${formatNumber(v1)}`
      : "no finite values";
    out.push(
      `<text x="${px(x0 + pw / 2)}" y="${px(y0 + ph + 14)}" text-anchor="middle">${escapeXml(label)}</text>`,
      `<text x="${px(x0 + pw / 2)}" y="${px(y0 + ph + 28)}" text-anchor="middle" font-size="10" fill="#555555">${escapeXml(range)}</text>`,
    );
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
