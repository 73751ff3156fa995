// @ts-check
/// <reference lib="dom" />
/**
 * The rolling charts, drawn by uPlot (served by this service, loaded before this module as a
 * global). Each figure says what it drew in data attributes (`data-points`, `data-threshold`,
 * `data-peak`, `data-runs`) so the browser tests can check the drawing, not only the fetches.
 * @module
 */
import { inside } from "./dom.js";
import { clock, num, pct } from "./format.js";
import { COL } from "./history.js";

/** @typedef {import("uplot")} UPlot */
/** @typedef {import("uplot").Options} Options */
/** @typedef {import("uplot").AlignedData} AlignedData */

const UPlotClass = /** @type {{ uPlot: typeof import("uplot") }} */ (
  /** @type {unknown} */ (globalThis)
).uPlot;

const INK = "#18212d";
const GRID = "#e2e6ec";
const AXIS = { stroke: "#5f6b7a", grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID } };
const THRESHOLD = {
  label: "threshold",
  stroke: INK,
  width: 1.5,
  dash: [6, 4],
  points: { show: false },
};
/** Steps between time ticks, in seconds; the smallest that leaves each label its room wins. */
const TIME_STEPS = [5, 10, 15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600];
/** Room per time label in CSS px: `HH:MM:SS` is about 52 px wide at 12 px, plus a gap. */
const LABEL_ROOM = 64;

/**
 * Ticks at round wall-clock times, as many as the plot's width has room for: at least three on
 * a phone (uPlot's own choice left one), never so many that labels touch.
 * @param {UPlot} u
 * @param {number} _axis
 * @param {number} min
 * @param {number} max
 */
function timeSplits(u, _axis, min, max) {
  const fit = Math.max(3, Math.floor(u.bbox.width / devicePixelRatio / LABEL_ROOM));
  const step = TIME_STEPS.find((s) => (max - min) / s <= fit) ?? TIME_STEPS.at(-1) ?? 60;
  const ticks = [];
  for (let t = Math.ceil(min / step) * step; t <= max; t += step) ticks.push(t);
  return ticks;
}

/**
 * `HH:MM` for steps of whole minutes, `HH:MM:SS` below. Each figure notes its labels and the
 * room between them (`data-time-labels`, `data-time-gap` in CSS px) for the browser tests.
 * @param {UPlot} u
 * @param {number[]} splits
 */
function timeValues(u, splits) {
  const step = (splits[1] ?? 0) - (splits[0] ?? 0);
  const labels = splits.map((s) => clock(s * 1000).slice(0, step >= 60 ? 5 : 8));
  const figure = u.root.closest("figure");
  if (figure instanceof HTMLElement) {
    figure.dataset.timeLabels = labels.join(" ");
    const xs = splits.map((s) => u.valToPos(s, "x"));
    const gaps = xs.slice(1).map((x, i) => x - (xs[i] ?? 0));
    figure.dataset.timeGap = String(Math.round(Math.min(...gaps, u.bbox.width)));
  }
  return labels;
}

/** The time axis: round wall-clock ticks that fit the width. */
const TIME_AXIS = { ...AXIS, splits: timeSplits, values: timeValues };
/** Fill of each state's band on the timeline, by the tone of its badge. */
const TONE_FILL = {
  ok: "#22c55e",
  bad: "#dc2626",
  warn: "#f59e0b",
  info: "#3b82f6",
  none: "#9ca3af",
};

/**
 * @typedef {object} ChartSpec
 * @property {string} id the figure
 * @property {number[]} cols history columns after the time
 * @property {Options["series"]} series uPlot series after the time
 * @property {[number, number] | null} yRange fixed y range, null for auto
 * @property {number} height
 * @property {(last: (number | null)[]) => string} caption the newest values in words
 */

/** `1.5`, or "—" before the second poll. */
function perSecond(/** @type {number | null | undefined} */ v) {
  return typeof v === "number" ? (Math.round(v * 10) / 10).toFixed(1) : "—";
}

/**
 * `3.0 % (threshold 50.0 %)`, or "no rate" (the call-health card says why: too few calls, or no
 * window in this state).
 */
