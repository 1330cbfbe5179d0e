#!/usr/bin/env node
// The `nnc` command. The compiler is TypeScript built into dist/ by `npm run build`
// (run automatically by `npm ci` through the `prepare` script).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const cli = new URL("../dist/bin/cli.js", import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write(
    "nnc: the compiler is not built yet; run `npm run build` (or `npm ci`) in the nnc folder\n",
  );
  process.exit(2);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
