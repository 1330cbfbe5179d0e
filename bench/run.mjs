// `npm run bench`: nnc against its peers on the same workloads, each runner in its own process
// (one after another, so timings never overlap), and a markdown table in bench/results.md.
//
//   npm run bench                      all runners
//   npm run bench -- tfjs jax          only some: nnc-cpu, nnc-webgpu, tfjs, jax
//
// The peers (TensorFlow.js, jax-js, Dawn for Node) are bench/package.json's dependencies, installed
// here on first run with `npm ci --prefix bench`, never nnc's own. WebGPU runs on Dawn in Node over
// Mesa's lavapipe (VK_ICD_FILENAMES is set to its ICD unless already set).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isLavapipe } from "./lib.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const LVP_ICD = "/usr/share/vulkan/icd.d/lvp_icd.json";
const RESULTS = join(HERE, "results.md");

const RUNNERS = {
  "nnc-cpu": ["nnc.mjs", "cpu"],
  "nnc-webgpu": ["nnc.mjs", "webgpu"],
  tfjs: ["peer-tfjs.mjs"],
  jax: ["peer-jax.mjs"],
};
const COLUMNS = ["nnc webgpu", "tfjs webgpu", "jax-js webgpu", "nnc cpu"];
const WORK = {
  mlp: "MLP training step¹",
  pinn: "PINN step²",
  matmul: "matmul 1024³ f32",
};
const TIMEOUT_S = 420;

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
for (const w of wanted)
  if (!(w in RUNNERS)) {
    console.error(`bench: unknown runner ${w}; runners: ${Object.keys(RUNNERS).join(", ")}`);
    process.exit(2);
  }
const runners = wanted.length > 0 ? wanted : Object.keys(RUNNERS);

// ---- the peers' packages
const peersInstalled = [
  "@tensorflow/tfjs",
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

/** Runs one runner; its stderr streams through, its `RESULT` line comes back parsed. */
function runOne(script, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(HERE, script), ...args], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => {
      const text = String(d)
        .split("\n")
        .filter((l) => !/artificially reduced|XDG_RUNTIME_DIR/.test(l))
        .join("\n");
      if (text.trim()) process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_S * 1000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (line) resolve(JSON.parse(line.slice("RESULT ".length)));
      else
        resolve({
          failed: `exited with ${signal ? `signal ${signal}` : `status ${code}`} before reporting${signal === "SIGKILL" ? ` (timeout ${TIMEOUT_S} s?)` : ""}`,
        });
    });
  });
}

const started = new Date();
const results = [];
if (runners.some((r) => r.startsWith("nnc"))) {
  console.error("bench: building bench/programs/*.nn");
  const b = await runOne("nnc.mjs", ["build"]);
  if (b.failed) console.error(`bench: building the nnc programs failed: ${b.failed}`);
}
for (const name of runners) {
  const [script, ...args] = RUNNERS[name];
  console.error(`\nbench: ---- ${name}`);
  const t0 = performance.now();
  const r = await runOne(script, args);
  r.peer ??= name;
  r.seconds = (performance.now() - t0) / 1000;
  results.push(r);
}

// ---- the table
const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
function cell(r, work) {
  if (!r) return "";
  if (r.failed) return "runner failed";
  const row = r.rows.find((x) => x.work === work);
  if (!row) {
    const why = r.skipped.find((s) => s.startsWith(`${work}:`)) ?? r.skipped[0];
    return why ? "skipped³" : "";
  }
  if (row.ms === null) return row.note ?? "fails";
  let s = `${fmtMs(row.ms)} ms`;
  if (row.gflops !== undefined) s += ` (${row.gflops.toFixed(2)} GFLOP/s)`;
  if (row.check && !row.check.ok) s += " ✗ wrong result";
  return s;
}
const byPeer = Object.fromEntries(results.map((r) => [r.peer, r]));
const cols = COLUMNS.filter((c) => byPeer[c]);
const adapters = [...new Set(results.map((r) => r.adapter).filter(Boolean))];
const checks = results.flatMap((r) =>
  (r.rows ?? [])
    .filter((x) => x.check)
    .map(
      (x) =>
        `${r.peer} ${x.work}: ${x.check.ok ? "passed" : "FAILED"} (${x.check.rel.toExponential(1)})`,
    ),
);
const skipped = results.flatMap((r) => [
  ...(r.failed ? [`${r.peer}: ${r.failed}`] : []),
  ...(r.skipped ?? []).map((s) => `${r.peer}: ${s}`),
]);
const cpu = cpus();
const md = [
  `Measured ${started.toISOString().slice(0, 16).replace("T", " ")} UTC by \`npm run bench\` on ${cpu.length} × ${cpu[0]?.model ?? "?"}, Node ${process.version}, load average before the run ${loadavg()[0].toFixed(1)}. Medians after warm-up.`,
  `WebGPU: Dawn in Node (\`webgpu\` 0.6.2) on ${adapters.join("; ") || "no adapter"}.`,
  ...(adapters.some((a) => !isLavapipe(a))
    ? [
        "**Not lavapipe**: these WebGPU numbers are not comparable with the documented ones (set VK_ICD_FILENAMES to lavapipe's ICD).",
      ]
    : []),
  "",
  `| work | ${cols.join(" | ")} |`,
  `|---|${cols.map(() => "---|").join("")}`,
  ...Object.entries(WORK).map(
    ([w, label]) => `| ${label} | ${cols.map((c) => cell(byPeer[c], w)).join(" | ")} |`,
  ),
  "",
  "¹ MLP 64→256→256→10 tanh, softmax cross-entropy, batch 1024, one SGD step (forward, backward, update), loss read back.",
  "² u = MLP 1→64→64→64→1 tanh; u″ at 1024 collocation points; loss = mean((u″ + π² sin πx)²) + u(0)² + u(1)²; gradient with respect to all weights; SGD update; loss read back. tfjs: nested `tf.grad` with a custom-gradient tanh (`tf.customGrad`); jax-js: `jvp` of `jvp`, the inner derivative closing over the parameters, under `jit`.",
  "Matmul: C = A @ B, 2·1024³ FLOP, the product read back. nnc takes host arrays, so its times include uploading the inputs on every call (8 MiB for the matmul, 256 KiB for the MLP batch); the peers' inputs stay on the device.",
  ...(skipped.length ? [`³ Skipped: ${skipped.join("; ")}.`] : []),
  "",
  `Checks before timing: gradients (f32) against float64 central differences of the same loss in plain JS, a few entries of every weight, on a small instance (8 rows, 16 points), passing under 1e-2 relative; the matmul's product at three entries against float64. ${checks.join("; ") || "none ran"}.`,
  "",
].join("\n");
writeFileSync(RESULTS, md);
console.log(`\n${md}`);
console.error(`bench: wrote ${RESULTS}`);
process.exit(results.some((r) => r.failed) ? 1 : 0);
