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
import {
  acceptEvents,
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

  /** Publishes one claimed row and settles its row; never throws. */
  async function publishClaimed(seq: string, event: NewEvent): Promise<IngestResult["kind"]> {
    try {
      await breaker.execute(() => publisher.publish([toRecord(event)]));
    } catch (e) {
      const notPermitted = e instanceof CallNotPermittedError;
      try {
        if (!notPermitted && isPerRecordError(e)) {
          await markDeadLettered(db, seq, describeKafkaError(e));
          return "dead_lettered";
        }
        await releaseClaims(db, [seq], notPermitted ? null : describeKafkaError(e), !notPermitted);
      } catch (dbError) {
        // The claim lapses by itself after its lease; the relay publishes the row then.
        logger.warn("could not release an inline claim", { error: errorMessage(dbError) });
      }
      opts.onPending?.();
      return "pending";
    }
    try {
      await markPublished(db, [seq]);
    } catch (dbError) {
      // Published but not marked: the relay republishes after the lease (a duplicate, not a loss).
      logger.warn("published event could not be marked", { error: errorMessage(dbError) });
    }
    opts.onPublished?.(1);
    return "published";
  }

  return {
    async accept(event: NewEvent): Promise<IngestResult> {
      const [outcome] = await acceptEvents(db, [event], {
        claimFor: inline ? opts.instanceId : null,
        leaseMs: opts.leaseMs,
      });
      if (!outcome) throw new Error("the outbox returned no outcome");
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
      const work = publishClaimed(outcome.seq, event);
      inFlight.add(work);
      work.finally(() => inFlight.delete(work));
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
      await Promise.allSettled([...inFlight]);
    },
  };
}
