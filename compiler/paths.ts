/** Where nnc's own files are, whether running from source (tsx/vitest) or from `dist/`. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        const json = JSON.parse(readFileSync(pkg, "utf8")) as { name?: string };
        if (json.name === "nnc") return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('nnc: cannot locate the nnc package root (package.json named "nnc")');
    dir = parent;
  }
}

/** The root of the nnc package (holds `package.json`, `stdlib/`, `runtime/`). */
export const packageRoot: string = findPackageRoot();

/** The standard library's folder. */
export const stdlibDir: string = join(packageRoot, "stdlib");

/** nnc's version, from package.json. */
export const nncVersion: string = (
  JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string }
).version;

/** A path as shown to the user: relative to the working directory when below it. */
export function displayPath(absPath: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, absPath);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel.split("\\").join("/") : absPath;
}
