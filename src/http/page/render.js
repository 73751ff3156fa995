// @ts-check
/// <reference lib="dom" />
/**
 * Renders the breaker snapshot (tiles, badge, rate bars, counts) and the outbox card. Server text
 * goes in through textContent only.
 * @module
 */
import { $, all, inside, setText } from "./dom.js";
import { clock, duration, num, pct } from "./format.js";

/** @typedef {import("./types.js").BreakerSnapshot} BreakerSnapshot */
/** @typedef {import("./types.js").OutboxView} OutboxView */

/** Badge colour of each state. */
export const STATE_TONES = Object.freeze({
  CLOSED: "ok",
  OPEN: "bad",
  HALF_OPEN: "warn",
  DISABLED: "info",
  METRICS_ONLY: "info",
  FORCED_OPEN: "bad",
  FORCED_HALF_OPEN: "warn",
});

/**
 * One rate bar: the value, the threshold marker and a level for the colour.
 * @param {string} id the `.rate` box
 * @param {string} valueId
 * @param {string} footId
 * @param {number | null} rate percent, null below the minimum number of calls
 * @param {number | undefined} threshold percent
 * @param {string} extra shown after the threshold
 */
function renderRate(id, valueId, footId, rate, threshold, extra) {
  const box = $(id);
  const fill = inside(box, ".fill");
  const limit = inside(box, ".limit");
  const t = typeof threshold === "number" ? threshold : null;
  limit.style.left = (t === null ? 100 : Math.min(100, Math.max(0, t))) + "%";
  if (typeof rate !== "number") {
    box.dataset.level = "none";
    fill.style.width = "0";
    setText(valueId, "not enough calls");
  } else {
    box.dataset.level = t !== null && rate >= t
      ? "bad"
      : t !== null && rate >= t * 0.6
      ? "warn"
      : "ok";
    fill.style.width = Math.min(100, Math.max(0, rate)) + "%";
    setText(valueId, pct(rate));
  }
  setText(footId, "threshold " + (t === null ? "—" : pct(t)) + (extra ? " · " + extra : ""));
}

/** The tiles, the badge and the line under them. */
function renderState(/** @type {BreakerSnapshot} */ s) {
  for (const tile of all(".tile")) {
    const on = tile.dataset.state === s.state;
    tile.dataset.active = on ? "true" : "false";
    tile.setAttribute("aria-current", on ? "true" : "false");
  }
  for (const b of all("[data-target]")) {
    b.setAttribute("aria-pressed", b.dataset.target === s.state ? "true" : "false");
  }
  const badge = $("state-badge");
  badge.textContent = s.state;
  badge.dataset.tone = STATE_TONES[s.state] ?? "none";

  const now = Date.now();
  const parts = [];
  if (typeof s.stateSince === "number") {
    parts.push(
      "In " + s.state + " since " + clock(s.stateSince) + " (" +
        duration((now - s.stateSince) / 1000) + ")",
    );
  }
  if (s.state === "OPEN" && typeof s.retryAfterMs === "number") {
    parts.push("half-open in " + duration(s.retryAfterMs / 1000));
  }
  if (typeof s.ttlExpiresAt === "number") {
    parts.push("returns to CLOSED in " + duration((s.ttlExpiresAt - now) / 1000));
  }
  if (s.consecutiveOpenings > 0) parts.push("openings since last CLOSED: " + s.consecutiveOpenings);
  setText("state-meta", parts.join(" · ") || "—");
}

/** The call-health card: both rate bars and the window counts. */
function renderCalls(/** @type {BreakerSnapshot} */ s) {
  const c = s.config;
  const min = c.minimumNumberOfCalls;
  const unrecorded = s.state === "FORCED_OPEN" || s.state === "DISABLED";
  const needMore = unrecorded
    ? "no window in " + s.state
    : s.bufferedCalls < min
    ? "needs " + num(min) + " calls, has " + num(s.bufferedCalls)
    : "";
  const failed = needMore || num(s.failedCalls) + " failed in window";
  renderRate(
    "rate-failure",
    "failure-rate",
    "failure-threshold",
    s.failureRate,
    c.failureRateThreshold,
    failed,
  );
  const slow = "slow = over " + num(c.slowCallDurationThreshold) + " ms";
  renderRate(
    "rate-slow",
    "slow-rate",
    "slow-threshold",
    s.slowCallRate,
    c.slowCallRateThreshold,
    slow,
  );
  setText("not-permitted", num(s.notPermittedCalls));
  $("not-permitted").dataset.tone = s.notPermittedCalls > 0 ? "warn" : "";
  setText("buffered", num(s.bufferedCalls) + " / " + num(c.slidingWindowSize));
  setText(
    "trials",
    num(s.halfOpenTrialsInFlight) + " / " + num(c.permittedNumberOfCallsInHalfOpenState),
  );
  const unit = c.slidingWindowType === "TIME_BASED" ? " s" : " calls";
  setText("window-meta", "window: last " + num(c.slidingWindowSize) + unit);
}

/** Renders a breaker snapshot; ignores anything that is not one. */
export function renderSnapshot(/** @type {BreakerSnapshot | null} */ s) {
  if (!s || typeof s.state !== "string" || !s.config) return;
  renderState(s);
  renderCalls(s);
}

/** Renders the outbox card from `GET /outbox`. */
export function renderOutbox(/** @type {OutboxView | null} */ o) {
  if (!o) return;
  setText("outbox-pending", num(o.pending));
  $("outbox-pending").dataset.tone = o.pending > 0 ? "warn" : "";
  const age = o.oldestPendingAgeSeconds;
  setText("outbox-oldest", age === null ? "none" : duration(age));
  $("outbox-oldest").dataset.tone = age === null ? "" : age > 60 ? "bad" : age > 5 ? "warn" : "";
  setText("outbox-dead", num(o.deadLettered));
  $("outbox-dead").dataset.tone = o.deadLettered > 0 ? "bad" : "";
  setText("outbox-published", num(o.publishedApprox));
  const r = o.relay;
  setText(
    "relay-meta",
    "relay " + (r.running ? "running" : "stopped") +
      (r.running ? (r.leader ? " · leader" : " · standby") : ""),
  );
  const err = $("relay-error");
  err.hidden = !r.lastError;
  err.textContent = r.lastError ? "Relay error: " + r.lastError : "";
}
