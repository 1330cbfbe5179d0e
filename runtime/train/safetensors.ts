/**
 * The safetensors format (https://github.com/huggingface/safetensors), used
 * for checkpoints: an 8-byte little-endian header length N, N bytes of JSON
 * header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
 * {key: value}}`, then the tensors' bytes, little-endian, back to back.
 *
 * Supported dtypes: F32, F64, I32 and BOOL. An `f32` tensor stored in a
 * Float64Array (a module running at f64 precision) is written as F64 so no
 * precision is lost; F64 data reads back as an `f32` tensor in a Float64Array.
 */
import { NncError } from "../errors.js";
import { Tensor, type TensorData } from "../tensor.js";
import { hostToLe, leToHost } from "./bytes.js";

/** A malformed safetensors file or a checkpoint that does not fit a module. */
export class CheckpointError extends NncError {}

/** The contents of a safetensors file. */
export interface Safetensors {
  readonly tensors: Record<string, Tensor>;
  readonly metadata: Record<string, string>;
}

type StDType = "F32" | "F64" | "I32" | "BOOL";
const ITEM_SIZE: Record<StDType, number> = { F32: 4, F64: 8, I32: 4, BOOL: 1 };

/** The safetensors dtype a tensor is stored as. */
function storedAs(name: string, t: Tensor): StDType {
  const d = t.data;
  if (t.dtype === "f32" && d instanceof Float32Array) return "F32";
  if (t.dtype === "f32" && d instanceof Float64Array) return "F64";
  if (t.dtype === "i32" && d instanceof Int32Array) return "I32";
  if (t.dtype === "bool" && d instanceof Uint8Array) return "BOOL";
  throw new CheckpointError(
    `safetensors: tensor ${JSON.stringify(name)} is ${t.dtype} stored in a ${d.constructor.name}, which has no safetensors dtype here`,
  );
}

/** Metadata and tensor names sorted, so equal inputs give equal bytes. */
function sortedKeys(o: object): string[] {
  return Object.keys(o).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Encodes tensors and string metadata as safetensors bytes. Deterministic:
 * tensors are laid out in name order and the header's keys are sorted; the
 * header is padded with spaces so the data starts 8-byte aligned.
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, Tensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const meta: [string, string][] = [];
  for (const k of sortedKeys(metadata)) {
    const v = metadata[k];
    if (typeof v !== "string")
      throw new CheckpointError(`safetensors: metadata ${JSON.stringify(k)} must be a string`);
    meta.push([k, v]);
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  const entries: [string, unknown][] = [];
  if (meta.length > 0) entries.push(["__metadata__", Object.fromEntries(meta)]);
  for (const name of sortedKeys(tensors)) {
    if (name === "__metadata__")
      throw new CheckpointError(`safetensors: "__metadata__" is reserved and cannot name a tensor`);
    const t = tensors[name]!;
    const dtype = storedAs(name, t);
    const bytes = hostToLe(t.data, ITEM_SIZE[dtype]);
    entries.push([
      name,
      { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] },
    ]);
    parts.push(bytes);
    offset += bytes.length;
  }
  // fromEntries defines own properties, so a tensor called "__proto__" stays an ordinary key
  let json = JSON.stringify(Object.fromEntries(entries));
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  const pad = (8 - (headerBytes.length % 8)) % 8;
  if (pad > 0) {
    json += " ".repeat(pad);
    headerBytes = encoder.encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes.length, true);
  view.setUint32(4, Math.floor(headerBytes.length / 4294967296), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Decodes safetensors bytes, validating everything: the header length fits
 * the file, the header is UTF-8 JSON of the right form, dtypes are known,
 * data offsets are contiguous from 0 and end exactly at the end of the file,
 * and every tensor's byte size matches its shape. Any problem is a
 * {@link CheckpointError} that starts with `what` (the file's name).
 */
export function decodeSafetensors(bytes: Uint8Array, what: string): Safetensors {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${what}: ${msg}`);
  };
  if (bytes.length < 8)
    fail(
      `not a safetensors file: ${bytes.length} byte${bytes.length === 1 ? "" : "s"}, too short for the 8-byte header length`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLength = hi * 4294967296 + lo;
  const rest = bytes.length - 8;
  if (headerLength > rest)
    fail(
      `the header length (${headerLength} bytes) exceeds the ${rest} bytes that follow it; the file is truncated or not a safetensors file`,
    );
  if (headerLength < 2) fail(`the header length is ${headerLength}, too short for a JSON object`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return fail("the header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`the header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    return fail("the header is not a JSON object");
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const infos: { name: string; dtype: StDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    const subject = `tensor ${JSON.stringify(name)}`;
    if (name === "__metadata__") {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry))
        fail(`"__metadata__" must be an object of strings`);
      for (const [k, v] of Object.entries(entry as Record<string, unknown>))
        if (typeof v !== "string") fail(`metadata ${JSON.stringify(k)} is not a string`);
      metadata = Object.fromEntries(Object.entries(entry as Record<string, string>));
      continue;
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry))
      return fail(`${subject}: the entry is not an object`);
    const e = entry as Record<string, unknown>;
    const dtype = e["dtype"];
    if (typeof dtype !== "string") return fail(`${subject}: no "dtype"`);
    if (!Object.hasOwn(ITEM_SIZE, dtype))
      return fail(
        `${subject}: unsupported dtype ${JSON.stringify(dtype)} (supported: F32, F64, I32, BOOL)`,
      );
    const shape = e["shape"];
    if (
      !Array.isArray(shape) ||
      !shape.every((s) => typeof s === "number" && Number.isSafeInteger(s) && s >= 0)
    )
      return fail(`${subject}: "shape" must be an array of non-negative integers`);
    const offsets = e["data_offsets"];
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((s) => typeof s === "number" && Number.isSafeInteger(s) && s >= 0)
    )
      return fail(`${subject}: "data_offsets" must be two non-negative integers [begin, end]`);
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`${subject}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength)
      fail(
        `${subject}: data_offsets [${begin}, ${end}] lie outside the data (${dataLength} bytes); the file may be truncated`,
      );
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const need = count * ITEM_SIZE[dtype as StDType];
    if (end - begin !== need)
      fail(
        `${subject}: shape [${shape.join(", ")}] of ${dtype} needs ${need} bytes, data_offsets [${begin}, ${end}] hold ${end - begin}`,
      );
    infos.push({ name, dtype: dtype as StDType, shape: shape as number[], begin, end });
  }
  // the data must be exactly the tensors, back to back: no gaps, overlaps or trailing bytes
  const byOffset = [...infos].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous: string | null = null;
  for (const info of byOffset) {
    if (info.begin !== expected)
      fail(
        info.begin < expected
          ? `tensor ${JSON.stringify(info.name)} overlaps tensor ${JSON.stringify(previous)} (data_offsets begin at ${info.begin}, before ${expected})`
          : `a gap of ${info.begin - expected} bytes before tensor ${JSON.stringify(info.name)} (data_offsets begin at ${info.begin}, expected ${expected})`,
      );
    expected = info.end;
    previous = info.name;
  }
  if (expected !== dataLength)
    fail(`${dataLength - expected} bytes after the last tensor's data that no tensor describes`);
  const entries = infos.map((info): [string, Tensor] => {
    const buf = leToHost(
      bytes,
      dataStart + info.begin,
      dataStart + info.end,
      ITEM_SIZE[info.dtype],
    );
    let data: TensorData;
    switch (info.dtype) {
      case "F32":
        data = new Float32Array(buf);
        break;
      case "F64":
        data = new Float64Array(buf);
        break;
      case "I32":
        data = new Int32Array(buf);
        break;
      case "BOOL":
        data = new Uint8Array(buf);
        if (data.some((v) => v > 1))
          fail(`tensor ${JSON.stringify(info.name)}: BOOL data holds values other than 0 and 1`);
        break;
    }
    const dtype = info.dtype === "I32" ? "i32" : info.dtype === "BOOL" ? "bool" : "f32";
    return [info.name, new Tensor(dtype, info.shape, data)];
  });
  return { tensors: Object.fromEntries(entries), metadata };
}

