/**
 * The copy of nnc's runtime that `nnc build` writes beside a generated module
 * (`nnc-runtime/`), so the output folder runs in plain Node with nothing else
 * installed: every `runtime/**.ts` transpiled to JavaScript and declarations
 * (TypeScript's `transpileModule`, no type-checking) and formatted with
 * Prettier.
 *
 * Transpiling and formatting the runtime takes seconds, mostly loading and
 * warming up TypeScript and Prettier, so the result is cached in
 * `dist/runtime-copy.json`, keyed by a hash of the runtime's sources and the
 * versions of the tools that made it. `npm run build` can write it ahead
 * (`node dist/compiler/codegen/runtimeCopy.js`); otherwise the first build
 * that needs it writes it, when `dist/` exists and is writable. A missing or
 * stale cache only costs time: the files are the same either way.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { InternalCompilerError } from "../diagnostics/diagnostic.js";
import { packageRoot } from "../paths.js";
import type { EmittedFile } from "./host.js";

/** The folder the runtime is copied to, beside the generated module. */
export const RUNTIME_DIR = "nnc-runtime";

/** Bump when the way the copy is made changes, so that old caches are not used. */
const FORMAT = "nnc-runtime-copy 1";

const CACHE_FILE = join(packageRoot, "dist", "runtime-copy.json");

interface Source {
  readonly path: string;
  readonly text: string;
}

function runtimeSources(): Source[] {
  const dir = join(packageRoot, "runtime");
  const out: Source[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const abs = join(d, e.name);
      if (e.isDirectory()) walk(abs);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts"))
        out.push({
          path: relative(dir, abs).split("\\").join("/"),
          text: readFileSync(abs, "utf8"),
        });
    }
  };
  walk(dir);
  return out;
}

/** The version of an installed package, from its package.json (without loading the package). */
function packageVersion(name: string): string {
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** What the copy depends on: the sources, this file's format, and the tools' versions. */
function cacheKey(sources: readonly Source[]): string {
  const h = createHash("sha256");
  h.update(
    `${FORMAT}\0typescript ${packageVersion("typescript")}\0prettier ${packageVersion("prettier")}\0`,
  );
  for (const s of sources) h.update(`${s.path}\0${s.text}\0`);
  return h.digest("hex");
}

/** Transpiles and formats every runtime file (slow: loads TypeScript and Prettier). */
async function makeCopy(sources: readonly Source[]): Promise<EmittedFile[]> {
  const [{ default: ts }, prettier] = await Promise.all([import("typescript"), import("prettier")]);
  const jsOptions: import("typescript").CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    verbatimModuleSyntax: true,
    removeComments: false,
  };
  const dtsOptions = { ...jsOptions, declaration: true, isolatedDeclarations: true };
  const files: EmittedFile[] = [];
  for (const src of sources) {
    const js = ts.transpileModule(src.text, {
      compilerOptions: jsOptions,
      fileName: src.path,
      reportDiagnostics: true,
    });
    const dts = ts.transpileDeclaration(src.text, {
      compilerOptions: dtsOptions,
      fileName: src.path,
      reportDiagnostics: true,
    });
    const problems = [...(js.diagnostics ?? []), ...(dts.diagnostics ?? [])];
    if (problems.length > 0)
      throw new InternalCompilerError(
        `transpiling runtime/${src.path} failed:\n${problems.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("\n")}`,
      );
    const base = `${RUNTIME_DIR}/${src.path.replace(/\.ts$/, "")}`;
    const format = (text: string, parser: string) =>
      prettier.format(text, { parser, printWidth: 100 });
    files.push({ path: `${base}.js`, contents: await format(js.outputText, "babel") });
    files.push({ path: `${base}.d.ts`, contents: await format(dts.outputText, "typescript") });
  }
  return files;
}

function readCache(key: string): EmittedFile[] | null {
  try {
    const cached = JSON.parse(readFileSync(CACHE_FILE, "utf8")) as {
      key?: unknown;
      files?: unknown;
    };
    if (cached.key !== key || !Array.isArray(cached.files)) return null;
    return cached.files as EmittedFile[];
  } catch {
    return null;
  }
}

/** Writes the cache atomically when `dist/` exists; a read-only install just goes without. */
function writeCache(key: string, files: readonly EmittedFile[]): boolean {
  if (!existsSync(join(packageRoot, "dist"))) return false;
  const tmp = `${CACHE_FILE}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify({ key, files }));
    renameSync(tmp, CACHE_FILE);
    return true;
  } catch {
    return false;
  }
}

let memo: { key: string; files: readonly EmittedFile[] } | null = null;

/** nnc's runtime as JavaScript and declarations under `nnc-runtime/`, for copying beside a generated module. */
export async function runtimeFiles(): Promise<readonly EmittedFile[]> {
  const sources = runtimeSources();
  const key = cacheKey(sources);
  if (memo?.key === key) return memo.files;
  let files = readCache(key);
  if (files === null) {
    files = await makeCopy(sources);
    writeCache(key, files);
  }
  memo = { key, files };
  return files;
}

/** Makes the cache (`npm run build` runs this file). */
async function main(): Promise<void> {
  const sources = runtimeSources();
  const key = cacheKey(sources);
  if (readCache(key) !== null) return;
  if (!writeCache(key, await makeCopy(sources)))
    throw new Error(`nnc: could not write ${CACHE_FILE}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  await main();
