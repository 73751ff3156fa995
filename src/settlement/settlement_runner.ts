/**
 * The settlement process's background work around the consumer: applying batches (with their
 * metrics), a periodic tick that refreshes lag and held counts, turns over-long holds into
 * exceptions, and closes business days on schedule (one instance at a time, by leadership).
 */
import { errorMessage } from "../error_message.ts";
import type { Logger } from "../log.ts";
import { createOutageLog, type OutageLog } from "../outage_log.ts";
import type { Db } from "../outbox/db.ts";
import { addDays, type BusinessCalendar, businessDayOf, dayBounds } from "./business_day.ts";
import { closeDay, type CloseResult } from "./close.ts";
import type { LedgerConsumer } from "./ledger_consumer.ts";
import { applyBatch, expireHeld, type RawRecord } from "./ledger_store.ts";
import type { SettlementMetrics } from "./settlement_metrics.ts";
import type { ReconciliationReport } from "./three_way.ts";

/** How often lag, held events, hold expiry and the close schedule are looked at. */
export const TICK_MS = 5000;
/** The scheduler closes at most this many past days that were never closed. */
export const CLOSE_LOOKBACK_DAYS = 7;

/** What the runner needs. */
export interface RunnerDeps {
  db: Db;
  consumer: LedgerConsumer;
  metrics: SettlementMetrics;
  logger: Logger;
  topic: string;
  calendar: BusinessCalendar;
  holdLimitMs: number;
  closeGraceMs: number;
  scheduleClose: boolean;
  reconcile: (day: string) => Promise<ReconciliationReport>;
  now?: () => number;
}

/** Applies batches and runs the periodic tick. */
export interface Runner {
  handleBatch(partition: number, records: RawRecord[]): Promise<void>;
  /** Closes `day` now (the admin route and the schedule); records metrics. */
  close(day: string): Promise<CloseResult>;
  start(): void;
  stop(): Promise<void>;
}

