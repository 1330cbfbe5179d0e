// Prints one line `N passed, N failed, N skipped` from vitest's JSON report, so a run that
// executed no test is visible. Exits 1 if the report is missing or counts no test.
import { existsSync, readFileSync } from "node:fs";

const path = process.argv[2] ?? "reports/vitest.json";
if (!existsSync(path)) {
  console.log("0 passed, 0 failed");
  console.error(`ci-summary: no test report at ${path}: the test runner did not finish`);
  process.exit(1);
}
const r = JSON.parse(readFileSync(path, "utf8"));
const passed = r.numPassedTests ?? 0;
const failed = (r.numFailedTests ?? 0) + (r.numFailedTestSuites ?? 0);
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(passed + failed === 0 ? 1 : 0);