function against(/** @type {number | null | undefined} */ rate, /** @type {unknown} */ limit) {
  const of = typeof limit === "number" ? " (threshold " + pct(limit) + ")" : "";
  return (typeof rate === "number" ? pct(rate) : "no rate") + of;
}

/** @type {ChartSpec[]} */
const SPECS = [
  {
    id: "chart-throughput",
    cols: [COL.accepted, COL.published],
    series: [
      { label: "accepted/s", stroke: "#1d4ed8", width: 2 },
      { label: "published/s", stroke: "#15803d", width: 2 },
    ],
    yRange: null,
    height: 150,
    caption: ([a, p]) => `${perSecond(a)} accepted/s · ${perSecond(p)} published/s`,
  },
  {
    id: "chart-failure",
    cols: [COL.failureRate, COL.failureThreshold],
    series: [{ label: "failure %", stroke: "#dc2626", width: 2 }, THRESHOLD],
    yRange: [0, 100],
    height: 150,
    caption: ([rate, limit]) => against(rate, limit),
  },
  {
    id: "chart-slow",
    cols: [COL.slowRate, COL.slowThreshold],
    series: [{ label: "slow %", stroke: "#b45309", width: 2 }, THRESHOLD],
    yRange: [0, 100],
    height: 150,
    caption: ([rate, limit]) => against(rate, limit),
  },
  {
    id: "chart-backlog",
    cols: [COL.pending],
    series: [{ label: "pending", stroke: "#b45309", fill: "rgba(245, 158, 11, 0.18)", width: 2 }],
    yRange: null,
    height: 150,
    caption: ([pending]) => `${num(pending)} pending`,
  },
];

/** The last non-null value of a series, or null. */
function lastValue(/** @type {readonly (number | null | undefined)[]} */ values) {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (typeof v === "number") return v;
  }
  return null;
}

/**
 * Paints one band per run of equal states and says which runs it painted.
 * @param {UPlot} u
 * @param {HTMLElement} figure
 * @param {readonly string[]} states
 * @param {Readonly<Record<string, string>>} tones
 */
function drawTimeline(u, figure, states, tones) {
  const xs = u.data[0];
  const ys = /** @type {readonly (number | null | undefined)[]} */ (u.data[1]);
  const { ctx, bbox } = u;
  /** @type {string[]} */
  const runs = [];
  ctx.save();
  ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
  ctx.textBaseline = "middle";
  for (let i = 0; i < xs.length;) {
    let j = i;
    while (j + 1 < xs.length && ys[j + 1] === ys[i]) j++;
    const index = ys[i];
    const name = typeof index === "number" ? states[index] : undefined;
    if (name !== undefined) {
      const end = xs[j + 1] ?? xs[j] ?? 0;
      const x0 = Math.max(bbox.left, u.valToPos(xs[i] ?? 0, "x", true));
      const x1 = Math.max(x0 + 2, u.valToPos(end, "x", true));
      const tone = /** @type {keyof typeof TONE_FILL} */ (tones[name] ?? "none");
      ctx.fillStyle = TONE_FILL[tone];
      ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
      if (x1 - x0 > ctx.measureText(name).width + 12) {
        ctx.fillStyle = "#ffffff";
        ctx.fillText(name, x0 + 6, bbox.top + bbox.height / 2);
      }
      if (runs.at(-1) !== name) runs.push(name);
    }
    i = j + 1;
  }
  ctx.restore();
  figure.dataset.runs = runs.join(",");
}

/**
 * Options shared by every chart: a time axis over the whole window, ending at the newest sample.
 * @param {number} width
 * @param {number} height
 * @param {number} windowSeconds
 * @returns {Options}
 */
function baseOptions(width, height, windowSeconds) {
  return {
    width,
    height,
    series: [{}],
    scales: { x: { time: true, range: (_u, _min, max) => [max - windowSeconds, max] } },
    axes: [TIME_AXIS, { ...AXIS, size: 44 }],
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
  };
}

