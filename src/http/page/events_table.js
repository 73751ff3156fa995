// @ts-check
/// <reference lib="dom" />
/**
 * The recent-events table: newest first, rebuilt only when the list changed, every server string
 * inserted as text.
 * @module
 */
import { $ } from "./dom.js";
import { clock, duration, isoOf, num, pct } from "./format.js";

/** @typedef {import("./types.js").BreakerEvent} BreakerEvent */

/** @type {Readonly<Record<string, string>>} */
const EVENT_TONES = {
  STATE_TRANSITION: "info",
  SUCCESS: "ok",
  ERROR: "bad",
  IGNORED_ERROR: "warn",
  NOT_PERMITTED: "warn",
  FAILURE_RATE_EXCEEDED: "bad",
  SLOW_CALL_RATE_EXCEEDED: "bad",
  RESET: "info",
};

/** `12 ms · slow` for the call outcomes. */
function outcome(/** @type {{ durationMs: number, slow?: boolean }} */ e) {
  const bits = [num(Math.round(e.durationMs)) + " ms"];
  if (e.slow) bits.push("slow");
  return bits;
}

/** The detail column of one event. */
export function eventDetail(/** @type {BreakerEvent} */ e) {
  /** @type {string[]} */
  let bits = [];
  switch (e.type) {
    case "STATE_TRANSITION":
      bits = [String(e.from) + " → " + String(e.to)];
      if (e.reason) bits.push(String(e.reason));
      if (e.operator) bits.push("by operator");
      break;
    case "ERROR":
    case "IGNORED_ERROR":
      if (e.errorMessage) bits.push(String(e.errorMessage));
      bits.push(...outcome(e));
      break;
    case "SUCCESS":
      bits = outcome(e);
      break;
    case "NOT_PERMITTED":
      bits = ["call rejected"];
      if (typeof e.retryAfterMs === "number") {
        bits.push("retry after " + duration(e.retryAfterMs / 1000));
      }
      break;
    case "FAILURE_RATE_EXCEEDED":
    case "SLOW_CALL_RATE_EXCEEDED":
      bits = [pct(e.rate)];
      break;
  }
  if ("late" in e && e.late) bits.push("late result");
  return bits.join(" · ");
}

/** A table cell with text and an optional class. */
function cell(/** @type {string} */ text, /** @type {string} */ className = "") {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

/** One row of the table. */
function eventRow(/** @type {BreakerEvent} */ e) {
  const tr = document.createElement("tr");
  const time = cell(typeof e.at === "number" ? clock(e.at) : "—", "time");
  time.title = typeof e.at === "number" ? isoOf(e.at) : "";
  const type = document.createElement("td");
  const chip = document.createElement("span");
  chip.className = "chip";
  chip.dataset.tone = EVENT_TONES[e.type] ?? "none";
  chip.textContent = String(e.type);
  type.appendChild(chip);
  tr.append(time, type, cell(String(e.state ?? ""), "state"), cell(eventDetail(e), "detail"));
  return tr;
}

/** Returns the table's render function; it skips the DOM work while the list is unchanged. */
export function createEventsTable() {
  /** @type {string | null} */
  let lastKey = null;
  return (/** @type {BreakerEvent[] | undefined} */ list) => {
    if (!Array.isArray(list)) return;
    const key = list.map((e) => e?.seq).join(",");
    if (key === lastKey) return;
    lastKey = key;
    const rows = list.filter((e) => e && typeof e === "object").reverse().map(eventRow);
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = cell("No events yet.");
      td.colSpan = 4;
      tr.appendChild(td);
      rows.push(tr);
    }
    $("events").replaceChildren(...rows);
  };
}
