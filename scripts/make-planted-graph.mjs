#!/usr/bin/env node
/**
 * Writes the graph of examples/gcn.nn: a planted-partition graph (a stochastic
 * block model) of 4 communities of 50 nodes. Nodes of one community link with
 * probability P_IN, of different ones with P_OUT. Each node has 8 features: its
 * community's centre plus Gaussian noise strong enough that the features alone
 * classify poorly, so the graph is needed. A fifth of the nodes of each
 * community are labelled for training; the rest are held out.
 *
 *   node scripts/make-planted-graph.mjs [folder]   (default examples/data/planted)
 *
 * Output: nodes.csv (label, train, f0..f7) and edges.csv (source, target; both
 * directions of every undirected edge). Deterministic: the same files every run.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const CLASSES = 4;
const PER_CLASS = 50;
const FEATURES = 8;
const P_IN = 0.08;
const P_OUT = 0.004;
const NOISE = 1.6;
const TRAIN_FRACTION = 0.2;

/** mulberry32: a small deterministic generator of floats in [0, 1). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(20261126);
const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

const n = CLASSES * PER_CLASS;
// nodes in a shuffled order, so communities are not contiguous blocks of ids
const order = Array.from({ length: n }, (_, i) => i);
for (let i = n - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}
const label = new Array(n);
order.forEach((node, k) => (label[node] = Math.floor(k / PER_CLASS)));
const centres = Array.from({ length: CLASSES }, () =>
  Array.from({ length: FEATURES }, () => normal()),
);
const features = label.map((c) => centres[c].map((m) => m + NOISE * normal()));
// the first TRAIN_FRACTION of each community (in shuffled order) is labelled for training
const train = new Array(n).fill(0);
order.forEach((node, k) => {
  if (k % PER_CLASS < PER_CLASS * TRAIN_FRACTION) train[node] = 1;
});
const edges = [];
for (let i = 0; i < n; i++)
  for (let j = i + 1; j < n; j++)
    if (rand() < (label[i] === label[j] ? P_IN : P_OUT)) edges.push([i, j], [j, i]);

const dir = process.argv[2] ?? "examples/data/planted";
mkdirSync(dir, { recursive: true });
const fmt = (v) => v.toFixed(5);
writeFileSync(
  join(dir, "nodes.csv"),
  [
    ["label", "train", ...Array.from({ length: FEATURES }, (_, f) => `f${f}`)].join(","),
    ...label.map((c, i) => [c, train[i], ...features[i].map(fmt)].join(",")),
  ].join("\n") + "\n",
);
writeFileSync(
  join(dir, "edges.csv"),
  ["source,target", ...edges.map((e) => e.join(","))].join("\n") + "\n",
);
console.log(`wrote ${n} nodes, ${edges.length / 2} undirected edges to ${dir}`);