/** A chart of `n` series with no data yet. */
function empty(/** @type {number} */ n) {
  return /** @type {AlignedData} */ (Array.from({ length: n }, () => /** @type {number[]} */ ([])));
}

/** The width a plot may take: its box, or a phone's if it is not laid out yet. */
function widthOf(/** @type {HTMLElement} */ plot) {
  return Math.max(200, Math.floor(plot.clientWidth || 300));
}

/** How many numbers a series holds. */
function points(/** @type {readonly unknown[] | undefined} */ values) {
  return (values ?? []).filter((v) => typeof v === "number").length;
}

/** The timeline: coloured bands, no y axis, no legend. */
function timelineOptions(
  /** @type {HTMLElement} */ figure,
  /** @type {number} */ width,
  /** @type {number} */ windowSeconds,
  /** @type {{ states: readonly string[], tones: Readonly<Record<string, string>> }} */ o,
) {
  const opts = baseOptions(width, 72, windowSeconds);
  opts.series = [{}, { label: "state", paths: () => null, points: { show: false } }];
  opts.axes = [TIME_AXIS, { show: false }];
  opts.legend = { show: false };
  opts.scales = { ...opts.scales, y: { range: [0, 1] } };
  opts.hooks = { draw: [(u) => drawTimeline(u, figure, o.states, o.tones)] };
  return opts;
}

/**
 * Creates the charts in their figures; `update` redraws them from the history's columns.
 * @param {{ windowSeconds: number, states: readonly string[], tones: Readonly<Record<string, string>> }} opts
 */
export function createCharts(opts) {
  /**
   * @type {{
   *   figure: HTMLElement, plot: HTMLElement, cols: number[], u: UPlot, height: number,
   *   caption: ChartSpec["caption"]
   * }[]}
   */
  const charts = [];
  for (const spec of SPECS) {
    const figure = /** @type {HTMLElement} */ (document.getElementById(spec.id));
    const plot = inside(figure, ".chart-plot");
    const o = baseOptions(widthOf(plot), spec.height, opts.windowSeconds);
    o.series = [{}, ...spec.series];
    if (spec.yRange) o.scales = { ...o.scales, y: { range: spec.yRange } };
    const u = new UPlotClass(o, empty(spec.cols.length + 1), plot);
    charts.push({ figure, plot, cols: spec.cols, u, height: spec.height, caption: spec.caption });
  }
  const figure = /** @type {HTMLElement} */ (document.getElementById("chart-state"));
  const plot = inside(figure, ".chart-plot");
  const timeline = timelineOptions(figure, widthOf(plot), opts.windowSeconds, opts);
  const u = new UPlotClass(timeline, empty(2), plot);
  const caption = (/** @type {(number | null)[]} */ [i]) =>
    typeof i === "number" ? opts.states[i] ?? "—" : "—";
  charts.push({ figure, plot, cols: [COL.state], u, height: 72, caption });

  new ResizeObserver(() => {
    for (const c of charts) {
      const width = widthOf(c.plot);
      if (width !== c.u.width) c.u.setSize({ width, height: c.height });
    }
  }).observe(/** @type {HTMLElement} */ (document.getElementById("charts")));

  /** Redraws every chart from the columns of the history. */
  function update(/** @type {(number | null)[][]} */ cols) {
    for (const c of charts) {
      c.u.setData(
        /** @type {AlignedData} */ ([cols[0] ?? [], ...c.cols.map((i) => cols[i] ?? [])]),
      );
      const main = /** @type {readonly (number | null | undefined)[]} */ (c.u.data[1] ?? []);
      c.figure.dataset.points = String(points(main));
      const peak = Math.max(0, ...main.filter((v) => typeof v === "number"));
      c.figure.dataset.peak = String(peak);
      if (c.cols.length === 2 && c.cols[1] !== COL.published) {
        const threshold = lastValue(/** @type {(number | null)[]} */ (c.u.data[2] ?? []));
        c.figure.dataset.threshold = threshold === null ? "" : String(threshold);
      }
      const last = c.cols.map((i) => cols[i]?.at(-1) ?? null);
      inside(c.figure, ".chart-now").textContent = c.caption(last);
    }
  }
  return { update };
}
