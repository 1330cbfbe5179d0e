// Prints one line `N passed, N failed, N skipped` from vitest's JSON report, so a run that
// executed no test is visible. Failed counts failed tests, plus each test file that failed with no
// failed test of its own (an error while importing it or in a hook), plus one when the run failed
// with neither (an unhandled error). Exits 1 if the report is missing, counts no test, or any
// failed.
import { existsSync, readFileSync } from "node:fs";

const path = process.argv[2] ?? "reports/vitest.json";
if (!existsSync(path)) {
  console.log("0 passed, 0 failed");
  console.error(`ci-summary: no test report at ${path}: the test runner did not finish`);
  process.exit(1);
}
const r = JSON.parse(readFileSync(path, "utf8"));
const passed = r.numPassedTests ?? 0;
const files = r.testResults ?? [];
const brokenFiles = files.filter(
  (f) => f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed"),
);
let failed = (r.numFailedTests ?? 0) + brokenFiles.length;
if (failed === 0 && r.success === false) failed = 1;
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
for (const f of brokenFiles) {
  const first = String(f.message ?? "")
    .split("\n")
    .find((l) => l.trim() !== "");
  console.error(`ci-summary: ${f.name} failed outside its tests${first ? `: ${first}` : ""}`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(passed + failed === 0 || failed > 0 ? 1 : 0);
