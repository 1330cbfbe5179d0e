// Runs the compiled spiral classifier (built by `npx nnc build examples/mlp.nn -o out`) on the CPU:
// plain Node ESM, nothing but the generated folder.
import { Classifier } from "../out/mlp.js";

// three interleaved spirals, 4 points each
const points = [];
for (let c = 0; c < 3; c++) {
  for (let i = 0; i < 4; i++) {
    const r = (i + 1) / 4;
    const t = (c * 2 * Math.PI) / 3 + r * 4;
    points.push([r * Math.cos(t), r * Math.sin(t)]);
  }
}

const model = await Classifier.create({ backend: "cpu", seed: 0 });
const logits = await model.logits(points);
console.log(`backend ${model.backend}; logits ${logits.dtype}[${logits.shape.join(", ")}]`);
const rows = logits.toArray();
rows.forEach((row, i) => {
  const [x, y] = points[i];
  console.log(`  (${x.toFixed(3)}, ${y.toFixed(3)}) -> [${row.map((v) => v.toFixed(4)).join(", ")}]`);
});
const labels = Int32Array.from(points.map((_, i) => Math.floor(i / 4)));
console.log(`cross-entropy of the untrained model: ${(await model.xent(points, labels)).item().toFixed(4)} (ln 3 = ${Math.log(3).toFixed(4)})`);
model.dispose();
