// `npm run bench`: nnc against its peers on the same workloads, each runner in its own process,
// one after another (timings never overlap), in rounds of alternating order (A B C, then C B A, ...)
// so that drift on a shared machine hits every column alike; each figure is the median over the
// timed runs of all rounds. Then `nnc build` of every example. Writes the table to bench/results.md
// and, for a full run, to the generated section of docs/benchmarks.md; the raw results (every
// timed run) to bench/.out/results.json.
//
//   npm run bench                          every runner, 2 rounds
//   npm run bench -- tfjs-wasm jax-wasm    only some (groups: nnc, tfjs, jax, wasm, webgpu)
//   npm run bench -- --rounds 3            more rounds (at least 5 timed runs in all either way)
//   npm run bench -- --quick               one round, one warm-up and two timed runs: a smoke test
//   --docs / --no-docs                     write docs/benchmarks.md even for a partial or quick
//                                          run / not even for a full one
//   --timeout S                            per runner process (default 900 s)
//   --rerender                             no run: the report again from the last run's
//                                          bench/.out/results.json (after editing report.mjs)
//
// The peers (TensorFlow.js, jax-js, Dawn for Node) are bench/package.json's dependencies, installed
// here on first run with `npm ci --prefix bench`, never nnc's own; numpy is used when
// `python3 -c 'import numpy'` works. WebGPU runs on Dawn in Node over Mesa's lavapipe
// (VK_ICD_FILENAMES is set to its ICD unless already set).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./lib.mjs";
import { renderReport } from "./report.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const LVP_ICD = "/usr/share/vulkan/icd.d/lvp_icd.json";
const RESULTS_MD = join(HERE, "results.md");
const RESULTS_JSON = join(HERE, ".out", "results.json");
const DOCS = join(ROOT, "docs", "benchmarks.md");

/** The runners: the table's columns, in its order. `cmd` is [program, ...args]. */
const node = (script, ...args) => [process.execPath, join(HERE, script), ...args];
const RUNNERS = {
  "nnc-wasm": { column: "nnc wasm", cmd: node("nnc.mjs", "wasm") },
  "jax-wasm": { column: "jax-js wasm", cmd: node("peer-jax.mjs", "wasm") },
  "tfjs-wasm": { column: "tfjs wasm", cmd: node("peer-tfjs.mjs", "wasm") },
  numpy: { column: "numpy", cmd: ["python3", join(HERE, "peer-numpy.py")] },
  "nnc-cpu": { column: "nnc cpu", cmd: node("nnc.mjs", "cpu") },
  "tfjs-cpu": { column: "tfjs cpu", cmd: node("peer-tfjs.mjs", "cpu") },
  "nnc-webgpu": { column: "nnc webgpu", cmd: node("nnc.mjs", "webgpu") },
  "jax-webgpu": { column: "jax-js webgpu", cmd: node("peer-jax.mjs", "webgpu") },
  "tfjs-webgpu": { column: "tfjs webgpu", cmd: node("peer-tfjs.mjs", "webgpu") },
  build: { column: null, cmd: node("build-times.mjs") },
};
const GROUPS = {
  nnc: ["nnc-wasm", "nnc-cpu", "nnc-webgpu"],
  tfjs: ["tfjs-wasm", "tfjs-cpu", "tfjs-webgpu"],
  jax: ["jax-wasm", "jax-webgpu"],
  wasm: ["nnc-wasm", "jax-wasm", "tfjs-wasm"],
  webgpu: ["nnc-webgpu", "jax-webgpu", "tfjs-webgpu"],
};

