/**
 * nnc's documented size limits, in one place. The compiler imports them from
 * here (the runtime never imports the compiler), so a limit checked at compile
 * time and again at run time has one value.
 */

/**
 * Most levels of nesting in one expression or statement: each bracket pair
 * (`(…)`, a call's arguments, an index `x[…]`, a list `[…]`, a block `{…}`, a
 * type `[T]`), each prefix operator (`-`, `+`, `!`), each `^` and each
 * `else if` opens one level. The parser, the checker and the printers recurse
 * once per level; 100 levels use well under half of Node's default stack in
 * every stage (measured: the parser alone overflows at about 170 levels of
 * parentheses). Left-associative chains (`a + b + c + …`, any length) are long,
 * not deep, and have no limit.
 */
export const MAX_NESTING_DEPTH: number = 64;

/**
 * Most suffixes after one operand (`x.a.b`, `f(x)(y)`, `x[0][1]`): each adds a
 * level to the expression tree that the checker walks recursively.
 */
export const MAX_SUFFIX_CHAIN: number = MAX_NESTING_DEPTH;

/**
 * Largest source file, in UTF-16 code units (characters): 64 Mi. The lexer and
 * parser are linear (about 1 s per 5 MB of code here), so this bounds the work
 * and memory of one file rather than guarding a crash.
 */
export const MAX_SOURCE_CHARS: number = 64 * 1024 * 1024;

/**
 * Most elements in one tensor: 2^31 − 1. Kernels index tensors with 32-bit
 * signed integers (WGSL `i32`/`u32`, GLSL `int`, the Wasm kernels' `i32`
 * addresses, and the CPU kernels' `| 0` arithmetic), and a JavaScript typed
 * array of f32 holds at most 2^32 − 1 elements on 64-bit hosts, so a tensor
 * above this bound could not be indexed by any backend. Checked at compile time
 * for every static shape and at run time for shapes with size symbols.
 */
export const MAX_TENSOR_ELEMENTS: number = 2 ** 31 - 1;

/**
 * Largest linear memory of the WebAssembly backend: 65536 pages of 64 KiB
 * (4 GiB), the wasm32 address space.
 */
export const WASM_MAX_PAGES: number = 65536;

/** Bytes in one WebAssembly page. */
export const WASM_PAGE_BYTES: number = 65536;

/**
 * Most elements in one JavaScript typed array: 2^32 in V8 (Node, Chrome,
 * Deno) on 64-bit hosts. The CPU backend stores each tensor in one typed
 * array and checks a buffer's length against this before allocating; an
 * engine with a lower bound, or a host short of memory, fails the allocation
 * itself, which the CPU backend reports the same way.
 */
export const TYPED_ARRAY_MAX_LENGTH: number = 2 ** 32;

/**
 * Most numbers in one tensor literal (`[[1, 2], [3, 4]]` counts 4): 2^20. A
 * literal is compiled into the program and emitted as text, so a bigger one
 * belongs in a data file (a `file` source in a `train` block, or an argument
 * at run time). Checked right after lexing, before the literal is parsed.
 */
export const MAX_LITERAL_ELEMENTS: number = 2 ** 20;
