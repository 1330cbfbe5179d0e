/** safetensors encoding and validation, atomic checkpoint files, applying checkpoints to modules. */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Tensor } from "../../runtime/tensor.js";
import {
  applyCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  tempPathFor,
} from "../../runtime/train/node.js";
import {
  CheckpointError,
  decodeSafetensors,
  encodeSafetensors,
  type StatefulModule,
} from "../../runtime/train/safetensors.js";
import { f32, realModule, rejected, tempFolder, thrown } from "./helpers.js";

/** The raw bytes of an array's elements. */
const bytesOf = (a: ArrayBufferView): number[] => [
  ...new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
];

/** A safetensors file from a header (object or raw text) and data bytes. */
function raw(header: unknown, data: number[] | Uint8Array = []): Uint8Array {
  const text = typeof header === "string" ? header : JSON.stringify(header);
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const decodeError = (bytes: Uint8Array): string => {
  const e = thrown(() => decodeSafetensors(bytes, "model.safetensors"));
  expect(e).toBeInstanceOf(CheckpointError);
  return e.message;
};

describe("round trip", () => {
  it("is bit-exact for f32, f64 and i32, keeps shapes and metadata", () => {
    // a NaN with a payload, -0, infinities and a subnormal must all survive
    const special = new Float32Array(6);
    new Uint32Array(special.buffer).set([
      0x7fc00123, 0x80000000, 0x7f800000, 0xff800000, 1, 0x3f800000,
    ]);
    const tensors = {
      "layer.w": new Tensor("f32", [2, 3], special),
      "opt.m": new Tensor("f32", [2], Float64Array.of(0.1, -1e-300)),
      "opt.step": new Tensor("i32", [], Int32Array.of(-2147483648)),
      counts: new Tensor("i32", [3], Int32Array.of(2147483647, 0, -1)),
      mask: new Tensor("bool", [2], Uint8Array.of(1, 0)),
    };
    const metadata = { step: "1200", format: "nnc" };
    const bytes = encodeSafetensors(tensors, metadata);
    const back = decodeSafetensors(bytes, "x.safetensors");
    expect(back.metadata).toEqual(metadata);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const b = back.tensors[name]!;
      expect(b.dtype).toBe(t.dtype);
      expect(b.shape).toEqual(t.shape);
      expect(b.data.constructor).toBe(t.data.constructor);
      expect(bytesOf(b.data)).toEqual(bytesOf(t.data));
    }
  });

  it("handles empty tensors, scalars and no tensors at all", () => {
    const tensors = {
      empty: new Tensor("f32", [0], new Float32Array(0)),
      wide: new Tensor("f32", [2, 0], new Float32Array(0)),
      one: f32([], [5]),
    };
    const back = decodeSafetensors(encodeSafetensors(tensors, {}), "e");
    expect(back.tensors["empty"]!.shape).toEqual([0]);
    expect(back.tensors["wide"]!.shape).toEqual([2, 0]);
    expect(back.tensors["one"]!.item()).toBe(5);
    expect(back.metadata).toEqual({});
    const none = decodeSafetensors(encodeSafetensors({}, { a: "b" }), "n");
    expect(none).toEqual({ tensors: {}, metadata: { a: "b" } });
  });

  it("is deterministic: sorted names, sorted metadata, an 8-byte aligned header", () => {
    const a = encodeSafetensors({ b: f32([1], [1]), a: f32([1], [2]) }, { z: "1", y: "2" });
    const b = encodeSafetensors({ a: f32([1], [2]), b: f32([1], [1]) }, { y: "2", z: "1" });
    expect(a).toEqual(b);
    const n = new DataView(a.buffer).getUint32(0, true);
    expect(n % 8).toBe(0);
    const header = new TextDecoder().decode(a.subarray(8, 8 + n));
    expect(header.trimEnd()).toBe(
      '{"__metadata__":{"y":"2","z":"1"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
    );
    // the data follows in name order, little-endian
    expect([...a.subarray(8 + n)]).toEqual([
      ...bytesOf(Float32Array.of(2)),
      ...bytesOf(Float32Array.of(1)),
    ]);
  });

  it("keeps odd names as ordinary keys and refuses the reserved one", () => {
    const back = decodeSafetensors(
      encodeSafetensors({ ["__proto__"]: f32([1], [3]) } as never, {}),
      "p",
    );
    expect(Object.keys(back.tensors)).toEqual(["__proto__"]);
    expect(thrown(() => encodeSafetensors({ __metadata__: f32([1], [1]) }, {})).message).toBe(
      'safetensors: "__metadata__" is reserved and cannot name a tensor',
    );
  });
});

