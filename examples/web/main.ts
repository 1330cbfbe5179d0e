/**
 * The live demo: trains `Poisson.pinn` of `examples/poisson1d.nn` in the
 * browser, on WebGPU, WebGL2 or the CPU, a batch of steps per animation
 * frame, and plots the prediction and the loss as it goes.
 *
 * The model class comes straight from the `.nn` file: the nnc Vite plugin
 * compiles it on import (and again when it changes; the page then restarts
 * training with the new program). The training data follow the file's
 * `train` block through `Poisson.training`, with nnc's own data sources, so
 * the page sees the same collocation points as `nnc train` at every step;
 * the learning-rate schedule is part of the compiled `step`.
 */
import { Poisson } from "../poisson1d.nn";
import { BackendUnavailableError, tensor, type BackendName, type TensorSig } from "nnc/runtime";
import { checkSpec, Dataset, gridPoints, type DataSpec } from "nnc/runtime/train";
import { drawLosses, drawSolution, type LossPoint } from "./plot";

/**
 * The backends offered. `"auto"` takes WebGPU and WebGL2 first when they run on a GPU, then
 * WebAssembly, then either of them on a software renderer, then the CPU (the TypeScript
 * reference); the page starts on what `"auto"` picks.
 */
const BACKENDS = [
  { name: "webgpu", label: "WebGPU" },
  { name: "webgl2", label: "WebGL2" },
  { name: "wasm", label: "WebAssembly" },
  { name: "cpu", label: "CPU" },
] as const;
type Choice = (typeof BACKENDS)[number]["name"];

/** Wall time a frame's batch of steps should take; the batch grows or shrinks towards it. */
const FRAME_BUDGET_MS = 30;
const MAX_BATCH = 256;
/**
 * The prediction is evaluated on the test grid at most this often while
 * training, and at most a fifth of the time (one evaluation on a slow
 * backend may cost several steps).
 */
const PREDICT_EVERY_MS = 150;
const PREDICT_SHARE = 0.2;
/** Window of the steps/s figure. */
const RATE_WINDOW_MS = 2000;

type ModelClass = typeof Poisson;
type Model = Poisson;

let Program: ModelClass = Poisson;

// ------------------------------------------------------------------ data

/**
 * The signature each of the `train` block's sources gives (the step takes
 * `x: f32[N, 1]`, `xb: f32[M, 1]`; a sampler of `n` points in `d`
 * dimensions gives `f32[n, d]`, a literal its own shape).
 */
function signature(name: string, spec: DataSpec): TensorSig {
  let shape: number[];
  switch (spec.kind) {
    case "uniform":
    case "lhs":
    case "boundary":
      shape = [spec.n, spec.low.length];
      break;
    case "grid":
      shape = [spec.n ** spec.low.length, spec.low.length];
      break;
    case "tensor":
      shape = [...spec.shape];
      break;
    default:
      throw new Error(`the demo feeds samplers and literals only; input ${name} has ${spec.kind}`);
  }
  const dtype = spec.kind === "tensor" ? spec.dtype : "f32";
  return { name, dtype, shape, display: `${dtype}[${shape.join(", ")}]` };
}

/** The `train` block's data, as `nnc train` draws it: step k's inputs are a function of (seed, k). */
function trainingData(program: ModelClass): Dataset {
  const specs: Record<string, DataSpec> = {};
  const sigs: TensorSig[] = [];
  for (const [name, raw] of Object.entries(program.training.data)) {
    const spec: unknown = structuredClone(raw);
    checkSpec(spec, `data for input "${name}"`);
    specs[name] = spec;
    sigs.push(signature(name, spec));
  }
  return new Dataset(specs, sigs, { seed: program.training.seed });
}

/** The `test` grid of the `train` block (1000 points in [-1, 1]), where the error is measured and the plot drawn. */
function testGrid(program: ModelClass): Float32Array {
  const t = program.training.test;
  return gridPoints(t.n, [...t.low], [...t.high]);
}

// ------------------------------------------------------------------ page

function element<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`index.html has no #${id}`);
  return e as T;
}

