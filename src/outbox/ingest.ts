/**
 * Accepting one payment event: store it durably, then try to publish it inline through the
 * breaker within a bounded budget. The answer never waits on Kafka longer than the budget, and
 * Kafka's state never causes a lost or refused event.
 */
import type { CircuitBreaker } from "../breaker/circuit_breaker.ts";
import { CallNotPermittedError } from "../breaker/errors.ts";
import { describeKafkaError, isPerRecordError } from "../kafka/errors.ts";
import type { Publisher } from "../kafka/publisher.ts";
import type { Logger } from "../log.ts";
import { errorMessage } from "../log.ts";
import type { Db } from "./db.ts";
import { toRecord } from "./records.ts";
import { createBatcher } from "./batcher.ts";
import {
  acceptEvents,
  type AcceptOutcome,
  markDeadLettered,
  markPublished,
  type NewEvent,
  type OutboxStatus,
  releaseClaims,
} from "./repository.ts";

/** The answer to one accepted event. */
export type IngestResult =
  | { kind: "published"; createdAt: Date }
  | { kind: "pending"; createdAt: Date; reason: string }
  | { kind: "dead_lettered"; createdAt: Date; reason: string }
  | { kind: "replay"; status: OutboxStatus; createdAt: Date; publishedAt: Date | null }
  | { kind: "conflict"; createdAt: Date };

/** Options of the ingest path. */
export interface IngestOptions {
  db: Db;
  breaker: CircuitBreaker;
  publisher: Publisher;
  logger: Logger;
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
}

/** The ingest path. */
export interface Ingest {
  /** Stores the event (throws when the outbox cannot be written) and answers how it went. */
  accept(event: NewEvent): Promise<IngestResult>;
  /** Resolves when every background publish started by `accept` has settled. */
  drain(): Promise<void>;
}

/** Creates the ingest path. */
export function createIngest(opts: IngestOptions): Ingest {
  const { db, breaker, publisher, logger } = opts;
  const inline = opts.inline ?? true;
  const budgetMs = opts.inlineBudgetMs ?? 1000;
  const inFlight = new Set<Promise<unknown>>();

  // Group commit: concurrent requests share one transaction (one WAL flush), each answered
  // only after that transaction committed.
  const commits = createBatcher<NewEvent, AcceptOutcome>(
    (events) =>
      acceptEvents(db, events, {
        claimFor: inline ? opts.instanceId : null,
        leaseMs: opts.leaseMs,
      }),
    { maxBatch: opts.commitBatchMax ?? 256, concurrency: opts.commitConcurrency ?? 4 },
  );
  // Inline publishes of concurrent requests go to Kafka as one batch, one breaker call each.
  const sends = createBatcher<Claimed, PublishKind>(
    publishClaimed,
    { maxBatch: opts.publishBatchMax ?? 500, concurrency: 1 },
  );

  // Marks of concurrent publishes share one UPDATE.
  const marks = createBatcher<string[], void>(async (groups) => {
    await settle(() => markPublished(db, groups.flat()));
    return groups.map(() => undefined);
  }, { maxBatch: 64, concurrency: 1 });

  function track(work: Promise<unknown>): Promise<unknown> {
    inFlight.add(work);
    work.finally(() => inFlight.delete(work)).catch(() => {});
    return work;
  }

  /** Publishes claimed rows as one batch and settles their rows; never throws. */
  async function publishClaimed(items: Claimed[]): Promise<PublishKind[]> {
    const seqs = items.map((i) => i.seq);
    try {
      await breaker.execute(() => publisher.publish(items.map((i) => toRecord(i.event))));
    } catch (e) {
      const notPermitted = e instanceof CallNotPermittedError;
      if (!notPermitted && isPerRecordError(e)) {
        if (items.length === 1) {
          await settle(() => markDeadLettered(db, items[0]!.seq, describeKafkaError(e)));
          return ["dead_lettered"];
        }
        // One bad record must not hold back the others: retry them one by one.
        return (await Promise.all(items.map((i) => publishClaimed([i])))).flat();
      }
      await settle(() =>
        releaseClaims(db, seqs, notPermitted ? null : describeKafkaError(e), !notPermitted)
      );
      opts.onPending?.();
      return items.map(() => "pending");
    }
    // The answer does not wait for the bookkeeping: Kafka has the events, and the claim keeps the
    // relay off the rows until they are marked. Unmarked rows (Postgres down) are republished by
    // the relay after the lease: a duplicate, never a loss.
    track(marks.submit(seqs));
    opts.onPublished?.(items.length);
    return items.map(() => "published");
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
        return outcome.samePayload
          ? {
            kind: "replay",
            status: outcome.status,
            createdAt: outcome.createdAt,
            publishedAt: outcome.publishedAt,
          }
          : { kind: "conflict", createdAt: outcome.createdAt };
      }
      const createdAt = outcome.createdAt;
      if (!outcome.claimed) {
        opts.onPending?.();
        return {
          kind: "pending",
          createdAt,
          reason: inline ? "an earlier event of this payment is still pending" : "relay",
        };
      }
      const work = sends.submit({ seq: outcome.seq, event });
      track(work);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const budget = new Promise<"budget">((resolve) => {
        timer = setTimeout(() => resolve("budget"), budgetMs);
      });
      const kind = await Promise.race([work, budget]).finally(() => clearTimeout(timer));
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
  };
}

interface Claimed {
  seq: string;
  event: NewEvent;
}

type PublishKind = "published" | "pending" | "dead_lettered";