describe("corrupt files", () => {
  const good = encodeSafetensors({ a: f32([2], [1, 2]), b: f32([1], [3]) }, { k: "v" });

  it("reports files too short or truncated", () => {
    expect(decodeError(Uint8Array.of(1, 2, 3, 4, 5))).toBe(
      "model.safetensors: not a safetensors file: 5 bytes, too short for the 8-byte header length",
    );
    const n = new DataView(good.buffer).getUint32(0, true);
    expect(decodeError(good.subarray(0, 8 + n - 3))).toBe(
      `model.safetensors: the header length (${n} bytes) exceeds the ${n - 3} bytes that follow it; the file is truncated or not a safetensors file`,
    );
    expect(decodeError(good.subarray(0, good.length - 2))).toBe(
      'model.safetensors: tensor "b": data_offsets [8, 12] lie outside the data (10 bytes); the file may be truncated',
    );
  });

  it("reports a header length beyond the file", () => {
    const bytes = good.slice();
    new DataView(bytes.buffer).setUint32(4, 1, true); // 2^32 + n
    expect(decodeError(bytes)).toMatch(
      /^model\.safetensors: the header length \(\d+ bytes\) exceeds/,
    );
  });

  it("reports bad JSON, bad UTF-8 and headers that are not objects", () => {
    expect(decodeError(raw('{"a": '))).toMatch(
      /^model\.safetensors: the header is not valid JSON \(/,
    );
    expect(decodeError(raw("[1, 2]"))).toBe("model.safetensors: the header is not a JSON object");
    const bad = raw("{}     ");
    bad[9] = 0xff;
    expect(decodeError(bad)).toBe("model.safetensors: the header is not valid UTF-8");
    expect(decodeError(raw({ __metadata__: { a: 1 } }))).toBe(
      'model.safetensors: metadata "a" is not a string',
    );
    expect(decodeError(raw({ a: [1] }))).toBe(
      'model.safetensors: tensor "a": the entry is not an object',
    );
  });

  it("reports unknown dtypes and malformed entries", () => {
    expect(
      decodeError(raw({ a: { dtype: "F16", shape: [1], data_offsets: [0, 2] } }, [0, 0])),
    ).toBe(
      'model.safetensors: tensor "a": unsupported dtype "F16" (supported: F32, F64, I32, BOOL)',
    );
    expect(
      decodeError(raw({ a: { dtype: "NOPE", shape: [], data_offsets: [0, 4] } }, [0, 0, 0, 0])),
    ).toMatch(/unsupported dtype "NOPE"/);
    expect(
      decodeError(raw({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, [0, 0, 0, 0])),
    ).toBe('model.safetensors: tensor "a": "shape" must be an array of non-negative integers');
    expect(
      decodeError(raw({ a: { dtype: "F32", shape: [1], data_offsets: [0] } }, [0, 0, 0, 0])),
    ).toBe(
      'model.safetensors: tensor "a": "data_offsets" must be two non-negative integers [begin, end]',
    );
    expect(
      decodeError(raw({ a: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, [0, 0, 0, 0])),
    ).toBe('model.safetensors: tensor "a": data_offsets [4, 0] end before they begin');
  });

  it("reports overlapping, gapped, out-of-range offsets and trailing bytes", () => {
    const f = (o1: number[], o2: number[], n: number): Uint8Array =>
      raw(
        {
          a: { dtype: "F32", shape: [1], data_offsets: o1 },
          b: { dtype: "F32", shape: [1], data_offsets: o2 },
        },
        new Array<number>(n).fill(0),
      );
    expect(decodeError(f([0, 4], [2, 6], 8))).toBe(
      'model.safetensors: tensor "b" overlaps tensor "a" (data_offsets begin at 2, before 4)',
    );
    expect(decodeError(f([0, 4], [6, 10], 10))).toBe(
      'model.safetensors: a gap of 2 bytes before tensor "b" (data_offsets begin at 6, expected 4)',
    );
    expect(decodeError(f([0, 4], [4, 8], 6))).toBe(
      'model.safetensors: tensor "b": data_offsets [4, 8] lie outside the data (6 bytes); the file may be truncated',
    );
    expect(decodeError(f([0, 4], [4, 8], 11))).toBe(
      "model.safetensors: 3 bytes after the last tensor's data that no tensor describes",
    );
    // listed out of order in the header is fine: only the byte layout matters
    expect(Object.keys(decodeSafetensors(f([4, 8], [0, 4], 8), "ok").tensors)).toEqual(["a", "b"]);
  });

  it("reports sizes that do not match shapes, and bad BOOL data", () => {
    expect(
      decodeError(
        raw(
          { a: { dtype: "F32", shape: [2, 3], data_offsets: [0, 20] } },
          new Array<number>(20).fill(0),
        ),
      ),
    ).toBe(
      'model.safetensors: tensor "a": shape [2, 3] of F32 needs 24 bytes, data_offsets [0, 20] hold 20',
    );
    expect(
      decodeError(raw({ m: { dtype: "BOOL", shape: [2], data_offsets: [0, 2] } }, [1, 7])),
    ).toBe('model.safetensors: tensor "m": BOOL data holds values other than 0 and 1');
  });
});

describe("checkpoint files", () => {
  const state = { w: f32([2], [1, 2]), b: f32([1], [3]) };

  it("saves and loads", async () => {
    const path = join(await tempFolder(), "ckpt.safetensors");
    await saveCheckpoint(path, state, { step: "10" });
    const loaded = await loadCheckpoint(path);
    expect(loaded.source).toBe(path);
    expect(loaded.metadata).toEqual({ step: "10" });
    expect([...loaded.tensors["w"]!.data]).toEqual([1, 2]);
    expect(await readdir(join(path, ".."))).toEqual(["ckpt.safetensors"]); // no temp file left
  });

  it("replaces an existing file", async () => {
    const path = join(await tempFolder(), "ckpt.safetensors");
    await saveCheckpoint(path, state, { step: "1" });
    await saveCheckpoint(path, { w: f32([2], [7, 8]), b: f32([1], [9]) }, { step: "2" });
    const loaded = await loadCheckpoint(path);
    expect(loaded.metadata).toEqual({ step: "2" });
    expect([...loaded.tensors["w"]!.data]).toEqual([7, 8]);
  });

  it("leaves the old file intact when a save dies before the rename", async () => {
    const dir = await tempFolder();
    const path = join(dir, "ckpt.safetensors");
    await saveCheckpoint(path, state, { step: "1" });
    const before = await readFile(path);
    // what a crash mid-save leaves: a partial temp file beside the checkpoint, never renamed
    const partial = encodeSafetensors({ w: f32([2], [7, 8]), b: f32([1], [9]) }, { step: "2" });
    await writeFile(tempPathFor(path), partial.subarray(0, 20));
    expect(await readFile(path)).toEqual(before);
    const loaded = await loadCheckpoint(path);
    expect(loaded.metadata).toEqual({ step: "1" });
    // and the next save still works, next to the leftover
    await saveCheckpoint(path, state, { step: "3" });
    expect((await loadCheckpoint(path)).metadata).toEqual({ step: "3" });
  });

  it("leaves the old file intact and no temp file when a save fails", async () => {
    const dir = await tempFolder();
    const path = join(dir, "ckpt.safetensors");
    await saveCheckpoint(path, state);
    const bad = { w: new Tensor("f32", [1], Int32Array.of(1)) };
    expect((await rejected(saveCheckpoint(path, bad))).message).toMatch(/has no safetensors dtype/);
    const missing = join(dir, "no", "such", "folder", "c.safetensors");
    const e = await rejected(saveCheckpoint(missing, state));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(/^cannot save the checkpoint .*c\.safetensors: /);
    expect(await readdir(dir)).toEqual(["ckpt.safetensors"]);
    expect([...(await loadCheckpoint(path)).tensors["w"]!.data]).toEqual([1, 2]);
  });

  it("names the file when it cannot be read or is corrupt", async () => {
    const dir = await tempFolder();
    const path = join(dir, "gone.safetensors");
    expect((await rejected(loadCheckpoint(path))).message).toBe(
      `cannot read the checkpoint ${path}: no such file`,
    );
    await writeFile(path, "garbage!garbage");
    expect((await rejected(loadCheckpoint(path))).message).toMatch(
      new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: the header length`),
    );
  });
});

/** A module stand-in that records setState calls. */
function fakeModule(initial: Record<string, Tensor>): StatefulModule & { calls: number } {
  let current = initial;
  return {
    calls: 0,
    state() {
      return { ...current };
    },
    setState(values) {
      this.calls++;
      current = { ...current, ...values };
    },
  };
}

describe("applyCheckpoint", () => {
  it("loads a matching checkpoint", async () => {
    const m = fakeModule({ w: f32([2, 3], new Array<number>(6).fill(0)) });
    await applyCheckpoint(m, { tensors: { w: f32([2, 3], [1, 2, 3, 4, 5, 6]) } });
    expect(m.calls).toBe(1);
    expect([...(await m.state())["w"]!.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("refuses a mismatched one, naming the entry and both shapes, without touching the module", async () => {
    const m = fakeModule({ w: f32([2, 3], new Array<number>(6).fill(0)), b: f32([3], [0, 0, 0]) });
    const e = await rejected(
      applyCheckpoint(m, {
        tensors: { w: f32([3, 2], [1, 2, 3, 4, 5, 6]), b: f32([3], [1, 1, 1]) },
        source: "run/best.safetensors",
      }),
    );
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toBe(
      'run/best.safetensors does not fit this module (it was left unchanged): state entry "w" has shape [2, 3] in the module but [3, 2] in the file',
    );
    expect(m.calls).toBe(0);
    const missing = await rejected(
      applyCheckpoint(m, { tensors: { w: f32([2, 3], [1, 2, 3, 4, 5, 6]), extra: f32([1], [1]) } }),
    );
    expect(missing.message).toBe(
      'checkpoint does not fit this module (it was left unchanged): state entry "b" (f32[3]) is missing; entry "extra" is not part of this module\'s state',
    );
    const dtype = await rejected(
      applyCheckpoint(m, {
        tensors: { w: new Tensor("i32", [2, 3], new Int32Array(6)), b: f32([3], [1, 1, 1]) },
      }),
    );
    expect(dtype.message).toMatch(/state entry "w" is f32 in the module but i32 in the file/);
    expect(m.calls).toBe(0);
  });

  it("restores a real module's parameters and optimizer state from a file", async () => {
    const path = join(await tempFolder(), "m.safetensors");
    const m = await realModule();
    m.setState({ w: [1.25], t: 7 });
    await saveCheckpoint(path, await m.state(), { step: "7" });
    m.setState({ w: [0], t: 0 });
    await applyCheckpoint(m, await loadCheckpoint(path));
    expect((await m.state())["w"]!.item()).toBe(1.25);
    expect((await m.state())["t"]!.item()).toBe(7);
    // an f64-precision module's state is saved as F64 and loads into an f32 one
    const m64 = await realModule({ precision: "f64" });
    m64.setState({ w: [0.1], t: 3 });
    await saveCheckpoint(path, await m64.state());
    const loaded = await loadCheckpoint(path);
    expect(loaded.tensors["w"]!.data).toBeInstanceOf(Float64Array);
    await applyCheckpoint(m, loaded);
    expect((await m.state())["w"]!.item()).toBe(Math.fround(0.1));
  });

  it("leaves a real module unchanged when the file does not fit", async () => {
    const m = await realModule();
    m.setState({ w: [1.5], t: 2 });
    const e = await rejected(
      applyCheckpoint(m, {
        tensors: { w: f32([2], [9, 9]), t: f32([], [9]) },
        source: "other.safetensors",
      }),
    );
    expect(e.message).toBe(
      'other.safetensors does not fit this module (it was left unchanged): state entry "w" has shape [1] in the module but [2] in the file',
    );
    expect((await m.state())["w"]!.item()).toBe(1.5);
    expect((await m.state())["t"]!.item()).toBe(2);
  });
});
