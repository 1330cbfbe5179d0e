/**
 * The figures and progress lines of `show` and `evaluate`: a row of images
 * as heatmaps (`imageRowSvg`), and evaluations in the progress line.
 */
import { describe, expect, it } from "vitest";
import { imageRowSvg, viridis } from "../../runtime/train/plot.js";
import { Progress } from "../../runtime/train/progress.js";

/** The fill colours of the pixel rectangles, in order, with their widths. */
function pixels(svg: string): { x: number; y: number; w: number; fill: string }[] {
  const group = svg.slice(svg.indexOf('<g shape-rendering="crispEdges">'));
  return [
    ...group.matchAll(
      /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="[\d.]+" fill="(#[0-9a-f]{6})"\/>/g,
    ),
  ].map((m) => ({ x: Number(m[1]), y: Number(m[2]), w: Number(m[3]), fill: m[4]! }));
}

describe("imageRowSvg", () => {
  it("draws each image top row first, with its own colour range and caption", () => {
    // two 2x3 images: a ramp 0..5 and the same ramp times 100
    const ramp = [0, 1, 2, 3, 4, 5];
    const svg = imageRowSvg({
      count: 2,
      height: 2,
      width: 3,
      values: [...ramp, ...ramp.map((v) => v * 100)],
      title: "maps <1>",
      size: 30,
    });
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain(">maps &lt;1&gt;</text>");
    const px = pixels(svg);
    expect(px).toHaveLength(12);
    // the first image: the smallest value at the top left, the largest at the bottom right
    expect(px[0]).toEqual({ x: 16, y: 40, w: 10, fill: viridis(0) });
    expect(px[5]!.fill).toBe(viridis(1));
    expect(px[5]!.y).toBeGreaterThan(px[0]!.y);
    // the second image has the same colours: each image is scaled to its own range
    expect(px.slice(6).map((p) => p.fill)).toEqual(px.slice(0, 6).map((p) => p.fill));
    expect(px[6]!.x).toBeGreaterThan(px[2]!.x + 10);
    expect(svg).toContain(">#0</text>");
    expect(svg).toContain(">#1</text>");
    expect(svg).toContain(">0 to 5</text>");
    expect(svg).toContain(">0 to 500</text>");
  });

  it("merges runs of one colour, greys non-finite values, and wraps long rows", () => {
    const svg = imageRowSvg({
      count: 12,
      height: 1,
      width: 4,
      values: Array.from({ length: 48 }, (_, k) => (k === 5 ? NaN : k % 4 < 2 ? 0 : 1)),
      labels: Array.from({ length: 12 }, (_, k) => `digit ${k}`),
    });
    const px = pixels(svg);
    // image 0: two runs; image 1: a run, a grey NaN, a run
    expect(px.slice(0, 2).map((p) => p.w)).toEqual([56, 56]);
    expect(px.slice(2, 5).map((p) => p.fill)).toEqual([viridis(0), "#bbbbbb", viridis(1)]);
    expect(svg).toContain(">digit 11</text>");
    // ten images a row: the eleventh starts a second row, at the first column
    const firstOfRow = px.filter((p) => p.x === 16);
    expect(new Set(firstOfRow.map((p) => p.y)).size).toBe(2);
  });

  it("is deterministic and refuses inconsistent sizes", () => {
    const spec = { count: 1, height: 2, width: 2, values: [1, 2, 3, 4] };
    expect(imageRowSvg(spec)).toBe(imageRowSvg(spec));
    expect(() => imageRowSvg({ ...spec, values: [1, 2, 3] })).toThrow(
      "imageRowSvg: 3 values for 1 images of 2 x 2",
    );
    expect(() => imageRowSvg({ ...spec, count: 0 })).toThrow(
      "imageRowSvg: count must be a positive integer, got 0",
    );
    expect(() => imageRowSvg({ ...spec, labels: ["a", "b"] })).toThrow(
      "imageRowSvg: 2 labels for 1 images",
    );
  });
});

describe("Progress with evaluations", () => {
  it("shows the latest evaluations after the loss until new ones arrive", () => {
    let t = 0;
    const lines: string[] = [];
    const p = new Progress({ total: 10, write: (s) => lines.push(s), isTTY: false, now: () => t });
    t = 1000;
    p.update(1, 0.5);
    expect(p.line()).toContain("loss 0.5 best 0.5 1.00 steps/s");
    p.update(2, 0.4, { test_accuracy: 0.91234, held_out: 1.5e-5 });
    expect(p.line()).toContain(
      "loss 0.4 best 0.4 test_accuracy 0.912 held_out 1.5e-5 2.00 steps/s",
    );
    p.update(3, 0.3);
    expect(p.line()).toContain("best 0.3 test_accuracy 0.912 held_out 1.5e-5 ");
  });
});
