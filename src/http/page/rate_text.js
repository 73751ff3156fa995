// @ts-check
/**
 * The words of the call-health card: each rate with the window it was computed over, or why
 * there is none, all read from the snapshot's `rateWindow`, so that the figure, the window and
 * the explanation agree in every state (OPEN shows the calls that opened it, HALF_OPEN its
 * trials, not the CLOSED window's minimum). No DOM, so the unit tests run it in Deno.
 * @module
 */
import { num, pct } from "./format.js";

/** @typedef {import("./types.js").BreakerSnapshot} BreakerSnapshot */

/**
 * One rate as the card shows it.
 * @typedef {object} RateView
 * @property {string} value the figure, or why there is none
 * @property {number | null} percent what the bar draws; null: no bar
 * @property {"none" | "ok" | "warn" | "bad"} level the bar's colour
 * @property {string} foot the threshold and what the rate counts
 */

/** `5 calls`, `1 trial call`: calls of the snapshot's window. */
export function callCount(/** @type {BreakerSnapshot} */ s, /** @type {number} */ n) {
  const trial = s.rateWindow.calls === "half-open-trials" ? "trial " : "";
  return num(n) + " " + trial + (n === 1 ? "call" : "calls");
}

/**
 * The failure or slow-call rate with its explanation.
 * @param {BreakerSnapshot} s
 * @param {"failure" | "slow"} kind
 * @returns {RateView}
 */
export function rateView(s, kind) {
  const c = s.config;
  const w = s.rateWindow;
  const rate = kind === "failure" ? s.failureRate : s.slowCallRate;
  const threshold = kind === "failure" ? c.failureRateThreshold : c.slowCallRateThreshold;
  const slowIs = "over " + num(c.slowCallDurationThreshold) + " ms";
  const foot = ["threshold " + pct(threshold)];
  if (w.calls === "none") {
    foot.push("no window in " + s.state);
    return { value: "not recorded", percent: null, level: "none", foot: foot.join(" · ") };
  }
  if (rate === null) {
    const yet = w.atOpening ? "not evaluated (" : "not evaluated yet (";
    const value = yet + num(s.bufferedCalls) + " of " + callCount(s, w.minimumNumberOfCalls) + ")";
    if (kind === "slow") foot.push("slow = " + slowIs);
    return { value, percent: null, level: "none", foot: foot.join(" · ") };
  }
  const part = kind === "failure" ? s.failedCalls : s.slowCalls;
  const of = num(part) + " of " + callCount(s, s.bufferedCalls);
  foot.push(kind === "failure" ? of + " failed" : of + " slow (" + slowIs + ")");
  const level = rate >= threshold ? "bad" : rate >= threshold * 0.6 ? "warn" : "ok";
  return { value: pct(rate), percent: rate, level, foot: foot.join(" · ") };
}

/** What the rates cover, for the card's head: the window, the trials, or the calls before opening. */
export function windowText(/** @type {BreakerSnapshot} */ s) {
  const w = s.rateWindow;
  const c = s.config;
  if (w.calls === "none") return "no window in " + s.state;
  if (w.atOpening) return "window: the " + callCount(s, s.bufferedCalls) + " before opening";
  if (w.calls === "half-open-trials") {
    return "window: the half-open trials (" + num(c.permittedNumberOfCallsInHalfOpenState) +
      " calls)";
  }
  return c.slidingWindowType === "TIME_BASED"
    ? "window: last " + num(c.slidingWindowSize) + " s"
    : "window: last " + num(c.slidingWindowSize) + " calls";
}

/** The "Buffered calls" figure: calls held out of what the window holds at most. */
export function bufferedText(/** @type {BreakerSnapshot} */ s) {
  const w = s.rateWindow;
  const c = s.config;
  if (w.calls === "none") return "—";
  if (w.calls === "half-open-trials") {
    return num(s.bufferedCalls) + " / " + num(c.permittedNumberOfCallsInHalfOpenState);
  }
  return c.slidingWindowType === "TIME_BASED"
    ? num(s.bufferedCalls) + " in " + num(c.slidingWindowSize) + " s"
    : num(s.bufferedCalls) + " / " + num(c.slidingWindowSize);
}
