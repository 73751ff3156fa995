// @ts-check
/**
 * The charts' rolling buffer: first the samples the service kept (`GET /operator/history`), then
 * one row per poll, with per-second rates derived from the outbox counters between two rows. No
 * DOM, so the unit tests run it in Deno.
 * @module
 */

/** @typedef {import("./types.js").BreakerSnapshot} BreakerSnapshot */
/** @typedef {import("./types.js").ChartHistoryView} ChartHistoryView */

/**
 * One row's reading, a sample of the service or a poll round (`at` the round's end, `breaker`
 * from `GET /circuit-breaker/{name}`, `counters` from `GET /metrics`, `pending` from
 * `GET /outbox`); a part is null when it could not be read.
 * @typedef {import("./types.js").ChartSample} Reading
 */

/** The counters whose per-second rate the throughput chart draws. */
export const ACCEPTED = "outbox_accepted_total";
export const PUBLISHED = "outbox_published_total";

/** Column indexes of `History.columns()`; column 0 is the time in seconds. */
export const COL = Object.freeze({
  accepted: 1,
  published: 2,
  failureRate: 3,
  failureThreshold: 4,
  slowRate: 5,
  slowThreshold: 6,
  pending: 7,
  state: 8,
});
const WIDTH = 9;

/**
 * The value of each unlabelled sample named in `names`, from Prometheus text exposition.
 * @param {string} text
 * @param {readonly string[]} names
 * @returns {Record<string, number>}
 */
export function parseCounters(text, names) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const [name, value] = line.trim().split(/\s+/);
    if (name === undefined || !names.includes(name)) continue;
    const n = Number(value);
    if (Number.isFinite(n)) out[name] = n;
  }
  return out;
}

/**
 * Per-second rate of a counter between two readings; null when either lacks it or it went
 * backwards (the service restarted).
 * @param {Record<string, number> | null} before
 * @param {Record<string, number> | null} after
 * @param {string} name
 * @param {number} seconds
 */
export function ratePerSecond(before, after, name, seconds) {
  const a = before?.[name];
  const b = after?.[name];
  if (a === undefined || b === undefined || b < a || !(seconds > 0)) return null;
  return (b - a) / seconds;
}

/**
 * The charted figures of a breaker snapshot, as the service samples them.
 * @param {BreakerSnapshot | null} s
 * @returns {Reading["breaker"]}
 */
export function breakerPoint(s) {
  if (!s || typeof s.state !== "string" || !s.config) return null;
  return {
    state: s.state,
    failureRate: s.failureRate,
    failureRateThreshold: s.config.failureRateThreshold,
    slowCallRate: s.slowCallRate,
    slowCallRateThreshold: s.config.slowCallRateThreshold,
  };
}

/**
 * Creates the buffer. A reading more than `gapMs` after the previous one (the tab was hidden, the
 * service was down) leaves an empty row, so the lines break instead of bridging the gap; `add`
 * takes a wider gap for readings that come further apart (the service's samples).
 * @param {{ windowMs: number, gapMs: number, states: readonly string[] }} opts
 */
export function createHistory({ windowMs, gapMs, states }) {
  /** @type {(number | null)[][]} */
  let rows = [];
  /** @type {number | null} */
  let lastAt = null;
  /** The gap allowed after the last reading: the wider of its own and the next one's. */
  let lastGapMs = gapMs;
  /** The last reading that had counters: one failed `/metrics` costs one row, not two. */
  /** @type {{ at: number, values: Record<string, number> } | null} */
  let counted = null;

  /** Adds one reading; one not after the last (a clock that stepped back) is dropped. */
  function add(/** @type {Reading} */ r, rowGapMs = gapMs) {
    if (lastAt !== null && r.at <= lastAt) return;
    if (lastAt !== null && r.at - lastAt > Math.max(rowGapMs, lastGapMs)) {
      rows.push([(lastAt + 1) / 1000, ...Array(WIDTH - 1).fill(null)]);
      counted = null;
    }
    const seconds = counted ? (r.at - counted.at) / 1000 : 0;
    const before = counted?.values ?? null;
    const b = r.breaker;
    const index = b ? states.indexOf(b.state) : -1;
    rows.push([
      r.at / 1000,
      ratePerSecond(before, r.counters, ACCEPTED, seconds),
      ratePerSecond(before, r.counters, PUBLISHED, seconds),
      b?.failureRate ?? null,
      b?.failureRateThreshold ?? null,
      b?.slowCallRate ?? null,
      b?.slowCallRateThreshold ?? null,
      r.pending,
      index >= 0 ? index : null,
    ]);
    lastAt = r.at;
    lastGapMs = rowGapMs;
    if (r.counters) counted = { at: r.at, values: r.counters };
    const oldest = (r.at - windowMs) / 1000;
    const firstKept = rows.findIndex((row) => /** @type {number} */ (row[0]) >= oldest);
    if (firstKept > 0) rows = rows.slice(firstKept);
  }

  /** The buffer column by column, as uPlot takes it: times first, then one array per column. */
  function columns() {
    /** @type {(number | null)[][]} */
    const cols = Array.from({ length: WIDTH }, () => []);
    for (const row of rows) row.forEach((v, i) => cols[i]?.push(v));
    return cols;
  }

  /**
   * Adds the service's samples, shifted by the difference between this browser's clock and the
   * service's (`localNow` against `view.now`), so that the polls that follow line up with them.
   */
  function seed(/** @type {ChartHistoryView} */ view, /** @type {number} */ localNow) {
    const offset = localNow - view.now;
    for (const sample of view.samples) {
      add({ ...sample, at: sample.at + offset }, 3 * view.intervalMs);
    }
  }

  return {
    add,
    seed,
    columns,
    get size() {
      return rows.length;
    },
  };
}
