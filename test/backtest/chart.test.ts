/** The equity chart: trade/stop/deployment markers, and date labels that stay inside the picture. */
import { describe, expect, it } from "vitest";
import { equityChartSvg } from "../../src/core/backtest/chart.js";

const H = 3_600_000;
const T0 = Date.UTC(2022, 7, 2);

describe("equity chart", () => {
  const times = Array.from({ length: 48 }, (_, i) => T0 + i * H);
  const values = times.map((_, i) => 500 + i);
  const svg = equityChartSvg("t", times, [{ name: "ensemble", color: "#000", values }], 960, 480, [
    { time: T0 + 3 * H, kind: "buy", label: "buy 0.01 BTC/USD" },
    { time: T0 + 10 * H + 1, kind: "sell" },
    { time: T0 + 20 * H, kind: "stop", label: "stop_loss: BTC/USD" },
    { time: T0 + 30 * H, kind: "deploy" },
    { time: T0 - H, kind: "deploy" }, // before the chart: left out
  ]);

  it("draws one marker per event inside the time range", () => {
    expect(svg.match(/class="marker buy"/g)).toHaveLength(1);
    expect(svg.match(/class="marker sell"/g)).toHaveLength(1);
    expect(svg.match(/class="marker stop"/g)).toHaveLength(1);
    expect(svg.match(/class="marker deploy"/g)).toHaveLength(1);
    expect(svg).toContain("<title>buy 0.01 BTC/USD</title>");
    expect(svg).toContain("</tspan> deployment</text>"); // the markers' legend
    expect(equityChartSvg("t", times, [{ name: "e", color: "#000", values }])).not.toContain("deployment</text>");
  });

  it("anchors the first date label at its start and the last at its end (never cut at the edge)", () => {
    const labels = [...svg.matchAll(/text-anchor="(\w+)" font-size="11">(\d{4}-\d\d-\d\d)</g)].map((m) => [m[1], m[2]]);
    expect(labels[0]).toEqual(["start", "2022-08-02"]);
    expect(labels.at(-1)).toEqual(["end", "2022-08-03"]);
  });

  it("an empty series (the gate refused: nothing replayed) draws a note, never NaN (review2 R3)", () => {
    const empty = equityChartSvg("refused", [], [{ name: "ensemble", color: "#000", values: [] }], 960, 480, [
      { time: T0, kind: "deploy" },
    ]);
    expect(empty).not.toMatch(/NaN|undefined|Infinity/);
    expect(empty).toContain("no equity to chart: nothing was traded");
    const note = equityChartSvg("refused", [], [], 960, 480, [], "no trading: the gate refused");
    expect(note).toContain("no trading: the gate refused");
    const allNaN = equityChartSvg("t", [T0, T0 + H], [{ name: "x", color: "#000", values: [Number.NaN, Number.NaN] }]);
    expect(allNaN).not.toMatch(/NaN|Infinity/);
  });

  it("one point draws finite axes", () => {
    const one = equityChartSvg("t", [T0], [{ name: "x", color: "#000", values: [1000] }]);
    expect(one).not.toMatch(/NaN|undefined|Infinity/);
    expect(one).toContain(">2022-08-02<");
  });
});