// ---- options
function usage(msg) {
  console.error(
    `bench: ${msg}\nusage: npm run bench -- [runner|group ...] [--rounds N] [--quick] [--docs|--no-docs] [--timeout S] [--rerender]\n  runners: ${Object.keys(RUNNERS).join(", ")}\n  groups: ${Object.entries(
      GROUPS,
    )
      .map(([g, rs]) => `${g} (${rs.join(", ")})`)
      .join("; ")}`,
  );
  process.exit(2);
}
const argv = process.argv.slice(2);
const opts = { rounds: 2, quick: false, docs: null, timeoutS: 900, rerender: false };
const picked = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const num = () => {
    const v = Number(argv[++i]);
    if (!Number.isInteger(v) || v < 1) usage(`${a} needs a positive whole number`);
    return v;
  };
  if (a === "--rounds") opts.rounds = num();
  else if (a === "--timeout") opts.timeoutS = num();
  else if (a === "--quick") opts.quick = true;
  else if (a === "--docs") opts.docs = true;
  else if (a === "--no-docs") opts.docs = false;
  else if (a === "--rerender") opts.rerender = true;
  else if (a === "-h" || a === "--help") usage("runs the peer benchmarks");
  else if (a.startsWith("-")) usage(`unknown option ${a}`);
  else if (a in GROUPS) picked.push(...GROUPS[a]);
  else if (a in RUNNERS) picked.push(a);
  else usage(`unknown runner ${a}`);
}
if (opts.quick && !argv.includes("--rounds")) opts.rounds = 1;
const selected = Object.keys(RUNNERS).filter((r) => picked.length === 0 || picked.includes(r));
const full = picked.length === 0 && !opts.quick;
const writeDocs = opts.docs ?? full;

// Runs per measurement: the first round takes at least 5 timed runs (the issue's floor), so that
// a measurement left out of later rounds (below) still has them; each later round at least 3 more;
// up to 20 over all rounds, within about 5 s of timed runs per measurement over all rounds.
const timing = opts.quick
  ? { first: { warmup: 1, minReps: 2, maxReps: 2, budgetMs: 0 } }
  : {
      first: {
        warmup: 2,
        minReps: 5,
        maxReps: Math.max(5, Math.ceil(20 / opts.rounds)),
        budgetMs: Math.round(5000 / opts.rounds),
      },
      later: {
        warmup: 2,
        minReps: 3,
        maxReps: Math.max(3, Math.ceil(20 / opts.rounds)),
        budgetMs: Math.round(5000 / opts.rounds),
      },
    };
/** Measurements not repeated after the first round: a step over 10 s, or over 60 s untimed. */
const SLOW_STEP_MS = 10000;
const SLOW_SETUP_S = 60;

if (opts.rerender) {
  if (!existsSync(RESULTS_JSON)) usage(`--rerender: ${RESULTS_JSON} does not exist (run first)`);
  const last = JSON.parse(readFileSync(RESULTS_JSON, "utf8"));
  finish(renderReport(last), opts.docs ?? false);
  process.exit(0);
}

// ---- the peers' packages and nnc's build
const peersInstalled = [
  "@tensorflow/tfjs",
  "@tensorflow/tfjs-backend-wasm",
  "@tensorflow/tfjs-backend-webgpu",
  "@jax-js/jax",
  "webgpu",
].every((p) => existsSync(join(HERE, "node_modules", p, "package.json")));
if (!peersInstalled) {
  console.error("bench: installing the peers (npm ci --prefix bench)");
  const r = spawnSync("npm", ["ci", "--prefix", HERE, "--no-audit", "--no-fund"], {
    stdio: "inherit",
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
if (!existsSync(join(ROOT, "dist/compiler/index.js"))) {
  console.error("bench: dist/ is missing: run `npm run build` first (`npm run bench` does)");
  process.exit(1);
}

// ---- environment of the runners
const env = { ...process.env };
if (!env.VK_ICD_FILENAMES) {
  if (existsSync(LVP_ICD)) env.VK_ICD_FILENAMES = LVP_ICD;
  else
    console.error(
      `bench: ${LVP_ICD} not found: WebGPU runners will use whatever Vulkan driver is found; install lavapipe with \`bash scripts/install-gpu-hosts.sh\``,
    );
}
env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), "nnc-bench-xdg-")); // 0700; silences Dawn's warning

/** Why numpy cannot run here, or null when `python3 -c 'import numpy'` works. */
function numpyMissing() {
  const p = spawnSync("python3", ["-c", "import numpy"], { encoding: "utf8" });
  if (p.error) return `python3 not found (${p.error.code ?? p.error.message})`;
  if (p.status !== 0)
    return `\`python3 -c 'import numpy'\` fails: ${(p.stderr || "").trim().split("\n").pop()}`;
  return null;
}

/**
 * Runs one runner; its stderr streams through, its last `RESULT` line comes back parsed (runners
 * report after every workload, so one killed by the timeout still gives what it finished).
 */
