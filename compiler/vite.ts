/**
 * `nnc/vite`: a Vite plugin that compiles `.nn` files on import.
 *
 * ```ts
 * // vite.config.ts
 * import nnc from "nnc/vite";
 * export default { plugins: [nnc()] };
 * // app code
 * import { Poisson } from "./poisson1d.nn";
 * ```
 *
 * A `.nn` module is the JavaScript that `nnc build` emits, importing nnc's
 * runtime from the installed package (`nnc/runtime`), so nothing is copied
 * and the app and every compiled module share one runtime. Diagnostics
 * become Vite errors carrying the source location and nnc's rendering of
 * them (the dev server's overlay shows `file:line:col` and the code frame;
 * `vite build` fails with them). Every `.nn` file the program reads (its
 * `use` imports, the standard library) is a watched dependency: editing one
 * recompiles the modules that read it, and Vite hot-updates their importers.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { createFilter, type EnvironmentModuleNode, type FilterPattern, type Plugin } from "vite";
import { NncError } from "../runtime/errors.js";
import { InternalCompilerError, type Diagnostic } from "./diagnostics/diagnostic.js";
import { location, renderDiagnostics } from "./diagnostics/render.js";
import { nodeHelpersImport } from "./codegen/host.js";
import { displayPath, packageRoot } from "./paths.js";
import { compile } from "./pipeline.js";

/** Options of {@link nnc}. */
export interface NncPluginOptions {
  /** Which modules the plugin compiles (picomatch globs or regular expressions; default: every `.nn` file). */
  readonly include?: FilterPattern;
  /** Modules not to compile, among those `include` selects. */
  readonly exclude?: FilterPattern;
  /** Extra folders searched for `use a.b` after the importing file's folder (`nnc build -I`). Default: Vite's root. */
  readonly searchPaths?: readonly string[];
  /** The module specifier compiled modules import nnc's runtime from (default `"nnc/runtime"`). */
  readonly runtimeImport?: string;
  /**
   * Write TypeScript declarations beside each compiled file (`model.nn` gets
   * `model.d.nn.ts`, which TypeScript uses for `import ... from "./model.nn"`
   * with `allowArbitraryExtensions`). Written only when their text changes.
   * Default false.
   */
  readonly dts?: boolean;
}

/** The package's name: generated modules import `nnc/runtime`, which resolves inside this package. */
const PACKAGE = "nnc";

/** The module a compiled module's `save` and `load` import their file helpers from, in a browser. */
const CHECKPOINT_STUB = "\0nnc:checkpoint-files";

/** A location as Vite's error overlay and its build log print it (`file:line:column`, 1-based like nnc's). */
interface ErrorLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** What one compilation of an entry file read and produced. */
interface Compiled {
  readonly ok: boolean;
  /** Absolute paths of the `.nn` files the compiler read. */
  readonly read: readonly string[];
  readonly code?: string;
  readonly dts?: string;
  readonly diagnostics: readonly Diagnostic[];
  /** Renders diagnostics with the sources of this compilation. */
  readonly render: (ds: readonly Diagnostic[]) => string;
}

/** Compiles one entry file. */
async function compileEntry(
  file: string,
  runtimeImport: string,
  searchPaths: readonly string[],
): Promise<Compiled> {
  const r = await compile(file, { runtimeImport, searchPaths });
  const js = r.files?.find((f) => f.path.endsWith(".js"));
  const dts = r.files?.find((f) => f.path.endsWith(".d.ts"));
  return {
    ok: r.ok && js !== undefined,
    // sources are keyed by display path: relative to the working directory, or absolute
    read: [...r.sources.keys()].map((p) => resolve(p)),
    ...(js === undefined ? {} : { code: js.contents }),
    ...(dts === undefined ? {} : { dts: dts.contents }),
    diagnostics: r.diagnostics,
    render: (ds) => renderDiagnostics(ds, (p) => r.sources.get(p)),
  };
}

