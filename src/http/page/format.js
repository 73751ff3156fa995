// @ts-check
/**
 * Text formatting for the operator page: clock times, counts, percentages, durations. No DOM, so
 * the unit tests run it in Deno.
 * @module
 */

/** Two digits, for clock times. */
export function pad(/** @type {number} */ n) {
  return (n < 10 ? "0" : "") + n;
}

/** Local wall-clock time `HH:MM:SS` of epoch milliseconds. */
export function clock(/** @type {number} */ ms) {
  const d = new Date(ms);
  return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
}

/** ISO time of epoch milliseconds, or "" for a value Date cannot show. */
export function isoOf(/** @type {number} */ ms) {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

/** A count with thousands separators, or "—" for anything that is not a finite number. */
export function num(/** @type {unknown} */ v) {
  return typeof v === "number" && Number.isFinite(v) ? v.toLocaleString("en-US") : "—";
}

/** A percentage with one decimal: `12.5 %`. */
export function pct(/** @type {number} */ v) {
  return (Math.round(v * 10) / 10).toFixed(1) + " %";
}

/** A human duration from seconds: `4.2 s`, `12 s`, `3 m 05 s`, `2 h 07 m`, `3 d 4 h`. */
export function duration(/** @type {unknown} */ seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, seconds);
  if (s < 10) return (Math.round(s * 10) / 10).toFixed(1) + " s";
  if (s < 60) return Math.round(s) + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + " m " + pad(Math.floor(s % 60)) + " s";
  const h = Math.floor(m / 60);
  if (h < 48) return h + " h " + pad(m % 60) + " m";
  return Math.floor(h / 24) + " d " + (h % 24) + " h";
}

/**
 * An amount in minor units, given as decimal text of any size, written with `digits` decimal
 * places and thousands separators: ("123456", 2) is "1,234.56", ("-5", 2) is "-0.05". Only the
 * text is cut: a float would round sums beyond 2^53. "—" for anything else.
 */
export function minorUnits(/** @type {unknown} */ amount, /** @type {unknown} */ digits) {
  if (typeof amount !== "string" || !/^-?[0-9]+$/.test(amount)) return "—";
  if (typeof digits !== "number" || !Number.isInteger(digits) || digits < 0 || digits > 18) {
    return "—";
  }
  const negative = amount.startsWith("-");
  const abs = amount.replace(/^-?0*/, "").padStart(digits + 1, "0");
  const whole = abs.slice(0, abs.length - digits).replace(/\B(?=([0-9]{3})+$)/g, ",");
  const text = digits === 0 ? whole : whole + "." + abs.slice(abs.length - digits);
  return negative && /[1-9]/.test(abs) ? "-" + text : text;
}

/** An ISO time as `YYYY-MM-DD HH:MM:SS UTC`, or "—" when it is not one. */
export function utcTime(/** @type {unknown} */ iso) {
  const ms = typeof iso === "string" ? Date.parse(iso) : Number.NaN;
  return Number.isNaN(ms) ? "—" : isoOf(ms).slice(0, 19).replace("T", " ") + " UTC";
}