function runOne(cmd, extraEnv = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd[0], cmd.slice(1), {
      cwd: ROOT,
      env: { ...env, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let spawnError = null;
    child.on("error", (e) => (spawnError = e));
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => {
      const text = String(d)
        .split("\n")
        .filter(
          (l) =>
            !/artificially reduced|XDG_RUNTIME_DIR|running TensorFlow.js in Node.js|tfjs-node for more details|^={8,}$/.test(
              l,
            ),
        )
        .join("\n");
      if (text.trim()) process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutS * 1000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      const line = out
        .split("\n")
        .filter((l) => l.startsWith("RESULT "))
        .pop();
      const r = line ? JSON.parse(line.slice("RESULT ".length)) : { rows: [] };
      r.seconds = seconds;
      const timedOut = signal === "SIGKILL" && seconds >= opts.timeoutS - 1;
      if (spawnError) r.failed = `could not start ${cmd[0]}: ${spawnError.message}`;
      else if (timedOut) r.failed = `timed out after ${opts.timeoutS} s`;
      else if (code !== 0 || signal)
        r.failed = `exited with ${signal ? `signal ${signal}` : `status ${code}`}${line ? " after its last report" : " before reporting"}`;
      resolve(r);
    });
  });
}

// ---- the run
const started = new Date();
const t0 = performance.now();
const loadBefore = loadavg();
const columns = selected.filter((r) => RUNNERS[r].column !== null);
const runs = Object.fromEntries(columns.map((r) => [r, []])); // runner -> result per round
const unavailable = {};
if (columns.includes("numpy")) {
  const why = numpyMissing();
  if (why) unavailable.numpy = why;
}
if (columns.some((r) => r.startsWith("nnc-"))) {
  console.error("bench: building bench/programs/*.nn");
  const b = await runOne(node("nnc.mjs", "build"));
  if (b.failed) console.error(`bench: building the nnc programs failed: ${b.failed}`);
}
const order = columns.filter((r) => !unavailable[r]);
for (let round = 0; round < opts.rounds; round++) {
  const these = round % 2 === 0 ? order : [...order].reverse();
  for (const name of these) {
    console.error(`\nbench: ---- round ${round + 1}/${opts.rounds}: ${name}`);
    // a measurement that takes a long time (a step of over 10 s: the workloads time those once;
    // or a minute of jit compiling) is measured in the first round only
    const slow = runs[name].flatMap((p) =>
      (p.rows ?? []).filter((x) => x.ms >= SLOW_STEP_MS || x.untimedS >= SLOW_SETUP_S),
    );
    const r = await runOne(RUNNERS[name].cmd, {
      NNC_BENCH_TIMING: JSON.stringify(round === 0 ? timing.first : (timing.later ?? timing.first)),
      NNC_BENCH_SKIP: slow.map((x) => x.work).join(","),
    });
    console.error(
      `bench: ${name} took ${r.seconds.toFixed(0)} s${r.failed ? ` (${r.failed})` : ""}`,
    );
    runs[name].push(r);
  }
}
let buildTimes = null;
if (selected.includes("build")) {
  console.error("\nbench: ---- nnc build of every example");
  const b = await runOne([...RUNNERS.build.cmd, "--reps", opts.quick ? "1" : "3"]);
  buildTimes = b;
}
const seconds = (performance.now() - t0) / 1000;

// ---- pooling the rounds
/** One column's rows pooled over its rounds: work -> merged row. */
function pool(results) {
  const byWork = new Map();
  for (const r of results)
    for (const row of r.rows ?? []) {
      if (!byWork.has(row.work)) byWork.set(row.work, []);
      byWork.get(row.work).push(row);
    }
  const out = {};
  for (const [work, rows] of byWork) {
    const failed = rows.find((x) => x.ms == null);
    if (failed) {
      out[work] = { work, ms: null, note: failed.note ?? "fails", rounds: rows.length };
      continue;
    }
    const times = rows.flatMap((x) => x.times ?? [x.ms]);
    const checks = rows.map((x) => x.check).filter(Boolean);
    out[work] = {
      work,
      ms: median(times),
      reps: times.length,
      rounds: rows.length,
      flops: rows[0].flops,
      check:
        checks.length === 0
          ? undefined
          : { ok: checks.every((c) => c.ok), rel: Math.max(...checks.map((c) => c.rel)) },
      note: [...new Set(rows.map((x) => x.note).filter(Boolean))].join("; ") || undefined,
    };
  }
  return out;
}

