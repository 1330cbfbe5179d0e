#!/usr/bin/env node
// How long `nnc build` takes on every example (issue 7's target: under 1 s each).
//
//   node scripts/build-time.mjs [--runs N] [files.nn ...]     (after `npm run build`)
//
// For each program: the wall time of the `nnc build` command (a fresh Node
// process, as a user runs it; the first build warms the runtime-copy cache and
// is not counted), and the CPU time of an in-process `compile()` after a
// warm-up (what the compiler itself costs). Medians of N runs (default 5).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const args = process.argv.slice(2);
let runs = 5;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--runs") runs = Number(args[++i]);
  else files.push(args[i]);
}
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write("build-time: --runs takes a positive integer\n");
  process.exit(2);
}
if (files.length === 0)
  for (const f of readdirSync(join(root, "examples")).sort())
    if (f.endsWith(".nn")) files.push(join("examples", f));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const out = mkdtempSync(join(tmpdir(), "nnc-build-time-"));
const nnc = join(root, "bin", "nnc.js");

function build(file) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [nnc, "build", file, "-o", out], { encoding: "utf8" });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`nnc build ${file} failed:\n${r.stderr}`);
  return ms;
}

const { compile } = await import(pathToFileURL(join(root, "dist", "compiler", "index.js")).href);
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

const rows = [];
try {
  for (const file of files) {
    build(file); // warms the runtime-copy cache (dist/runtime-copy.json) if needed
    const wall = [];
    for (let k = 0; k < runs; k++) wall.push(build(file));
    const r = await compile(file);
    if (!r.ok) throw new Error(`compile ${file} failed`);
    const cpu = [];
    for (let k = 0; k < runs; k++) {
      const c0 = cpuMs();
      await compile(file);
      cpu.push(cpuMs() - c0);
    }
    rows.push({ file, wall: median(wall), cpu: median(cpu) });
    process.stderr.write(".");
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
process.stderr.write("\n");
console.log(`| program | \`nnc build\` wall (ms) | in-process compile() CPU (ms) |`);
console.log(`|---|---|---|`);
for (const r of rows) console.log(`| ${r.file} | ${r.wall.toFixed(0)} | ${r.cpu.toFixed(0)} |`);
console.log(`\nMedians of ${runs} runs; Node ${process.version}.`);
