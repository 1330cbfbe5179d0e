/**
 * Name resolution across files: loads the entry file and everything it `use`s
 * (the standard library from `stdlib/`, the user's files relative to the
 * importing file or a search root), builds each module's scope, and checks that
 * every name used in a body is defined. Reports unknown names (with suggestions),
 * duplicate definitions, missing modules, import cycles, and assignments to
 * names that are not `var`s.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve as resolvePath } from "node:path";
import type {
  Block,
  ConstDecl,
  Expr,
  FnDecl,
  Item,
  ModelDecl,
  Module,
  Name,
  OptimizerDecl,
  Param,
  Stmt,
  TypeExpr,
  UseDecl,
} from "../ast/nodes.js";
import { SourceFile, type Span } from "../ast/span.js";
import { binaryChain } from "../ast/chain.js";
import { assertNever, type DiagnosticBag, type Note } from "../diagnostics/diagnostic.js";
import { displayPath, stdlibDir } from "../paths.js";
import { parseModule } from "../syntax/index.js";
import { BUILTIN_NAMES } from "./builtins.js";
import { suggest } from "./suggest.js";
import { DATA_SOURCES } from "./train.js";

/** What a module-level name refers to. */
export type ScopeEntry =
  | { readonly kind: "fn"; readonly decl: FnDecl; readonly module: ModuleInfo }
  | { readonly kind: "model"; readonly decl: ModelDecl; readonly module: ModuleInfo }
  | { readonly kind: "const"; readonly decl: ConstDecl; readonly module: ModuleInfo }
  /** An update rule for `train ... with <optimizer>(...)`. */
  | { readonly kind: "optimizer"; readonly decl: OptimizerDecl; readonly module: ModuleInfo }
  | { readonly kind: "module"; readonly module: ModuleInfo }
  /** A builtin re-exported by a standard-library module (`use std.nn.{tanh}`). */
  | { readonly kind: "builtin"; readonly name: string };

/** A loaded, parsed source file and its top-level scope. */
export interface ModuleInfo {
  /** Dotted module name: `std.nn`, `examples.cnn`, or the entry file's base name. */
  readonly name: string;
  readonly file: SourceFile;
  readonly absPath: string;
  readonly ast: Module;
  /** Top-level names: the module's own declarations and its imports. */
  readonly scope: Map<string, ScopeEntry>;
  /** The module's own declarations only (what other modules may import). */
  readonly exports: Map<string, ScopeEntry>;
}

export interface LoadOptions {
  /** Extra folders searched for `use a.b` after the importing file's folder. Default: the working directory. */
  readonly searchPaths?: readonly string[];
  /** Reads a file; defaults to the file system. Returns undefined when it does not exist. */
  readonly readFile?: (absPath: string) => string | undefined;
  /** Source text to use for the entry file instead of reading it. */
  readonly entryText?: string;
}

export interface LoadedProgram {
  readonly entry: ModuleInfo;
  /** Every module, in load order (dependencies first). */
  readonly modules: readonly ModuleInfo[];
  /** Looks up source text by display path, for rendering diagnostics. */
  readonly sources: Map<string, SourceFile>;
}

function defaultRead(absPath: string): string | undefined {
  if (!existsSync(absPath)) return undefined;
  return readFileSync(absPath, "utf8");
}

function declName(item: Item): Name | null {
  switch (item.kind) {
    case "fn":
    case "model":
    case "optimizer":
    case "const":
      return item.name;
    case "use":
    case "train":
      return null;
    default:
      return assertNever(item, "item");
  }
}

/**
 * Loads and parses the entry file and its imports, then resolves names.
 * Returns undefined if any file could not be read or parsed, or names failed
 * to resolve (all problems are in `bag`). Every file read is added to
 * `sources`, also on failure, so diagnostics can show their lines.
 */