const columnData = columns.map((name) => {
  const rs = runs[name];
  const first = rs.find((r) => !r.failed) ?? rs[0] ?? {};
  return {
    runner: name,
    column: RUNNERS[name].column,
    unavailable: unavailable[name] ?? rs.map((r) => r.unavailable).find(Boolean) ?? null,
    failed: [...new Set(rs.map((r) => r.failed).filter(Boolean))],
    rows: pool(rs),
    maxRssKiB: Math.max(0, ...rs.map((r) => r.maxRssKiB ?? 0)) || null,
    threads: first.threads ?? null,
    version: first.version ?? null,
    adapter: rs.map((r) => r.adapter).find(Boolean) ?? null,
    seconds: rs.map((r) => r.seconds),
  };
});

// The extra workloads' labels and notes (bench/workloads/*.mjs), or why they are missing.
const extras = [];
for (const key of ["transformer", "cnn"]) {
  const file = join(HERE, "workloads", `${key}.mjs`);
  if (!existsSync(file)) {
    extras.push({ key, label: `${key} training step`, missing: "workload not built" });
    continue;
  }
  try {
    const { WORK } = await import(file);
    extras.push({ key, label: WORK.label, note: WORK.note });
  } catch (e) {
    extras.push({ key, label: `${key} training step`, missing: `workload does not load` });
    console.error(`bench: bench/workloads/${key}.mjs: ${e?.message ?? e}`);
  }
}

/** The checkout measured: its commit, and whether it has uncommitted changes. */
function commit() {
  const git = (...a) => spawnSync("git", a, { cwd: ROOT, encoding: "utf8" });
  const head = git("rev-parse", "--short", "HEAD");
  if (head.status !== 0) return null;
  const dirty = git("status", "--porcelain", "--untracked-files=no").stdout.trim() !== "";
  return `${head.stdout.trim()}${dirty ? " with uncommitted changes" : ""}`;
}

const cpu = cpus();
const machine = {
  commit: commit(),
  date: started.toISOString().slice(0, 16).replace("T", " "),
  cpu: cpu[0]?.model?.trim() ?? "unknown CPU",
  cores: cpu.length,
  memGiB: totalmem() / 2 ** 30,
  node: process.version,
  loadBefore,
  loadAfter: loadavg(),
  seconds,
  rounds: opts.rounds,
  timing,
  quick: opts.quick,
};
const everything = { machine, columns: columnData, runs, extras, buildTimes };
mkdirSync(dirname(RESULTS_JSON), { recursive: true });
writeFileSync(RESULTS_JSON, JSON.stringify(everything, null, 1));
console.error(`bench: wrote ${RESULTS_JSON}`);
finish(renderReport(everything), writeDocs);
console.error(`bench: the run took ${(seconds / 60).toFixed(1)} min`);

/** Writes the report to bench/results.md, stdout and (when `docs`) docs/benchmarks.md. */
function finish(md, docs) {
  writeFileSync(RESULTS_MD, `${md}\n`);
  console.log(`\n${md}`);
  console.error(`bench: wrote ${RESULTS_MD}`);
  if (docs) {
    writeFileSync(DOCS, spliceDocs(readFileSync(DOCS, "utf8"), md));
    console.error(`bench: wrote the generated section of ${DOCS}`);
  } else
    console.error(
      "bench: docs/benchmarks.md left as it is (a partial or quick run; --docs writes it)",
    );
}

/** Puts `md` between the bench markers of docs/benchmarks.md; the first time, above its first section. */
function spliceDocs(doc, body) {
  const BEGIN = "<!-- bench:begin -->";
  const END = "<!-- bench:end -->";
  const section = `${BEGIN}\n${body}\n${END}`;
  const b = doc.indexOf(BEGIN);
  const e = doc.indexOf(END);
  if (b >= 0 && e > b) return doc.slice(0, b) + section + doc.slice(e + END.length);
  const at = doc.search(/^## /m);
  return at < 0
    ? `${doc.trimEnd()}\n\n${section}\n`
    : `${doc.slice(0, at)}${section}\n\n${doc.slice(at)}`;
}
