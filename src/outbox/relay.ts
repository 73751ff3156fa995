/**
 * The relay: publishes pending outbox rows in acceptance order through the breaker. One instance
 * at a time leads (a Postgres advisory lock), so several service instances can share one outbox
 * without publishing an event twice or out of order. In HALF_OPEN it is the breaker's probe.
 */
import { REFUSING_STATES } from "../breaker/states.ts";
import { errorMessage } from "../error_message.ts";
import type { Db, Leadership } from "./db.ts";
import { createRowPublisher, type RowPublisherOptions } from "./publish_rows.ts";
import { createRecovery } from "./recovery.ts";
import { abandonClaims, claimRows } from "./claims.ts";
import { DEFAULT_CLAIM_LEASE_MS, SERVICE_SETTINGS } from "../settings/service.ts";
import {
  markPublished,
  type OutboxRow,
  prunePublished,
  recordFailure,
  releaseClaims,
  scanPending,
} from "./repository.ts";

/** Options of the relay. */
export interface RelayOptions extends RowPublisherOptions {
  db: Db;
  batchSize?: number;
  pollIntervalMs?: number;
  /** Wait between attempts to become leader while another instance leads. */
  leaderRetryMs?: number;
  /** Published rows older than this are pruned; 0 keeps them forever. */
  retentionMs?: number;
  /** Called with the number of rows published by each successful batch. */
  onPublished?: (count: number) => void;
  /** Exactly-once: how long the relay's and recovery's claims keep others off the rows. */
  leaseMs?: number;
  /** Exactly-once: event ids committed to the topic from `sinceMs` to its end (recovery). */
  readCommitted?: (sinceMs: number) => Promise<Set<string>>;
  /** Exactly-once: told how many rows each recovery pass marked and released. */
  onRecovered?: (marked: number, released: number) => void;
}

/** What the relay is doing, for `GET /outbox` and tests. */
export interface RelayStatus {
  running: boolean;
  leader: boolean;
  lastBatchSize: number;
  lastError: string | null;
  publishedTotal: number;
}

/** A running relay. */
export interface Relay {
  /** Starts the loop; resolves at once. */
  start(): void;
  /** Asks the relay to look for work now (a new pending row was stored). */
  wake(): void;
  /** Stops the loop, waiting for the batch in flight; releases leadership. */
  stop(): Promise<void>;
  status(): RelayStatus;
}

const LEADER_KEY = "payment-ingest:outbox-relay";
const PROBE_STATES = new Set(["HALF_OPEN", "FORCED_HALF_OPEN"]);
const SCAN_RESTART_MS = 5000;
/** At-least-once: marks of published batches written while the relay goes on (markLater). */
const MARKS_IN_FLIGHT = 2;
/** Exactly-once: how often an instance looks for expired claims to recover. */
const RECOVERY_INTERVAL_MS = 1000;

