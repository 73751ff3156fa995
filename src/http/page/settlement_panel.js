// @ts-check
/// <reference lib="dom" />
/**
 * The settlement card: today's running totals per merchant and currency, the last close and
 * today's exception count, from `GET settlement/summary` (the service asks the settlement
 * process). Amounts stay decimal text from the ledger to the screen; server text goes in through
 * textContent only.
 * @module
 */
import { $, setText } from "./dom.js";
import { minorUnits, num, utcTime } from "./format.js";

/** @typedef {import("./types.js").SettlementSummary} SettlementSummary */
/** @typedef {import("./types.js").SettlementStatement} SettlementStatement */

/** Statements shown at most; the rest are counted under the table. */
const MAX_ROWS = 100;

/** Shows a reason instead of the figures (stale figures are worse than none). */
function showReason(/** @type {string} */ kind, /** @type {string} */ text) {
  const status = $("settlement-status");
  status.hidden = false;
  status.dataset.kind = kind;
  status.textContent = text;
  $("settlement-figures").hidden = true;
  setText("settlement-day", "");
}

/** A table cell; `small` is a second, quieter line. */
function cell(
  /** @type {string} */ text,
  /** @type {{ num?: boolean, small?: string, tone?: string }} */ opts = {},
) {
  const td = document.createElement("td");
  td.textContent = text;
  if (opts.num) td.className = "num";
  if (opts.tone) td.dataset.tone = opts.tone;
  if (opts.small) {
    const s = document.createElement("small");
    s.textContent = opts.small;
    td.append(s);
  }
  return td;
}

/** "1 event", "3 events". */
function events(/** @type {number} */ n) {
  return num(n) + (n === 1 ? " event" : " events");
}

/** One statement's row: the money columns in the currency's own digits. */
function row(/** @type {SettlementStatement} */ s) {
  const d = s.minorDigits;
  const tally = (/** @type {{ count: number, amount: string }} */ t) =>
    cell(minorUnits(t.amount, d), { num: true, small: events(t.count) });
  const adjusted = s.adjustments.length > 0
    ? "incl. " + s.adjustments.length + " adj. " + minorUnits(s.adjustmentsNet, d)
    : "";
  const tr = document.createElement("tr");
  tr.append(
    cell(s.merchantId),
    cell(s.currency),
    tally(s.captured),
    tally(s.refunded),
    tally(s.chargedBack),
    cell(minorUnits(s.fees, d), { num: true }),
    cell(minorUnits(s.netPayable, d), {
      num: true,
      small: adjusted,
      tone: s.netPayable.startsWith("-") ? "bad" : "",
    }),
  );
  return tr;
}

/** The last close and today's exceptions. */
function renderClose(/** @type {SettlementSummary} */ s) {
  const last = s.lastClose;
  setText("settlement-last-day", last ? last.day : "none yet");
  setText("settlement-reconciled", last ? (last.reconciled ? "yes" : "NO") : "—");
  $("settlement-reconciled").dataset.tone = last && !last.reconciled ? "bad" : "";
  setText("settlement-differences", last ? num(last.differences) : "—");
  $("settlement-differences").dataset.tone = last && last.differences > 0 ? "bad" : "";
  setText("settlement-exceptions", num(s.exceptionsToday));
  $("settlement-exceptions").dataset.tone = s.exceptionsToday > 0 ? "warn" : "";
  setText("settlement-closed-at", last ? "last close at " + utcTime(last.closedAt) : "");
}

/** Today's statements, one row per merchant and currency. */
function renderStatements(/** @type {SettlementStatement[]} */ statements) {
  const rows = statements.slice(0, MAX_ROWS).map(row);
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    tr.className = "empty";
    const td = cell("No settlement activity today yet.");
    td.colSpan = 7;
    tr.append(td);
    rows.push(tr);
  }
  $("settlement-rows").replaceChildren(...rows);
  const more = $("settlement-more");
  more.hidden = statements.length <= MAX_ROWS;
  more.textContent = more.hidden ? "" : "and " + num(statements.length - MAX_ROWS) +
    " more (GET /settlements on the settlement process)";
}

/**
 * Renders one answer of `GET settlement/summary`: the figures on 200, else why there are none
 * (404: SETTLEMENT_URL unset; 503: the settlement process did not answer).
 */
export function renderSettlement(/** @type {{ status: number, body: any }} */ answer) {
  const { status, body } = answer;
  if (status === 404) {
    showReason("off", "Settlement not configured (set SETTLEMENT_URL)");
    return;
  }
  if (status === 503) {
    showReason("bad", "settlement process unreachable, retrying");
    return;
  }
  if (status !== 200 || typeof body?.today !== "string" || !Array.isArray(body.statements)) {
    const detail = typeof body?.detail === "string" ? ": " + body.detail : "";
    showReason("bad", "settlement summary failed (" + status + ")" + detail);
    return;
  }
  /** @type {SettlementSummary} */
  const s = body;
  $("settlement-status").hidden = true;
  $("settlement-figures").hidden = false;
  setText("settlement-day", "business day " + s.today);
  renderClose(s);
  renderStatements(s.statements);
}
