/**
 * Accepting one payment event: store it durably, then try to publish it inline through the
 * breaker within a bounded budget. The answer never waits on Kafka longer than the budget, and
 * Kafka's state never causes a lost or refused event.
 */
import { acceptEvents } from "./accept.ts";
import { REFUSING_STATES } from "../breaker/states.ts";
import { errorMessage } from "../error_message.ts";
import type { Db } from "./db.ts";
import { createBatcher } from "./batcher.ts";
import {
  createRowPublisher,
  type PublishableRow,
  type RowPublisherOptions,
} from "./publish_rows.ts";
import { abandonClaims } from "./claims.ts";
import { SERVICE_SETTINGS } from "../settings/service.ts";
import {
  type AcceptOutcome,
  markPublished,
  type NewEvent,
  type OutboxStatus,
  releaseClaims,
} from "./repository.ts";
import { withDeadline } from "../deadline.ts";

/** Largest inline publish: records per Kafka produce request. */
export const DEFAULT_PUBLISH_BATCH_MAX = 500;
/**
 * Longest the PUBLISHED marks of inline publishes wait to be written together. No answer waits for
 * them (`unmarkedSince` covers replays meanwhile), so a few ms cost no latency; they turn a mark
 * per publish batch (about 16 rows in the client bench's healthy phase, each UPDATE 1.3 ms under
 * load) into one per 10 ms: Postgres 87-103 -> 40 µs per event in interleaved runs.
 */
export const MARK_LINGER_MS = 10;
/**
 * Inline publish batches in flight at most. `publishConcurrency` at a time (one per publisher
 * lane) while Kafka answers within the inline budget; a batch that has outlived the budget no
 * longer holds back the next, so a stalled broker meets one new breaker call per budget instead
 * of one per delivery timeout. With the seed's breaker (5 slow calls of 10, slow after 5 s) the
 * fifth call starts about 4 s into a stall and counts as slow 5 s later: OPEN after about 9 s
 * instead of 47 s. 8 leaves room for that and bounds the publishes waiting on a stalled broker
 * (each producer sends them one at a time).
 */
export const DEFAULT_PUBLISH_MAX_IN_FLIGHT = 8;

/** The answer to one accepted event. */
export type IngestResult =
  | { kind: "published"; createdAt: Date }
  | { kind: "pending"; createdAt: Date; reason: string }
  | { kind: "dead_lettered"; createdAt: Date; reason: string }
  | { kind: "replay"; status: OutboxStatus; createdAt: Date; publishedAt: Date | null }
  | { kind: "conflict"; createdAt: Date };

/** Options of the ingest path. */
export interface IngestOptions extends RowPublisherOptions {
  db: Db;
  /** Identifies this instance's inline claims. */
  instanceId: string;
  /** Publish inline at all (false: every event goes through the relay). */
  inline?: boolean;
  /** Longest an answer waits for Kafka; the publish itself may go on in the background. */
  inlineBudgetMs?: number;
  /** How long an inline claim keeps the relay off a row; must exceed the delivery deadline. */
  leaseMs?: number;
  /** Told when an event was left pending, so the relay can look sooner. */
  onPending?: () => void;
  onPublished?: (count: number) => void;
  /** Largest group commit (events per outbox transaction). */
  commitBatchMax?: number;
  /** Outbox transactions running at once. */
  commitConcurrency?: number;
  /** Largest inline publish batch. */
  publishBatchMax?: number;
  /** Longest an inline publish batch waits for more records. */
  publishLingerMs?: number;
  /**
   * Inline publish batches running at once while Kafka answers in time: the publisher's lanes
   * (publisher_pool.ts); 1 in exactly-once mode.
   */
  publishConcurrency?: number;
  /** Inline publish batches in flight at most, stalled ones included. */
  publishMaxInFlight?: number;
  /** Longest a group commit waits for more events. */
  commitLingerMs?: number;
}

/** The ingest path. */
export interface Ingest {
  /** Stores the event (throws when the outbox cannot be written) and answers how it went. */
  accept(event: NewEvent): Promise<IngestResult>;
  /** Resolves when every background publish started by `accept` has settled. */
  drain(): Promise<void>;
  /**
   * When Kafka acknowledged the event but its PUBLISHED mark is still being written (answers do
   * not wait for the mark), the time of the acknowledgement; otherwise undefined. Readers of the
   * stored status use it so that no answer after a 201 says PENDING.
   */
  unmarkedSince(eventId: string): Date | undefined;
}