const ui = {
  backends: element<HTMLDivElement>("backends"),
  toggle: element<HTMLButtonElement>("toggle"),
  restart: element<HTMLButtonElement>("restart"),
  backend: element("backend"),
  adapter: element("adapter"),
  step: element("step"),
  loss: element("loss"),
  error: element("error"),
  rate: element("rate"),
  message: element<HTMLParagraphElement>("message"),
  solution: element<HTMLCanvasElement>("solution"),
  losses: element<HTMLCanvasElement>("losses"),
};

function showMessage(text: string | null): void {
  ui.message.hidden = text === null;
  ui.message.textContent = text ?? "";
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Whether each backend can run here: null, or why not (the runtime's own error message). */
const availability = new Map<Choice, string | null>();

function renderBackends(current: string | null): void {
  ui.backends.replaceChildren(
    ...BACKENDS.map(({ name, label }) => {
      const why = availability.get(name);
      const box = document.createElement("label");
      box.className = "backend";
      box.dataset["backend"] = name;
      const input = document.createElement("input");
      input.type = "radio";
      input.name = "backend";
      input.value = name;
      input.checked = current === name;
      input.disabled = why !== null;
      input.addEventListener("change", () => void start(name));
      const title = document.createElement("span");
      title.append(input, label);
      box.append(title);
      const note = document.createElement("span");
      note.className = "why";
      if (why === undefined) note.textContent = "checking…";
      else if (why !== null) {
        note.textContent = why;
        box.classList.add("unavailable");
        box.title = why;
      }
      box.append(note);
      if (current === name) box.classList.add("current");
      return box;
    }),
  );
}

/** Asks the runtime for each backend in turn: creating the model is the test, and its error the reason. */
async function probe(): Promise<void> {
  renderBackends(null);
  for (const { name } of BACKENDS) {
    try {
      const m = await Program.create({ backend: name, seed: Program.training.seed });
      m.dispose();
      availability.set(name, null);
    } catch (e) {
      availability.set(name, e instanceof BackendUnavailableError ? e.message : errorText(e));
    }
    renderBackends(null);
  }
}

/** The backend `"auto"` picks here, when it is one the page offers. */
async function autoChoice(): Promise<Choice | undefined> {
  try {
    const m = await Program.create({ backend: "auto", seed: Program.training.seed });
    const name = m.backend;
    m.dispose();
    return BACKENDS.find((b) => b.name === name)?.name;
  } catch {
    return BACKENDS.find(({ name }) => availability.get(name) === null)?.name;
  }
}

// ------------------------------------------------------------------ training

/** One training run: a fresh model on one backend, from the program's seed. */
interface Run {
  /** What was asked for (`"auto"` included); `model.backend` is what runs. */
  readonly requested: BackendName;
  readonly model: Model;
  readonly data: Dataset;
  readonly grid: Float32Array;
  readonly exact: Float32Array;
  step: number;
  loss: number | null;
  readonly history: LossPoint[];
  prediction: Float32Array | null;
  points: Float32Array | null;
  error: number | null;
  /** Steps per animation frame, adapted to {@link FRAME_BUDGET_MS}. */
  batch: number;
  active: boolean;
  /** Settles when the loop has stopped (after the step in flight). */
  loop: Promise<void>;
  /** (time, step) samples for the steps/s figure, and the time trained so far. */
  readonly marks: { t: number; step: number }[];
  trainedMs: number;
  lastPredict: number;
  /** How long the last evaluation took. */
  predictMs: number;
}

let run: Run | null = null;
/** Serializes start/stop so a click during a model's creation waits for it. */
let queue: Promise<void> = Promise.resolve();

function adapterOf(model: Model): string | null {
  // the GPU adapter or WebGL2 renderer the runtime uses, where the generated class exposes it
  const a: unknown = "adapter" in model ? (model as { adapter?: unknown }).adapter : undefined;
  return typeof a === "string" && a !== "" ? a : null;
}

function nextFrame(): Promise<void> {
  return new Promise((ok) => requestAnimationFrame(() => ok()));
}

function stepInputs(r: Run) {
  const d = r.data.sample(r.step);
  const x = d["x"];
  const xb = d["xb"];
  if (x === undefined || xb === undefined)
    throw new Error("the train block has no data for x or xb");
  return { x, xb };
}

/** Evaluates the network on the grid and the relative L2 error against the exact solution. */
async function predict(r: Run): Promise<void> {
  const t0 = performance.now();
  const u = (await r.model.u(tensor(r.grid, [r.grid.length, 1]))).data;
  let num = 0;
  let den = 0;
  for (let i = 0; i < u.length; i++) {
    num += (u[i]! - r.exact[i]!) ** 2;
    den += r.exact[i]! ** 2;
  }
  r.prediction = Float32Array.from(u);
  r.error = Math.sqrt(num / den);
  const now = performance.now();
  r.predictMs = now - t0;
  r.lastPredict = now;
}

/** Runs `r.batch` steps, reading back only the last one's loss. */
async function trainBatch(r: Run): Promise<void> {
  const t0 = performance.now();
  let last: number | null = null;
  for (let k = 0; k < r.batch && r.active; k++) {
    const read = k === r.batch - 1;
    const { x, xb } = stepInputs(r);
    const out = await r.model.step(x, xb, { read });
    r.step += 1;
    if (read) r.points = x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
    if (out !== null) last = out.item();
  }
  const dt = performance.now() - t0;
  if (last !== null) {
    r.loss = last;
    r.history.push({ step: r.step, loss: last });
    if (!Number.isFinite(last)) throw new Error(`the loss became ${last} at step ${r.step}`);
  }
  if (dt < FRAME_BUDGET_MS / 2) r.batch = Math.min(MAX_BATCH, r.batch * 2);
  else if (dt > FRAME_BUDGET_MS * 1.5 && r.batch > 1) r.batch = Math.max(1, r.batch >> 1);
}

function stepsPerSecond(r: Run): number {
  const m = r.marks;
  if (m.length < 2) return 0;
  const a = m[0]!;
  const b = m[m.length - 1]!;
  return b.t > a.t ? ((b.step - a.step) * 1000) / (b.t - a.t) : 0;
}

function draw(r: Run | null): void {
  ui.step.textContent = r === null ? "0" : String(r.step);
  ui.loss.textContent = r?.loss == null ? "–" : r.loss.toExponential(3);
  ui.error.textContent = r?.error == null ? "–" : r.error.toExponential(2);
  ui.rate.textContent = r === null || r.marks.length < 2 ? "–" : stepsPerSecond(r).toFixed(1);
  ui.toggle.textContent = r?.active === true ? "Pause" : "Resume";
  ui.toggle.disabled = r === null;
  ui.restart.disabled = r === null;
  const grid = r?.grid ?? testGrid(Program);
  drawSolution(ui.solution, {
    xs: grid,
    exact: r?.exact ?? grid.map((x) => Math.sin(Math.PI * x)),
    prediction: r?.prediction ?? null,
    points: r?.points ?? null,
  });
  drawLosses(ui.losses, r?.history ?? []);
}

async function loop(r: Run): Promise<void> {
  let t = performance.now();
  r.marks.length = 0;
  r.marks.push({ t, step: r.step });
  try {
    while (r.active) {
      await trainBatch(r);
      const now = performance.now();
      r.trainedMs += now - t;
      t = now;
      r.marks.push({ t: now, step: r.step });
      while (r.marks.length > 2 && now - r.marks[1]!.t > RATE_WINDOW_MS) r.marks.shift();
      const wait = Math.max(PREDICT_EVERY_MS, r.predictMs / PREDICT_SHARE);
      if (now - r.lastPredict >= wait) await predict(r);
      draw(r);
      await nextFrame();
    }
    await predict(r);
  } catch (e) {
    r.active = false;
    showMessage(`training stopped: ${errorText(e)}`);
  }
  draw(r);
}

function resume(r: Run): void {
  if (r.active) return;
  r.active = true;
  r.loop = loop(r);
}

async function pause(r: Run): Promise<void> {
  r.active = false;
  await r.loop;
}

/** Creates a fresh model on `backend` (same seed as every run) and starts training it, unless `paused`. */
async function restart(backend: BackendName, paused = false): Promise<void> {
  if (run !== null) {
    await pause(run);
    run.model.dispose();
    run = null;
  }
  showMessage(null);
  ui.backend.textContent = `starting ${backend}…`;
  ui.adapter.textContent = "–";
  draw(null);
  let model: Model;
  try {
    model = await Program.create({ backend, seed: Program.training.seed });
  } catch (e) {
    ui.backend.textContent = "–";
    showMessage(errorText(e));
    renderBackends(null);
    return;
  }
  const grid = testGrid(Program);
  const exact = Float32Array.from((await model.exact(tensor(grid, [grid.length, 1]))).data);
  const r: Run = {
    requested: backend,
    model,
    data: trainingData(Program),
    grid,
    exact,
    step: 0,
    loss: null,
    history: [],
    prediction: null,
    points: null,
    error: null,
    batch: 1,
    active: false,
    loop: Promise.resolve(),
    marks: [],
    trainedMs: 0,
    lastPredict: 0,
    predictMs: 0,
  };
  await predict(r);
  run = r;
  ui.backend.textContent = model.backend;
  ui.adapter.textContent = adapterOf(model) ?? (model.backend === "cpu" ? "JavaScript" : "–");
  renderBackends(model.backend);
  draw(r);
  if (!paused) resume(r);
}

function start(backend: BackendName, options: { paused?: boolean } = {}): Promise<void> {
  queue = queue.then(() => restart(backend, options.paused === true));
  return queue;
}

function proceed(): Promise<void> {
  queue = queue.then(() => {
    if (run !== null) resume(run);
    draw(run);
  });
  return queue;
}

function stop(): Promise<void> {
  queue = queue.then(async () => {
    if (run !== null) await pause(run);
    draw(run);
  });
  return queue;
}

ui.toggle.addEventListener("click", () => {
  queue = queue.then(async () => {
    if (run === null) return;
    if (run.active) await pause(run);
    else resume(run);
    draw(run);
  });
});
ui.restart.addEventListener("click", () => {
  if (run !== null) void start(run.requested);
});

// ------------------------------------------------------------------ test hook

/** What the browser test (tests/browser/demo.test.ts) reads and drives. */
interface DemoHook {
  /** True once every backend has been checked. */
  readonly ready: boolean;
  /** Per backend: null when it runs here, else why not. */
  readonly backends: Record<string, string | null>;
  readonly backend: string | null;
  readonly adapter: string | null;
  readonly running: boolean;
  readonly steps: number;
  readonly loss: number | null;
  readonly lossHistory: LossPoint[];
  readonly prediction: number[] | null;
  /** Relative L2 error against the exact solution on the test grid. */
  readonly error: number | null;
  /** Steps/s over the last two seconds, and over all the time trained in this run. */
  readonly stepsPerSecond: number;
  readonly averageStepsPerSecond: number;
  readonly message: string | null;
  /** A fresh model on `backend`, training at once unless `paused`. */
  start(backend: BackendName, options?: { paused?: boolean }): Promise<void>;
  /** Pauses training (after the step in flight). */
  stop(): Promise<void>;
  /** Resumes it. */
  resume(): Promise<void>;
}

let probed = false;
const hook: DemoHook = {
  get ready() {
    return probed;
  },
  get backends() {
    return Object.fromEntries(availability);
  },
  get backend() {
    return run?.model.backend ?? null;
  },
  get adapter() {
    return run === null ? null : adapterOf(run.model);
  },
  get running() {
    return run?.active ?? false;
  },
  get steps() {
    return run?.step ?? 0;
  },
  get loss() {
    return run?.loss ?? null;
  },
  get lossHistory() {
    return [...(run?.history ?? [])];
  },
  get prediction() {
    return run?.prediction ? Array.from(run.prediction) : null;
  },
  get error() {
    return run?.error ?? null;
  },
  get stepsPerSecond() {
    return run === null ? 0 : stepsPerSecond(run);
  },
  get averageStepsPerSecond() {
    return run === null || run.trainedMs === 0 ? 0 : (run.step * 1000) / run.trainedMs;
  },
  get message() {
    return ui.message.hidden ? null : ui.message.textContent;
  },
  start,
  stop,
  resume: proceed,
};

declare global {
  interface Window {
    nncDemo: DemoHook;
  }
}
window.nncDemo = hook;

// ------------------------------------------------------------------ start

if (import.meta.hot) {
  // the plugin recompiled poisson1d.nn (or a file it uses): train the new program from scratch
  import.meta.hot.accept("../poisson1d.nn", (mod) => {
    const next: ModelClass | undefined = mod?.["Poisson"];
    if (next === undefined) return;
    Program = next;
    if (run !== null) void start(run.requested);
  });
}

draw(null);
await probe();
probed = true;
const params = new URLSearchParams(location.search);
const first = await autoChoice();
if (params.get("autostart") !== "0" && first !== undefined) void start(first);
