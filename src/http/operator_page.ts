/**
 * The operator page served at `GET /`: one self-contained HTML document (inline CSS and JS, no
 * build step, nothing fetched from the internet) that polls the breaker, outbox and event APIs
 * and drives the operator transitions with the admin token.
 */
import { BREAKER_STATES, type BreakerState } from "../breaker/states.ts";

/** Options of the operator page. */
export interface OperatorPageOptions {
  /** The breaker shown and controlled by the page; defaults to "kafka-publisher". */
  breakerName?: string;
}

/** The page's polling period; the API asks for at most one refresh per second. */
export const OPERATOR_PAGE_POLL_MS = 1_000;

/** One-line meaning of each state, shown under its tile. */
const TILE_HINTS: Readonly<Record<BreakerState, string>> = {
  CLOSED: "all calls pass",
  OPEN: "calls rejected, waiting",
  HALF_OPEN: "trial calls decide",
  DISABLED: "no protection, counts only",
  METRICS_ONLY: "measures, never trips",
  FORCED_OPEN: "held open by operator",
  FORCED_HALF_OPEN: "trickle held by operator",
};

/** The buttons: target state, label and visual weight. */
const ACTIONS: ReadonlyArray<{ state: BreakerState; label: string; kind: string }> = [
  { state: "FORCED_OPEN", label: "Force open", kind: "danger" },
  { state: "FORCED_HALF_OPEN", label: "Force half-open", kind: "warn" },
  { state: "DISABLED", label: "Disable", kind: "plain" },
  { state: "METRICS_ONLY", label: "Metrics only", kind: "plain" },
  { state: "CLOSED", label: "Close", kind: "primary" },
];

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);
}