/**
 * Resolves `nnc` or `nnc/<subpath>` inside this package through its
 * `exports`, the way Node's package self-reference does: for apps that run
 * the plugin from a checkout of nnc (this repository's demo) or a linked
 * copy, where `nnc` is not in any `node_modules`.
 */
function resolveSelf(source: string): string | null {
  if (source !== PACKAGE && !source.startsWith(`${PACKAGE}/`)) return null;
  const pkg = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as {
    exports?: Record<string, string | { default?: string }>;
  };
  const entry = pkg.exports?.[`.${source.slice(PACKAGE.length)}`];
  const target = typeof entry === "string" ? entry : entry?.default;
  if (target === undefined) return null;
  const abs = join(packageRoot, target);
  if (!existsSync(abs))
    throw new NncError(
      `nnc/vite: ${source} resolves to ${abs}, which does not exist; build nnc first (\`npm run build\` in ${packageRoot})`,
    );
  return abs;
}

/** Whether `path` is `dir` or below it. */
function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return !rel.startsWith("..") && !isAbsolute(rel);
}

/**
 * What a compiled module's `save` and `load` get in a browser instead of
 * nnc's Node file helpers: the same names, failing with an error that says
 * what to use there.
 */
function checkpointStub(runtimeImport: string): string {
  return [
    `import { NncError } from ${JSON.stringify(runtimeImport)};`,
    `export { applyCheckpoint } from ${JSON.stringify(`${runtimeImport}/train`)};`,
    `const needsNode = (what) => {`,
    `  throw new NncError(\`\${what} reads or writes a file, which needs Node; in a browser keep the state with state() and setState() (encodeSafetensors and decodeSafetensors of nnc/runtime/train give checkpoint bytes)\`);`,
    `};`,
    `export async function saveCheckpoint() { needsNode("save(path)"); }`,
    `export async function loadCheckpoint() { needsNode("load(path)"); }`,
    ``,
  ].join("\n");
}

/** The declarations of a compiled file as `<name>.d.nn.ts` beside it (TypeScript's name for `<name>.nn`'s types). */
function declarationPath(file: string): string {
  return join(dirname(file), `${basename(file, ".nn")}.d.nn.ts`);
}

function writeIfChanged(path: string, text: string): void {
  if (existsSync(path) && readFileSync(path, "utf8") === text) return;
  writeFileSync(path, text);
}

/** The id's file path and whether it carries a query (`?raw`, `?url`: left to Vite). */
function splitId(id: string): { file: string; query: boolean } {
  const q = id.indexOf("?");
  return q < 0 ? { file: id, query: false } : { file: id.slice(0, q), query: true };
}

/**
 * The Vite plugin. `include`/`exclude` pick the modules it compiles (default
 * every `.nn` file); see {@link NncPluginOptions}.
 */
