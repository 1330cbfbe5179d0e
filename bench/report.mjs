// The markdown that bench/run.mjs writes to bench/results.md and to the generated section of
// docs/benchmarks.md: the machine line, the table of every figure, the issue's target ratios, the
// `nnc build` times and the footnotes. Pure: it formats what the runners reported.

/** The table's rows, in order; the extra workloads (bench/workloads/*.mjs) come after the PINN. */
const BASE_ROWS = [
  { key: "matmul512", label: "matmul 512³ f32", fn: 6 },
  { key: "matmul1024", label: "matmul 1024³ f32", fn: 6 },
  { key: "mlp", label: "MLP training step", fn: 1 },
  { key: "pinn", label: "PINN step", fn: 2 },
  { key: "pinn-taylor", label: "PINN step, Taylor mode by hand", fn: 3 },
];
const FN_TRANSFORMER = 4;
const FN_CNN = 5;
const FN_MEMORY = 7;

const NOTES = {
  1: "MLP 64→256→256→10 tanh, softmax cross-entropy, batch 1024, one SGD step (forward, backward, update), loss read back.",
  2: "u = MLP 1→64→64→64→1 tanh; u″ at 1024 collocation points; loss = mean((u″ + π² sin πx)²) + u(0)² + u(1)²; gradient with respect to all weights; SGD update; loss read back. tfjs: nested `tf.grad` with a custom-gradient tanh (`tf.customGrad`; its own tanh cannot be differentiated twice); jax-js: its fastest correct form built by its autodiff, `jvp` of `jvp` with the inner derivative closing over the parameters, under `jit`.",
  3: "The same PINN step written by hand in Taylor mode in jax-js (`pinnLossTaylor` in bench/peer-jax.mjs): second-order forward propagation through the tanh MLP, u, u′ and u″ of every point per layer (z′ = h′W, z″ = h″W; a′ = s z′, a″ = s z″ − 2 a s z′² with s = 1 − a²; the first layer by broadcasting since its input width is 1, the boundary points as two more rows), its weight gradient by jax-js's `grad`, under `jit`; checked like the others. What an expert writes by hand, and what nnc should reach by compiling the derivative. jax-js only.",
  6: "C = A @ B in f32, 2n³ FLOP, the product read back; checked at three entries against float64. nnc takes host arrays, so its times include moving the inputs in on every call (into WebAssembly memory, or uploading to the GPU); the peers' inputs stay in their own memory. numpy hands the product to its BLAS with the threads it starts by default (the machine's practical ceiling), so its column is not single-threaded.",
  7: "The largest resident set (max RSS) of the runner's process over the rounds: the runtime (Node or Python), the peer's library, compiling or jit, the checks and every workload of that column.",
};
const SUP = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"];
const sup = (n) => [...String(n)].map((d) => SUP[Number(d)]).join("");
const stripSup = (s) => s.replace(/[⁰¹²³⁴⁵⁶⁷⁸⁹]+/g, "").trim();

const fmtMs = (ms) =>
  ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
const fmtGf = (g) => (g >= 10 ? g.toFixed(1) : g.toFixed(2));
const fmtX = (x) => (x >= 10 ? x.toFixed(0) : x.toFixed(2));

/** Whether a column runs on one thread (what nnc wasm is compared with for the targets). */
const oneThread = (c) => c.threads === 1;

/**
 * The report. `machine`: date, cpu, cores, memGiB, node, loadBefore, loadAfter, seconds, rounds,
 * timing, quick. `columns`: per runner { column, unavailable, failed, rows (work -> pooled row),
 * maxRssKiB, threads, version, adapter }. `extras`: { key, label, note | missing }. `buildTimes`:
 * the build-times runner's result or null.
 */