/** Renders the operator page for one breaker as a complete HTML document. */
export function operatorPageHtml(opts: OperatorPageOptions = {}): string {
  const name = opts.breakerName ?? "kafka-publisher";
  if (typeof name !== "string" || name.trim() === "") {
    throw new TypeError(`breakerName must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  const n = escapeHtml(name);
  const tiles = BREAKER_STATES.map((s) =>
    `<li class="tile" data-state="${s}" data-active="false" aria-current="false">` +
    `<span class="tile-name">${s}</span><span class="tile-hint">${TILE_HINTS[s]}</span></li>`
  ).join("\n        ");
  const buttons = ACTIONS.map((a) =>
    `<button type="button" class="btn btn-${a.kind}" data-target="${a.state}">${a.label}</button>`
  ).join("\n          ");
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'">
  <meta name="referrer" content="no-referrer">
  <meta name="robots" content="noindex">
  <link rel="icon" href="data:,">
  <title>${n} · payment-ingest operator</title>
  <style>${CSS}</style>
</head>
<body data-breaker="${n}" data-poll-ms="${OPERATOR_PAGE_POLL_MS}">
  <header class="top">
    <div class="brand">
      <span class="mark" aria-hidden="true"></span>
      <div>
        <h1>payment-ingest <span class="thin">operator</span></h1>
        <p class="sub">Kafka publish circuit breaker <code id="breaker-name">${n}</code></p>
      </div>
    </div>
    <div class="conn" id="conn" data-live="unknown"><span class="dot" aria-hidden="true"></span><span id="conn-text">connecting…</span></div>
  </header>
  <main class="grid">
    <section class="card wide" aria-labelledby="h-state">
      <div class="card-head">
        <h2 id="h-state">Breaker state</h2>
        <span class="badge" id="state-badge" data-tone="none">—</span>
      </div>
      <ul class="tiles" id="tiles">
        ${tiles}
      </ul>
      <p class="meta" id="state-meta">Waiting for the first update…</p>
    </section>

    <section class="card" aria-labelledby="h-calls">
      <div class="card-head"><h2 id="h-calls">Call health</h2><span class="meta" id="window-meta"></span></div>
      <div class="rate" id="rate-failure">
        <div class="rate-head"><span>Failure rate</span><span class="rate-value" id="failure-rate">—</span></div>
        <div class="bar" aria-hidden="true"><span class="fill"></span><span class="limit"></span></div>
        <div class="rate-foot" id="failure-threshold">threshold —</div>
      </div>
      <div class="rate" id="rate-slow">
        <div class="rate-head"><span>Slow-call rate</span><span class="rate-value" id="slow-rate">—</span></div>
        <div class="bar" aria-hidden="true"><span class="fill"></span><span class="limit"></span></div>
        <div class="rate-foot" id="slow-threshold">threshold —</div>
      </div>
      <dl class="stats">
        <div title="Calls the breaker rejected since the service started"><dt>Not permitted</dt><dd id="not-permitted">—</dd></div>
        <div><dt>Buffered calls</dt><dd id="buffered">—</dd></div>
        <div><dt>Half-open trials</dt><dd id="trials">—</dd></div>
      </dl>
    </section>

    <section class="card" aria-labelledby="h-outbox">
      <div class="card-head"><h2 id="h-outbox">Outbox</h2><span class="meta" id="relay-meta"></span></div>
      <dl class="stats big">
        <div><dt>Pending</dt><dd id="outbox-pending">—</dd></div>
        <div><dt>Oldest pending</dt><dd id="outbox-oldest">—</dd></div>
        <div><dt>Dead-lettered</dt><dd id="outbox-dead">—</dd></div>
        <div><dt>Published (approx.)</dt><dd id="outbox-published">—</dd></div>
      </dl>
      <p class="meta error-text" id="relay-error" hidden></p>
    </section>

    <section class="card" aria-labelledby="h-actions">
      <div class="card-head"><h2 id="h-actions">Operator actions</h2></div>
      <form class="token" id="token-form" autocomplete="off">
        <label for="token">Admin token</label>
        <div class="token-row">
          <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" placeholder="ADMIN_TOKEN">
          <button type="button" class="btn btn-plain" id="forget-token">Forget</button>
        </div>
        <p class="meta">Kept in this tab's session storage only; sent as a bearer token.</p>
      </form>
      <div class="actions" id="actions">
          ${buttons}
      </div>
      <div class="message" id="message" role="status" aria-live="polite" data-kind="none">
        <span class="message-time" id="message-time"></span><span id="message-text">No action taken yet.</span>
      </div>
    </section>

    <section class="card wide" aria-labelledby="h-events">
      <div class="card-head"><h2 id="h-events">Recent breaker events</h2><span class="meta">newest first, last 20</span></div>
      <div class="table-wrap">
        <table class="events">
          <thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">State</th><th scope="col">Detail</th></tr></thead>
          <tbody id="events"><tr class="empty"><td colspan="4">No events yet.</td></tr></tbody>
        </table>
      </div>
    </section>
  </main>
  <footer class="foot">
    <span>Refreshes every ${
    OPERATOR_PAGE_POLL_MS / 1000
  } s while visible · <span id="updated">not updated yet</span></span>
    <span><a href="metrics">metrics</a> · <a href="outbox">outbox</a> · <a href="openapi.json">API</a></span>
  </footer>
  <script>${SCRIPT}</script>
</body>
</html>
`;
}

const CSS = `
:root {
  color-scheme: light;
  --bg: #f3f5f8; --card: #ffffff; --ink: #18212d; --muted: #5f6b7a; --line: #e2e6ec;
  --ok: #15803d; --ok-soft: #dcfce7; --off: #eef1f5; --off-ink: #8a94a3;
  --warn: #b45309; --warn-soft: #fef3c7; --bad: #b91c1c; --bad-soft: #fee2e2;
  --info: #1d4ed8; --info-soft: #dbeafe; --radius: 10px;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}
* { box-sizing: border-box; }
html, body { margin: 0; }
body {
  background: var(--bg); color: var(--ink); line-height: 1.4;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  -webkit-text-size-adjust: 100%;
}
code { font-family: var(--mono); font-size: 0.92em; }
.top {
  display: flex; flex-wrap: wrap; gap: 12px; align-items: center; justify-content: space-between;
  padding: 14px 20px; background: #111827; color: #f9fafb;
}
.brand { display: flex; gap: 12px; align-items: center; min-width: 0; }
.mark {
  width: 30px; height: 30px; border-radius: 8px; flex: none;
  background: linear-gradient(135deg, #22c55e, #15803d);
  box-shadow: inset 0 0 0 2px rgba(255, 255, 255, 0.15);
}
h1 { font-size: 17px; margin: 0; font-weight: 650; letter-spacing: 0.01em; }
h1 .thin { font-weight: 400; color: #9ca3af; }
.sub { margin: 2px 0 0; color: #9ca3af; font-size: 13px; }
.sub code { color: #e5e7eb; background: rgba(255, 255, 255, 0.08); padding: 1px 6px; border-radius: 4px; overflow-wrap: anywhere; }
.conn { display: flex; align-items: center; gap: 8px; font-size: 13px; color: #d1d5db; }
.conn .dot { width: 9px; height: 9px; border-radius: 50%; background: #6b7280; }
.conn[data-live="true"] .dot { background: #22c55e; box-shadow: 0 0 0 3px rgba(34, 197, 94, 0.25); }
.conn[data-live="false"] .dot { background: #ef4444; box-shadow: 0 0 0 3px rgba(239, 68, 68, 0.25); }
.conn[data-live="paused"] .dot { background: #f59e0b; }
.grid {
  display: grid; gap: 16px; padding: 16px 20px; max-width: 1280px; margin: 0 auto;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 330px), 1fr));
}
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: var(--radius);
  padding: 16px; min-width: 0; box-shadow: 0 1px 2px rgba(16, 24, 40, 0.04);
}
.wide { grid-column: 1 / -1; }
.card-head { display: flex; flex-wrap: wrap; gap: 8px; align-items: baseline; justify-content: space-between; margin-bottom: 12px; }
h2 { font-size: 13px; margin: 0; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); font-weight: 650; }
.meta { color: var(--muted); font-size: 12.5px; margin: 0; }
.badge {
  font: 600 12px/1 var(--mono); padding: 5px 9px; border-radius: 999px;
  background: var(--off); color: var(--muted);
}
.badge[data-tone="ok"] { background: var(--ok-soft); color: var(--ok); }
.badge[data-tone="warn"] { background: var(--warn-soft); color: var(--warn); }
.badge[data-tone="bad"] { background: var(--bad-soft); color: var(--bad); }
.badge[data-tone="info"] { background: var(--info-soft); color: var(--info); }
.tiles {
  list-style: none; margin: 0 0 12px; padding: 0; display: grid; gap: 8px;
  grid-template-columns: repeat(auto-fill, minmax(148px, 1fr));
}
.tile {
  display: flex; flex-direction: column; gap: 3px; padding: 12px; border-radius: 8px;
  background: var(--off); color: var(--off-ink); border: 1px solid transparent;
  transition: background-color 0.2s, color 0.2s;
}
.tile-name { font: 650 13px/1.2 var(--mono); letter-spacing: 0.02em; overflow-wrap: anywhere; }
.tile-hint { font-size: 12px; }
.tile[data-active="true"] {
  background: var(--ok); color: #ffffff; border-color: #166534;
  box-shadow: 0 2px 8px rgba(21, 128, 61, 0.3);
}
.rate { margin-bottom: 14px; }
.rate-head { display: flex; justify-content: space-between; gap: 8px; font-weight: 550; }
.rate-value { font: 600 14px var(--mono); }
.rate-foot { color: var(--muted); font-size: 12px; margin-top: 4px; }
.bar { position: relative; height: 8px; border-radius: 4px; background: var(--off); margin-top: 6px; overflow: visible; }
.bar .fill { position: absolute; left: 0; top: 0; bottom: 0; width: 0; border-radius: 4px; background: var(--ok); transition: width 0.3s; }
.bar .limit { position: absolute; top: -4px; bottom: -4px; width: 2px; left: 50%; background: var(--ink); border-radius: 1px; }
.rate[data-level="warn"] .fill { background: #d97706; }
.rate[data-level="bad"] .fill { background: #dc2626; }
.rate[data-level="bad"] .rate-value { color: var(--bad); }
.rate[data-level="none"] .rate-value { color: var(--muted); font-weight: 500; }
.stats { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 10px; margin: 0; }
.stats.big { grid-template-columns: repeat(2, minmax(0, 1fr)); }
.stats div {
  display: flex; flex-direction: column; justify-content: space-between; gap: 2px;
  background: #f8fafc; border: 1px solid var(--line); border-radius: 8px; padding: 9px 11px; min-width: 0;
}
.stats dt { color: var(--muted); font-size: 12px; }
.stats dd { margin: 2px 0 0; font: 600 17px/1.25 var(--mono); overflow-wrap: anywhere; }
.stats.big dd { font-size: 22px; }
.stats dd[data-tone="warn"] { color: var(--warn); }
.stats dd[data-tone="bad"] { color: var(--bad); }
.error-text { color: var(--bad); margin-top: 10px; overflow-wrap: anywhere; }
.token label { display: block; font-weight: 550; margin-bottom: 6px; }
.token-row { display: flex; gap: 8px; }
.token input {
  flex: 1; min-width: 0; font: 14px var(--mono); padding: 8px 10px; border-radius: 7px;
  border: 1px solid #cbd2d9; background: #fff; color: var(--ink);
}
.token input:focus { outline: 2px solid #93c5fd; outline-offset: 1px; border-color: #3b82f6; }
.token input[aria-invalid="true"] { border-color: #dc2626; }
.token .meta { margin-top: 6px; }
.actions { display: grid; grid-template-columns: repeat(auto-fit, minmax(128px, 1fr)); gap: 8px; margin: 14px 0 12px; }
.btn {
  font: 600 13.5px/1 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; padding: 10px 12px;
  border-radius: 7px; border: 1px solid #cbd2d9; background: #fff; color: var(--ink); cursor: pointer;
  min-height: 40px;
}
.btn:hover { background: #f3f4f6; }
.btn:focus-visible { outline: 2px solid #3b82f6; outline-offset: 2px; }
.btn:disabled { opacity: 0.55; cursor: progress; }
.btn-danger { color: #fff; background: #dc2626; border-color: #b91c1c; }
.btn-danger:hover { background: #b91c1c; }
.btn-warn { color: #fff; background: #d97706; border-color: #b45309; }
.btn-warn:hover { background: #b45309; }
.btn-primary { color: #fff; background: #15803d; border-color: #166534; }
.btn-primary:hover { background: #166534; }
.btn[aria-pressed="true"] { box-shadow: inset 0 0 0 2px rgba(0, 0, 0, 0.25); }
.message {
  border-radius: 8px; padding: 10px 12px; font-size: 13.5px; border: 1px solid var(--line);
  background: #f8fafc; color: var(--muted); overflow-wrap: anywhere; min-height: 42px;
}
.message[data-kind="ok"] { background: var(--ok-soft); border-color: #86efac; color: #14532d; }
.message[data-kind="error"] { background: var(--bad-soft); border-color: #fca5a5; color: #7f1d1d; }
.message[data-kind="info"] { background: var(--info-soft); border-color: #93c5fd; color: #1e3a8a; }
.message-time { font-family: var(--mono); font-size: 12px; margin-right: 8px; opacity: 0.8; }
.message-time:empty { display: none; }
.table-wrap { overflow-x: auto; -webkit-overflow-scrolling: touch; }
.events { width: 100%; border-collapse: collapse; font-size: 13px; }
.events th { text-align: left; color: var(--muted); font-weight: 600; font-size: 12px; padding: 6px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
.events td { padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
.events tr:last-child td { border-bottom: 0; }
.events td.time, .events td.state { font-family: var(--mono); font-size: 12.5px; white-space: nowrap; }
.events td.detail { overflow-wrap: anywhere; min-width: 180px; }
.events .empty td { color: var(--muted); text-align: center; padding: 18px; }
.chip { font: 600 11.5px/1 var(--mono); padding: 4px 7px; border-radius: 5px; background: var(--off); color: var(--muted); white-space: nowrap; }
.chip[data-tone="ok"] { background: var(--ok-soft); color: var(--ok); }
.chip[data-tone="warn"] { background: var(--warn-soft); color: var(--warn); }
.chip[data-tone="bad"] { background: var(--bad-soft); color: var(--bad); }
.chip[data-tone="info"] { background: var(--info-soft); color: var(--info); }
.foot {
  display: flex; flex-wrap: wrap; gap: 8px; justify-content: space-between; max-width: 1280px;
  margin: 0 auto; padding: 4px 20px 24px; color: var(--muted); font-size: 12.5px;
}
.foot a { color: var(--info); }
@media (max-width: 520px) {
  .top { padding: 12px 14px; }
  .grid { padding: 12px; gap: 12px; }
  .card { padding: 14px; }
  .tiles { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .actions { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .actions .btn-primary { grid-column: 1 / -1; }
  .tile:last-child:nth-child(odd) { grid-column: 1 / -1; }
  .stats { gap: 8px; }
  .stats div { padding: 8px 9px; }
  .stats dd { font-size: 15px; }
  .events thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  .events tr { display: grid; grid-template-columns: auto auto 1fr; align-items: center; gap: 6px 10px; padding: 9px 2px; border-bottom: 1px solid var(--line); }
  .events tr:last-child { border-bottom: 0; }
  .events td { display: block; padding: 0; border: 0; }
  .events td.state { text-align: right; overflow-wrap: anywhere; white-space: normal; }
  .events td.detail { grid-column: 1 / -1; min-width: 0; }
  .events td.detail:empty { display: none; }
  .events .empty { display: block; }
  .foot { padding: 4px 14px 20px; }
}
`;

// Plain browser JavaScript; it never uses innerHTML: every server string goes in via textContent.
const SCRIPT = `
(function () {
  "use strict";
  var body = document.body;
  var NAME = body.dataset.breaker;
  var POLL_MS = Math.max(1000, Number(body.dataset.pollMs) || 1000);
  var BASE = "circuit-breaker/" + encodeURIComponent(NAME);
  var TOKEN_KEY = "payment-ingest.operator.adminToken";
  var TONES = {
    CLOSED: "ok", OPEN: "bad", HALF_OPEN: "warn", DISABLED: "info", METRICS_ONLY: "info",
    FORCED_OPEN: "bad", FORCED_HALF_OPEN: "warn"
  };
  var EVENT_TONES = {
    STATE_TRANSITION: "info", SUCCESS: "ok", ERROR: "bad", IGNORED_ERROR: "warn",
    NOT_PERMITTED: "warn", FAILURE_RATE_EXCEEDED: "bad", SLOW_CALL_RATE_EXCEEDED: "bad", RESET: "info"
  };

  function $(id) { return document.getElementById(id); }
  function setText(id, text) { $(id).textContent = text; }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(ms) {
    var d = new Date(ms);
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  function isoOf(ms) { try { return new Date(ms).toISOString(); } catch (e) { return ""; } }
  function num(v) { return typeof v === "number" && isFinite(v) ? v.toLocaleString("en-US") : "—"; }
  function pct(v) { return (Math.round(v * 10) / 10).toFixed(1) + " %"; }
  function duration(seconds) {
    if (typeof seconds !== "number" || !isFinite(seconds)) return "—";
    var s = Math.max(0, seconds);
    if (s < 10) return (Math.round(s * 10) / 10).toFixed(1) + " s";
    if (s < 60) return Math.round(s) + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " m " + pad(Math.floor(s % 60)) + " s";
    var h = Math.floor(m / 60);
    if (h < 48) return h + " h " + pad(m % 60) + " m";
    return Math.floor(h / 24) + " d " + (h % 24) + " h";
  }

  var conn = $("conn");
  function setConn(live, text) { conn.dataset.live = live; setText("conn-text", text); }

  function say(kind, text) {
    var box = $("message");
    box.dataset.kind = kind;
    setText("message-time", clock(Date.now()));
    setText("message-text", text);
  }

  // --- rendering ---------------------------------------------------------------------------
  var tiles = Array.prototype.slice.call(document.querySelectorAll(".tile"));
  var buttons = Array.prototype.slice.call(document.querySelectorAll("[data-target]"));

  function renderRate(id, valueId, footId, rate, threshold, extra) {
    var box = $(id);
    var fill = box.querySelector(".fill");
    var limit = box.querySelector(".limit");
    var t = typeof threshold === "number" ? threshold : null;
    limit.style.left = (t === null ? 100 : Math.min(100, Math.max(0, t))) + "%";
    if (typeof rate !== "number") {
      box.dataset.level = "none";
      fill.style.width = "0";
      setText(valueId, "not enough calls");
    } else {
      box.dataset.level = t !== null && rate >= t ? "bad" : t !== null && rate >= t * 0.6 ? "warn" : "ok";
      fill.style.width = Math.min(100, Math.max(0, rate)) + "%";
      setText(valueId, pct(rate));
    }
    setText(footId, "threshold " + (t === null ? "—" : pct(t)) + (extra ? " · " + extra : ""));
  }

  function renderSnapshot(s) {
    if (!s || typeof s.state !== "string") return;
    tiles.forEach(function (tile) {
      var on = tile.dataset.state === s.state;
      tile.dataset.active = on ? "true" : "false";
      tile.setAttribute("aria-current", on ? "true" : "false");
    });
    buttons.forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.target === s.state ? "true" : "false");
    });
    var badge = $("state-badge");
    badge.textContent = s.state;
    badge.dataset.tone = TONES[s.state] || "none";

    var now = Date.now();
    var parts = [];
    if (typeof s.stateSince === "number") {
      parts.push("In " + s.state + " since " + clock(s.stateSince) + " (" +
        duration((now - s.stateSince) / 1000) + ")");
    }
    if (s.state === "OPEN" && typeof s.retryAfterMs === "number") {
      parts.push("half-open in " + duration(s.retryAfterMs / 1000));
    }
    if (typeof s.ttlExpiresAt === "number") {
      parts.push("returns to CLOSED in " + duration((s.ttlExpiresAt - now) / 1000));
    }
    if (s.consecutiveOpenings > 0) parts.push("openings since last CLOSED: " + s.consecutiveOpenings);
    setText("state-meta", parts.join(" · ") || "—");

    var c = s.config || {};
    var min = c.minimumNumberOfCalls;
    var unrecorded = s.state === "FORCED_OPEN" || s.state === "DISABLED";
    var needMore = unrecorded ? "no window in " + s.state
      : typeof min === "number" && typeof s.bufferedCalls === "number" && s.bufferedCalls < min
      ? "needs " + num(min) + " calls, has " + num(s.bufferedCalls) : "";
    renderRate("rate-failure", "failure-rate", "failure-threshold", s.failureRate,
      c.failureRateThreshold, needMore || (num(s.failedCalls) + " failed in window"));
    renderRate("rate-slow", "slow-rate", "slow-threshold", s.slowCallRate,
      c.slowCallRateThreshold, "slow = over " + num(c.slowCallDurationThreshold) + " ms");
    setText("not-permitted", num(s.notPermittedCalls));
    $("not-permitted").dataset.tone = s.notPermittedCalls > 0 ? "warn" : "";
    setText("buffered", num(s.bufferedCalls) + (typeof c.slidingWindowSize === "number"
      ? " / " + num(c.slidingWindowSize) : ""));
    setText("trials", num(s.halfOpenTrialsInFlight) +
      (typeof c.permittedNumberOfCallsInHalfOpenState === "number"
        ? " / " + num(c.permittedNumberOfCallsInHalfOpenState) : ""));
    var wt = c.slidingWindowType === "TIME_BASED" ? "last " + num(c.slidingWindowSize) + " s"
      : typeof c.slidingWindowSize === "number" ? "last " + num(c.slidingWindowSize) + " calls" : "";
    setText("window-meta", wt ? "window: " + wt : "");
  }

  function renderOutbox(o) {
    if (!o) return;
    setText("outbox-pending", num(o.pending));
    $("outbox-pending").dataset.tone = o.pending > 0 ? "warn" : "";
    setText("outbox-oldest", o.oldestPendingAgeSeconds === null ? "none" : duration(o.oldestPendingAgeSeconds));
    $("outbox-oldest").dataset.tone = o.oldestPendingAgeSeconds > 60 ? "bad"
      : o.oldestPendingAgeSeconds > 5 ? "warn" : "";
    setText("outbox-dead", num(o.deadLettered));
    $("outbox-dead").dataset.tone = o.deadLettered > 0 ? "bad" : "";
    setText("outbox-published", num(o.publishedApprox));
    var r = o.relay || {};
    setText("relay-meta", "relay " + (r.running ? "running" : "stopped") +
      (r.running ? (r.leader ? " · leader" : " · standby") : ""));
    var err = $("relay-error");
    err.hidden = !r.lastError;
    err.textContent = r.lastError ? "Relay error: " + r.lastError : "";
  }

  function eventDetail(e) {
    var bits = [];
    switch (e.type) {
      case "STATE_TRANSITION":
        bits.push(String(e.from) + " → " + String(e.to));
        if (e.reason) bits.push(String(e.reason));
        if (e.operator) bits.push("by operator");
        break;
      case "ERROR":
      case "IGNORED_ERROR":
        if (e.errorMessage) bits.push(String(e.errorMessage));
        if (typeof e.durationMs === "number") bits.push(num(Math.round(e.durationMs)) + " ms");
        if (e.slow) bits.push("slow");
        break;
      case "SUCCESS":
        if (typeof e.durationMs === "number") bits.push(num(Math.round(e.durationMs)) + " ms");
        if (e.slow) bits.push("slow");
        break;
      case "NOT_PERMITTED":
        bits.push("call rejected");
        if (typeof e.retryAfterMs === "number") bits.push("retry after " + duration(e.retryAfterMs / 1000));
        break;
      case "FAILURE_RATE_EXCEEDED":
      case "SLOW_CALL_RATE_EXCEEDED":
        if (typeof e.rate === "number") bits.push(pct(e.rate));
        break;
    }
    if (e.late) bits.push("late result");
    return bits.join(" · ");
  }

  var lastEventsKey = null;
  function renderEvents(list) {
    if (!Array.isArray(list)) return;
    var key = list.map(function (e) { return e && e.seq; }).join(",");
    if (key === lastEventsKey) return;
    lastEventsKey = key;
    var tbody = $("events");
    var rows = [];
    list.slice().reverse().forEach(function (e) {
      if (!e || typeof e !== "object") return;
      var tr = document.createElement("tr");
      var time = document.createElement("td");
      time.className = "time";
      time.textContent = typeof e.at === "number" ? clock(e.at) : "—";
      time.title = typeof e.at === "number" ? isoOf(e.at) : "";
      var type = document.createElement("td");
      var chip = document.createElement("span");
      chip.className = "chip";
      chip.dataset.tone = EVENT_TONES[e.type] || "none";
      chip.textContent = String(e.type);
      type.appendChild(chip);
      var state = document.createElement("td");
      state.className = "state";
      state.textContent = String(e.state || "");
      var detail = document.createElement("td");
      detail.className = "detail";
      detail.textContent = eventDetail(e);
      tr.append(time, type, state, detail);
      rows.push(tr);
    });
    if (rows.length === 0) {
      var tr = document.createElement("tr");
      tr.className = "empty";
      var td = document.createElement("td");
      td.colSpan = 4;
      td.textContent = "No events yet.";
      tr.appendChild(td);
      rows.push(tr);
    }
    tbody.replaceChildren.apply(tbody, rows);
  }

  // --- polling: one round of requests at a time, rounds start at least POLL_MS apart ---------
  function getJson(path) {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, 5000);
    return fetch(path, { headers: { accept: "application/json" }, cache: "no-store", signal: ctl.signal })
      .then(function (res) {
        if (!res.ok) throw new Error(path.split("?")[0] + " answered " + res.status);
        return res.json();
      })
      .finally(function () { clearTimeout(timer); });
  }

  var timer = null;
  var busy = false;
  var lastStart = 0;
  var failures = 0;

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (document.hidden) { setConn("paused", "paused while hidden"); return; }
    var backoff = failures > 0 ? Math.min(10000, POLL_MS * Math.pow(2, failures - 1)) : POLL_MS;
    timer = setTimeout(poll, Math.max(0, lastStart + backoff - performance.now()));
  }

  function poll() {
    if (busy) return;
    // Timers may fire a little early; the promise is at most one poll per second.
    if (lastStart > 0 && performance.now() - lastStart < POLL_MS) { schedule(); return; }
    busy = true;
    lastStart = performance.now();
    Promise.allSettled([
      getJson(BASE),
      getJson(BASE + "/events?limit=20"),
      getJson("outbox")
    ]).then(function (r) {
      if (r[0].status === "fulfilled") renderSnapshot(r[0].value);
      if (r[1].status === "fulfilled") renderEvents(r[1].value && r[1].value.events);
      if (r[2].status === "fulfilled") renderOutbox(r[2].value);
      var failed = r.filter(function (x) { return x.status === "rejected"; });
      if (failed.length === 0) {
        failures = 0;
        setConn("true", "live");
        setText("updated", "updated " + clock(Date.now()));
      } else if (failed.length < r.length) {
        failures = 0;
        setConn("true", "live, partial: " + String(failed[0].reason && failed[0].reason.message));
        setText("updated", "updated " + clock(Date.now()));
      } else {
        failures++;
        setConn("false", "service unreachable, retrying");
      }
    }).finally(function () {
      busy = false;
      schedule();
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !busy) schedule();
    if (document.hidden) { clearTimeout(timer); setConn("paused", "paused while hidden"); }
  });

  // --- operator transitions -------------------------------------------------------------------
  var tokenInput = $("token");
  try { tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { /* storage blocked */ }
  tokenInput.addEventListener("input", function () {
    tokenInput.removeAttribute("aria-invalid");
    try {
      if (tokenInput.value) sessionStorage.setItem(TOKEN_KEY, tokenInput.value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage blocked: the token lives in the input only */ }
  });
  $("forget-token").addEventListener("click", function () {
    tokenInput.value = "";
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
    say("info", "Admin token forgotten for this tab.");
  });
  $("token-form").addEventListener("submit", function (ev) { ev.preventDefault(); });

  function problemText(res, p) {
    var title = p && typeof p.title === "string" ? p.title : res.statusText || "Error";
    var detail = p && typeof p.detail === "string" ? p.detail : "";
    return res.status + " " + title + (detail ? ": " + detail : "");
  }

  function setState(target) {
    var token = tokenInput.value.trim();
    if (!token) {
      say("error", "Enter the admin token first.");
      tokenInput.setAttribute("aria-invalid", "true");
      tokenInput.focus();
      return;
    }
    buttons.forEach(function (b) { b.disabled = true; });
    say("info", "Setting " + NAME + " to " + target + "…");
    fetch(BASE + "/state", {
      method: "POST",
      cache: "no-store",
      headers: {
        "content-type": "application/json",
        accept: "application/json, application/problem+json",
        authorization: "Bearer " + token
      },
      body: JSON.stringify({ state: target, reason: "operator page" })
    }).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (res.ok) {
          tokenInput.removeAttribute("aria-invalid");
          renderSnapshot(data);
          say("ok", NAME + " is now " + (data && data.state ? data.state : target) + ".");
        } else if (res.status === 409) {
          var allowed = data && Array.isArray(data.allowed) ? data.allowed.map(String) : [];
          say("error", problemText(res, data) + " Allowed targets" +
            (data && data.from ? " from " + String(data.from) : "") + ": " +
            (allowed.length ? allowed.join(", ") : "none") + ".");
        } else if (res.status === 401 || res.status === 403) {
          tokenInput.setAttribute("aria-invalid", "true");
          say("error", problemText(res, data) + " The state was not changed.");
        } else {
          say("error", problemText(res, data));
        }
      });
    }).catch(function (e) {
      say("error", "Request failed, the state may not have changed: " + String(e && e.message || e));
    }).finally(function () {
      buttons.forEach(function (b) { b.disabled = false; });
    });
  }

  buttons.forEach(function (b) {
    b.addEventListener("click", function () { setState(b.dataset.target); });
  });

  poll();
})();
`;