export function loadProgram(
  entryPath: string,
  bag: DiagnosticBag,
  options: LoadOptions = {},
  sources: Map<string, SourceFile> = new Map(),
): LoadedProgram | undefined {
  const read = options.readFile ?? defaultRead;
  const searchPaths = options.searchPaths ?? [process.cwd()];
  const byPath = new Map<string, ModuleInfo>();
  const order: ModuleInfo[] = [];
  const loading: string[] = [];
  let failed = false;

  const parseFile = (absPath: string, name: string, text: string): ModuleInfo | undefined => {
    const file = new SourceFile(displayPath(absPath), text);
    sources.set(file.path, file);
    const ast = parseModule(file, bag);
    if (!ast) {
      failed = true;
      return undefined;
    }
    return { name, file, absPath, ast, scope: new Map(), exports: new Map() };
  };

  const load = (
    absPath: string,
    name: string,
    text: string,
    importSpan: Span | null,
  ): ModuleInfo | undefined => {
    const existing = byPath.get(absPath);
    if (existing) return existing;
    if (loading.includes(absPath)) {
      const cycle = [...loading.slice(loading.indexOf(absPath)), absPath].map((p) =>
        displayPath(p),
      );
      bag.error(
        "E0204",
        `import cycle: ${cycle.join(" -> ")}`,
        importSpan ?? { file: displayPath(absPath), start: 0, end: 0, line: 1, col: 1 },
      );
      failed = true;
      return undefined;
    }
    const info = parseFile(absPath, name, text);
    if (!info) return undefined;
    loading.push(absPath);
    collectDeclarations(info, bag);
    for (const item of info.ast.items) {
      if (item.kind === "use") importInto(info, item);
    }
    loading.pop();
    byPath.set(absPath, info);
    order.push(info);
    return info;
  };

  const findModule = (
    path: readonly string[],
    fromDir: string,
  ): { abs: string; tried: string[] } => {
    const tried: string[] = [];
    if (path[0] === "std") {
      const abs = join(stdlibDir, ...path.slice(1)) + ".nn";
      tried.push(abs);
      return { abs: path.length > 1 && read(abs) !== undefined ? abs : "", tried };
    }
    for (const base of [fromDir, ...searchPaths]) {
      const abs = resolvePath(base, ...path) + ".nn";
      if (tried.includes(abs)) continue;
      tried.push(abs);
      if (read(abs) !== undefined) return { abs, tried };
    }
    return { abs: "", tried };
  };

  const importInto = (into: ModuleInfo, use: UseDecl): void => {
    const segs = use.path.map((n) => n.name);
    const fromDir = dirname(into.absPath);
    let modPath = segs;
    let single: Name | null = null;
    let found = findModule(modPath, fromDir);
    if (!found.abs && use.names === null && segs.length >= 2) {
      // `use std.nn.dense` may name one declaration of module `std.nn`
      const prefix = findModule(segs.slice(0, -1), fromDir);
      if (prefix.abs) {
        modPath = segs.slice(0, -1);
        single = use.path[use.path.length - 1]!;
        found = prefix;
      }
    }
    const pathSpan = { ...use.path[0]!.span, end: use.path[use.path.length - 1]!.span.end };
    if (!found.abs) {
      const hint = options.readFile ? undefined : similarModule(segs, found.tried);
      bag.error("E0203", `cannot find module \`${segs.join(".")}\``, pathSpan, [
        { message: `looked for ${found.tried.map((p) => displayPath(p)).join(", ")}` },
        ...(hint ? [{ message: `did you mean \`${hint}\`?` }] : []),
      ]);
      failed = true;
      return;
    }
    const text = read(found.abs);
    if (text === undefined) return;
    const target = load(found.abs, modPath.join("."), text, pathSpan);
    if (!target) return;
    const bind = (local: Name, entry: ScopeEntry, at: Span): void => {
      const prev = into.scope.get(local.name);
      if (prev) {
        bag.error("E0202", `\`${local.name}\` is defined more than once`, at, [
          { message: "first defined here", span: spanOfEntry(prev, into, local.name) },
        ]);
        return;
      }
      into.scope.set(local.name, entry);
      importSpans.set(`${into.absPath}|${local.name}`, at);
    };
    const importName = (name: Name, alias: Name | null, at: Span): void => {
      // standard-library modules re-export the builtins (`use std.nn.{tanh}`)
      const entry: ScopeEntry | undefined =
        target.exports.get(name.name) ??
        (modPath[0] === "std" && BUILTIN_NAMES.includes(name.name)
          ? { kind: "builtin", name: name.name }
          : undefined);
      if (!entry) {
        const names = [...target.exports.keys()];
        const hint = suggest(
          name.name,
          modPath[0] === "std" ? [...names, ...BUILTIN_NAMES] : names,
        );
        const list =
          names.length > 0 && names.length <= 12
            ? [
                {
                  message: `\`${target.name}\` declares: ${names.map((n) => `\`${n}\``).join(", ")}`,
                },
              ]
            : [];
        bag.error(
          "E0205",
          `module \`${target.name}\` has no declaration named \`${name.name}\``,
          name.span,
          hint ? [{ message: `did you mean \`${hint}\`?` }] : list,
        );
        failed = true;
        return;
      }
      bind(alias ?? name, entry, at);
    };
    if (single) importName(single, null, use.span);
    else if (use.names === null)
      bind(use.path[use.path.length - 1]!, { kind: "module", module: target }, use.span);
    else for (const u of use.names) importName(u.name, u.alias, u.span);
  };

  const importSpans = new Map<string, Span>();
  const spanOfEntry = (e: ScopeEntry, mod: ModuleInfo, local: string): Span => {
    const imported = importSpans.get(`${mod.absPath}|${local}`);
    if (imported) return imported;
    return e.kind === "module" || e.kind === "builtin" ? mod.ast.span : e.decl.name.span;
  };

  const entryAbs = resolvePath(entryPath);
  const entryText = options.entryText ?? read(entryAbs);
  if (entryText === undefined) {
    bag.error("E0203", `cannot read file \`${displayPath(entryAbs)}\``, {
      file: displayPath(entryAbs),
      start: 0,
      end: 0,
      line: 0,
      col: 0,
    });
    return undefined;
  }
  const base = entryAbs.replace(/\\/g, "/").split("/").pop()!.replace(/\.nn$/, "");
  const entry = load(entryAbs, base, entryText, null);
  if (!entry || failed) return undefined;
  for (const m of order) checkNames(m, bag);
  if (bag.hasErrors) return undefined;
  return { entry, modules: order, sources };
}

