/** CSV, JSON and npy parsing, including malformed files. */
import { describe, expect, it } from "vitest";
import {
  DataError,
  parseCsv,
  parseDataFile,
  parseJsonData,
  parseNpy,
} from "../../runtime/train/data.js";
import { npy, thrown } from "./helpers.js";

const f = { what: "points.csv", dtype: "f32" } as const;

describe("csv", () => {
  it("parses numbers with a header, blank lines, CRLF and comments", () => {
    const t = parseCsv("\uFEFFx,y\r\n1,2\r\n\r\n# note\r\n3.5,-4e-1\r\n", f);
    expect(t.shape).toEqual([2, 2]);
    expect([...t.data]).toEqual([1, 2, 3.5, Math.fround(-0.4)]);
    expect(t.dtype).toBe("f32");
  });

  it("parses without a header, tab or whitespace separated", () => {
    expect([...parseCsv("1\t2\n3\t4\n", f).data]).toEqual([1, 2, 3, 4]);
    const ws = parseCsv("1.0e+00 2.0e+00\n  3 4\n", f);
    expect(ws.shape).toEqual([2, 2]);
    expect([...parseCsv("5\n6\n", f).data]).toEqual([5, 6]);
  });

  it("selects columns, which need be the only numeric ones", () => {
    const t = parseCsv("name,x,y\na,1,2\nb,3,4\n", { ...f, columns: [2, 1] });
    expect(t.shape).toEqual([2, 2]);
    expect([...t.data]).toEqual([2, 1, 4, 3]);
    expect(thrown(() => parseCsv("1,2\n", { ...f, columns: [2] })).message).toBe(
      "points.csv: column 2 does not exist (the file has 2 columns, numbered from 0)",
    );
  });

  it("reads i32 and refuses fractions for it", () => {
    const t = parseCsv("label\n0\n2\n", { what: "labels.csv", dtype: "i32" });
    expect(t.data).toBeInstanceOf(Int32Array);
    expect([...t.data]).toEqual([0, 2]);
    expect(thrown(() => parseCsv("1\n2.5\n", { what: "labels.csv", dtype: "i32" })).message).toBe(
      "labels.csv: line 2, column 0 is 2.5, not an integer (the data is i32)",
    );
  });

  it("reports ragged rows", () => {
    const e = thrown(() => parseCsv("x,y\n1,2\n3\n", f));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe("points.csv: line 3 has 1 cell, expected 2 (like the header on line 1)");
    expect(thrown(() => parseCsv("1,2\n3,4,5\n", f)).message).toBe(
      "points.csv: line 2 has 3 cells, expected 2 (like line 1)",
    );
  });

  it("reports non-numeric, empty and non-finite cells with their position", () => {
    expect(thrown(() => parseCsv("x,y\n1,2\n3,abc\n", f)).message).toBe(
      'points.csv: line 3, column 1 ("y"): "abc" is not a number',
    );
    expect(thrown(() => parseCsv("1,2\n3,\n", f)).message).toBe(
      "points.csv: line 2, column 1 is empty",
    );
    expect(thrown(() => parseCsv("1,2\n3,nan\n", f)).message).toBe(
      "points.csv: line 2, column 1 is NaN, not a finite number",
    );
    expect(thrown(() => parseCsv("1,2\n3,Infinity\n", f)).message).toBe(
      "points.csv: line 2, column 1 is Infinity, not a finite number",
    );
  });

  it("reports a file without data", () => {
    expect(thrown(() => parseCsv("x,y\n\n", f)).message).toBe("points.csv: no data rows");
    expect(thrown(() => parseCsv("", f)).message).toBe("points.csv: no data rows");
  });
});

