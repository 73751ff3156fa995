/**
 * Exactly-once recovery: rows whose claim belongs to an owner that can no longer be trusted to
 * finish them (its claim expired: a dead or stalled process, a dropped producer, an uncertain
 * commit) are settled in this order, never otherwise:
 *
 * 1. fence the owner's transactional.id: its open transaction is aborted (or its commit
 *    completes) and its producer can never commit again;
 * 2. take the rows over in Postgres (a guarded UPDATE): the fenced owner can no longer mark or
 *    release them;
 * 3. read the topic back with read_committed from the earliest claim's start to its end, and
 *    mark the rows whose event ids were committed PUBLISHED;
 * 4. release the rest to the relay, which publishes them in order.
 *
 * Why headers and not a marker topic: every record already carries its outbox id (`eventId`)
 * and its owner, so the read-back needs nothing beyond the data topic, and a publish costs no
 * second partition in its transaction. The read covers only the claim's lifetime.
 */
import type { Transactional } from "../kafka/publisher.ts";
import type { Logger } from "../log.ts";
import { errorMessage } from "../error_message.ts";
import type { Queryable } from "./db.ts";
import { abandonClaims, expiredOwners, takeOverClaims } from "./claims.ts";
import { markPublished, releaseClaims } from "./repository.ts";

/** Records are timestamped by the producer's clock and claims by Postgres': read from earlier. */
const CLOCK_MARGIN_MS = 60_000;

/** Options of `createRecovery`. */
export interface RecoveryOptions {
  db: Queryable;
  transactional: Transactional;
  logger: Logger;
  /** How long a takeover keeps other recoverers off the rows. */
  leaseMs: number;
  /** Event ids committed to the topic from `sinceMs` (epoch ms) to its end, read_committed. */
  readCommitted(sinceMs: number): Promise<Set<string>>;
}

/** What one recovery pass did. */
export interface RecoveryReport {
  owners: string[];
  /** Rows found committed in Kafka and marked PUBLISHED. */
  marked: number;
  /** Rows not in Kafka, handed back to the relay. */
  released: number;
}

/** Settles the rows of expired owners; `run` throws when Kafka or Postgres failed mid-way. */
export function createRecovery(opts: RecoveryOptions): { run(): Promise<RecoveryReport> } {
  const { db, transactional, logger } = opts;
  return {
    async run() {
      let me = transactional.owner();
      let found = await expiredOwners(db);
      const report: RecoveryReport = { owners: [], marked: 0, released: 0 };
      if (found.some((f) => f.owner === me)) {
        // Our own producer's claims expired (their marks failed, say): it is dropped, and its
        // rows are recovered like any other owner's.
        transactional.retire("claims of the current producer expired");
        me = transactional.owner();
      }
      found = found.filter((f) => f.owner !== me);
      if (found.length === 0) return report;
      // A distinct token, so a recoverer that dies mid-way is recovered without fencing the
      // producer it publishes with.
      const token = `recovery:${me}`;
      for (const { owner } of found) {
        // An earlier pass of ours already fenced the owner it took these rows from.
        if (!owner.startsWith("recovery:")) await transactional.fence(owner);
      }
      const taken = [];
      for (const { owner } of found) {
        taken.push(...await takeOverClaims(db, owner, token, opts.leaseMs));
      }
      if (taken.length === 0) return report;
      report.owners = found.map((f) => f.owner);
      try {
        const since = Math.min(...taken.map((r) => r.claimedAt.getTime())) - CLOCK_MARGIN_MS;
        const committed = await opts.readCommitted(since);
        const marked = taken.filter((r) => committed.has(r.id)).map((r) => r.seq);
        const released = taken.filter((r) => !committed.has(r.id)).map((r) => r.seq);
        await markPublished(db, marked, token);
        await releaseClaims(db, released, null, false, token);
        report.marked = marked.length;
        report.released = released.length;
      } catch (e) {
        // Taken over and fenced, but not settled: the next pass retakes them at once.
        await abandonClaims(db, taken.map((r) => r.seq), token, errorMessage(e)).catch(() => {});
        throw e;
      }
      logger.warn("exactly-once recovery settled the rows of expired owners", { ...report });
      return report;
    },
  };
}