export default function nnc(options: NncPluginOptions = {}): Plugin {
  const filter = createFilter(options.include ?? /\.nn$/, options.exclude);
  const runtimeImport = options.runtimeImport ?? `${PACKAGE}/runtime`;
  let root = process.cwd();
  let searchPaths: readonly string[] = [];
  /** Every file a compilation read, with the entry files that read it (for HMR and watch mode). */
  const readers = new Map<string, Set<string>>();
  /** Entry files whose last compile failed: a new `.nn` file may be the module they lack. */
  const failed = new Set<string>();
  const wants = (id: string): string | null => {
    if (id.startsWith("\0")) return null;
    const { file, query } = splitId(id);
    return !query && isAbsolute(file) && filter(file) ? file : null;
  };

  return {
    name: "nnc",
    enforce: "pre",

    configResolved(config) {
      root = config.root;
      searchPaths = (options.searchPaths ?? [root]).map((p) => resolve(root, p));
      // the runtime is served from this package, which may lie outside the app (a linked checkout)
      const allow = config.server.fs.allow;
      const runtimeDir = join(packageRoot, "dist");
      if (!allow.some((dir) => isInside(dir, runtimeDir))) allow.push(runtimeDir);
    },

    async resolveId(source, importer, resolveOptions) {
      const browser = this.environment.config.consumer === "client";
      if (browser && importer !== undefined) {
        // checkpoint files need Node: in a browser, `save` and `load` fail with a clear error
        if (source === nodeHelpersImport(runtimeImport) && wants(importer) !== null)
          return CHECKPOINT_STUB;
      }
      if (source !== PACKAGE && !source.startsWith(`${PACKAGE}/`)) return null;
      // an installed nnc resolves as usual; a checkout of nnc resolves its own name
      const found = await this.resolve(source, importer, { ...resolveOptions, skipSelf: true });
      if (found !== null) return found;
      return resolveSelf(source);
    },

    async load(id) {
      if (id === CHECKPOINT_STUB) return checkpointStub(runtimeImport);
      const file = wants(id);
      if (file === null) return null;
      let result: Compiled;
      try {
        result = await compileEntry(file, runtimeImport, searchPaths);
      } catch (e) {
        if (e instanceof InternalCompilerError)
          this.error({
            message: `internal compiler error while compiling ${displayPath(file, root)}: ${e.message}\nThis is a bug in nnc; please report it with the file.`,
            id: file,
          });
        throw e;
      }
      for (const dep of result.read) {
        let set = readers.get(dep);
        if (set === undefined) readers.set(dep, (set = new Set()));
        set.add(file);
        if (dep !== file && existsSync(dep)) this.addWatchFile(dep);
      }
      for (const w of result.diagnostics.filter((d) => d.severity === "warning"))
        this.warn(result.render([w]));
      const errors = result.diagnostics.filter((d) => d.severity === "error");
      if (!result.ok || result.code === undefined) {
        failed.add(file);
        const first = errors[0];
        if (first === undefined)
          this.error({ message: `nnc: ${displayPath(file, root)} did not compile`, id: file });
        const located = first.span.line > 0;
        const loc: ErrorLocation = {
          file: located ? resolve(first.span.file) : file,
          line: Math.max(1, first.span.line),
          column: Math.max(1, first.span.col),
        };
        const more =
          errors.length > 1
            ? ` (and ${errors.length - 1} more error${errors.length > 2 ? "s" : ""})`
            : "";
        this.error({
          message: `${location(first.span)}: error[${first.code}]: ${first.message}${more}`,
          id: loc.file,
          ...(located ? { loc } : {}),
          frame: result.render(errors),
          // a user's mistake, not a failure of the plugin: no stack trace
          stack: "",
        });
      }
      failed.delete(file);
      if (options.dts === true && result.dts !== undefined)
        writeIfChanged(declarationPath(file), result.dts);
      return { code: result.code, moduleType: "js", map: null };
    },

    hotUpdate(update) {
      // a changed dependency recompiles every entry that read it, even one whose last compile
      // failed; a new file, every entry that failed (a `use` may name it)
      const entries = new Set(readers.get(update.file));
      if (update.type === "create" && filter(update.file)) for (const f of failed) entries.add(f);
      if (entries.size === 0) return;
      const env = this.environment;
      const modules = new Set<EnvironmentModuleNode>(update.modules);
      let neverCompiled = false;
      for (const entry of entries) {
        for (const m of env.moduleGraph.getModulesByFile(entry) ?? []) {
          modules.add(m);
          // Vite propagates no update through a module it never analyzed (its first compile
          // failed): the page holds the error until it reloads
          if (m.isSelfAccepting === undefined) neverCompiled = true;
        }
      }
      if (neverCompiled && env.config.consumer === "client")
        env.hot.send({ type: "full-reload", path: "*", triggeredBy: update.file });
      return [...modules];
    },
  };
}

export { nnc };
