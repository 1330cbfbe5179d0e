/** One IR function that uses every op, every fn and every dtype each op accepts. */
import { Dims } from "../../compiler/core/dim.js";
import type { Graph } from "../../compiler/ir/build.js";
import {
  BINARY_FNS,
  LOGICAL_FNS,
  REDUCE_FNS,
  UNARY_FNS,
  type IrFunction,
  type Node,
} from "../../compiler/ir/ops.js";
import { fn } from "./harness.js";

/** Inputs: `x: f32[B, 3]`, `i: i32[B, 3]`, `c: bool[B, 3]`, `s: i32` (seed / scalar index). */
export function everyOpFunction(g: Graph): IrFunction {
  const B = Dims.sym("B");
  return fn(
    g,
    "all",
    [
      ["x", "f32", [B, 3]],
      ["i", "i32", [B, 3]],
      ["c", "bool", [B, 3]],
      ["s", "i32", []],
    ],
    (x, i, c, s) => {
      const outs: Node[] = [];
      for (const u of UNARY_FNS) if (u !== "not") outs.push(g.unary(u, x));
      for (const u of ["neg", "abs", "sign"] as const) outs.push(g.unary(u, i));
      outs.push(g.unary("not", c));
      for (const b of BINARY_FNS) {
        if (LOGICAL_FNS.has(b)) outs.push(g.binary(b, c, c));
        else {
          outs.push(g.binary(b, x, x));
          if (b !== "pow") outs.push(g.binary(b, i, i));
        }
      }
      outs.push(g.binary("eq", c, c), g.select(c, x, x), g.select(c, i, i), g.select(c, c, c));
      const casts = [
        [x, "i32"],
        [x, "bool"],
        [i, "f32"],
        [i, "bool"],
        [c, "f32"],
        [c, "i32"],
      ] as const;
      for (const [a, to] of casts) outs.push(g.cast(a, to));
      for (const r of REDUCE_FNS)
        outs.push(g.reduce(r, x, [0]), g.reduce(r, i, [1]), g.reduce(r, x, [0, 1]));
      outs.push(g.argmax(x, 0), g.argmax(i, 1));
      outs.push(
        g.dim(B),
        g.dim(Dims.add(Dims.mul(B, 3), 1), "f32"),
        g.iota([B, 2], 0),
        g.iota([2, 3], 1),
      );
      outs.push(
        g.random("uniform", s, 1, [B, 3]),
        g.random("normal", s, 2, [4]),
        g.random("uniform", s, 3, []),
      );
      outs.push(
        g.broadcast(x, [2, B, 3]),
        g.broadcast(g.reduce("sum", x, [1]), [3, B]),
        g.broadcast(s, [2]),
      );
      outs.push(g.reshape(x, [3, B]), g.unary("exp", g.reshape(x, [3, B])));
      outs.push(
        g.transpose(x, [1, 0]),
        g.slice(x, [0, 1], [B, 1]),
        g.slice(x, [0, 0], [B, 2], [1, 2]),
      );
      outs.push(
        g.pad(x, [1, 0], [0, 2], [1, 1], 0.5),
        g.pad(i, [0, -1], [1, 0], [0, 0], 3),
        g.pad(c, [1, 1], [0, 0], [0, 0], 1),
      );
      outs.push(g.concat([x, x, x], 1), g.concat([i, i], 0));
      const colSums = g.reduce("sum", i, [0]);
      outs.push(g.gather(x, s, 1), g.gather(x, i, 0), g.gather(c, colSums, 1));
      outs.push(g.scatterAdd(x, colSums, 1, [B, 5]), g.scatterAdd(colSums, s, 0, [4, 3]));
      outs.push(g.matmul(x, g.transpose(x, [1, 0])), g.matmul(i, g.transpose(i, [1, 0])));
      outs.push(g.constant([1, 2], "f32", [2]), g.param("p", "f32", [2]));
      return outs;
    },
  );
}
