/**
 * The Node-only side of training: reading data files and writing and reading
 * checkpoints. Everything else in `runtime/train/` runs in browsers too; this
 * file is the one that imports `node:fs` and `node:path`.
 */
import { open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { TensorSig } from "../plan.js";
import type { Tensor } from "../tensor.js";
import {
  DataError,
  Dataset,
  parseDataFile,
  type DataSpec,
  type DatasetOptions,
  type FileSpec,
} from "./data.js";
import {
  CheckpointError,
  decodeSafetensors,
  encodeSafetensors,
  type Safetensors,
} from "./safetensors.js";

export { applyCheckpoint } from "./safetensors.js";

/** The bytes of a file as a plain Uint8Array (a Buffer's `slice` would not copy). */
async function readBytes(path: string): Promise<Uint8Array> {
  const buf = await readFile(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Why a read failed, in words, from a Node error. */
function reason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "it is a folder";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return e instanceof Error ? e.message : String(e);
}

/**
 * Reads and parses the data file of a `file` source; `spec.path` is resolved
 * against `baseDir` (the program's folder). Errors name the file as written
 * in the spec.
 */
export async function loadDataFile(spec: FileSpec, baseDir: string): Promise<Tensor> {
  const full = resolve(baseDir, spec.path);
  let bytes: Uint8Array;
  try {
    bytes = await readBytes(full);
  } catch (e) {
    throw new DataError(`${spec.path}: cannot read the data file ${full}: ${reason(e)}`);
  }
  return parseDataFile(spec, bytes);
}

/**
 * Builds a {@link Dataset}, loading every `file` source first (paths relative
 * to `baseDir`).
 */
export async function createDataset(
  specs: Readonly<Record<string, DataSpec>>,
  inputs: readonly TensorSig[],
  options: Omit<DatasetOptions, "files"> & { readonly baseDir: string },
): Promise<Dataset> {
  const files: Record<string, Tensor> = {};
  for (const sig of inputs) {
    const spec = Object.hasOwn(specs, sig.name) ? specs[sig.name] : undefined;
    if (spec?.kind !== "file") continue;
    try {
      files[sig.name] = await loadDataFile(spec, options.baseDir);
    } catch (e) {
      // name the input the file was meant for, as every other data error does
      if (e instanceof DataError && !e.message.startsWith("data for input"))
        throw new DataError(`data for input "${sig.name}": ${e.message}`);
      throw e;
    }
  }
  const { baseDir: _, ...rest } = options;
  return new Dataset(specs, inputs, { ...rest, files });
}

/** The temporary file a save writes first: hidden, in the same folder (so rename is atomic), unique. */
export function tempPathFor(path: string): string {
  const unique = `${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
  return join(dirname(path), `.${basename(path)}.${unique}.tmp`);
}

/**
 * Writes a checkpoint atomically: the bytes go to a temporary file in the
 * same folder, which is flushed to disk and then renamed over `path`, so a
 * crash at any point leaves either the old file or the new one, never a torn
 * one.
 */
export async function saveCheckpoint(
  path: string,
  tensors: Readonly<Record<string, Tensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  const temp = tempPathFor(path);
  try {
    const handle = await open(temp, "wx");
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw new CheckpointError(
      `cannot save the checkpoint ${path}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  // make the rename itself durable; some platforms cannot sync a folder, which is fine
  try {
    const dir = await open(dirname(path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    /* best effort */
  }
}

/** Reads and validates a safetensors checkpoint; `source` is `path`, for messages. */
export async function loadCheckpoint(path: string): Promise<Safetensors & { source: string }> {
  let bytes: Uint8Array;
  try {
    bytes = await readBytes(path);
  } catch (e) {
    throw new CheckpointError(`cannot read the checkpoint ${path}: ${reason(e)}`);
  }
  return { ...decodeSafetensors(bytes, path), source: path };
}
