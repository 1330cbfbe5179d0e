/**
 * `npm run fuzz`: the long run of nnc's two fuzzers (the bounded runs are in
 * `npm test`: tests/fuzz/frontend.test.ts and tests/fuzz/differential.test.ts).
 *
 *   npm run fuzz -- [--minutes M] [--seed S] [--only frontend|differential]
 *                   [--backends cpu-f32,wasm,webgpu,webgl2]
 *
 * The front-end fuzzer generates programs from the grammar and mutates every
 * .nn file in the repository; each program must check (and build) or be
 * rejected with located diagnostics, within a time limit, in a worker thread.
 * The differential fuzzer generates well-typed programs and compares every
 * available backend with the CPU f64 reference, and the reference's
 * derivatives with f64 finite differences. The time is split evenly between
 * them. It prints how many programs each tried and every distinct failure,
 * minimized, writes them to reports/fuzz/, and exits 1 when there was any.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runDifferentialFuzz } from "../tests/fuzz/differential.js";
import { runFrontendFuzz } from "../tests/fuzz/frontend.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    seed: { type: "string" },
    only: { type: "string" },
    backends: { type: "string" },
  },
});

function fail(message: string): never {
  process.stderr.write(`npm run fuzz: ${message}\n`);
  process.exit(2);
}
const minutes = Number(values.minutes);
if (!(minutes > 0)) fail(`--minutes must be a positive number, not ${values.minutes}`);
const seed = values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed);
if (!Number.isSafeInteger(seed)) fail(`--seed must be an integer, not ${values.seed}`);
const only = values.only;
if (only !== undefined && only !== "frontend" && only !== "differential")
  fail(`--only must be frontend or differential, not ${only}`);
const backends = values.backends?.split(",").map((b) => b.trim());

const parts = only === undefined ? 2 : 1;
const budgetMs = (minutes * 60_000) / parts;
const outDir = join("reports", "fuzz");
let failures = 0;
const lines: string[] = [];

/** Overwrites one status line on a terminal, prints nothing elsewhere. */
function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K`);
}

if (only !== "differential") {
  process.stdout.write(`front end: seed ${seed}, ${(budgetMs / 60_000).toFixed(1)} min\n`);
  const r = await runFrontendFuzz({
    seed,
    timeLimitMs: budgetMs,
    isolate: true,
    onProgress: (tried) => progress(`front end: ${tried} programs`),
    onFailure: (f) => process.stdout.write(`\nnew failure ${f.id}: ${f.error.split("\n")[0]}\n`),
  });
  progress("");
  const by = r.diagnosedBy;
  const line =
    `front end: ${r.tried} programs tried (seed ${seed}): ${r.passedCheck} checked, ${r.built} built, ` +
    `${r.diagnosed} rejected with located diagnostics (syntax ${by.syntax}, check ${by.check}, build ${by.build}), ` +
    `${r.failures.length} distinct failure${r.failures.length === 1 ? "" : "s"}; slowest ${r.slowest.ms.toFixed(0)} ms`;
  lines.push(line);
  process.stdout.write(`${line}\n`);
  for (const [origin, o] of Object.entries(r.origins))
    process.stdout.write(`  ${origin}: ${o.tried} tried, ${o.passedCheck} checked\n`);
  for (const [i, f] of r.failures.entries()) {
    failures++;
    await mkdir(outDir, { recursive: true });
    const file = join(outDir, `frontend-${seed}-${i}.nn`);
    await writeFile(
      file,
      `// ${f.id}: ${f.error.split("\n")[0]} (${f.count} cases)\n${f.minimized}\n`,
    );
    process.stdout.write(`  failure ${f.id} (${f.count} cases) -> ${file}\n`);
  }
}

if (only !== "frontend") {
  process.stdout.write(`differential: seed ${seed}, ${(budgetMs / 60_000).toFixed(1)} min\n`);
  const r = await runDifferentialFuzz({
    seed,
    timeLimitMs: budgetMs,
    ...(backends === undefined ? {} : { backends }),
    onProgress: (tried) => progress(`differential: ${tried} programs`),
    onUnavailable: (b, why) => process.stdout.write(`  ${b} unavailable: ${why}\n`),
  });
  progress("");
  const per = Object.entries(r.perBackend)
    .map(([b, n]) => `${b} ${n}`)
    .join(", ");
  const line =
    `differential: ${r.tried} programs tried (seed ${seed}; ${r.models} models, ${r.paramGrads} with parameter gradients), ` +
    `run on: ${per}; ${r.failures.length} disagreement${r.failures.length === 1 ? "" : "s"}`;
  lines.push(line);
  process.stdout.write(`${line}\n`);
  for (const [i, f] of r.failures.entries()) {
    failures++;
    await mkdir(outDir, { recursive: true });
    const file = join(outDir, `differential-${f.seed}-${i}.json`);
    await writeFile(file, `${JSON.stringify(f, null, 2)}\n`);
    const first = f.disagreements[0];
    process.stdout.write(
      `  seed ${f.seed}: ${first === undefined ? "" : JSON.stringify(first).slice(0, 200)} -> ${file}\n`,
    );
  }
}

process.stdout.write(`\n${lines.join("\n")}\n`);
process.exitCode = failures > 0 ? 1 : 0;
