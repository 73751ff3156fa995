// @ts-check
/// <reference lib="dom" />
/**
 * The operator page's entry module: draws the chart history the service kept, then polls the
 * breaker, its events, the outbox and the settlement summary, one round at a time and rounds at
 * least the poll period apart, and wires the operator actions.
 * @module
 */
import { setupActions } from "./actions.js";
import { createCharts } from "./charts.js";
import { all, setText } from "./dom.js";
import { createEventsTable } from "./events_table.js";
import { clock } from "./format.js";
import { ACCEPTED, breakerPoint, createHistory, parseCounters, PUBLISHED } from "./history.js";
import { renderOutbox, renderSnapshot, STATE_TONES } from "./render.js";
import { renderSettlement } from "./settlement_panel.js";

/** @typedef {import("./types.js").BreakerList} BreakerList */
/** @typedef {import("./types.js").ChartHistoryView} ChartHistoryView */

const body = document.body;
const NAME = body.dataset.breaker ?? "kafka-publisher";
// The API asks for at most one refresh per second, whatever the page was given.
const POLL_MS = Math.max(1000, Number(body.dataset.pollMs) || 1000);
const BASE = "circuit-breaker/" + encodeURIComponent(NAME);
const REQUEST_TIMEOUT_MS = 5000;
/** The charts show the last fifteen minutes (the service keeps a little more). */
const WINDOW_MS = 15 * 60_000;

/**
 * GETs a path with a timeout and resolves to its status and body (JSON, or text for `/metrics`)
 * whatever the status; rejects only when no answer arrives. A body that is not JSON is null.
 */
async function fetchAnswer(/** @type {string} */ path, /** @type {"json" | "text"} */ as = "json") {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
  try {
    const res = await fetch(path, {
      headers: { accept: as === "json" ? "application/json" : "text/plain" },
      cache: "no-store",
      signal: ctl.signal,
    });
    const text = await res.text();
    /** @type {any} */
    let body = text;
    if (as === "json") {
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
    }
    return { ok: res.ok, status: res.status, body };
  } finally {
    clearTimeout(timer);
  }
}

/** GETs JSON (or text, for `/metrics`) with a timeout; rejects on a non-2xx answer. */
async function get(/** @type {string} */ path, /** @type {"json" | "text"} */ as = "json") {
  const answer = await fetchAnswer(path, as);
  if (!answer.ok) throw new Error(path.split("?")[0] + " answered " + answer.status);
  if (as === "json" && answer.body === null) throw new Error(path + " answered no JSON");
  return answer.body;
}

/** The connection indicator in the header. */
function setConn(/** @type {string} */ live, /** @type {string} */ text) {
  const conn = document.getElementById("conn");
  if (conn) conn.dataset.live = live;
  setText("conn-text", text);
}

const renderEvents = createEventsTable();
const states = all(".tile").map((t) => t.dataset.state ?? "");
const history = createHistory({ windowMs: WINDOW_MS, gapMs: 3 * POLL_MS, states });
const charts = createCharts({ windowSeconds: WINDOW_MS / 1000, states, tones: STATE_TONES });

let settlementBusy = false;

/**
 * Asks for the settlement summary unless the last request is still out. Not part of a round: the
 * service may wait up to 2 s for the settlement process, and the breaker must not wait with it. A
 * rejection means the service itself did not answer, which the round reports.
 */
function pollSettlement() {
  if (settlementBusy) return;
  settlementBusy = true;
  fetchAnswer("settlement/summary").then(renderSettlement, () => {}).finally(() => {
    settlementBusy = false;
  });
}

/** One round of requests; resolves to how many of them failed and the first reason. */
async function pollRound() {
  const snapshotP = get(BASE); // first: a round is timed by its snapshot request
  pollSettlement();
  const r = await Promise.allSettled([
    snapshotP,
    get(BASE + "/events?limit=20"),
    get("outbox"),
    get("metrics", "text"),
  ]);
  const value = (/** @type {PromiseSettledResult<any>} */ x) =>
    x.status === "fulfilled" ? x.value : null;
  const [snapshot, events, outbox, metrics] = r.map(value);
  renderSnapshot(snapshot);
  renderEvents(events?.events);
  renderOutbox(outbox);
  history.add({
    at: Date.now(),
    breaker: breakerPoint(snapshot),
    counters: typeof metrics === "string" ? parseCounters(metrics, [ACCEPTED, PUBLISHED]) : null,
    pending: typeof outbox?.pending === "number" ? outbox.pending : null,
  });
  charts.update(history.columns());
  const failed = r.filter((x) => x.status === "rejected");
  return { failed: failed.length, total: r.length, reason: failed[0]?.reason };
}

/**
 * Draws the samples the service kept, so the charts show the last minutes (an outage too) at
 * first paint; without them the polls fill the charts.
 */
async function loadHistory() {
  try {
    history.seed(/** @type {ChartHistoryView} */ (await get("operator/history")), Date.now());
    charts.update(history.columns());
  } catch { /* no history served: the charts start empty */ }
}

/** Asks the service whether operator transitions are enabled; unknown leaves the buttons on. */
async function loadAdmin() {
  try {
    actions.setAdmin(/** @type {BreakerList} */ (await get("circuit-breaker")).admin);
  } catch { /* a POST's answer still says why it was refused */ }
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;
let busy = false;
let lastStart = 0;
let failures = 0;

function schedule() {
  clearTimeout(timer);
  timer = undefined;
  if (document.hidden) {
    setConn("paused", "paused while hidden");
    return;
  }
  const backoff = failures > 0 ? Math.min(10000, POLL_MS * Math.pow(2, failures - 1)) : POLL_MS;
  timer = setTimeout(poll, Math.max(0, lastStart + backoff - performance.now()));
}

async function poll() {
  if (busy) return;
  // Timers may fire a little early; the promise is at most one poll per second.
  if (lastStart > 0 && performance.now() - lastStart < POLL_MS) {
    schedule();
    return;
  }
  busy = true;
  lastStart = performance.now();
  try {
    const { failed, total, reason } = await pollRound();
    if (failed === total) {
      failures++;
      setConn("false", "service unreachable, retrying");
    } else {
      // Back after an outage: the service may have restarted with another admin setting.
      if (failures > 0) loadAdmin();
      failures = 0;
      const why = reason instanceof Error ? reason.message : String(reason);
      setConn("true", failed === 0 ? "live" : "live, partial: " + why);
      setText("updated", "updated " + clock(Date.now()));
    }
  } finally {
    busy = false;
    schedule();
  }
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && !busy) schedule();
  if (document.hidden) {
    clearTimeout(timer);
    setConn("paused", "paused while hidden");
  }
});

const actions = setupActions({ name: NAME, base: BASE, render: renderSnapshot });
Promise.all([loadHistory(), loadAdmin()]).finally(poll);
