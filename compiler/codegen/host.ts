/**
 * The generated module: a TypeScript file with one class per model (and a
 * `Functions` class for top-level functions), its execution plans and CPU
 * kernels; the same as JavaScript, its declarations, and (by default) a copy
 * of nnc's runtime so the output folder can be imported from plain Node with
 * nothing else installed.
 *
 * The three files are printed directly, laid out the way Prettier lays them
 * out (layout.ts), with no formatter or TypeScript transpiler in the build:
 * those took seconds per build on the megabytes of plans and kernel tables.
 * The CPU kernel functions are printed as the CPU renderer writes them.
 *
 * User identifiers reach the output only as class, method and parameter
 * names, after {@link safeIdent}, and in doc comments after {@link docText};
 * everything else from the source is data inside string literals written by
 * `stringLiteral` (layout.ts). Kernels (TypeScript, WGSL, GLSL, WebAssembly)
 * hold no user text at all: their names are generated (`k0`, `g0`).
 */
import type { FunctionPlan } from "../../runtime/plan.js";
import { InternalCompilerError } from "../diagnostics/diagnostic.js";
import { nncVersion } from "../paths.js";
import {
  assignment,
  call,
  DataTree,
  flatData,
  keyText,
  layoutData,
  list,
  pad,
  Raw,
  stringLiteral,
  textWidth,
  WIDTH,
} from "./layout.js";
import type { PlannedProgram, PlannedUnit } from "./program.js";
import { RUNTIME_DIR, runtimeFiles } from "./runtimeCopy.js";
import {
  KERNEL_ARRAY_TYPE,
  kernelBodyToJs,
  kernelFunctionSource,
  type KernelSource,
} from "./ts.js";

export interface EmitOptions {
  /**
   * Module specifier the generated code imports the runtime from. Default:
   * `./nnc-runtime/index.js`, with the runtime copied beside the module.
   */
  readonly runtimeImport?: string;
}

export interface EmittedFile {
  /** Path relative to the output folder, with `/` separators. */
  readonly path: string;
  readonly contents: string;
}

const JS_RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in " +
    "instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface " +
    "package private protected public await arguments eval undefined NaN Infinity"
  ).split(" "),
);

/**
 * Names a user function cannot keep as a method: members every generated
 * class has (instance and static), and `then`, which would make every
 * instance a thenable that `await Model.create()` tries to resolve. Such a
 * function gets a trailing `$`.
 */
const CLASS_MEMBERS = new Set([
  "constructor",
  "create",
  "backend",
  "adapter",
  "parameters",
  "setParameters",
  "state",
  "setState",
  "save",
  "load",
  "dispose",
  "module",
  "call",
  "prototype",
  "name",
  "length",
  "then",
]);

/**
 * Names a model cannot keep as its class name: reserved words, the names
 * TypeScript does not allow for a class (`any`, `string`, ...), `then` (a
 * module exporting `then` is a thenable, which `await import()` calls), and
 * every name the module itself refers to at its top level (the kernels'
 * `Math`, typed arrays, `Arr`, the types of the signatures): a class of that
 * name would shadow it. Standard globals are all listed, so that a kernel
 * that starts using one cannot be shadowed either.
 */
const CLASS_RESERVED = new Set([
  ...JS_RESERVED,
  "then",
  ..."any bigint boolean never number object string symbol unknown".split(" "),
  ...(
    "Arr Array ArrayBuffer Atomics BigInt BigInt64Array BigUint64Array Boolean DataView Date Error " +
    "EvalError FinalizationRegistry Float32Array Float64Array Function Int8Array Int16Array Int32Array " +
    "Intl JSON Map Math Number Object Promise Proxy RangeError ReferenceError Reflect RegExp Set " +
    "SharedArrayBuffer String Symbol SyntaxError TypeError URIError Uint8Array Uint8ClampedArray " +
    "Uint16Array Uint32Array WeakMap WeakRef WeakSet WebAssembly globalThis isFinite isNaN " +
    "parseFloat parseInt Partial Readonly ReadonlyArray Record Required PromiseLike ArrayLike"
  ).split(" "),
]);

/**
 * Names a function argument cannot keep: reserved words, and `out`, the
 * local that holds a method's result.
 */
const PARAM_RESERVED = new Set([...JS_RESERVED, "out"]);

/**
 * A JavaScript identifier for a user name: the name itself when it is a valid
 * identifier and not reserved; otherwise characters that cannot appear are
 * spelled `$hex$` and a reserved word gets a trailing `$`. nnc names never
 * contain `$`, so this is injective, and it cannot produce the module's own
 * internal names (a `$` followed by a letter, no other `$`).
 */