/** Creates the runner. */
export function createRunner(deps: RunnerDeps): Runner {
  const now = deps.now ?? Date.now;
  const { db, metrics, logger } = deps;
  let caughtUpAt = now();
  let timer: ReturnType<typeof setInterval> | undefined;
  let ticking: Promise<void> = Promise.resolve();
  // A step fails every tick while Kafka or Postgres is away (the lag step until the topic exists,
  // on a fresh stack): an info line, and a warning only once it has lasted (outage_log.ts).
  const outages = new Map<string, OutageLog>();

  async function handleBatch(partition: number, records: RawRecord[]) {
    try {
      const r = await db.transaction((tx) =>
        applyBatch(tx, partition, records, {
          topic: deps.topic,
          calendar: deps.calendar,
          now,
        })
      );
      for (const [type, n] of r.appliedByType) metrics.applied(type, n);
      if (r.duplicates > 0) metrics.duplicates(r.duplicates);
      for (const rule of r.exceptions) metrics.exception(rule);
      if (r.exceptions.length > 0) {
        logger.warn("settlement recorded exceptions", { partition, rules: r.exceptions });
      }
    } catch (e) {
      metrics.batchFailed();
      logger.warn("settlement batch rolled back; Kafka delivers it again", {
        partition,
        error: errorMessage(e),
      });
      throw e;
    }
  }

  async function close(day: string): Promise<CloseResult> {
    const r = await closeDay(db, day, { calendar: deps.calendar, reconcile: deps.reconcile, now });
    if (!r.alreadyClosed) {
      metrics.closed(Date.parse(r.closedAt), r.differences);
      const fields = {
        day,
        statements: r.statements.length,
        reconciled: r.reconciled,
        differences: r.differences,
        ...r.timings,
      };
      if (r.reconciled) logger.info("business day closed", fields);
      else logger.warn("business day closed with reconciliation differences", fields);
    }
    return r;
  }

  async function refreshLag() {
    const [marks, rows, held] = await Promise.all([
      deps.consumer.highWatermarks().catch((e) => {
        // Kafka unreachable: the lag cannot be read, so the ledger is not known to be caught up
        // and the lag in seconds keeps growing (SettlementLagHigh can fire).
        metrics.setLag(NaN, (now() - caughtUpAt) / 1000);
        throw e;
      }),
      db.query<{ partition: number; next_offset: string }>(
        "SELECT partition, next_offset::text FROM settlement_offsets WHERE topic = $1",
        [deps.topic],
      ),
      db.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM settlement_events WHERE disposition = 'HELD'",
      ),
    ]);
    const stored = new Map(rows.map((r) => [Number(r.partition), BigInt(r.next_offset)]));
    const reached = deps.consumer.reached();
    let lag = 0n;
    for (const [p, high] of marks) {
      const at = [stored.get(p) ?? 0n, reached.get(p) ?? 0n].reduce((a, b) => (a > b ? a : b));
      if (high > at) lag += high - at;
    }
    const t = now();
    if (lag === 0n) caughtUpAt = t;
    metrics.setLag(Number(lag), lag === 0n ? 0 : (t - caughtUpAt) / 1000);
    metrics.setHeld(Number(held[0]?.n ?? 0));
  }

  /**
   * The close gauges from the ledger itself, so every replica reports the same, a restart keeps
   * them, and closes made with the CLI count.
   */
  async function refreshCloses() {
    const [r] = await db.query<{ last: string | null; clean: string | null; diffs: number | null }>(
      `SELECT (SELECT extract(epoch FROM max(closed_at)) FROM settlement_days)::text AS last,
              (SELECT extract(epoch FROM max(closed_at)) FROM settlement_days
                WHERE reconciled)::text AS clean,
              (SELECT differences FROM settlement_days ORDER BY closed_at DESC LIMIT 1) AS diffs`,
    );
    metrics.setCloses({
      lastCloseS: r?.last ? Number(r.last) : 0,
      lastCleanCloseS: r?.clean ? Number(r.clean) : 0,
      differences: r?.diffs === null || r?.diffs === undefined ? null : Number(r.diffs),
    });
  }

  /** Closes every day whose close time (end + grace) has passed and that is still open. */
  async function closeDue() {
    const t = now();
    let due = businessDayOf(t, deps.calendar);
    while (dayBounds(due, deps.calendar).end + deps.closeGraceMs > t) due = addDays(due, -1);
    const [last] = await db.query<{ d: string | null; first: string | null }>(
      `SELECT (SELECT max(day)::text FROM settlement_days) AS d,
              (SELECT min(business_day)::text FROM settlement_events) AS first`,
    );
    if (!last?.first) return metrics.setOverdue(0);
    let from = last.d ? addDays(last.d, 1) : last.first;
    const floor = addDays(due, -(CLOSE_LOOKBACK_DAYS - 1));
    if (from < floor) from = floor;
    let overdue = 0;
    const lead = from <= due ? await db.tryLeadership("payment-settlement:closer") : null;
    try {
      for (let d = from; d <= due; d = addDays(d, 1)) {
        if (!lead) {
          overdue++;
          continue;
        }
        try {
          await close(d);
        } catch (e) {
          overdue++;
          logger.error("scheduled close failed", { day: d, error: errorMessage(e) });
        }
      }
    } finally {
      await lead?.release();
    }
    // Another instance holding the closer's lead is closing them; not overdue on its account.
    metrics.setOverdue(lead ? overdue : 0);
  }

  async function tick() {
    const steps: [string, () => Promise<unknown>][] = [
      ["lag", refreshLag],
      ["closes", refreshCloses],
      ["hold expiry", async () => {
        const rules = await db.transaction((tx) => expireHeld(tx, deps.holdLimitMs, now()));
        for (const r of rules) metrics.exception(r);
        if (rules.length > 0) logger.warn("held events expired into exceptions", { rules });
      }],
    ];
    if (deps.scheduleClose) steps.push(["scheduled close", closeDue]);
    for (const [name, step] of steps) {
      let outage = outages.get(name);
      if (!outage) {
        outages.set(name, outage = createOutageLog(logger, `settlement tick step ${name}`));
      }
      try {
        await step();
        outage.ok();
      } catch (e) {
        outage.failed(e);
      }
    }
  }

  return {
    handleBatch,
    close,
    start() {
      const run = () => (ticking = ticking.then(tick));
      run();
      timer = setInterval(run, TICK_MS);
    },
    async stop() {
      clearInterval(timer);
      await ticking;
    },
  };
}
