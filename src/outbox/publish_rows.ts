/**
 * The one way outbox rows reach Kafka: as one batch through the breaker, with records the broker
 * will never accept found one by one and set aside (dead-lettered), so they cannot hold back the
 * rows behind them. Ingest's inline publish and the relay both call it. Also how a row becomes a
 * Kafka record (key = payment id; event id and type in headers) and where each publish is timed.
 */
import type { CircuitBreaker } from "../breaker/circuit_breaker.ts";
import { CallNotPermittedError } from "../breaker/errors.ts";
import type { OutboundRecord, Publisher } from "../kafka/publisher.ts";
import type { Logger } from "../log.ts";
import { errorMessage } from "../error_message.ts";
import type { Queryable } from "./db.ts";
import { markDeadLettered } from "./repository.ts";

/** How to read a publish error; the Kafka adapter's classification, handed in by `main.ts`. */
export interface PublishErrors {
  /** True when retrying cannot fix the error: the record is at fault, not the broker. */
  isPerRecord(e: unknown): boolean;
  /** A short text for operators, stored as the row's last error. */
  describe(e: unknown): string;
  /** Exactly-once: true when the rows' transaction has an unknown outcome (recovery's job). */
  isUncertain?(e: unknown): boolean;
}

/** The fields of a row that the Kafka record is built from. */
export interface RecordSource {
  id: string;
  aggregateid: string;
  type: string;
  payload: string;
}

/**
 * Builds the Kafka record of one outbox row. Exactly-once adds the `owner` header (the
 * transactional.id that published it), for operators tracing a recovery.
 */
export function toRecord(row: RecordSource, owner?: string): OutboundRecord {
  const headers: Record<string, string> = {
    eventId: row.id,
    eventType: row.type,
    aggregateType: "payment",
    contentType: "application/json",
  };
  if (owner) headers.owner = owner;
  return { eventId: row.id, key: row.aggregateid, value: row.payload, headers };
}

/** A row to publish: the record's fields and its place in the outbox. */
export interface PublishableRow extends RecordSource {
  seq: string;
  /** Exactly-once: the owner the row is claimed by (it is published in that owner's transaction). */
  claimedBy?: string | null;
}

/** What became of the rows handed to a publish, each seq in exactly one list, in row order. */
export interface PublishOutcome {
  /** Acknowledged by Kafka; the caller marks them published. */
  published: string[];
  /** Refused by Kafka for good; already marked dead-lettered. */
  deadLettered: string[];
  /** Neither: still pending, to be published later in order. */
  unpublished: string[];
  /**
   * Exactly-once: in a transaction whose outcome is unknown, or claimed by an owner that is no
   * longer the publisher's. The caller abandons their claims to recovery (never republishes).
   */
  uncertain: string[];
  /** Why `unpublished` or `uncertain` is not empty; null when both are. */
  failure: { notPermitted: boolean; error: string } | null;
}

/** Options of `createRowPublisher`. */
export interface RowPublisherOptions {
  db: Queryable;
  breaker: CircuitBreaker;
  publisher: Publisher;
  errors: PublishErrors;
  logger: Logger;
  /** Told of each publish Kafka was asked for: its outcome, duration and number of records. */
  observePublish?: (outcome: "success" | "failure", seconds: number, records: number) => void;
}

/** Publishes rows through the breaker; never throws. */
export type PublishRows = (rows: PublishableRow[]) => Promise<PublishOutcome>;

/** Creates the shared row publisher. */
export function createRowPublisher(opts: RowPublisherOptions): PublishRows {
  const { db, breaker, publisher, errors, logger } = opts;
  const tx = publisher.transactional;
  const isUncertain = (e: unknown) => errors.isUncertain?.(e) ?? false;
  const observe = opts.observePublish;
  const send = (rows: PublishableRow[]) => {
    const owner = tx ? rows[0]?.claimedBy ?? undefined : undefined;
    return breaker.execute(async () => {
      const records = rows.map((r) => toRecord(r, owner));
      const start = performance.now();
      try {
        await publisher.publish(records, owner);
      } catch (e) {
        observe?.("failure", (performance.now() - start) / 1000, records.length);
        throw e;
      }
      observe?.("success", (performance.now() - start) / 1000, records.length);
    });
  };

  const failure = (e: unknown) => {
    const notPermitted = e instanceof CallNotPermittedError;
    return { notPermitted, error: notPermitted ? errorMessage(e) : errors.describe(e) };
  };
  const isPerRecord = (e: unknown) =>
    !(e instanceof CallNotPermittedError) && errors.isPerRecord(e);
  const none = (): PublishOutcome => ({
    published: [],
    deadLettered: [],
    unpublished: [],
    uncertain: [],
    failure: null,
  });

  /** Sets a row aside; false when the outbox could not be written (the row stays pending). */
  async function deadLetter(row: PublishableRow, e: unknown): Promise<boolean> {
    const reason = errors.describe(e);
    try {
      await markDeadLettered(db, row.seq, reason);
    } catch (dbError) {
      logger.warn("could not dead-letter an event; it stays pending", {
        eventId: row.id,
        error: errorMessage(dbError),
      });
      return false;
    }
    logger.error("event dead-lettered", { eventId: row.id, error: reason });
    return true;
  }

  /** A batch hit an error retrying cannot fix: publish the rows one by one, in order. */
  async function isolate(rows: PublishableRow[], first: unknown): Promise<PublishOutcome> {
    const out = none();
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      let error: unknown = first;
      // A single row already failed as itself: no second attempt.
      if (rows.length > 1) {
        try {
          await send([row]);
          out.published.push(row.seq);
          continue;
        } catch (e) {
          error = e;
        }
      }
      if (isUncertain(error)) {
        // This row's transaction is for recovery; the rows after it were not sent.
        out.uncertain = [row.seq];
        out.unpublished = rows.slice(i + 1).map((r) => r.seq);
        out.failure = failure(error);
        return out;
      }
      if (isPerRecord(error) && await deadLetter(row, error)) {
        out.deadLettered.push(row.seq);
        continue;
      }
      // The broker itself failed (or the outbox did): stop, so the rest keep their order.
      out.unpublished = rows.slice(i).map((r) => r.seq);
      out.failure = failure(error);
      return out;
    }
    return out;
  }

  return async (rows) => {
    if (rows.length === 0) return none();
    // Exactly-once: a row claimed by an earlier producer of ours (dropped since) may be in that
    // producer's unfinished transaction; recovery fences it and reads back before anyone resends.
    const owner = tx?.owner();
    const stale = tx ? rows.filter((r) => r.claimedBy !== owner).map((r) => r.seq) : [];
    if (stale.length > 0) rows = rows.filter((r) => r.claimedBy === owner);
    const out = await publishOwned(rows);
    if (stale.length > 0) {
      out.uncertain.push(...stale);
      out.failure ??= { notPermitted: false, error: `claimed by a dropped producer, not ${owner}` };
    }
    return out;
  };

  async function publishOwned(rows: PublishableRow[]): Promise<PublishOutcome> {
    if (rows.length === 0) return none();
    try {
      await send(rows);
    } catch (e) {
      if (isPerRecord(e)) return await isolate(rows, e);
      const seqs = rows.map((r) => r.seq);
      const uncertain = isUncertain(e);
      return {
        ...none(),
        unpublished: uncertain ? [] : seqs,
        uncertain: uncertain ? seqs : [],
        failure: failure(e),
      };
    }
    return { ...none(), published: rows.map((r) => r.seq) };
  }
}
