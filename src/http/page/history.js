// @ts-check
/**
 * The charts' rolling buffer: one row per poll over the last few minutes, with per-second rates
 * derived from the Prometheus counters between two polls. No DOM, so the unit tests run it in
 * Deno.
 * @module
 */

/** @typedef {import("./types.js").BreakerSnapshot} BreakerSnapshot */

/** What one poll round learnt; a part is null when its request failed. */
/**
 * @typedef {object} Reading
 * @property {number} at epoch ms when the round ended
 * @property {BreakerSnapshot | null} snapshot `GET /circuit-breaker/{name}`
 * @property {Record<string, number> | null} counters from `GET /metrics`
 * @property {number | null} pending `GET /outbox` pending count
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
 * Creates the buffer. A poll more than `gapMs` after the previous one (the tab was hidden, the
 * service was down) leaves an empty row, so the lines break instead of bridging the gap.
 * @param {{ windowMs: number, gapMs: number, states: readonly string[] }} opts
 */
export function createHistory({ windowMs, gapMs, states }) {
  /** @type {(number | null)[][]} */
  let rows = [];
  /** @type {number | null} */
  let lastAt = null;
  /** The last reading that had counters: one failed `/metrics` costs one row, not two. */
  /** @type {{ at: number, values: Record<string, number> } | null} */
  let counted = null;

  /** Adds one poll round's reading. */
  function add(/** @type {Reading} */ r) {
    if (lastAt !== null && r.at - lastAt > gapMs) {
      rows.push([(lastAt + 1) / 1000, ...Array(WIDTH - 1).fill(null)]);
      counted = null;
    }
    const seconds = counted ? (r.at - counted.at) / 1000 : 0;
    const before = counted?.values ?? null;
    const s = r.snapshot;
    const index = s ? states.indexOf(s.state) : -1;
    rows.push([
      r.at / 1000,
      ratePerSecond(before, r.counters, ACCEPTED, seconds),
      ratePerSecond(before, r.counters, PUBLISHED, seconds),
      s?.failureRate ?? null,
      s?.config.failureRateThreshold ?? null,
      s?.slowCallRate ?? null,
      s?.config.slowCallRateThreshold ?? null,
      r.pending,
      index >= 0 ? index : null,
    ]);
    lastAt = r.at;
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

  return {
    add,
    columns,
    get size() {
      return rows.length;
    },
  };
}
