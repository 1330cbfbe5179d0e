/**
 * Multi-output fusion: a `map` kernel joins an earlier kernel of the same
 * index space (a map, or the epilogue of a reduce or matmul) when everything
 * it reads is already available there. Reads of the earlier kernel's own
 * outputs at the same element become the stored values themselves, so a
 * chain like Adam's `m' = ...; v' = ...; w' = w - lr * m' / sqrt(v')` runs
 * as one kernel writing three buffers.
 *
 * Legality, for moving kernel K2 up into kernel K1 (K1 before K2):
 * - equal index spaces (`size` expressions equal);
 * - every buffer K2 reads is a module buffer or written before K1, or written
 *   by K1 and read by K2 only at the current element `i`;
 * - the merged kernel binds no more storage buffers than the device allows.
 * Nothing between K1 and K2 can read K2's outputs (they did not exist yet),
 * so moving K2 earlier changes no value.
 */
import type { KExpr, Kernel, Store } from "../kernel/kernelIr.js";
import { kernelExprs, mapExpr, maxLetId, visitExpr } from "../kernel/walk.js";
import type { Built } from "./fuse.js";
import { exprKey } from "./exprs.js";

/** Every (slot, index) K reads. */
function loads(k: Kernel): { slot: number; index: KExpr }[] {
  const out: { slot: number; index: KExpr }[] = [];
  for (const e of kernelExprs(k))
    visitExpr(e, (x) => {
      if (x.k === "load") out.push({ slot: x.slot, index: x.index });
    });
  return out;
}

const isI = (e: KExpr): boolean => e.k === "var" && e.name === "i";

/** Joins `b` (a map kernel) into `a`; `a`'s reads and writes come first. */
function join(a: Built, b: Built): Built {
  const ka = a.kernel;
  const kb = b.kernel;
  const reads = [...a.reads];
  const slotOfRead = (buf: number): number => {
    let s = reads.indexOf(buf);
    if (s < 0) {
      s = reads.length;
      reads.push(buf);
    }
    return s;
  };
  // a's own outputs, by buffer: the values it stores
  const stored = new Map<number, KExpr>();
  a.writes.forEach((w, j) => stored.set(w, ka.stores[j]!.value));
  const offset = maxLetId(ka) + 1;
  const bReadSlots = b.reads.map((r) => (stored.has(r) ? -1 : slotOfRead(r)));
  const rewriteB = (e: KExpr): KExpr =>
    mapExpr(e, (x) => {
      if (x.k === "ref") return { ...x, id: x.id + offset };
      if (x.k === "load") {
        const buf = b.reads[x.slot];
        if (buf !== undefined && stored.has(buf)) return stored.get(buf)!;
        return { ...x, slot: bReadSlots[x.slot]! };
      }
      return x;
    });
  const nReads = reads.length;
  // a's write slots move past the reads added for b
  const storesA: Store[] = ka.stores.map((s, j) => ({
    slot: nReads + j,
    value: s.value,
  }));
  const storesB: Store[] = kb.stores.map((s, j) => ({
    slot: nReads + a.writes.length + j,
    value: rewriteB(s.value),
  }));
  const bindings = [
    ...reads.map((r, s) =>
      s < a.reads.length ? ka.bindings[s]! : kb.bindings[b.reads.indexOf(r)]!,
    ),
    ...ka.bindings.slice(a.reads.length),
    ...kb.bindings.slice(b.reads.length),
  ];
  const epilogue = [
    ...ka.epilogue,
    ...kb.epilogue.map((s) => ({ id: s.id + offset, expr: rewriteB(s.expr) })),
  ];
  const kernel = { ...ka, bindings, epilogue, stores: [...storesA, ...storesB] } as Kernel;
  return { kernel, reads, grid: a.grid, writes: [...a.writes, ...b.writes] };
}

/** Merges map kernels into earlier kernels of the same index space where legal. */
export function mergeKernels(built: readonly Built[], maxBindings: number): Built[] {
  const out: Built[] = [];
  const producer = new Map<number, number>(); // buffer -> index in out
  for (const b of built) {
    let target = -1;
    if (b.kernel.kind === "map") {
      const size = exprKey(b.kernel.size);
      const readsAt = loads(b.kernel);
      for (let j = out.length - 1; j >= 0; j--) {
        const a = out[j]!;
        if (exprKey(a.kernel.size) !== size) continue;
        const ok = b.reads.every((r, slot) => {
          const p = producer.get(r);
          if (p === undefined || p < j) return true;
          if (p > j) return false;
          return readsAt.every((l) => l.slot !== slot || isI(l.index));
        });
        if (!ok) continue;
        const extra = b.reads.filter((r) => !a.reads.includes(r) && producer.get(r) !== j).length;
        if (a.reads.length + extra + a.writes.length + b.writes.length > maxBindings) continue;
        target = j;
        break;
      }
      // stop at the first kernel b depends on: nothing earlier can take it
    }
    if (target < 0) {
      out.push(b);
      b.writes.forEach((w) => producer.set(w, out.length - 1));
    } else {
      out[target] = join(out[target]!, b);
      b.writes.forEach((w) => producer.set(w, target));
    }
  }
  return out;
}