/** Creates the relay; call `start()` to run it. */
export function createRelay(opts: RelayOptions): Relay {
  const { db, breaker, publisher, logger } = opts;
  const batchSize = opts.batchSize ?? SERVICE_SETTINGS.relayBatchSize.default;
  const pollMs = opts.pollIntervalMs ?? SERVICE_SETTINGS.relayPollIntervalMs.default;
  const publishRows = createRowPublisher(opts);
  const leaderRetryMs = opts.leaderRetryMs ?? 2000;
  const retentionMs = opts.retentionMs ?? 0;
  const tx = publisher.transactional;
  const leaseMs = opts.leaseMs ?? DEFAULT_CLAIM_LEASE_MS;
  // Every instance recovers, leader or not: a stalled leader must not hold recovery back.
  const recovery = tx
    ? createRecovery({
      db,
      transactional: tx,
      logger,
      leaseMs,
      readCommitted: opts.readCommitted ??
        (() => Promise.reject(new Error("exactly-once recovery needs readCommitted"))),
    })
    : null;
  let lastRecovery = 0;
  let running = false;
  let loop: Promise<void> | null = null;
  let leadership: Leadership | null = null;
  let wakeUp: (() => void) | null = null;
  let woken = false;
  let failures = 0;
  let lastPrune = 0;
  // Where the next batch continues the scan of pending rows ("0": from the start); see
  // scanPending. A scan starts over when it reaches the end, after a batch that did not go
  // out, and at least every SCAN_RESTART_MS, so rows it held back are not left behind.
  let cursor = "0";
  let scanStarted = 0;
  // Marks written while the next batch goes out (markLater).
  const marking = new Set<Promise<void>>();
  // Whether the current scan published anything: a scan that ends having published nothing
  // (every row held back by inline claims) waits a poll interval instead of starting over.
  let scanPublished = false;
  const status: RelayStatus = {
    running: false,
    leader: false,
    lastBatchSize: 0,
    lastError: null,
    publishedTotal: 0,
  };

  const unsubscribe = breaker.subscribe((e) => {
    if (e.type === "STATE_TRANSITION") wake();
  });

  function wake(): void {
    woken = true;
    wakeUp?.();
  }

  /** Sleeps until `ms` pass, the relay is woken or stopped. */
  function idle(ms: number): Promise<void> {
    if (woken || !running) {
      woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = null;
        woken = false;
        resolve();
      }
      wakeUp = done;
    });
  }

  async function lead(): Promise<boolean> {
    if (leadership) return true;
    // Advisory locks are per database; outboxes in other schemas have leaders of their own.
    leadership = await db.tryLeadership(`${LEADER_KEY}:${db.schema}`);
    if (!leadership) return false;
    status.leader = true;
    logger.info("outbox relay is the leader");
    const held = leadership;
    held.lost.then(() => {
      if (leadership === held) {
        leadership = null;
        status.leader = false;
        logger.warn("outbox relay lost leadership (database session ended)");
      }
    });
    return true;
  }

  async function publishBatch(found: OutboxRow[]): Promise<boolean> {
    // Exactly-once: the rows are claimed by the producer's transactional.id first; a row the
    // claim missed (taken meanwhile) would break per-key order if the rest went ahead.
    const owner = tx?.owner();
    let rows = found;
    if (owner) {
      const claimed = await claimRows(db, found.map((r) => r.seq), owner, leaseMs);
      if (claimed.length < found.length) {
        await releaseClaims(db, claimed, null, false, owner);
        return false;
      }
      rows = found.map((r) => ({ ...r, claimedBy: owner }));
    }
    const { published, unpublished, uncertain, failure } = await publishRows(rows);
    if (published.length > 0) {
      const marked = markPublished(db, published, owner).then(() => {
        status.publishedTotal += published.length;
        opts.onPublished?.(published.length);
      });
      if (owner) await marked;
      else await markLater(marked);
    }
    if (owner && uncertain.length > 0) {
      await abandonClaims(db, uncertain, owner, failure?.error ?? "");
      lastRecovery = 0;
    }
    if (!failure) {
      failures = 0;
      status.lastError = null;
      return true;
    }
    if (failure.notPermitted) {
      if (owner) await releaseClaims(db, unpublished, null, false, owner);
      return false;
    }
    failures++;
    status.lastError = failure.error;
    await recordFailure(db, unpublished, failure.error, owner);
    logger.warn("relay publish failed", {
      rows: unpublished.length + uncertain.length,
      error: failure.error,
    });
    return false;
  }

  /**
   * At-least-once: the next batch is looked up and sent while this one's mark is written (a
   * mark of 500 rows took 10-20 ms, now and then 100-200 ms behind a WAL flush, all of it idle
   * time for the drain when awaited). The scan goes on after the rows it has looked at, so rows
   * whose mark is on its way are not seen again; before a scan starts over from the beginning,
   * every mark has to be written (settleMarks). At most MARKS_IN_FLIGHT are outstanding. A failed
   * mark leaves its rows pending: they are published again, a duplicate, never a loss.
   */
  async function markLater(marked: Promise<void>): Promise<void> {
    const tracked = marked.catch((e) => {
      status.lastError = errorMessage(e);
      logger.warn("relay mark failed; the rows will be published again", {
        error: status.lastError,
      });
    }).finally(() => marking.delete(tracked));
    marking.add(tracked);
    while (marking.size > MARKS_IN_FLIGHT) await Promise.race(marking);
  }

  /** Waits until every mark started by markLater is written (or failed). */
  async function settleMarks(): Promise<void> {
    while (marking.size > 0) await Promise.allSettled([...marking]);
  }

  /** Exactly-once: settles expired claims (recovery.ts), at most once a second. */
  async function recover(): Promise<void> {
    if (!recovery || Date.now() - lastRecovery < RECOVERY_INTERVAL_MS) return;
    if (REFUSING_STATES.has(breaker.state)) return;
    lastRecovery = Date.now();
    try {
      const r = await recovery.run();
      if (r.marked + r.released > 0) opts.onRecovered?.(r.marked, r.released);
    } catch (e) {
      logger.warn("exactly-once recovery failed; it is tried again", { error: errorMessage(e) });
    }
  }

  async function tick(): Promise<void> {
    await recover();
    if (!await lead()) return await idle(recovery ? RECOVERY_INTERVAL_MS : leaderRetryMs);
    const state = breaker.state;
    if (REFUSING_STATES.has(state)) return await idle(Math.max(pollMs, 1000));
    const probing = PROBE_STATES.has(state);
    if (Date.now() - scanStarted > SCAN_RESTART_MS) cursor = "0";
    if (cursor === "0") {
      await settleMarks();
      scanStarted = Date.now();
      scanPublished = false;
    }
    const from = cursor;
    const { rows, scannedTo, full } = await scanPending(
      db,
      probing ? 1 : batchSize,
      from,
      tx !== undefined,
    );
    status.lastBatchSize = rows.length;
    // Go on after what was looked at while the scan finds more; at its end start over.
    cursor = full ? scannedTo : "0";
    if (rows.length === 0) {
      // Rows were held back and more follow, or a scan that published ended: look again at once.
      if (full || (from !== "0" && scanPublished)) return;
      // Nothing queued: in HALF_OPEN a metadata request is the trial call, so the breaker
      // closes even when no client is sending.
      if (state === "HALF_OPEN") await breaker.execute(() => publisher.ping()).catch(() => {});
      await maybePrune();
      return await idle(pollMs);
    }
    if (await publishBatch(rows)) scanPublished = true;
    else cursor = "0";
    // Back off after failures, except while probing: a trial that waits only delays recovery.
    if (failures > 0) {
      await idle(probing ? pollMs : Math.min(pollMs * 2 ** Math.min(failures, 6), 5000));
    }
  }

  async function maybePrune(): Promise<void> {
    if (retentionMs <= 0 || Date.now() - lastPrune < 60_000) return;
    lastPrune = Date.now();
    const n = await prunePublished(db, retentionMs);
    if (n > 0) logger.info("pruned published outbox rows", { rows: n });
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        await tick();
      } catch (e) {
        status.lastError = errorMessage(e);
        logger.warn("relay iteration failed", { error: status.lastError });
        await idle(1000);
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      status.running = true;
      loop = run();
    },
    wake,
    async stop() {
      running = false;
      status.running = false;
      wakeUp?.();
      await loop;
      loop = null;
      await settleMarks();
      unsubscribe();
      if (leadership) {
        await leadership.release();
        leadership = null;
        status.leader = false;
      }
    },
    status: () => ({ ...status }),
  };
}