/** A module beside one of the paths looked for whose name is close to the last segment (`lib.layerz` → `lib.layers`). */
function similarModule(segs: readonly string[], tried: readonly string[]): string | undefined {
  const last = segs[segs.length - 1]!;
  for (const path of tried) {
    let names: string[];
    try {
      names = readdirSync(dirname(path))
        .filter((f) => f.endsWith(".nn"))
        .map((f) => f.slice(0, -3));
    } catch {
      continue; // the folder does not exist
    }
    const hint = suggest(last, names);
    if (hint) return [...segs.slice(0, -1), hint].join(".");
  }
  return undefined;
}

/** Fills a module's `exports` and `scope` with its own declarations, reporting duplicates. */
function collectDeclarations(mod: ModuleInfo, bag: DiagnosticBag): void {
  for (const item of mod.ast.items) {
    const name = declName(item);
    if (!name) continue;
    const prev = mod.exports.get(name.name);
    if (prev && prev.kind !== "module" && prev.kind !== "builtin") {
      bag.error("E0202", `\`${name.name}\` is defined more than once`, name.span, [
        { message: "first defined here", span: prev.decl.name.span },
      ]);
      continue;
    }
    const entry: ScopeEntry =
      item.kind === "fn"
        ? { kind: "fn", decl: item, module: mod }
        : item.kind === "model"
          ? { kind: "model", decl: item, module: mod }
          : item.kind === "optimizer"
            ? { kind: "optimizer", decl: item, module: mod }
            : { kind: "const", decl: item as ConstDecl, module: mod };
    mod.exports.set(name.name, entry);
    mod.scope.set(name.name, entry);
  }
}