// ------------------------------------------------------------------ checkpoints

/** What {@link applyCheckpoint} needs of a module (a `CompiledModule` has it). */
export interface StatefulModule {
  state(): Promise<Record<string, Tensor>> | Record<string, Tensor>;
  setState(values: Readonly<Record<string, Tensor>>): void;
}

/**
 * Loads a checkpoint into a module: every entry of `module.state()` must be
 * present with the same dtype and shape, and the checkpoint must have no
 * other entries. Everything is checked before `setState` is called, so a
 * checkpoint that does not fit leaves the module unchanged.
 */
export async function applyCheckpoint(
  module: StatefulModule,
  loaded: { readonly tensors: Readonly<Record<string, Tensor>>; readonly source?: string },
): Promise<void> {
  const what = loaded.source ?? "checkpoint";
  const current = await module.state();
  const problems: string[] = [];
  const shape = (s: readonly number[]): string => `[${s.join(", ")}]`;
  for (const [path, t] of Object.entries(current)) {
    const c = Object.hasOwn(loaded.tensors, path) ? loaded.tensors[path] : undefined;
    if (c === undefined) {
      problems.push(`state entry "${path}" (${t.dtype}${shape(t.shape)}) is missing`);
      continue;
    }
    if (t.dtype !== c.dtype)
      problems.push(`state entry "${path}" is ${t.dtype} in the module but ${c.dtype} in the file`);
    else if (shape(t.shape) !== shape(c.shape))
      problems.push(
        `state entry "${path}" has shape ${shape(t.shape)} in the module but ${shape(c.shape)} in the file`,
      );
  }
  for (const path of Object.keys(loaded.tensors))
    if (!Object.hasOwn(current, path))
      problems.push(`entry "${path}" is not part of this module's state`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join("; ");
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : "";
    throw new CheckpointError(
      `${what} does not fit this module (it was left unchanged): ${shown}${more}`,
    );
  }
  const values: Record<string, Tensor> = {};
  for (const path of Object.keys(current)) {
    Object.defineProperty(values, path, {
      value: loaded.tensors[path]!,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  module.setState(values);
}