/** Creates the ingest path. */
export function createIngest(opts: IngestOptions): Ingest {
  const { db, breaker, logger } = opts;
  const inline = opts.inline ?? true;
  const budgetMs = opts.inlineBudgetMs ?? SERVICE_SETTINGS.inlineBudgetMs.default;
  const publishConcurrency = opts.publishConcurrency ?? 1;
  const publishRows = createRowPublisher(opts);
  const inFlight = new Set<Promise<unknown>>();
  // Event ids (lower case) acknowledged by Kafka whose mark is not yet committed.
  const unmarked = new Map<string, Date>();
  // Exactly-once: rows are claimed by the producer's transactional.id, and only that producer
  // publishes them; every change to a claim is guarded by its owner.
  const tx = opts.publisher.transactional;
  const claimOwner = () => tx?.owner() ?? opts.instanceId;

  // Group commit: concurrent requests share one transaction (one WAL flush), each answered
  // only after that transaction committed.
  // While the breaker refuses calls no row is claimed: an inline publish would only be refused
  // and its claim handed back (a second write of every row), and an unclaimed insert needs no
  // per-key locks. The relay publishes these rows once the breaker lets calls through. The
  // refusal is still counted once per batch, as the batch's refused publish was
  // (breaker.refuses), so not-permitted calls go on telling operators that clients are held off.
  const commits = createBatcher<NewEvent, AcceptOutcome>(
    (events) =>
      acceptEvents(db, events, {
        claimFor: inline && !breaker.refuses() ? claimOwner() : null,
        leaseMs: opts.leaseMs,
      }),
    {
      maxBatch: opts.commitBatchMax ?? SERVICE_SETTINGS.commitBatchMax.default,
      concurrency: opts.commitConcurrency ?? SERVICE_SETTINGS.commitConcurrency.default,
      lingerMs: opts.commitLingerMs ?? SERVICE_SETTINGS.commitLingerMs.default,
    },
  );
  // Inline publishes of concurrent requests go to Kafka as batches, one breaker call each, one
  // per publisher lane at a time; a batch stalled past the budget stops holding back the next
  // (DEFAULT_PUBLISH_MAX_IN_FLIGHT).
  // Batches in flight together never hold two events of one payment: a row is claimed for an
  // inline publish only when no older row of its key is pending, and it stays pending until it
  // is marked published or handed back to the relay, so per-key order does not depend on which
  // batch Kafka answers first.
  const sends = createBatcher<PublishableRow, PublishKind>(
    publishClaimed,
    {
      maxBatch: opts.publishBatchMax ?? DEFAULT_PUBLISH_BATCH_MAX,
      concurrency: publishConcurrency,
      stalledAfterMs: budgetMs,
      maxInFlight: Math.max(
        publishConcurrency,
        opts.publishMaxInFlight ?? DEFAULT_PUBLISH_MAX_IN_FLIGHT,
      ),
      lingerMs: opts.publishLingerMs ?? SERVICE_SETTINGS.publishLingerMs.default,
    },
  );

  // Marks of concurrent publishes share one UPDATE (one per owner in exactly-once mode).
  const marks = createBatcher<OwnedSeqs, void>(async (groups) => {
    const pairs = groups.flatMap((g) => g.seqs.map((q): [string | null, string] => [g.owner, q]));
    for (const [owner, seqs] of byOwner(pairs)) {
      await settle(() => markPublished(db, seqs, owner ?? undefined));
    }
    return groups.map(() => undefined);
  }, { maxBatch: 64, concurrency: 1, lingerMs: MARK_LINGER_MS });

  function track(work: Promise<unknown>): Promise<unknown> {
    inFlight.add(work);
    work.finally(() => inFlight.delete(work)).catch(() => {});
    return work;
  }

  /** Publishes claimed rows as one batch and settles their rows; never throws. */
  async function publishClaimed(rows: PublishableRow[]): Promise<PublishKind[]> {
    const outcome = await publishRows(rows);
    const { published, deadLettered, unpublished, uncertain, failure } = outcome;
    const ok = new Set(published);
    // At-least-once: one group, no owner guard (nothing is built per row).
    const owners = tx ? new Map(rows.map((r) => [r.seq, r.claimedBy ?? null])) : null;
    const groupByOwner = (seqs: string[]) =>
      owners
        ? byOwner(seqs.map((q): [string | null, string] => [owners.get(q) ?? null, q]))
        : new Map([[null, seqs]]);
    if (unpublished.length > 0) {
      for (const [owner, seqs] of groupByOwner(unpublished)) {
        await settle(() =>
          releaseClaims(
            db,
            seqs,
            failure?.notPermitted ? null : failure?.error ?? null,
            !failure?.notPermitted,
            owner ?? undefined,
          )
        );
      }
      opts.onPending?.();
    }
    if (uncertain.length > 0) {
      for (const [owner, seqs] of groupByOwner(uncertain)) {
        if (owner) await settle(() => abandonClaims(db, seqs, owner, failure?.error ?? ""));
      }
      opts.onPending?.();
    }
    if (published.length > 0) {
      // The answer does not wait for the bookkeeping: Kafka has the events, and the claim keeps
      // the relay off the rows until they are marked. At-least-once: unmarked rows (Postgres
      // down) are republished by the relay after the lease, a duplicate, never a loss;
      // exactly-once: recovery reads them back from the topic and marks them.
      const now = new Date();
      const ids = rows.filter((r) => ok.has(r.seq)).map((r) => r.id.toLowerCase());
      for (const id of ids) unmarked.set(id, now);
      const marked = [...groupByOwner(published)].map(([owner, seqs]) =>
        marks.submit({ owner, seqs })
      );
      track(Promise.allSettled(marked).then(() => ids.forEach((id) => unmarked.delete(id))));
      opts.onPublished?.(published.length);
    }
    const dead = new Set(deadLettered);
    return rows.map((r) =>
      ok.has(r.seq) ? "published" : dead.has(r.seq) ? "dead_lettered" : "pending"
    );
  }

  /** Runs outbox bookkeeping; a failure is logged, the claim lapses and the relay takes over. */
  async function settle(work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (e) {
      logger.warn("outbox bookkeeping failed; the relay will take over", {
        error: errorMessage(e),
      });
    }
  }

  return {
    async accept(event: NewEvent): Promise<IngestResult> {
      const outcome = await commits.submit(event);
      if (outcome.kind === "duplicate") {
        const acknowledged = outcome.status === "PENDING"
          ? unmarked.get(event.id.toLowerCase())
          : undefined;
        return outcome.samePayload
          ? {
            kind: "replay",
            status: acknowledged ? "PUBLISHED" : outcome.status,
            createdAt: outcome.createdAt,
            publishedAt: acknowledged ?? outcome.publishedAt,
          }
          : { kind: "conflict", createdAt: outcome.createdAt };
      }
      const createdAt = outcome.createdAt;
      if (outcome.claimedBy === null) {
        const state = breaker.state;
        // While the breaker refuses calls the relay waits for its next transition, which wakes
        // it; waking it for every event accepted meanwhile would only spin it.
        if (!REFUSING_STATES.has(state)) opts.onPending?.();
        return {
          kind: "pending",
          createdAt,
          reason: !inline
            ? "relay"
            : REFUSING_STATES.has(state)
            ? `circuit breaker is ${state}`
            : "an earlier event of this payment is still pending",
        };
      }
      const work = sends.submit({ seq: outcome.seq, claimedBy: outcome.claimedBy, ...event });
      track(work);
      const kind = await withDeadline(work, budgetMs, () => "budget" as const);
      switch (kind) {
        case "published":
          return { kind: "published", createdAt };
        case "dead_lettered":
          return { kind: "dead_lettered", createdAt, reason: "Kafka refused the record" };
        case "budget":
          return { kind: "pending", createdAt, reason: "Kafka is slow; publishing continues" };
        default:
          return {
            kind: "pending",
            createdAt,
            reason: breaker.state === "CLOSED"
              ? "Kafka publish failed"
              : `circuit breaker is ${breaker.state}`,
          };
      }
    },
    async drain() {
      // A publish that settles adds its mark, so drain until nothing is left.
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    unmarkedSince: (eventId) => unmarked.get(eventId.toLowerCase()),
  };
}

type PublishKind = "published" | "pending" | "dead_lettered";

/** Seqs claimed by one owner (null: no guard, at-least-once). */
interface OwnedSeqs {
  owner: string | null;
  seqs: string[];
}

/** Seqs grouped by the owner each is claimed by, from (owner, seq) pairs. */
function byOwner(pairs: Iterable<[string | null, string]>): Map<string | null, string[]> {
  const out = new Map<string | null, string[]>();
  for (const [owner, seq] of pairs) {
    const group = out.get(owner);
    if (group) group.push(seq);
    else out.set(owner, [seq]);
  }
  return out;
}
