// @ts-check
/**
 * The JSON the operator page reads, typed by the server's own definitions so `deno check` fails
 * when an API shape changes under the page. Types only: the browser never loads those modules.
 *
 * The page's modules reference the DOM lib, which would leak into every file of the same
 * type-checking program (Deno's and the DOM's stream types disagree), so `deno task check` checks
 * `src/http/page/` as a program of its own and the server's `.ts` files without it.
 * @module
 */

/** @typedef {import("../../breaker/circuit_breaker.ts").BreakerSnapshot} BreakerSnapshot */
/** @typedef {import("../../breaker/events.ts").BreakerEvent} BreakerEvent */
/** @typedef {import("../../breaker/states.ts").BreakerState} BreakerState */
/**
 * @typedef {import("../../outbox/repository.ts").OutboxStats & {
 *   relay: import("../../outbox/relay.ts").RelayStatus
 * }} OutboxView
 */
/** @typedef {import("../../settlement/statements.ts").Statement} SettlementStatement */
/** @typedef {import("../../metrics/chart_history.ts").ChartSample} ChartSample */
/** @typedef {import("../../metrics/chart_history.ts").ChartHistoryView} ChartHistoryView */
/**
 * `GET /circuit-breaker`: every breaker, and whether operator transitions are enabled.
 * @typedef {{
 *   circuitBreakers: BreakerSnapshot[],
 *   admin: { enabled: boolean, howToEnable?: string },
 * }} BreakerList
 */
/**
 * The settlement process's `GET /settlements/summary`, passed on by `GET /settlement/summary`
 * (settlement_app.ts builds it inline; keep the two in step).
 * @typedef {{
 *   today: string,
 *   statements: SettlementStatement[],
 *   lastClose: { day: string, closedAt: string, reconciled: boolean, differences: number } | null,
 *   exceptionsToday: number,
 * }} SettlementSummary
 */

export {};
