/**
 * A self-contained SVG line chart of equity against the HODL benchmarks (opens in any browser).
 */

/** One line of the chart. */
export interface Series {
  name: string;
  color: string;
  values: ArrayLike<number>;
}

/**
 * An event drawn on the chart at `time` (ms UTC): a trade (▲ buy / ▼ sell on the first series),
 * a risk stop (✕ on the first series), or a deployment (a dashed vertical line).
 */
export interface ChartMarker {
  time: number;
  kind: "buy" | "sell" | "stop" | "deploy";
  /** Shown on hover (SVG <title>). */
  label?: string;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Render an SVG (width × height px) with a time axis from `times` (ms UTC) and optional event
 * markers (outside the time range they are left out). The first and last date labels are anchored
 * inside the plot so neither is cut. With no finite value to plot (an empty series: nothing was
 * traded), it draws the title and `emptyText` instead of axes, so no NaN reaches the file.
 */
export function equityChartSvg(
  title: string,
  times: ArrayLike<number>,
  series: Series[],
  width = 960,
  height = 480,
  markers: ChartMarker[] = [],
  emptyText = "no equity to chart: nothing was traded",
): string {
  const pad = { l: 70, r: 20, t: 40, b: 50 };
  const w = width - pad.l - pad.r;
  const h = height - pad.t - pad.b;
  const n = times.length;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const s of series)
    for (let i = 0; i < s.values.length; i++)
      if (Number.isFinite(s.values[i])) {
        lo = Math.min(lo, s.values[i]);
        hi = Math.max(hi, s.values[i]);
      }
  if (n === 0 || !Number.isFinite(lo) || !Number.isFinite(hi))
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${pad.l}" y="24" font-size="15">${esc(title)}</text>
<text x="${width / 2}" y="${height / 2}" text-anchor="middle" font-size="16" fill="#666">${esc(emptyText)}</text>
</svg>
`;
  if (!(hi > lo)) {
    hi = lo + 1;
    lo -= 1;
  }
  const x = (i: number) => pad.l + (n > 1 ? (i / (n - 1)) * w : 0);
  const y = (v: number) => pad.t + h - ((v - lo) / (hi - lo)) * h;
  const step = Math.max(1, Math.floor(n / 1500));
  const lines = series.map((s) => {
    const pts: string[] = [];
    for (let i = 0; i < s.values.length; i += step)
      if (Number.isFinite(s.values[i])) pts.push(`${x(i).toFixed(1)},${y(s.values[i]).toFixed(1)}`);
    return `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts.join(" ")}"/>`;
  });
  const ticks: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    ticks.push(
      `<line x1="${pad.l}" x2="${pad.l + w}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(0)}</text>`,
    );
  }
  for (let k = 0; k <= 4 && n > 0; k++) {
    const i = Math.round(((n - 1) * k) / 4);
    const anchor = k === 0 ? "start" : k === 4 ? "end" : "middle";
    ticks.push(
      `<text x="${x(i)}" y="${pad.t + h + 18}" text-anchor="${anchor}" font-size="11">${new Date(times[i]).toISOString().slice(0, 10)}</text>`,
    );
  }
  // markers: nearest bar at or before the event's time
  const marks: string[] = [];
  const first = series[0];
  const indexAt = (t: number): number => {
    let lo2 = 0;
    let hi2 = n - 1;
    while (lo2 < hi2) {
      const mid = Math.ceil((lo2 + hi2) / 2);
      if (times[mid] <= t) lo2 = mid;
      else hi2 = mid - 1;
    }
    return lo2;
  };
  for (const m of n > 0 ? markers : []) {
    if (m.time < times[0] || m.time > times[n - 1]) continue;
    const i = indexAt(m.time);
    const tip = m.label ? `<title>${esc(m.label)}</title>` : "";
    const cx = x(i).toFixed(1);
    if (m.kind === "deploy") {
      marks.push(
        `<g class="marker deploy"><line x1="${cx}" x2="${cx}" y1="${pad.t}" y2="${pad.t + h}" stroke="#9467bd" stroke-dasharray="4 3"/><text x="${cx}" y="${pad.t - 4}" text-anchor="middle" font-size="10" fill="#9467bd">deploy</text>${tip}</g>`,
      );
      continue;
    }
    const v = first?.values[i];
    if (v === undefined || !Number.isFinite(v)) continue;
    const cy = y(v);
    if (m.kind === "stop")
      marks.push(
        `<g class="marker stop" stroke="#d62728" stroke-width="2"><line x1="${x(i) - 4}" y1="${cy - 4}" x2="${x(i) + 4}" y2="${cy + 4}"/><line x1="${x(i) - 4}" y1="${cy + 4}" x2="${x(i) + 4}" y2="${cy - 4}"/>${tip}</g>`,
      );
    else {
      const d = m.kind === "buy" ? `M${x(i)},${cy + 3} l-4,8 l8,0 z` : `M${x(i)},${cy - 3} l-4,-8 l8,0 z`;
      marks.push(
        `<path class="marker ${m.kind}" d="${d}" fill="${m.kind === "buy" ? "#2ca02c" : "#d62728"}">${tip}</path>`,
      );
    }
  }
  const legend = series.map(
    (s, k) =>
      `<rect x="${pad.l + 10 + k * 170}" y="${height - 18}" width="12" height="3" fill="${s.color}"/><text x="${pad.l + 28 + k * 170}" y="${height - 13}" font-size="12">${esc(s.name)}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${pad.l}" y="24" font-size="15">${esc(title)}</text>
${ticks.join("\n")}
${lines.join("\n")}
${marks.join("\n")}
${legend.join("\n")}${marks.length ? `\n<text x="${width - pad.r}" y="${height - 13}" text-anchor="end" font-size="12"><tspan fill="#2ca02c">▲</tspan> buy <tspan fill="#d62728">▼</tspan> sell <tspan fill="#d62728">✕</tspan> stop <tspan fill="#9467bd">┆</tspan> deployment</text>` : ""}
<text x="14" y="${pad.t + h / 2}" font-size="11" transform="rotate(-90 14 ${pad.t + h / 2})">USD</text>
</svg>
`;
}
