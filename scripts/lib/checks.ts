/**
 * What every fault case checks after its fault: the outbox drains, every acknowledged event is
 * in the topic (independent consumer, fresh group, from the beginning), per-payment order of
 * first copies matches acceptance order, duplicates are counted; and reconcile() agrees.
 */
import type { Db } from "../../src/outbox/db.ts";
import { compareRecords, countInversions } from "../../src/reconcile/compare.ts";
import { reconcile, type ReconcileReport } from "../../src/reconcile/reconcile.ts";
import { readTopic } from "../../src/kafka/topic_reader.ts";
import type { LoadResult } from "./load.ts";
import { sleep } from "./util.ts";

/** One breaker transition seen on one instance. */
export interface Transition {
  instance: string;
  seq: number;
  at: number;
  from: string;
  to: string;
  reason: string | null;
}

/** Polls GET /circuit-breaker/kafka-publisher/events?type=STATE_TRANSITION on every target. */
export function watchTransitions(targets: () => string[], intervalMs = 300) {
  const seen = new Map<string, Transition>();
  let running = true;
  const poll = async () => {
    for (const base of targets()) {
      try {
        const res = await fetch(
          `${base}/circuit-breaker/kafka-publisher/events?type=STATE_TRANSITION&limit=1000`,
          { signal: AbortSignal.timeout(2000) },
        );
        if (!res.ok) {
          await res.body?.cancel();
          continue;
        }
        const body = await res.json() as {
          events: { seq: number; at: number; from: string; to: string; reason: string | null }[];
        };
        for (const e of body.events) {
          seen.set(`${base}#${e.seq}#${e.at}`, {
            instance: base,
            seq: e.seq,
            at: e.at,
            from: e.from,
            to: e.to,
            reason: e.reason,
          });
        }
      } catch { /* the instance is down or restarting */ }
    }
  };
  const loop = (async () => {
    while (running) {
      await poll();
      await sleep(intervalMs);
    }
  })();
  return {
    /** Transitions so far, oldest first. */
    list: () => [...seen.values()].sort((a, b) => a.at - b.at || a.seq - b.seq),
    poll,
    async stop(): Promise<Transition[]> {
      running = false;
      await loop;
      await poll();
      return [...seen.values()].sort((a, b) => a.at - b.at || a.seq - b.seq);
    },
  };
}

const ABBREV: Record<string, string> = {
  CLOSED: "C",
  OPEN: "O",
  HALF_OPEN: "H",
  FORCED_OPEN: "FO",
  FORCED_HALF_OPEN: "FH",
  DISABLED: "D",
  METRICS_ONLY: "M",
};

/**
 * "9: C>(O>H)x4>C": the count, then the chain per instance (" | " between instances, " / "
 * where a restarted instance starts a new chain), repeated O>H cycles folded.
 */
export function describeTransitions(ts: Transition[]): string {
  if (ts.length === 0) return "0";
  const name = (s: string) => ABBREV[s] ?? s;
  const by = new Map<string, Transition[]>();
  for (const t of ts) by.set(t.instance, [...(by.get(t.instance) ?? []), t]);
  const chains = [...by.values()].map((list) => {
    let chain = name(list[0]!.from);
    list.forEach((t, i) => {
      if (i > 0 && t.from !== list[i - 1]!.to) chain += ` / ${name(t.from)}`;
      chain += `>${name(t.to)}`;
    });
    return chain.replace(/((?:>O>H){2,})/g, (m) => `>(O>H)x${m.length / 4}`);
  });
  return `${ts.length}: ${chains.join(" | ")}`;
}

/** Waits until the outbox has no PENDING row; returns the count left. */
export async function waitDrained(db: Db, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let pending = -1;
  while (Date.now() < deadline) {
    try {
      const [r] = await db.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM outbox WHERE status = 'PENDING'",
      );
      pending = Number(r?.n ?? 0);
      if (pending === 0) return 0;
    } catch { /* the table may not exist yet, or Postgres is restarting */ }
    await sleep(250);
  }
  return pending;
}

/** The figures one case reports. */
export interface Verdict {
  acknowledged: number;
  foundInKafka: number;
  lost: number;
  lostIds: string[];
  duplicates: number;
  orderViolations: number;
  orderDetails: string[];
  /** Acknowledged ids that are not in the outbox table (a 2xx for an uncommitted event). */
  ackedNotInOutbox: number;
  pendingLeft: number;
  reconcile: ReconcileReport;
}

/** Runs the checks for one case. */
export async function verify(opts: {
  db: Db;
  brokers: string[];
  topic: string;
  load: LoadResult;
  since: Date;
  drainTimeoutMs?: number;
}): Promise<Verdict> {
  const { db, load } = opts;
  const pendingLeft = await waitDrained(db, opts.drainTimeoutMs ?? 60_000);
  const ackedIds = [...load.acked.keys()];
  const stored = new Set<string>();
  for (let i = 0; i < ackedIds.length; i += 5000) {
    const rows = await db.query<{ id: string }>(
      "SELECT id::text AS id FROM outbox WHERE id = ANY($1::uuid[])",
      [ackedIds.slice(i, i + 5000)],
    );
    for (const r of rows) stored.add(r.id);
  }
  const slice = await readTopic({ brokers: opts.brokers, topic: opts.topic, timeoutMs: 60_000 });
  const records = [...slice.records].sort(compareRecords);
  const copies = new Map<string, number>();
  const firstAt = new Map<string, number>();
  records.forEach((r, i) => {
    copies.set(r.eventId, (copies.get(r.eventId) ?? 0) + 1);
    if (!firstAt.has(r.eventId)) firstAt.set(r.eventId, i);
  });
  const lostIds = ackedIds.filter((id) => !copies.has(id));
  let duplicates = 0;
  for (const n of copies.values()) duplicates += n - 1;
  let orderViolations = 0;
  const orderDetails: string[] = [];
  for (const [key, order] of load.ackOrder) {
    const present = order.filter((id) => firstAt.has(id));
    const rank = new Map(present.map((id, i) => [id, i]));
    const seen = [...present].sort((a, b) => firstAt.get(a)! - firstAt.get(b)!);
    const inv = countInversions(seen.map((id) => rank.get(id)!));
    if (inv > 0) {
      orderViolations += inv;
      if (orderDetails.length < 5) orderDetails.push(`${key}: ${inv} inversions`);
    }
  }
  const report = await reconcile(db, {
    brokers: opts.brokers,
    topic: opts.topic,
    since: opts.since,
    until: new Date(Date.now() + 60_000),
    fromBeginning: true,
  });
  return {
    acknowledged: ackedIds.length,
    foundInKafka: ackedIds.length - lostIds.length,
    lost: lostIds.length,
    lostIds: lostIds.slice(0, 10),
    duplicates,
    orderViolations,
    orderDetails,
    ackedNotInOutbox: ackedIds.length - stored.size,
    pendingLeft,
    reconcile: report,
  };
}
