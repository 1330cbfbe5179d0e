/**
 * A training progress reporter: step/total, a bar, the loss, the best loss,
 * the latest evaluations (if any), the speed and the time left. On a terminal it redraws one line in place
 * (at most about 10 times a second, so printing never slows training); in a
 * log file or CI output it prints one line per 10% instead. Pure logic: the
 * output goes to an injected writer and time comes from an injected clock.
 */
import { formatDuration, formatNumber } from "./format.js";

/** Options of {@link Progress}. */
export interface ProgressOptions {
  /** The step count at which training ends. */
  readonly total: number;
  /** Where output goes, e.g. `(s) => process.stderr.write(s)`. */
  readonly write: (s: string) => void;
  /** Redraw one line with `\r` (a terminal) or print lines every 10% (a log). */
  readonly isTTY: boolean;
  /** Milliseconds from any origin (default `performance.now`). */
  readonly now?: () => number;
  /** Steps already done before this run (a resumed run); speed counts from here. */
  readonly startStep?: number;
  /** Characters in the bar (default 20). */
  readonly barWidth?: number;
  /** Least time between terminal redraws, in ms (default 100). */
  readonly minIntervalMs?: number;
}

/** Reports training progress; call {@link update} after each step and {@link finish} at the end. */
export class Progress {
  private readonly now: () => number;
  private readonly started: number;
  private readonly startStep: number;
  private best = Infinity;
  private lastStep: number;
  private lastLoss = NaN;
  private metrics: Readonly<Record<string, number>> = {};
  /** Terminal: when the line was last drawn, its length, and for which step. */
  private drawnAt = -Infinity;
  private drawnLength = 0;
  private drawnStep = -1;
  /** Log: the next tenth to report (1..10). */
  private nextTenth: number;
  private finished = false;

  constructor(private readonly options: ProgressOptions) {
    if (!(Number.isSafeInteger(options.total) && options.total >= 1))
      throw new RangeError(`Progress: total must be a positive integer, got ${options.total}`);
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
    this.startStep = options.startStep ?? 0;
    this.lastStep = this.startStep;
    // a resumed run does not repeat the tenths it already passed
    this.nextTenth = Math.floor((this.startStep * 10) / options.total) + 1;
  }

  /** The best (lowest finite) loss reported so far, or Infinity. */
  get bestLoss(): number {
    return this.best;
  }

  /**
   * Records that `step` steps are done (counting from 1) and the loss of the
   * last one; `metrics` (evaluations by name) replaces the ones shown after
   * the loss, when given.
   */
  update(step: number, loss: number, metrics?: Readonly<Record<string, number>>): void {
    this.lastStep = step;
    this.lastLoss = loss;
    if (metrics !== undefined) this.metrics = metrics;
    if (Number.isFinite(loss) && loss < this.best) this.best = loss;
    const { total, isTTY } = this.options;
    if (isTTY) {
      const t = this.now();
      const interval = this.options.minIntervalMs ?? 100;
      if (step >= total || this.drawnStep < 0 || t - this.drawnAt >= interval) this.draw(t);
      return;
    }
    let crossed = 0;
    while (this.nextTenth <= 10 && step >= Math.ceil((total * this.nextTenth) / 10))
      crossed = this.nextTenth++;
    if (crossed > 0) this.print();
  }

  /** Draws the final state (if not shown yet) and ends the terminal line. Idempotent. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.options.isTTY) {
      if (this.drawnStep !== this.lastStep) this.draw(this.now());
      if (this.drawnStep >= 0) this.options.write("\n");
    } else if (this.drawnStep !== this.lastStep && this.lastStep > this.startStep) this.print();
  }

  /** The status line for the current state, without any control characters. */
  line(): string {
    const { total } = this.options;
    const width = this.options.barWidth ?? 20;
    const step = this.lastStep;
    const frac = Math.min(1, Math.max(0, step / total));
    const filled = Math.round(frac * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    const pct = `${Math.floor(frac * 100)}%`.padStart(4);
    const elapsed = (this.now() - this.started) / 1000;
    const done = step - this.startStep;
    const rate = elapsed > 0 && done > 0 ? done / elapsed : NaN;
    const speed = Number.isFinite(rate) ? `${formatRate(rate)} steps/s` : "-- steps/s";
    const eta =
      step >= total
        ? `done in ${formatDuration(elapsed)}`
        : `ETA ${Number.isFinite(rate) ? formatDuration((total - step) / rate) : "--"}`;
    const digits = String(total).length;
    const metrics = Object.entries(this.metrics)
      .map(([name, v]) => ` ${name} ${formatNumber(v)}`)
      .join("");
    return `step ${String(step).padStart(digits)}/${total} [${bar}] ${pct} loss ${formatNumber(this.lastLoss)} best ${Number.isFinite(this.best) ? formatNumber(this.best) : "--"}${metrics} ${speed} ${eta}`;
  }

  private draw(t: number): void {
    const text = this.line();
    // spaces over the tail of a longer previous line, since \r only moves the cursor
    const pad = Math.max(0, this.drawnLength - text.length);
    this.options.write(`\r${text}${" ".repeat(pad)}`);
    this.drawnAt = t;
    this.drawnLength = text.length;
    this.drawnStep = this.lastStep;
  }

  private print(): void {
    this.options.write(`${this.line()}\n`);
    this.drawnStep = this.lastStep;
  }
}

/** Steps per second in about 3 significant digits. */
function formatRate(r: number): string {
  if (r >= 100) return String(Math.round(r));
  if (r >= 10) return r.toFixed(1);
  return r.toFixed(2);
}
