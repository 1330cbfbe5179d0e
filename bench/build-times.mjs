// How long `nnc build` takes for every example (examples/*.nn): in process, the compiler library's
// `compile()` from dist/ after one warm-up compile of the same file (median of --reps, default 3),
// and the wall time of one run of the command line, `node bin/nnc.js build <file> -o <tmp>` (the
// package's `bin`; process start and writing the files included). `node bench/build-times.mjs
// [--reps N]`; prints `RESULT <json>` after each example, like the other runners.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { log, median, report, why } from "./lib.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const k = process.argv.indexOf("--reps");
const REPS = k > 0 ? Math.max(1, Number(process.argv[k + 1]) || 3) : 3;
const CLI_REPS = 1; // a command takes seconds, mostly Node loading the compiler: one run tells

const { compile, renderDiagnostics } = await import(
  pathToFileURL(join(ROOT, "dist/compiler/index.js")).href
);

const result = { peer: "nnc build", rows: [], reps: REPS, cliReps: CLI_REPS };
const examples = readdirSync(join(ROOT, "examples"))
  .filter((f) => f.endsWith(".nn"))
  .sort();

for (const f of examples) {
  const file = join("examples", f);
  const row = { work: basename(f, ".nn"), file };
  try {
    const first = await compile(join(ROOT, file)); // the warm-up
    if (!first.ok)
      throw new Error(
        renderDiagnostics(first.diagnostics, (p) => first.sources.get(p)).split("\n")[0],
      );
    const times = [];
    for (let r = 0; r < REPS; r++) {
      const t0 = performance.now();
      await compile(join(ROOT, file));
      times.push(performance.now() - t0);
    }
    row.ms = median(times);
    row.times = times;
  } catch (e) {
    row.ms = null;
    row.note = `fails: ${why(e)}`;
  }
  const out = mkdtempSync(join(tmpdir(), "nnc-bench-build-"));
  try {
    const walls = [];
    for (let r = 0; r < CLI_REPS; r++) {
      const t0 = performance.now();
      const p = spawnSync(process.execPath, [join(ROOT, "bin/nnc.js"), "build", file, "-o", out], {
        cwd: ROOT,
        encoding: "utf8",
      });
      walls.push(performance.now() - t0);
      if (p.status !== 0) {
        row.cliNote = `fails: nnc build exited with ${p.status}: ${(p.stderr || p.stdout).trim().split("\n")[0]}`;
        break;
      }
    }
    if (!row.cliNote) row.cliMs = median(walls);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  log(
    `nnc build ${file}: ${row.ms != null ? `${row.ms.toFixed(0)} ms in process` : row.note}; ${row.cliMs != null ? `${row.cliMs.toFixed(0)} ms \`nnc build\`` : row.cliNote}`,
  );
  result.rows.push(row);
  report(result);
}
report(result);
process.exit(0);
