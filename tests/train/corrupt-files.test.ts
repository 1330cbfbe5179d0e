/**
 * Property tests of the file readers: any mutation of a valid checkpoint or
 * data file (truncation, flipped bytes, inserted or deleted bytes, rewritten
 * header fields) either decodes to something well formed or fails with the
 * reader's own error naming the file; never another exception. A checkpoint
 * that fails to decode or to fit leaves the module unchanged.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Tensor } from "../../runtime/tensor.js";
import { DataError, parseDataFile, type FileSpec } from "../../runtime/train/data.js";
import {
  applyCheckpoint,
  CheckpointError,
  decodeSafetensors,
  encodeSafetensors,
} from "../../runtime/train/safetensors.js";
import { npy, realModule } from "./helpers.js";

/** A mutation applied to a byte string. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    bits: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({
    kind: fc.constant("set32" as const),
    at: fc.nat(),
    value: fc.oneof(fc.nat(), fc.constant(0xffffffff), fc.constant(0x7fffffff)),
  }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(bytes: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let b = bytes;
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    if (m.kind === "truncate") b = b.slice(0, at);
    else if (m.kind === "flip" && at < b.length) {
      b = b.slice();
      b[at] = b[at]! ^ m.bits;
    } else if (m.kind === "insert") {
      const out = new Uint8Array(b.length + m.bytes.length);
      out.set(b.subarray(0, at));
      out.set(m.bytes, at);
      out.set(b.subarray(at), at + m.bytes.length);
      b = out;
    } else if (m.kind === "delete") {
      b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + m.count)]);
    } else if (m.kind === "set32" && at + 4 <= b.length) {
      b = b.slice();
      new DataView(b.buffer).setUint32(at, m.value, true);
    }
  }
  return b;
}

/** Runs `f` and returns its exception, or null. */
function caught(f: () => unknown): unknown {
  try {
    f();
    return null;
  } catch (e) {
    return e;
  }
}

/** Textual headers are where parsers go wrong: mutate them as text too. */
const textEdits = fc.array(
  fc.record({
    at: fc.nat(),
    text: fc.constantFrom(
      "",
      "-",
      "1e400",
      "null",
      "[",
      "]",
      "{",
      "}",
      '"',
      ",",
      "9007199254740993",
      "\u0000",
      "\u00e9",
      "NaN",
      "'",
      "(",
      ")",
      "__proto__",
    ),
    cut: fc.integer({ min: 0, max: 4 }),
  }),
  { minLength: 1, maxLength: 4 },
);
function editText(s: string, edits: readonly { at: number; text: string; cut: number }[]): string {
  let out = s;
  for (const e of edits) {
    const at = e.at % (out.length + 1);
    out = out.slice(0, at) + e.text + out.slice(at + e.cut);
  }
  return out;
}

const RUNS = Number(process.env.NNC_FUZZ_RUNS ?? 400);

describe("safetensors decoding of mutated files", () => {
  const good = encodeSafetensors(
    {
      w: new Tensor("f32", [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6)),
      b: new Tensor("f32", [3], Float64Array.of(-1, 0, 1)), // stored as F64
      n: new Tensor("i32", [], Int32Array.of(7)),
    },
    { step: "3" },
  );
  const headerLength = new DataView(good.buffer, good.byteOffset).getUint32(0, true);
  const header = new TextDecoder().decode(good.subarray(8, 8 + headerLength));

  const check = (bytes: Uint8Array): void => {
    const e = caught(() => decodeSafetensors(bytes, "m.safetensors"));
    if (e === null) {
      // whatever decodes is internally consistent
      const { tensors } = decodeSafetensors(bytes, "m.safetensors");
      for (const t of Object.values(tensors))
        expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
      return;
    }
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as Error).message).toMatch(/^m\.safetensors: /);
  };

  it("fails only with a CheckpointError naming the file (byte mutations)", () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) =>
        check(mutate(good, ms)),
      ),
      { seed: 8, numRuns: RUNS },
    );
  });

  it("fails only with a CheckpointError naming the file (header text edits)", () => {
    fc.assert(
      fc.property(textEdits, (edits) => {
        const h = new TextEncoder().encode(editText(header, edits));
        const data = good.subarray(8 + headerLength);
        const out = new Uint8Array(8 + h.length + data.length);
        new DataView(out.buffer).setUint32(0, h.length, true);
        out.set(h, 8);
        out.set(data, 8 + h.length);
        check(out);
      }),
      { seed: 9, numRuns: RUNS },
    );
  });

  it("leaves the module unchanged when a mutated checkpoint fails", async () => {
    const m = await realModule();
    m.setState({ w: [1.5], t: 2 });
    const file = encodeSafetensors(await m.state(), {});
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (ms) => {
        const bytes = mutate(file, ms);
        const before = await m.state();
        let failed = false;
        try {
          await applyCheckpoint(m, { ...decodeSafetensors(bytes, "m.safetensors"), source: "m" });
        } catch (e) {
          expect(e).toBeInstanceOf(CheckpointError);
          failed = true;
        }
        const after = await m.state();
        if (failed)
          for (const k of Object.keys(before))
            expect([...after[k]!.data]).toEqual([...before[k]!.data]);
        m.setState({ w: [1.5], t: 2 });
      }),
      { seed: 10, numRuns: 200 },
    );
  });
});

describe("data files", () => {
  const cases: { spec: FileSpec; content: Uint8Array }[] = [
    {
      spec: { kind: "file", format: "npy", path: "x.npy", dtype: "f32" },
      content: npy("<f4", [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6)),
    },
    {
      spec: { kind: "file", format: "npy", path: "y.npy", dtype: "i32" },
      content: npy("<i8", [3], BigInt64Array.of(1n, -2n, 3n)),
    },
    {
      spec: { kind: "file", format: "csv", path: "d.csv", dtype: "f32", columns: [0, 2] },
      content: new TextEncoder().encode("a,b,c\n1,2,3\n4,5,6\n# note\n7,8,9\n"),
    },
    {
      spec: { kind: "file", format: "json", path: "d.json", dtype: "f32", field: "x" },
      content: new TextEncoder().encode('{"x": [[1, 2], [3, 4.5]], "y": 1}'),
    },
  ];
  for (const [i, { spec, content }] of cases.entries()) {
    it(`fails only with a DataError naming ${spec.path}`, () => {
      expect(caught(() => parseDataFile(spec, content))).toBeNull();
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
          const e = caught(() => parseDataFile(spec, mutate(content, ms)));
          if (e === null) return;
          expect(e).toBeInstanceOf(DataError);
          expect((e as Error).message.slice(0, spec.path.length + 1)).toMatch(
            new RegExp(`^${spec.path.replace(".", "\\.")}[:,]`),
          );
        }),
        { seed: 20 + i, numRuns: RUNS },
      );
    });
  }
});
