// @ts-check
/// <reference lib="dom" />
/**
 * Renders the breaker snapshot (tiles, badge, rate bars, counts) and the outbox card. Server text
 * goes in through textContent only.
 * @module
 */
import { $, all, inside, setText } from "./dom.js";
import { clock, duration, num } from "./format.js";
import { bufferedText, rateView, windowText } from "./rate_text.js";

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
 * One rate: its figure (or why there is none), the bar with the threshold marker (hidden while
 * the rate is not evaluated), and the line under it.
 * @param {string} id the `.rate` box
 * @param {string} valueId
 * @param {string} footId
 * @param {import("./rate_text.js").RateView} view
 * @param {number} threshold percent
 */
function renderRate(id, valueId, footId, view, threshold) {
  const box = $(id);
  box.dataset.level = view.level;
  const bar = inside(box, ".bar");
  bar.hidden = view.percent === null;
  inside(bar, ".limit").style.left = Math.min(100, Math.max(0, threshold)) + "%";
  inside(bar, ".fill").style.width = Math.min(100, Math.max(0, view.percent ?? 0)) + "%";
  setText(valueId, view.value);
  setText(footId, view.foot);
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

/** The call-health card: both rates, what they cover, and the window counts. */
function renderCalls(/** @type {BreakerSnapshot} */ s) {
  const c = s.config;
  const failure = rateView(s, "failure");
  renderRate("rate-failure", "failure-rate", "failure-threshold", failure, c.failureRateThreshold);
  const slow = rateView(s, "slow");
  renderRate("rate-slow", "slow-rate", "slow-threshold", slow, c.slowCallRateThreshold);
  setText("not-permitted", num(s.notPermittedCalls));
  $("not-permitted").dataset.tone = s.notPermittedCalls > 0 ? "warn" : "";
  setText("buffered", bufferedText(s));
  setText(
    "trials",
    num(s.halfOpenTrialsInFlight) + " / " + num(c.permittedNumberOfCallsInHalfOpenState),
  );
  setText("window-meta", windowText(s));
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
