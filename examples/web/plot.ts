/**
 * The demo's two plots, drawn on canvases with the 2-D context (no chart
 * library): the network's prediction against the exact solution, and the
 * loss curve on a log scale.
 */

const FONT = "12px system-ui, sans-serif";
const AXIS = "#616e7c";
const GRID = "#e4e7eb";
const PREDICTION = "#2563eb";
const EXACT = "#1f2933";
const POINTS = "#f08c00";
const LOSS = "#d9480f";

/** Margins of the plot area inside the canvas, in CSS pixels. */
const MARGIN = { left: 52, right: 14, top: 12, bottom: 30 };

interface Frame {
  readonly ctx: CanvasRenderingContext2D;
  /** Plot area in CSS pixels. */
  readonly x0: number;
  readonly x1: number;
  readonly y0: number;
  readonly y1: number;
}

/** Sizes the canvas's backing store to its CSS size times the device pixel ratio, and clears it. */
function frame(canvas: HTMLCanvasElement): Frame {
  const dpr = globalThis.devicePixelRatio || 1;
  const w = Math.max(1, canvas.clientWidth || canvas.width);
  const h = Math.max(1, canvas.clientHeight || canvas.height);
  const bw = Math.round(w * dpr);
  const bh = Math.round(h * dpr);
  if (canvas.width !== bw || canvas.height !== bh) {
    canvas.width = bw;
    canvas.height = bh;
  }
  const ctx = canvas.getContext("2d");
  if (ctx === null) throw new Error("this browser gives no 2-D canvas context");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, w, h);
  ctx.font = FONT;
  return {
    ctx,
    x0: MARGIN.left,
    x1: w - MARGIN.right,
    y0: h - MARGIN.bottom,
    y1: MARGIN.top,
  };
}

/** About `count` round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function label(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-2 ? v.toExponential(0) : String(Number(v.toPrecision(3)));
}

/** Axes with grid lines at the ticks; `sx`, `sy` map data to pixels. */
function axes(
  f: Frame,
  xTicks: readonly number[],
  yTicks: readonly { value: number; text: string }[],
  sx: (x: number) => number,
  sy: (y: number) => number,
): void {
  const { ctx } = f;
  ctx.lineWidth = 1;
  ctx.strokeStyle = GRID;
  ctx.fillStyle = AXIS;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of xTicks) {
    const px = Math.round(sx(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(px, f.y0);
    ctx.lineTo(px, f.y1);
    ctx.stroke();
    ctx.fillText(label(t), px, f.y0 + 6);
  }
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of yTicks) {
    const py = Math.round(sy(t.value)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(f.x0, py);
    ctx.lineTo(f.x1, py);
    ctx.stroke();
    ctx.fillText(t.text, f.x0 - 6, py);
  }
  ctx.strokeStyle = AXIS;
  ctx.strokeRect(f.x0 + 0.5, f.y1 + 0.5, f.x1 - f.x0, f.y0 - f.y1);
}

function polyline(
  f: Frame,
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  sx: (x: number) => number,
  sy: (y: number) => number,
): void {
  const { ctx } = f;
  ctx.save();
  ctx.beginPath();
  ctx.rect(f.x0, f.y1, f.x1 - f.x0, f.y0 - f.y1);
  ctx.clip();
  ctx.beginPath();
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i]!;
    if (!Number.isFinite(y)) {
      pen = false;
      continue;
    }
    const px = sx(xs[i]!);
    const py = sy(y);
    if (pen) ctx.lineTo(px, py);
    else ctx.moveTo(px, py);
    pen = true;
  }
  ctx.stroke();
  ctx.restore();
}

/** What the solution plot shows. */
export interface SolutionView {
  /** The grid, increasing. */
  readonly xs: Float32Array;
  readonly exact: Float32Array;
  /** The network's values on the grid, or null before the first evaluation. */
  readonly prediction: Float32Array | null;
  /** The latest step's collocation points, drawn along the x axis. */
  readonly points: Float32Array | null;
}

export function drawSolution(canvas: HTMLCanvasElement, view: SolutionView): void {
  const f = frame(canvas);
  const { ctx } = f;
  const xlo = view.xs[0] ?? -1;
  const xhi = view.xs[view.xs.length - 1] ?? 1;
  let ylo = -1.2;
  let yhi = 1.2;
  for (const v of view.prediction ?? []) {
    // an untrained network may stray; the view follows it up to a point
    if (Number.isFinite(v)) {
      ylo = Math.max(-4, Math.min(ylo, v - 0.1));
      yhi = Math.min(4, Math.max(yhi, v + 0.1));
    }
  }
  const sx = (x: number) => f.x0 + ((x - xlo) / (xhi - xlo)) * (f.x1 - f.x0);
  const sy = (y: number) => f.y0 - ((y - ylo) / (yhi - ylo)) * (f.y0 - f.y1);
  axes(
    f,
    ticks(xlo, xhi, 8),
    ticks(ylo, yhi, 6).map((v) => ({ value: v, text: label(v) })),
    sx,
    sy,
  );
  ctx.lineWidth = 2;
  ctx.strokeStyle = EXACT;
  ctx.setLineDash([6, 5]);
  polyline(f, view.xs, view.exact, sx, sy);
  ctx.setLineDash([]);
  if (view.prediction !== null) {
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = PREDICTION;
    polyline(f, view.xs, view.prediction, sx, sy);
  }
  if (view.points !== null) {
    ctx.fillStyle = POINTS;
    for (const x of view.points) {
      ctx.beginPath();
      ctx.arc(sx(x), f.y0 - 5, 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}

/** One point of the loss curve. */
export interface LossPoint {
  readonly step: number;
  readonly loss: number;
}

export function drawLosses(canvas: HTMLCanvasElement, history: readonly LossPoint[]): void {
  const f = frame(canvas);
  const { ctx } = f;
  const finite = history.filter((p) => Number.isFinite(p.loss) && p.loss > 0);
  const lastStep = history.length > 0 ? history[history.length - 1]!.step : 0;
  const xhi = Math.max(10, lastStep);
  let lo = 1e-3;
  let hi = 1e2;
  if (finite.length > 0) {
    lo = Infinity;
    hi = -Infinity;
    for (const p of finite) {
      lo = Math.min(lo, p.loss);
      hi = Math.max(hi, p.loss);
    }
  }
  const dlo = Math.floor(Math.log10(lo));
  const dhi = Math.max(dlo + 1, Math.ceil(Math.log10(hi)));
  const sx = (s: number) => f.x0 + (s / xhi) * (f.x1 - f.x0);
  const sy = (l: number) => f.y0 - ((Math.log10(l) - dlo) / (dhi - dlo)) * (f.y0 - f.y1);
  const every = Math.ceil((dhi - dlo) / 8);
  const decades: { value: number; text: string }[] = [];
  for (let d = dlo; d <= dhi; d += every) decades.push({ value: 10 ** d, text: `1e${d}` });
  axes(f, ticks(0, xhi, 6), decades, sx, sy);
  if (finite.length === 0) {
    ctx.fillStyle = AXIS;
    ctx.textAlign = "center";
    ctx.fillText("no steps yet", (f.x0 + f.x1) / 2, (f.y0 + f.y1) / 2);
    return;
  }
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = LOSS;
  polyline(
    f,
    finite.map((p) => p.step),
    finite.map((p) => p.loss),
    sx,
    sy,
  );
}
