/**
 * Helpers of the end-to-end training tests: a scratch folder under
 * `tests/.tmp/training/`, programs written there, a writer of NumPy `.npy`
 * files, and `nnc` run in-process with its output captured.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../bin/cli.js";

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "../..");

/** A fresh scratch folder `tests/.tmp/training/<name>` (emptied first). */
export function scratch(name: string): string {
  const dir = join(root, "tests/.tmp/training", name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes `text` to `dir/name` and returns the path. */
export function writeText(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Writes a little-endian `f4` (or `i4`) NumPy file of `shape`, C order. */
export function writeNpy(
  path: string,
  shape: readonly number[],
  data: readonly number[],
  dtype: "f4" | "i4" = "f4",
): void {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '<${dtype}', 'fortran_order': False, 'shape': (${dims}), }`;
  // magic (6) + version (2) + length (2) + header + newline, padded to 64 bytes
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const head = new Uint8Array(10 + header.length);
  head.set([0x93, ...Buffer.from("NUMPY"), 1, 0, header.length & 0xff, header.length >> 8]);
  head.set(Buffer.from(header, "latin1"), 10);
  const body = dtype === "f4" ? new Float32Array(data) : new Int32Array(data);
  writeFileSync(path, Buffer.concat([head, new Uint8Array(body.buffer)]));
}

/** Runs `nnc <argv>` in-process; returns the exit status and what it printed. */
export async function nnc(
  argv: readonly string[],
): Promise<{ status: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const status = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { status, out, err };
}