describe("json", () => {
  const j = { what: "data.json", dtype: "f32" } as const;

  it("parses arrays, nested arrays, scalars and fields", () => {
    expect(parseJsonData("[1, 2, 3]", j).shape).toEqual([3]);
    const t = parseJsonData("[[1, 2], [3, 4], [5, 6]]", j);
    expect(t.shape).toEqual([3, 2]);
    expect([...t.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(parseJsonData("2.5", j).shape).toEqual([]);
    const g = parseJsonData('{"x": [[1], [2]], "y": [0, 1]}', { ...j, field: "x" });
    expect(g.shape).toEqual([2, 1]);
  });

  it("reports invalid JSON, missing fields and top-level objects", () => {
    expect(thrown(() => parseJsonData("[1, 2", j)).message).toMatch(/^data\.json: invalid JSON \(/);
    expect(thrown(() => parseJsonData('{"a": 1}', { ...j, field: "x" })).message).toBe(
      'data.json: no field "x" at the top level (fields: a)',
    );
    expect(thrown(() => parseJsonData("[1]", { ...j, field: "x" })).message).toBe(
      'data.json: no field "x" at the top level, which is not an object',
    );
    expect(thrown(() => parseJsonData('{"a": [1], "b": [2]}', j)).message).toBe(
      'data.json: the top level is an object; name the array to use with "field" (fields: a, b)',
    );
  });

  it("reports ragged arrays and non-numbers with their path", () => {
    expect(thrown(() => parseJsonData("[[1, 2], [3]]", j)).message).toBe(
      "data.json: element [1] has 1 entries, expected 2 (like the first)",
    );
    expect(thrown(() => parseJsonData('[[1, 2], [3, "x"]]', j)).message).toBe(
      'data.json: element [1][1] is "x", not a number',
    );
    expect(thrown(() => parseJsonData("[[1, 2], [3, [4]]]", j)).message).toBe(
      "data.json: element [1][1] is an array, expected a number",
    );
    expect(thrown(() => parseJsonData('{"x": [1, null]}', { ...j, field: "x" })).message).toBe(
      'data.json, field "x": element [1] is null, not a number',
    );
    expect(thrown(() => parseJsonData("[]", j)).message).toBe(
      "data.json: no data (an empty array)",
    );
    expect(thrown(() => parseJsonData("[1.5]", { ...j, dtype: "i32" })).message).toBe(
      "data.json: element [0] is 1.5, not an integer (the data is i32)",
    );
  });
});

describe("npy", () => {
  const o = { what: "points.npy", dtype: "f32" } as const;

  it("reads f4, f8, i4 and i8 in any format version", () => {
    const f4 = parseNpy(npy("<f4", [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6.5)), o);
    expect(f4.shape).toEqual([2, 3]);
    expect([...f4.data]).toEqual([1, 2, 3, 4, 5, 6.5]);
    const f8 = parseNpy(npy("<f8", [2], Float64Array.of(0.1, -2), { version: 2 }), o);
    expect([...f8.data]).toEqual([Math.fround(0.1), -2]);
    const i4 = parseNpy(npy("<i4", [3], Int32Array.of(0, 1, 2), { version: 3 }), {
      ...o,
      dtype: "i32",
    });
    expect(i4.data).toBeInstanceOf(Int32Array);
    expect([...i4.data]).toEqual([0, 1, 2]);
    const i8 = parseNpy(npy("<i8", [2, 1], BigInt64Array.of(-5n, 7n)), { ...o, dtype: "i32" });
    expect(i8.shape).toEqual([2, 1]);
    expect([...i8.data]).toEqual([-5, 7]);
    expect(parseNpy(npy("<f4", [], Float32Array.of(3)), o).shape).toEqual([]);
  });

  it("reads from a view at an odd offset (like a slice of a larger buffer)", () => {
    const file = npy("<f8", [2], Float64Array.of(1.5, 2.5));
    const big = new Uint8Array(file.length + 3);
    big.set(file, 3);
    expect([...parseNpy(big.subarray(3), o).data]).toEqual([1.5, 2.5]);
  });

  it("reports unsupported dtypes and Fortran order", () => {
    expect(thrown(() => parseNpy(npy("<c8", [1], new Float64Array(1)), o)).message).toBe(
      "points.npy: unsupported dtype '<c8' (supported: '<f4', '<f8', '<i4', '<i8')",
    );
    expect(thrown(() => parseNpy(npy(">f4", [1], new Float32Array(1)), o)).message).toMatch(
      /^points\.npy: unsupported dtype '>f4'/,
    );
    expect(
      thrown(() => parseNpy(npy("<f4", [2, 2], new Float32Array(4), { fortran: true }), o)).message,
    ).toMatch(/^points\.npy: Fortran-order arrays are not supported/);
  });

  it("reports truncated data and trailing bytes", () => {
    const file = npy("<f4", [100, 2], new Float32Array(200));
    expect(thrown(() => parseNpy(file.subarray(0, file.length - 4), o)).message).toBe(
      "points.npy: truncated: shape (100, 2) of '<f4' needs 800 data bytes, the file has 796",
    );
    const longer = new Uint8Array(file.length + 2);
    longer.set(file);
    expect(thrown(() => parseNpy(longer, o)).message).toBe(
      "points.npy: 2 bytes after the data that shape (100, 2) of '<f4' describes",
    );
  });

  it("reports a missing magic, a truncated header and a bad header", () => {
    expect(thrown(() => parseNpy(new TextEncoder().encode("x,y\n1,2\n"), o)).message).toBe(
      "points.npy: not an npy file (it does not start with \\x93NUMPY)",
    );
    const file = npy("<f4", [1], new Float32Array(1));
    expect(thrown(() => parseNpy(file.subarray(0, 30), o)).message).toMatch(
      /^points\.npy: truncated header: it should take \d+ bytes, the file has 20 after the preamble$/,
    );
    expect(
      thrown(() => parseNpy(npy("", [], new Float32Array(0), { header: "nonsense" }), o)).message,
    ).toBe('points.npy: bad header "nonsense": expected a Python dict');
    expect(
      thrown(() =>
        parseNpy(npy("", [], new Float32Array(1), { header: "{'descr': '<f4', 'shape': ()}" }), o),
      ).message,
    ).toBe("points.npy: bad header: no 'fortran_order'");
    const badShape = "{'descr': '<f4', 'fortran_order': False, 'shape': (a, 2), }";
    expect(
      thrown(() => parseNpy(npy("", [], new Float32Array(2), { header: badShape }), o)).message,
    ).toBe("points.npy: bad header: shape (a, 2) has a non-integer size");
    const v9 = npy("<f4", [1], new Float32Array(1));
    v9[6] = 9;
    expect(thrown(() => parseNpy(v9, o)).message).toBe(
      "points.npy: unsupported npy format version 9.0",
    );
  });

  it("reports values that do not fit the dtype", () => {
    expect(thrown(() => parseNpy(npy("<f4", [2], Float32Array.of(1, NaN)), o)).message).toBe(
      "points.npy: element 1 is NaN, not a finite number",
    );
    expect(
      thrown(() => parseNpy(npy("<i8", [1], BigInt64Array.of(1n << 40n)), { ...o, dtype: "i32" }))
        .message,
    ).toBe("points.npy: element 0 is 1099511627776, outside the 32-bit integer range");
    expect(
      thrown(() => parseNpy(npy("<f8", [1], Float64Array.of(0.5)), { ...o, dtype: "i32" })).message,
    ).toBe("points.npy: element 0 is 0.5, not an integer (the data is i32)");
  });
});

describe("parseDataFile", () => {
  it("dispatches on the format and decodes UTF-8 bytes", () => {
    const csv = parseDataFile(
      { kind: "file", format: "csv", path: "a.csv", dtype: "f32" },
      new TextEncoder().encode("1,2\n"),
    );
    expect(csv.shape).toEqual([1, 2]);
    const json = parseDataFile(
      { kind: "file", format: "json", path: "a.json", dtype: "i32" },
      "[1]",
    );
    expect(json.dtype).toBe("i32");
    expect(
      thrown(() =>
        parseDataFile(
          { kind: "file", format: "csv", path: "bad.csv", dtype: "f32" },
          Uint8Array.of(0xff, 0xfe, 0x31),
        ),
      ).message,
    ).toBe("bad.csv: not valid UTF-8 text");
    expect(
      thrown(() =>
        parseDataFile({ kind: "file", format: "npy", path: "a.npy", dtype: "f32" }, "text"),
      ).message,
    ).toBe("a.npy: an npy file must be read as bytes, not text");
  });
});