export function renderReport({ machine, columns, extras, buildTimes }) {
  const reasons = new Map(); // text -> letter
  const ref = (text) => {
    if (!reasons.has(text)) reasons.set(text, String.fromCharCode(97 + (reasons.size % 26)));
    return `(${reasons.get(text)})`;
  };
  const rows = [
    ...BASE_ROWS,
    ...extras.map((x) => ({
      key: x.key,
      label: stripSup(x.label),
      fn: x.key === "cnn" ? FN_CNN : FN_TRANSFORMER,
      missing: x.missing,
    })),
  ];
  const col = (name) => columns.find((c) => c.column === name);

  /** A usable figure: { ms, gflops } when the cell has a correct time, else null. */
  const figure = (c, key) => {
    const r = c?.rows[key];
    if (!r || r.ms == null || (r.check && !r.check.ok)) return null;
    return { ms: r.ms, gflops: r.flops ? r.flops / (r.ms * 1e6) : undefined };
  };

  function cell(c, row) {
    if (row.missing) return row.missing;
    const r = c.rows[row.key];
    if (!r) {
      if (c.unavailable) return `unavailable ${ref(`${c.column}: ${c.unavailable}`)}`;
      if (c.failed.length) return `not reached ${ref(`${c.column}: ${c.failed.join("; ")}`)}`;
      return "—";
    }
    if (r.ms == null) return `fails ${ref(`${c.column}, ${row.label}: ${r.note}`)}`;
    let s = `${fmtMs(r.ms)} ms`;
    if (r.flops) s += ` (${fmtGf(r.flops / (r.ms * 1e6))} GFLOP/s)`;
    if (r.check && !r.check.ok)
      s += ` ✗ wrong ${ref(`${c.column}, ${row.label}: the check failed, relative error ${r.check.rel.toExponential(1)} against float64`)}`;
    if (r.note) s += ` ${ref(`${c.column}, ${row.label}: ${r.note}`)}`;
    if (r.rounds < machine.rounds && !c.failed.length)
      s += ` ${ref(`measured in the first round only (a step of over 10 s, or over a minute of compiling)`)}`;
    return s;
  }

  /** nnc wasm against the fastest correct one-thread peer of a row. */
  function versus(row) {
    // the hand-written Taylor-mode program is compared with nnc's PINN step
    const nnc = figure(col("nnc wasm"), row.key === "pinn-taylor" ? "pinn" : row.key);
    if (!col("nnc wasm") || row.missing) return "";
    const peers = columns
      .filter((c) => oneThread(c) && !c.column.startsWith("nnc"))
      .map((c) => ({ c, f: figure(c, row.key) }))
      .filter((x) => x.f !== null)
      .sort((a, b) => a.f.ms - b.f.ms);
    if (!nnc || peers.length === 0) return "";
    const best = peers[0];
    const x = best.f.ms / nnc.ms;
    return x >= 1
      ? `${fmtX(x)}× faster than ${best.c.column}`
      : `${fmtX(1 / x)}× slower than ${best.c.column}`;
  }

  const memCell = (c) =>
    c.maxRssKiB ? `${(c.maxRssKiB / 1024).toFixed(0)} MiB` : c.unavailable ? "—" : "";
  const showVs = columns.some((c) => c.column === "nnc wasm");
  const head = [
    ...columns.map((c) => c.column),
    ...(showVs ? ["nnc wasm vs fastest 1-thread peer"] : []),
  ];
  const table = [
    `| work | ${head.join(" | ")} |`,
    `|---|${head.map(() => "---|").join("")}`,
    ...rows.map(
      (row) =>
        `| ${row.label}${sup(row.fn)} | ${[...columns.map((c) => cell(c, row)), ...(showVs ? [versus(row)] : [])].join(" | ")} |`,
    ),
    `| peak memory${sup(FN_MEMORY)} | ${[...columns.map(memCell), ...(showVs ? [""] : [])].join(" | ")} |`,
  ];

  // ---- the issue's targets
  const ratio = (peerCol, key, peerKey, goal, what) => {
    const n = figure(col("nnc wasm"), key);
    const p = figure(col(peerCol), peerKey);
    const label = `${what}: nnc wasm ${goal === 1 ? "faster than" : `at least ${goal}× faster than`} ${peerCol}${peerKey === "pinn-taylor" ? " Taylor mode by hand" : ""}`;
    if (!n || !p)
      return `| ${label} | ${[n ? null : whyNot(col("nnc wasm"), key, "nnc wasm"), p ? null : whyNot(col(peerCol), peerKey, peerCol)].filter(Boolean).join("; ")} | |`;
    const x = p.ms / n.ms;
    const met = goal === 1 ? x > 1 : x >= goal;
    return `| ${label} | ${fmtX(x)}× (${fmtMs(n.ms)} ms against ${fmtMs(p.ms)} ms) | ${met ? "✓" : `✗ (${((1 - x / goal) * 100).toFixed(0)}% short)`} |`;
  };
  const whyNot = (c, key, name) => {
    if (!c) return `${name} not run`;
    const r = c.rows[key];
    if (c.unavailable && !r) return `${name} unavailable`;
    if (!r) return `${name} ${c.failed.length ? "not reached" : "not measured"}`;
    if (r.ms == null) return `${name} fails`;
    return `${name} wrong result`;
  };
  const share = (peerCol, goal) => {
    const n = figure(col("nnc wasm"), "matmul1024");
    const p = figure(col(peerCol), "matmul1024");
    const label = `matmul 1024³: nnc wasm GFLOP/s ${goal ? `at least ${goal * 100}% of` : "as a share of"} ${peerCol}'s`;
    if (!n || !p)
      return `| ${label} | ${[n ? null : whyNot(col("nnc wasm"), "matmul1024", "nnc wasm"), p ? null : whyNot(col(peerCol), "matmul1024", peerCol)].filter(Boolean).join("; ")} | |`;
    const f = n.gflops / p.gflops;
    return `| ${label} | ${(f * 100).toFixed(0)}% (${fmtGf(n.gflops)} against ${fmtGf(p.gflops)} GFLOP/s) | ${goal ? (f >= goal ? "✓" : "✗") : "(reported)"} |`;
  };
  const targets = [
    "| target | measured | met |",
    "|---|---|---|",
    ratio("jax-js wasm", "pinn", "pinn", 2, "PINN step"),
    ratio("jax-js wasm", "pinn", "pinn-taylor", 1, "PINN step"),
    ratio("tfjs wasm", "pinn", "pinn", 10, "PINN step"),
    ratio("jax-js wasm", "mlp", "mlp", 1.5, "MLP step"),
    share("jax-js wasm", 0.9),
    share("numpy", null),
  ];

  // ---- nnc build
  const build = [];
  if (buildTimes) {
    const bs = buildTimes.rows ?? [];
    build.push(
      "| example | `compile()` in process | `nnc build` command |",
      "|---|---|---|",
      ...bs.map(
        (b) =>
          `| ${b.file} | ${b.ms != null ? `${fmtMs(b.ms)} ms` : b.note} | ${b.cliMs != null ? `${fmtMs(b.cliMs)} ms` : b.cliNote} |`,
      ),
    );
    /** Whether every example builds under 1 s by `k` ("ms" or "cliMs"), and the slowest. */
    const verdict = (k) => {
      const failing = bs.filter((b) => b[k] == null).map((b) => b.file);
      if (bs.length === 0) return "✗ (no example measured)";
      if (failing.length) return `✗ (${failing.join(", ")} fail${failing.length === 1 ? "s" : ""})`;
      const slow = bs.reduce((a, b) => (b[k] > a[k] ? b : a));
      return `${slow[k] < 1000 ? "✓" : "✗"} (slowest ${slow.file}, ${fmtMs(slow[k])} ms)`;
    };
    build.push(
      "",
      `Target: \`nnc build\` of every example under 1 s: in process ${verdict("ms")}; as a command, process start and file writes included, ${verdict("cliMs")}. In process: \`compile()\` from dist/, after one warm-up compile of the same file, median of ${buildTimes.reps ?? "?"}; command: wall time of \`node bin/nnc.js build <file> -o <tmp>\`, ${buildTimes.cliReps === 1 ? "one run" : `median of ${buildTimes.cliReps ?? "?"}`}.${buildTimes.failed ? ` The build-time runner ${buildTimes.failed}.` : ""}`,
    );
  }

  // ---- the machine and how it was measured
  const m = machine;
  const adapters = [...new Set(columns.map((c) => c.adapter).filter(Boolean))];
  const threads = columns
    .filter((c) => c.threads != null || c.column === "numpy")
    .map((c) =>
      c.column === "numpy"
        ? `numpy ${c.threads != null ? `${c.threads} BLAS thread${c.threads === 1 ? "" : "s"}` : c.unavailable ? "not run" : "BLAS threads unknown"}`
        : `${c.column} ${c.threads}`,
    );
  const versions = [...new Set(columns.map((c) => c.version).filter(Boolean))];
  const t = m.timing;
  const reps = (x) =>
    `${x.warmup} warm-up run${x.warmup === 1 ? "" : "s"}, then ${x.minReps === x.maxReps ? x.minReps : `${x.minReps} to ${x.maxReps}`} timed ones${x.budgetMs && x.minReps < x.maxReps ? ` (more while under ${(x.budgetMs / 1000).toFixed(1)} s)` : ""}`;
  const intro = [
    `Generated by \`npm run bench\` (bench/run.mjs) on ${m.date} UTC${m.commit ? ` at commit ${m.commit}` : ""}${m.quick ? " — **a quick run (`--quick`): smoke-test figures, not medians of 5**" : ""}; edit bench/report.mjs, not this section.`,
    "",
    `Machine: ${m.cores} × ${m.cpu}, ${m.memGiB.toFixed(0)} GiB, Node ${m.node}; WebGPU: Dawn in Node (\`webgpu\` 0.6.2) on ${adapters.join("; ") || "no adapter (no WebGPU column ran, or none found one)"}${adapters.length && !adapters.every((a) => /llvmpipe|lavapipe/i.test(a)) ? " (**not lavapipe**: not comparable with the documented WebGPU figures)" : ""}. Load average before the run ${m.loadBefore.map((x) => x.toFixed(1)).join(", ")} (1, 5, 15 min), after ${m.loadAfter.map((x) => x.toFixed(1)).join(", ")}. The run took ${(m.seconds / 60).toFixed(1)} min.`,
    "",
    `How: each runner is its own process, run one after another in ${m.rounds} round${m.rounds === 1 ? "" : "s"} of alternating order (A B C, C B A, …) so that drift on this shared machine hits every column alike. A measurement takes ${reps(t.first)}${t.later && m.rounds > 1 ? ` in the first round and ${reps(t.later)} in each later one (not repeated there when a step takes over 10 s, or when its compiling takes over a minute)` : m.rounds > 1 ? " in each round" : ""}; a figure is the median of all timed runs of all rounds. Threads: ${threads.join(", ") || "—"} (the targets compare nnc wasm with one-thread peers only). Versions: ${versions.join(", ") || "—"}.`,
  ];

  // ---- footnotes, reasons and checks
  const usedFn = new Set([...rows.map((r) => r.fn), FN_MEMORY]);
  const notes = [];
  for (const n of [...usedFn].sort((a, b) => a - b)) {
    if (NOTES[n]) notes.push(`${sup(n)} ${NOTES[n]}`);
    const x = extras.find((e) => (e.key === "cnn" ? FN_CNN : FN_TRANSFORMER) === n);
    if (x)
      notes.push(
        x.note
          ? `${sup(n)} ${stripSup(x.note).replace(/^\s*/, "")}`
          : `${sup(n)} bench/workloads/${x.key}.mjs: ${x.missing}.`,
      );
  }
  const checks = [];
  for (const c of columns)
    for (const row of rows) {
      const r = c.rows[row.key];
      if (r?.check)
        checks.push(
          `${c.column} ${row.key} ${r.check.ok ? "✓" : "✗"} ${r.check.rel.toExponential(0)}`,
        );
    }
  const reasonLines = [...reasons].map(([text, letter]) => `(${letter}) ${text}`);

  return [
    "## CPU: WebAssembly against the peers",
    "",
    ...intro,
    "",
    ...table,
    "",
    "Targets of issue 7 (ratios from this run; one thread on both sides):",
    "",
    ...targets,
    "",
    ...(build.length ? ["`nnc build` of every example:", "", ...build, ""] : []),
    ...notes.flatMap((n) => [n, ""]),
    ...(reasonLines.length
      ? ["Failures and notes:", "", ...reasonLines.map((l) => `- ${l}`), ""]
      : []),
    `Checks before timing: every gradient (f32) against float64 central differences at a few entries of every weight, on a small instance (MLP 8 rows, PINN 16 points; the transformer and CNN against nnc's float64 loss and gradient), passing under 1e-2 relative; each matmul product at three entries against float64 (under 1e-3). Largest relative errors: ${checks.join("; ") || "none ran"}.`,
  ].join("\n");
}
