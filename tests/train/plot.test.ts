/** SVG plots: well-formed, readable, deterministic, escaped. */
import { describe, expect, it } from "vitest";
import { formatDuration, formatNumber } from "../../runtime/train/format.js";
import {
  escapeXml,
  heatmapSvg,
  lineComparisonSvg,
  lossCurveSvg,
  niceTicks,
  viridis,
} from "../../runtime/train/plot.js";

/**
 * Checks that `svg` is well-formed XML as far as these plots use it: one
 * `<svg xmlns=…>` root, balanced tags, quoted attributes, and no raw `<` or
 * `&` in text. Returns the text content, joined by "|".
 */
function checkXml(svg: string): string {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  const stack: string[] = [];
  const texts: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  let roots = 0;
  while (i < svg.length) {
    if (svg[i] === "<") {
      tag.lastIndex = i;
      const m = tag.exec(svg);
      if (m === null) throw new Error(`malformed tag at ${i}: ${svg.slice(i, i + 60)}`);
      const [all, close, name, , selfClose] = m;
      if (close === "/") {
        const open = stack.pop();
        if (open !== name) throw new Error(`</${name}> closes <${open}>`);
      } else if (selfClose !== "/") {
        if (stack.length === 0) roots++;
        stack.push(name!);
      } else if (stack.length === 0) roots++;
      i += all.length;
    } else {
      const next = svg.indexOf("<", i);
      const text = svg.slice(i, next < 0 ? svg.length : next);
      if (/&(?!(amp|lt|gt|quot|#39);)/.test(text)) throw new Error(`raw & in ${text}`);
      if (text.trim() !== "") texts.push(text.trim());
      i = next < 0 ? svg.length : next;
    }
  }
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  return texts.join("|");
}

const curve = Array.from({ length: 2000 }, (_, k) => ({
  step: k + 1,
  loss: 10 * Math.exp(-k / 200) * (1 + 0.3 * Math.sin(k)) + 1e-4,
}));

describe("loss curve", () => {
  it("is well-formed, with a title, decade ticks, step ticks and both series", () => {
    const svg = lossCurveSvg(curve, { title: "Poisson 1-D <PINN> & more" });
    const text = checkXml(svg);
    expect(text).toContain("Poisson 1-D &lt;PINN&gt; &amp; more");
    for (const label of ["1e-4", "0.001", "0.01", "0.1", "1", "10", "100"])
      expect(text.split("|")).toContain(label);
    expect(text.split("|")).toContain("1000");
    expect(text).toContain("step");
    expect(text).toContain("loss (log scale)");
    expect(text).toMatch(/best so far \([0-9.e-]+ at step \d+\)/);
    expect(svg.match(/<path /g)?.length).toBe(2);
  });

  it("is deterministic and stays small for long runs", () => {
    expect(lossCurveSvg(curve)).toBe(lossCurveSvg(curve));
    const long = Array.from({ length: 200_000 }, (_, k) => ({ step: k + 1, loss: 1 / (k + 1) }));
    const svg = lossCurveSvg(long);
    checkXml(svg);
    expect(svg.length).toBeLessThan(150_000);
  });

  it("labels far decades in exponent form and skips losses a log axis cannot show", () => {
    const text = checkXml(
      lossCurveSvg([
        { step: 0, loss: 1e-9 },
        { step: 1, loss: 0 },
        { step: 2, loss: NaN },
        { step: 3, loss: 1e-6 },
      ]),
    );
    expect(text.split("|")).toContain("1e-9");
    expect(text.split("|")).toContain("1e-6");
    expect(checkXml(lossCurveSvg([]))).toContain("no positive finite losses to plot");
    checkXml(lossCurveSvg([{ step: 5, loss: 3 }], { best: false }));
  });
});

describe("line comparison", () => {
  it("draws every series with a legend and axes", () => {
    const x = Array.from({ length: 101 }, (_, i) => i / 100);
    const svg = lineComparisonSvg({
      x,
      series: [
        { name: "prediction", y: x.map((v) => Math.sin(Math.PI * v) + 0.01) },
        { name: "exact sin(πx)", y: x.map((v) => Math.sin(Math.PI * v)) },
      ],
      title: "u(x)",
      xLabel: "x",
      yLabel: "u",
    });
    const text = checkXml(svg);
    expect(text).toContain("prediction");
    expect(text).toContain("exact sin(πx)");
    expect(text).toContain("u(x)");
    expect(text.split("|")).toContain("0.4");
    expect(svg.match(/<path /g)?.length).toBe(2);
    expect(svg).toContain('stroke-dasharray="6 4"');
  });

  it("breaks lines at non-finite values and refuses mismatched lengths", () => {
    const svg = lineComparisonSvg({
      x: [0, 1, 2, 3],
      series: [{ name: "a", y: [0, NaN, 1, 2] }],
      title: "t",
    });
    const d = /<path d="([^"]*)"/.exec(svg)![1]!;
    expect(d.match(/M/g)?.length).toBe(2);
    expect(() =>
      lineComparisonSvg({ x: [0, 1], series: [{ name: "a", y: [0] }], title: "t" }),
    ).toThrow('lineComparisonSvg: series "a" has 1 values for 2 x values');
    checkXml(
      lineComparisonSvg({ x: [1, 1], series: [{ name: "flat", y: [2, 2] }], title: "flat" }),
    );
  });
});

describe("heatmap", () => {
  it("draws cells, merged where colours repeat, axes and a colour bar", () => {
    const nx = 40;
    const ny = 30;
    const values = Array.from(
      { length: nx * ny },
      (_, k) => Math.sin((k % nx) / 6) * ((k / nx) | 0),
    );
    const svg = heatmapSvg({
      nx,
      ny,
      values,
      title: "error |u - u*|",
      low: [0, -1],
      high: [2, 1],
      valueLabel: "error",
    });
    const text = checkXml(svg);
    expect(text).toContain("error |u - u*|");
    expect(svg).toContain('<linearGradient id="nnc-colour-bar"');
    expect(svg).toContain('fill="url(#nnc-colour-bar)"');
    const cells = svg.match(/<rect [^>]*fill="#[0-9a-f]{6}"\/>/g)!.length;
    expect(cells).toBeLessThanOrEqual(nx * ny + 5);
    expect(text.split("|")).toContain("-1");
    expect(text.split("|")).toContain("2");
    // a constant row merges into one rectangle
    const flat = heatmapSvg({
      nx: 10,
      ny: 2,
      values: new Array<number>(20).fill(1),
      title: "c",
      low: [0, 0],
      high: [1, 1],
    });
    expect(flat.match(/<rect [^>]*width="[\d.]+" height="[\d.]+" fill="#/g)!.length).toBe(
      2 + 1 + 0,
    );
  });

  it("shows non-finite cells in grey and validates its input", () => {
    const svg = heatmapSvg({
      nx: 2,
      ny: 1,
      values: [NaN, 1],
      title: "t",
      low: [0, 0],
      high: [1, 1],
    });
    expect(svg).toContain('fill="#bbbbbb"');
    expect(() =>
      heatmapSvg({ nx: 2, ny: 2, values: [1], title: "t", low: [0, 0], high: [1, 1] }),
    ).toThrow("heatmapSvg: 1 values for 2 x 2 cells");
    expect(() =>
      heatmapSvg({ nx: 1, ny: 1, values: [1], title: "t", low: [0], high: [1] }),
    ).toThrow(/corners/);
  });
});

describe("helpers", () => {
  it("escape, tick, colour and format", () => {
    expect(escapeXml(`a<b>&"c"'`)).toBe("a&lt;b&gt;&amp;&quot;c&quot;&#39;");
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-1, 1, 4)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceTicks(1, 2000)).toEqual([500, 1000, 1500, 2000]);
    expect(viridis(0)).toBe("#440154");
    expect(viridis(1)).toBe("#fde725");
    expect(formatNumber(0.0012345)).toBe("0.00123");
    expect(formatNumber(12.345)).toBe("12.3");
    expect(formatNumber(1.2345e-5)).toBe("1.23e-5");
    expect(formatNumber(2e-7)).toBe("2e-7");
    expect(formatNumber(9999.9)).toBe("1e4");
    expect(formatNumber(123456)).toBe("1.23e5");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(NaN)).toBe("NaN");
    expect(formatDuration(5.4)).toBe("5s");
    expect(formatDuration(185)).toBe("3m05s");
    expect(formatDuration(7620)).toBe("2h07m");
    expect(formatDuration(Infinity)).toBe("--");
  });
});