export function safeIdent(name: string, reserved: ReadonlySet<string> = JS_RESERVED): string {
  let out = "";
  for (const ch of name) {
    const ok = out.length === 0 ? /[\p{ID_Start}_]/u.test(ch) : /[\p{ID_Continue}]/u.test(ch);
    out += ok && ch !== "$" ? ch : `$${ch.codePointAt(0)!.toString(16)}$`;
  }
  return reserved.has(out) ? `${out}$` : out;
}

/**
 * Text for a doc comment: a `*\/` cannot end the comment and a line
 * terminator cannot break it (user names hold neither; this keeps it so).
 */
export function docText(text: string): string {
  return text.replace(/\*\//g, "*\\/").replace(/[\n\r\u2028\u2029]/g, " ");
}

/** The method of a user function. */
export function methodName(name: string): string {
  return safeIdent(name, CLASS_MEMBERS);
}

/** The exported class of a model (or `Functions`). */
export function className(name: string): string {
  return safeIdent(name, CLASS_RESERVED);
}

/** A method's parameter for a function argument. */
function paramName(name: string): string {
  return safeIdent(name, PARAM_RESERVED);
}

function header(p: PlannedProgram): string {
  const file = p.name.replace(/[^\w.\-]/g, "_");
  return `// Generated by nnc ${nncVersion} from ${file}.nn. Do not edit: rebuild with \`nnc build\`.`;
}

function signatureDoc(f: FunctionPlan, flavor: "fn" | "loss"): string {
  const args = f.inputs.map((i) => `${i.name}: ${i.display}`).join(", ");
  const out = f.outputs.map((o) => o.sig.display).join(", ");
  return `\`${flavor} ${f.name}(${args}) -> ${out}\``;
}

/** Which file of the module a piece of text is for. */
type Flavor = "ts" | "js" | "dts";

/**
 * The TypeScript type of a value under `as const` (what TypeScript infers):
 * readonly properties and tuples, literal types; object types one member per
 * line, tuples on one line when they fit and hold no object.
 */
function constType(v: unknown, indent: number, col: number): string {
  if (v === null) return "null";
  if (typeof v === "number") return Number.isFinite(v) ? flatData(v, "ts") : "number";
  if (typeof v === "string" || typeof v === "boolean") return flatData(v, "ts");
  if (Array.isArray(v)) {
    if (v.length === 0) return "readonly []";
    const hasObject = v.some((x) => typeof x === "object" && x !== null && !Array.isArray(x));
    const items = v.map((x) => constType(x, indent + 2, indent + 2));
    const one = `readonly [${items.join(", ")}]`;
    if (!hasObject && !one.includes("\n") && col + one.length + 1 <= WIDTH) return one;
    return `readonly [\n${items.map((x) => `${pad(indent + 2)}${x},`).join("\n")}\n${pad(indent)}]`;
  }
  if (typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return "{}";
    const members = entries.map(([k, x]) => {
      const head = `readonly ${keyText(k, "ts")}: `;
      return `${pad(indent + 2)}${head}${constType(x, indent + 2, indent + 2 + head.length)};`;
    });
    return `{\n${members.join("\n")}\n${pad(indent)}}`;
  }
  throw new InternalCompilerError(`cannot print ${typeof v} as a type`);
}

/** One exported class of the module, in the TypeScript, JavaScript or declaration file. */
function unitClass(u: PlannedUnit, planVar: string, nodeHelpers: string, flavor: Flavor): string {
  const ts = flavor === "ts";
  const js = flavor === "js";
  const dts = flavor === "dts";
  /** A type annotation, left out of the JavaScript. */
  const t = (annotation: string) => (js ? "" : annotation);
  const cls = className(u.name);
  const lines: string[] = [];
  const what =
    u.kind === "model"
      ? `model \`${u.name}\` (with its default hyperparameters)`
      : "the top-level functions";
  /** A method: its signature, and in the .ts and .js its body. */
  const method = (
    head: string,
    params: readonly string[],
    ret: string,
    body: readonly string[],
  ) => {
    if (dts) {
      lines.push(`  ${list(`${head.replace(/\basync /, "")}(`, params, `)${ret};`, 2)}`);
      return;
    }
    lines.push(`  ${list(`${head}(`, params, `)${t(ret)} {`, 2)}`);
    for (const b of body) lines.push(`    ${b}`);
    lines.push(`  }`);
  };
  /** A parameter `name: type` (`name` in the .js). */
  const param = (name: string, type: string) => `${name}${t(`: ${type}`)}`;

  lines.push(
    `/** ${docText(`Compiled ${what}. Create with \`await ${cls}.create({ backend, seed })\`.`)} */`,
  );
  lines.push(`export ${dts ? "declare " : ""}class ${cls} {`);
  lines.push(`  /** Parameter shapes by path. */`);
  const shapes = Object.fromEntries(u.plan.params.map((p) => [p.path, p.shape]));
  const shapesHead = `  static ${js ? "" : "readonly "}parameterShapes${t(": Readonly<Record<string, readonly number[]>>")}`;
  if (dts) lines.push(`${shapesHead};`);
  else lines.push(`${shapesHead} = ${layoutData(shapes, `${shapesHead} = `, ";", flavor, 2)};`);
  if (u.train) {
    lines.push(
      `  /** The \`train\` declaration: steps, data of each input of \`step\`, evaluation (what \`nnc train\` runs). */`,
    );
    if (dts) {
      const head = `  static readonly training: `;
      lines.push(`${head}${constType(u.train, 2, head.length)};`);
    } else {
      const head = `  static ${js ? "" : "readonly "}training = `;
      const tail = js ? ";" : " as const;";
      lines.push(`${head}${layoutData(u.train, head, tail, flavor, 2)}${tail}`);
    }
  }
  if (ts) {
    lines.push(`  private readonly module: $CompiledModule;`);
    lines.push(`  private constructor(module: $CompiledModule) {`);
    lines.push(`    this.module = module;`);
    lines.push(`  }`);
  } else if (js) {
    lines.push(`  module;`);
    lines.push(`  constructor(module) {`);
    lines.push(`    this.module = module;`);
    lines.push(`  }`);
  } else {
    lines.push(`  private readonly module;`);
    lines.push(`  private constructor();`);
  }
  lines.push(
    `  /** Creates the module on a backend (\`"cpu"\`, \`"wasm"\`, \`"webgpu"\`, \`"webgl2"\` or \`"auto"\`) and initializes its parameters from \`seed\`. */`,
  );
  method(
    "static async create",
    [dts ? "options?: $ModuleOptions" : `${param("options", "$ModuleOptions")} = {}`],
    `: Promise<${cls}>`,
    [
      `return new ${cls}(`,
      `  await $CompiledModule.create(`,
      `    ${planVar},`,
      `    { cpu: $cpuKernels, wgsl: $wgslKernels, glsl: $glslKernels, wasm: $wasmProgram },`,
      `    options,`,
      `  ),`,
      `);`,
    ],
  );
  lines.push(`  /** The backend in use. */`);
  method("get backend", [], ": string", [`return this.module.backend;`]);
  method("get adapter", [], ": string | null", [`return this.module.adapter;`]);
  for (const [name, f] of Object.entries(u.plan.functions)) {
    const m = methodName(name);
    const params = f.inputs.map((i) => param(paramName(i.name), "$TensorLike"));
    const args = f.inputs.map((i) => paramName(i.name));
    const doc = docText(
      `${signatureDoc(f, u.flavors.get(name) ?? "fn")}${m !== name ? ` (source name ${name})` : ""}`,
    );
    const argList = { open: "[" as const, items: args };
    if (u.train !== null && name === "step") {
      // the training step can skip reading its loss back (a GPU round trip)
      const readNote = "With `{ read: false }` the loss is not read back and the result is null.";
      if (!js) {
        lines.push(`  /** ${doc} */`);
        lines.push(`  ${list(`${m}(`, params, `): Promise<$Tensor>;`, 2)}`);
        lines.push(`  /** ${readNote} */`);
        lines.push(
          `  ${list(`${m}(`, [...params, "$options: $CallOptions"], `): Promise<$Tensor | null>;`, 2)}`,
        );
      } else {
        lines.push(`  /** ${doc}. ${readNote} */`);
      }
      if (dts) continue;
      method(
        `async ${m}`,
        [...params, `${param("$options", "$CallOptions")} = {}`],
        ": Promise<$Tensor | null>",
        [
          call(
            "const [out] = await this.module.call",
            [stringLiteral(name), argList, "$options"],
            ";",
            4,
          ),
          `return out ?? null;`,
        ],
      );
      continue;
    }
    lines.push(`  /** ${doc} */`);
    method(`async ${m}`, params, ": Promise<$Tensor>", [
      call("const [out] = await this.module.call", [stringLiteral(name), argList], ";", 4),
      `return out${t("!")};`,
    ]);
  }
  lines.push(`  /** A copy of every parameter, by path (read back from the device on a GPU). */`);
  method("parameters", [], ": Promise<Record<string, $Tensor>>", [
    `return this.module.parameters();`,
  ]);
  lines.push(`  /** Replaces parameters by path, after checking every shape. */`);
  method("setParameters", [param("values", "Readonly<Record<string, $TensorLike>>")], ": void", [
    `this.module.setParameters(values);`,
  ]);
  lines.push(
    `  /** A copy of all persistent state (parameters and, with \`step\`, optimizer state), by path. */`,
  );
  method("state", [], ": Promise<Record<string, $Tensor>>", [`return this.module.state();`]);
  lines.push(`  /** Replaces persistent state by path, after checking every shape. */`);
  method("setState", [param("values", "Readonly<Record<string, $TensorLike>>")], ": void", [
    `this.module.setState(values);`,
  ]);
  lines.push(`  /** Saves the state as a safetensors checkpoint (Node; written atomically). */`);
  method("async save", [param("path", "string")], ": Promise<void>", [
    assignment("const { saveCheckpoint }", `await import(${stringLiteral(nodeHelpers)})`, ";", 4),
    call(
      "await saveCheckpoint",
      [
        "path",
        "await this.module.state()",
        {
          open: "{",
          items: [`nnc: ${stringLiteral(nncVersion)}`, `model: ${stringLiteral(u.name)}`],
        },
      ],
      ";",
      4,
    ),
  ]);
  lines.push(
    `  /** Loads a checkpoint written by \`save\` or \`nnc train\`; a mismatched file changes nothing. */`,
  );
  method("async load", [param("path", "string")], ": Promise<void>", [
    assignment(
      "const { loadCheckpoint, applyCheckpoint }",
      `await import(${stringLiteral(nodeHelpers)})`,
      ";",
      4,
    ),
    `await applyCheckpoint(this.module, await loadCheckpoint(path));`,
  ]);
  lines.push(`  /** Releases the module's resources. */`);
  method("dispose", [], ": void", [`this.module.dispose();`]);
  lines.push(`}`);
  return lines.join("\n");
}

/** Where the Node-only checkpoint helpers are, beside the runtime the module imports. */
export function nodeHelpersImport(runtimeImport: string): string {
  if (runtimeImport.endsWith("/index.js"))
    return `${runtimeImport.slice(0, -"/index.js".length)}/train/node.js`;
  return `${runtimeImport}/train/node`;
}

/** The runtime's exports the TypeScript module imports (values first, then types). */
const TS_IMPORTS = [
  "CompiledModule as $CompiledModule",
  "type CallOptions as $CallOptions",
  "type CpuKernel as $CpuKernel",
  "type GlslKernelSource as $GlslKernelSource",
  "type GpuKernelSource as $GpuKernelSource",
  "type ModuleOptions as $ModuleOptions",
  "type ProgramPlan as $ProgramPlan",
  "type Tensor as $Tensor",
  "type TensorLike as $TensorLike",
  "type WasmProgramSource as $WasmProgramSource",
];

/** `import { ... } from "specifier";`, one specifier per line when it does not fit. */
function importLine(names: readonly string[], from: string): string {
  const tail = `from ${stringLiteral(from)};`;
  const one = `import { ${names.join(", ")} } ${tail}`;
  // Prettier keeps a lone specifier on the line whatever its length
  if (names.length === 1 || textWidth(one) <= WIDTH) return one;
  return `import {\n${names.map((n) => `  ${n},`).join("\n")}\n} ${tail}`;
}

/** The three files of a module: TypeScript, JavaScript and declarations. */
interface ModuleTexts {
  readonly ts: string;
  readonly js: string;
  readonly dts: string;
}

/**
 * The generated module, laid out as Prettier would (see layout.ts) without
 * running it: the TypeScript, the JavaScript (the same without types) and the
 * declarations (the exported classes' signatures).
 */
export function generateModule(p: PlannedProgram, runtimeImport: string): ModuleTexts {
  const nodeHelpers = nodeHelpersImport(runtimeImport);
  const ts: string[] = [header(p)];
  const js: string[] = [header(p)];
  const dts: string[] = [header(p)];
  const both = (text: (f: "ts" | "js") => string) => {
    ts.push(text("ts"));
    js.push(text("js"));
  };
  ts.push(importLine(TS_IMPORTS, runtimeImport));
  js.push(importLine([TS_IMPORTS[0]!], runtimeImport));
  const hasStep = p.units.some((u) => u.train !== null && "step" in u.plan.functions);
  dts.push(
    importLine(
      [
        ...(hasStep ? ["type CallOptions as $CallOptions"] : []),
        "type ModuleOptions as $ModuleOptions",
        "type Tensor as $Tensor",
        "type TensorLike as $TensorLike",
      ],
      runtimeImport,
    ),
  );
  ts.push(KERNEL_ARRAY_TYPE);
  for (const k of p.kernels) {
    ts.push(kernelFunctionSource({ name: `$${k.name}`, body: k.body }));
    js.push(kernelFunctionJs(k));
  }
  /** `const name: type = value;` (no type in the .js), `as const` in the .ts when `asConst`. */
  const constant = (name: string, type: string, data: unknown, asConst = false) => {
    const value = DataTree.of(data);
    both((f) => {
      const head = `const ${name}${f === "ts" ? `: ${type}` : ""} = `;
      const tail = f === "ts" && asConst ? " as const;" : ";";
      return `${head}${layoutData(value, head, tail, f)}${tail}`;
    });
  };
  constant(
    "$cpuKernels",
    "Record<string, $CpuKernel>",
    Object.fromEntries(p.kernels.map((k) => [k.name, new Raw(`$${k.name}`)])),
  );
  constant(
    "$wgslKernels",
    "Record<string, $GpuKernelSource>",
    Object.fromEntries(
      p.gpuKernels.map((k) => [
        k.name,
        {
          code: k.source.code,
          access: k.source.access,
          ...(k.source.softwareCode === undefined ? {} : { softwareCode: k.source.softwareCode }),
        },
      ]),
    ),
  );
  constant(
    "$glslKernels",
    "Record<string, $GlslKernelSource>",
    Object.fromEntries(
      p.glslKernels.map((k) => [
        k.name,
        {
          access: k.source.access,
          passes: k.source.passes.map((q) => ({ code: q.code, outputs: q.outputs })),
        },
      ]),
    ),
  );
  const wasmDoc = `/** The fused kernels as one WebAssembly SIMD module (base64), for backend "wasm". */\n`;
  const wasm = DataTree.of({
    code: p.wasmProgram.code,
    relaxedCode: p.wasmProgram.relaxedCode,
    kernels: p.wasmProgram.kernels,
  });
  both((f) => {
    const head = `const $wasmProgram${f === "ts" ? ": $WasmProgramSource" : ""} = `;
    return `${wasmDoc}${head}${layoutData(wasm, head, ";", f)};`;
  });
  p.units.forEach((u, i) => {
    // TypeScript types a property named like a member of Object.prototype (a function
    // `toString`) by that member, not by the plan's index signature, and widens its
    // string literals to `string`; `as const` keeps them literal
    const objectMember = Object.keys(u.plan.functions).some((n) => n in Object.prototype);
    constant(`$plan${i}`, "$ProgramPlan", u.plan, objectMember);
    for (const [f, out] of [
      ["ts", ts],
      ["js", js],
      ["dts", dts],
    ] as const)
      out.push(unitClass(u, `$plan${i}`, nodeHelpers, f));
  });
  return { ts: `${ts.join("\n\n")}\n`, js: `${js.join("\n\n")}\n`, dts: `${dts.join("\n\n")}\n` };
}

/** A CPU kernel as a JavaScript function declaration. */
function kernelFunctionJs(k: KernelSource): string {
  const body = kernelBodyToJs(k.body)
    .split("\n")
    .map((l) => (l.length > 0 ? `  ${l}` : l))
    .join("\n");
  return `function $${k.name}(i, o, s) {\n${body}\n}`;
}

/** Every file of the output folder: `<name>.ts`, `<name>.js`, `<name>.d.ts` and the runtime. */
export async function emitProgram(
  p: PlannedProgram,
  options: EmitOptions = {},
): Promise<EmittedFile[]> {
  const runtimeImport = options.runtimeImport ?? `./${RUNTIME_DIR}/index.js`;
  const base = p.name.replace(/[^\p{L}\p{N}_.\-]/gu, "_");
  const m = generateModule(p, runtimeImport);
  const files: EmittedFile[] = [
    { path: `${base}.ts`, contents: m.ts },
    { path: `${base}.js`, contents: m.js },
    { path: `${base}.d.ts`, contents: m.dts },
  ];
  if (options.runtimeImport === undefined) files.push(...(await runtimeFiles()));
  return files;
}