// ---------------------------------------------------------------- static name checks

interface Binding {
  readonly mutable: boolean;
  readonly span: Span;
  readonly what: string;
}

class Scope {
  readonly names = new Map<string, Binding>();
  constructor(readonly parent: Scope | null) {}

  lookup(name: string): Binding | undefined {
    return this.names.get(name) ?? this.parent?.lookup(name);
  }

  all(): string[] {
    return [...this.names.keys(), ...(this.parent?.all() ?? [])];
  }
}

/** Walks every body of a module, reporting names that are not defined anywhere visible. */
function checkNames(mod: ModuleInfo, bag: DiagnosticBag): void {
  const top = new Scope(null);
  for (const name of BUILTIN_NAMES)
    top.names.set(name, { mutable: false, span: mod.ast.span, what: "builtin" });
  const moduleScope = new Scope(top);
  for (const [name, e] of mod.scope)
    moduleScope.names.set(name, {
      mutable: false,
      span: e.kind === "module" || e.kind === "builtin" ? mod.ast.span : e.decl.name.span,
      what: e.kind,
    });

  const declare = (scope: Scope, name: Name, mutable: boolean, what: string): void => {
    const prev = scope.names.get(name.name);
    if (prev) {
      bag.error("E0202", `\`${name.name}\` is defined more than once`, name.span, [
        { message: "first defined here", span: prev.span },
      ]);
      return;
    }
    scope.names.set(name.name, { mutable, span: name.span, what });
  };

  const unknown = (name: string, span: Span, scope: Scope): void => {
    const hint = suggest(name, scope.all());
    const notes: Note[] = hint ? [{ message: `did you mean \`${hint}\`?` }] : [];
    bag.error("E0201", `unknown name \`${name}\``, span, notes);
  };

  const expr = (e: Expr, scope: Scope): void => {
    switch (e.kind) {
      case "number":
      case "bool":
      case "string":
        return;
      case "name":
        if (!scope.lookup(e.name)) unknown(e.name, e.span, scope);
        return;
      case "unary":
        return expr(e.operand, scope);
      case "binary": {
        // a chain `a + b + …` iteratively: it can be long
        const { first, links } = binaryChain(e);
        expr(first, scope);
        for (const b of links) expr(b.right, scope);
        return;
      }
      case "call":
        expr(e.callee, scope);
        for (const a of e.args) expr(a.value, scope);
        return;
      case "index":
        expr(e.target, scope);
        for (const it of e.indices) {
          if (it.kind === "at") expr(it.expr, scope);
          else if (it.kind === "slice")
            for (const p of [it.start, it.stop, it.step]) if (p) expr(p, scope);
        }
        return;
      case "member":
        return expr(e.target, scope);
      case "list":
        for (const x of e.elements) expr(x, scope);
        return;
      case "comprehension": {
        expr(e.iterable, scope);
        const inner = new Scope(scope);
        declare(inner, e.variable, false, "loop variable");
        return expr(e.element, inner);
      }
      case "range":
        expr(e.start, scope);
        return expr(e.end, scope);
      default:
        return assertNever(e, "expression");
    }
  };

  // Names inside tensor types are dims: bare unknown ones are size symbols, visible
  // in the body as compile-time sizes, and not errors.
  const type = (t: TypeExpr | null, scope: Scope): void => {
    if (!t) return;
    if (t.kind === "listType") return type(t.element, scope);
    if (t.kind !== "namedType") return;
    for (const d of t.dims ?? []) {
      const n =
        d.kind === "dimRest"
          ? d.name
          : d.expr.kind === "name"
            ? { name: d.expr.name, span: d.expr.span }
            : null;
      if (n && !scope.lookup(n.name))
        scope.names.set(n.name, { mutable: false, span: n.span, what: "size" });
    }
    // names inside compound dims (`2 * N`) are sizes too; the checker says when it cannot infer one
    const inner = (e: Expr): void => {
      if (e.kind === "name") {
        if (!scope.lookup(e.name))
          scope.names.set(e.name, { mutable: false, span: e.span, what: "size" });
      } else if (e.kind === "binary") {
        const { first, links } = binaryChain(e);
        inner(first);
        for (const b of links) inner(b.right);
      } else if (e.kind === "unary") inner(e.operand);
    };
    for (const d of t.dims ?? []) if (d.kind === "dimExpr" && d.expr.kind !== "name") inner(d.expr);
  };

  // The head of every written type is a dtype, `int`/`float`/`bool`/`string`, or a model
  // (`Cnn`, `nn.dense`); a misspelled one would otherwise go unnoticed in a function never called.
  const typeHead = (t: TypeExpr | null, scope: Scope): void => {
    if (!t || t.kind === "fnType") return;
    if (t.kind === "listType") return typeHead(t.element, scope);
    const rests = (t.dims ?? []).filter((d) => d.kind === "dimRest");
    if (rests.length > 1)
      bag.error(
        "E0318",
        "a type can contain `...` only once: which dimensions each `...` takes would be ambiguous",
        rests[1]!.span,
      );
    const head = t.path[0]!;
    if (t.path.length === 1 && TYPE_NAMES.includes(head.name)) return;
    const b = scope.lookup(head.name);
    if (b && (t.path.length === 1 ? b.what === "model" : b.what === "module")) return;
    const models = [...mod.scope.entries()].filter(([, e]) => e.kind === "model").map(([n]) => n);
    const hint =
      suggest(head.name, [...TYPE_NAMES, ...models]) ??
      (/^(?:[fiu]|float|int|uint)\d+$/.test(head.name) ? "f32` or `i32" : undefined);
    bag.error(
      "E0207",
      `unknown type \`${t.path.map((n) => n.name).join(".")}\``,
      t.path.length === 1 ? head.span : { ...head.span, end: t.path[t.path.length - 1]!.span.end },
      [
        hint
          ? { message: `did you mean \`${hint}\`?` }
          : {
              message:
                "types are the tensor types f32, i32 and bool (`f32[N, 3]`), int, float, bool, string, fn, lists `[int]`, and models",
            },
      ],
    );
  };

  const block = (b: Block, scope: Scope): void => {
    const inner = new Scope(scope);
    for (const s of b.stmts) stmt(s, inner);
    if (b.result) expr(b.result, inner);
  };

  const stmt = (s: Stmt, scope: Scope): void => {
    switch (s.kind) {
      case "let":
        expr(s.value, scope);
        typeHead(s.type, scope);
        type(s.type, scope);
        declare(scope, s.name, s.mutable, s.mutable ? "var" : "let");
        return;
      case "assign": {
        expr(s.value, scope);
        const b = scope.lookup(s.name.name);
        if (!b) unknown(s.name.name, s.name.span, scope);
        else if (!b.mutable) {
          const builtin = b.what === "builtin" || b.what === "initializer";
          bag.error(
            "E0206",
            `cannot assign to \`${s.name.name}\`: it is ${KIND_NAMES[b.what] ?? `a ${b.what}`}, not a \`var\``,
            s.name.span,
            [
              ...(builtin ? [] : [{ message: `\`${s.name.name}\` is defined here`, span: b.span }]),
              ...(b.what === "let"
                ? [{ message: `declare it with \`var ${s.name.name} = ...\` to reassign it` }]
                : []),
            ],
          );
        }
        return;
      }
      case "return":
        return expr(s.value, scope);
      case "for": {
        expr(s.iterable, scope);
        const inner = new Scope(scope);
        declare(inner, s.variable, false, "loop variable");
        return block(s.body, inner);
      }
      case "if":
        expr(s.cond, scope);
        block(s.then, scope);
        if (s.else?.kind === "block") block(s.else, scope);
        else if (s.else) stmt(s.else, scope);
        return;
      default:
        return assertNever(s, "statement");
    }
  };

  const fn = (f: FnDecl, outer: Scope): void => {
    const scope = new Scope(outer);
    for (const p of f.params) {
      // a default sees the parameters before it (the checker evaluates it so)
      if (p.default) expr(p.default, scope);
      declare(scope, p.name, false, "parameter");
    }
    for (const p of f.params) {
      typeHead(p.type, scope);
      type(p.type, scope);
    }
    typeHead(f.returnType, scope);
    if (f.body.kind === "block") block(f.body, scope);
    else expr(f.body, scope);
  };

  // A model's or optimizer's scope, with its hyperparameters (each default sees the ones before it).
  const hyperScope = (hyperparams: readonly Param[]): Scope => {
    const scope = new Scope(moduleScope);
    for (const h of hyperparams) {
      typeHead(h.type, moduleScope);
      if (h.default) expr(h.default, scope);
      declare(scope, h.name, false, "hyperparameter");
    }
    return scope;
  };

  const model = (m: ModelDecl): void => {
    const scope = hyperScope(m.hyperparams);
    for (const it of m.items)
      declare(scope, it.name, false, it.kind === "fn" ? it.flavor : it.kind);
    // the instance itself and the list of its parameters, unless a member takes the name
    for (const implicit of ["self", "params"]) {
      if (!scope.names.has(implicit))
        scope.names.set(implicit, { mutable: false, span: m.name.span, what: "model" });
    }
    for (const it of m.items) {
      switch (it.kind) {
        case "param":
          expr(it.init, initScope(scope));
          break;
        case "field":
          expr(it.value, scope);
          break;
        case "const":
          typeHead(it.type, scope);
          expr(it.value, scope);
          break;
        case "fn":
          fn(it, scope);
          break;
        default:
          assertNever(it, "model item");
      }
    }
  };

  // An optimizer's `state`s are per-parameter tensors its functions may reassign.
  const optimizer = (o: OptimizerDecl): void => {
    const scope = hyperScope(o.hyperparams);
    for (const it of o.items)
      declare(scope, it.name, it.kind === "state", it.kind === "fn" ? it.flavor : it.kind);
    for (const it of o.items) {
      switch (it.kind) {
        case "state":
          expr(it.init, initScope(scope));
          break;
        case "const":
          typeHead(it.type, scope);
          expr(it.value, scope);
          break;
        case "fn":
          fn(it, scope);
          break;
        default:
          assertNever(it, "optimizer item");
      }
    }
  };

  const initScope = (outer: Scope): Scope => {
    const s = new Scope(outer);
    for (const n of INITIALIZER_NAMES)
      s.names.set(n, { mutable: false, span: mod.ast.span, what: "initializer" });
    return s;
  };

  for (const item of mod.ast.items) {
    switch (item.kind) {
      case "use":
        break;
      case "fn":
        fn(item, moduleScope);
        break;
      case "model":
        model(item);
        break;
      case "optimizer":
        optimizer(item);
        break;
      case "const":
        typeHead(item.type, moduleScope);
        expr(item.value, moduleScope);
        break;
      case "train": {
        checkTrain(item.target, mod, bag);
        expr(item.optimizer, moduleScope);
        // options see the model's members (`predict = u`), the step `t` (in `lr`), the data sources
        // and `all` (`batch = all`)
        const trainScope = new Scope(moduleScope);
        const target = mod.scope.get(item.target[0]?.name ?? "");
        if (target?.kind === "model") {
          for (const it of target.decl.items)
            trainScope.names.set(it.name.name, {
              mutable: false,
              span: it.name.span,
              what: it.kind,
            });
          for (const h of target.decl.hyperparams)
            trainScope.names.set(h.name.name, {
              mutable: false,
              span: h.name.span,
              what: "hyperparameter",
            });
        }
        for (const n of [...DATA_SOURCES, "t", "all"])
          if (!trainScope.lookup(n))
            trainScope.names.set(n, { mutable: false, span: item.span, what: "data source" });
        for (const o of item.options) expr(o.value, trainScope);
        break;
      }
      default:
        assertNever(item, "item");
    }
  }
}

/** `train Model.loss`: the model exists and has a `loss` of that name. */
function checkTrain(target: readonly Name[], mod: ModuleInfo, bag: DiagnosticBag): void {
  const [modelName, lossName, ...rest] = target;
  if (!modelName) return;
  const entry = mod.scope.get(modelName.name);
  if (!entry || entry.kind !== "model") {
    const hint = suggest(
      modelName.name,
      [...mod.scope.entries()].filter(([, e]) => e.kind === "model").map(([n]) => n),
    );
    bag.error(
      "E0501",
      `\`train\` needs a model, but \`${modelName.name}\` is ${entry ? `a ${entry.kind}` : "not defined"}`,
      modelName.span,
      hint ? [{ message: `did you mean \`${hint}\`?` }] : [],
    );
    return;
  }
  if (!lossName || rest.length > 0) {
    bag.error("E0501", "`train` names an objective as `Model.loss`", (lossName ?? modelName).span);
    return;
  }
  const member = entry.decl.items.find((i) => i.name.name === lossName.name);
  if (!member || member.kind !== "fn" || member.flavor !== "loss") {
    const losses = entry.decl.items
      .filter((i): i is FnDecl => i.kind === "fn" && i.flavor === "loss")
      .map((i) => i.name.name);
    const hint = suggest(lossName.name, losses);
    bag.error(
      "E0501",
      member
        ? `\`${modelName.name}.${lossName.name}\` is not a \`loss\``
        : `model \`${modelName.name}\` has no loss named \`${lossName.name}\``,
      lossName.span,
      [
        ...(member
          ? [
              {
                message: `\`${lossName.name}\` is declared here as ${KIND_NAMES[member.kind === "fn" ? member.flavor : member.kind] ?? member.kind}`,
                span: member.name.span,
              },
            ]
          : []),
        hint
          ? { message: `did you mean \`${hint}\`?` }
          : losses.length === 0
            ? { message: `\`${modelName.name}\` declares no \`loss\`` }
            : {
                message: `the losses of \`${modelName.name}\` are: ${losses.map((l) => `\`${l}\``).join(", ")}`,
              },
      ],
    );
  }
}

/** The builtin type names (besides `fn`, which has its own syntax). */
const TYPE_NAMES: readonly string[] = ["f32", "i32", "bool", "int", "float", "string"];

/** How each kind of binding is named in messages ("it is a `let` binding"). */
const KIND_NAMES: Readonly<Record<string, string>> = {
  let: "a `let` binding",
  fn: "a function",
  loss: "a loss",
  model: "a model",
  const: "a constant",
  module: "a module",
  builtin: "a builtin",
  initializer: "an initializer",
  param: "a model parameter",
  field: "a model field",
  size: "a size symbol",
  hyperparameter: "a hyperparameter",
  optimizer: "an optimizer",
  parameter: "a function parameter",
  "loop variable": "a loop variable",
};

/** Names that are initializers inside `param ... = <init>`. */
export const INITIALIZER_NAMES: readonly string[] = [
  "zeros",
  "ones",
  "constant",
  "normal",
  "uniform",
  "glorot",
  "glorot_normal",
  "he",
  "he_uniform",
  "lecun",
];
