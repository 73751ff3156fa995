/**
 * Outbox repository: the SQL statements the service runs against the outbox, but the accepting
 * inserts (accept.ts) and the exactly-once claims (claims.ts).
 */
import type { Queryable } from "./db.ts";

/** Lifecycle of one outbox row. */
export type OutboxStatus = "PENDING" | "PUBLISHED" | "DEAD_LETTERED";

/** An event to store. `payload` is the event's JSON text. */
export interface NewEvent {
  id: string;
  aggregateid: string;
  type: string;
  payload: string;
}

/** What happened to one event handed to `acceptEvents` (accept.ts). */
export type AcceptOutcome =
  | { kind: "created"; seq: string; claimedBy: string | null; createdAt: Date }
  | {
    kind: "duplicate";
    status: OutboxStatus;
    samePayload: boolean;
    createdAt: Date;
    publishedAt: Date | null;
  };

/** A stored row as the relay and the HTTP layer see it. */
export interface OutboxRow {
  seq: string;
  id: string;
  aggregateid: string;
  type: string;
  payload: string;
  status: OutboxStatus;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  publishedAt: Date | null;
}

/** Figures for `GET /outbox` and the metrics. */
export interface OutboxStats {
  pending: number;
  oldestPendingAgeSeconds: number | null;
  deadLettered: number;
  publishedApprox: number;
}

interface RawRow {
  seq: string;
  id: string;
  aggregateid: string;
  type: string;
  payload: string;
  status: OutboxStatus;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  published_at: Date | null;
}

const ROW_COLUMNS =
  "seq::text AS seq, id::text AS id, aggregateid, type, payload::text AS payload, status, attempts, last_error, created_at, published_at";

function toRow(r: RawRow): OutboxRow {
  return {
    seq: String(r.seq),
    id: r.id,
    aggregateid: r.aggregateid,
    type: r.type,
    payload: r.payload,
    status: r.status,
    attempts: Number(r.attempts),
    lastError: r.last_error,
    createdAt: new Date(r.created_at),
    publishedAt: r.published_at ? new Date(r.published_at) : null,
  };
}

/**
 * Marks rows published and drops their claims. With `owner`, only rows still claimed by it: a
 * fenced owner whose rows were taken over cannot mark them (exactly-once).
 */
export async function markPublished(db: Queryable, seqs: string[], owner?: string): Promise<void> {
  if (seqs.length === 0) return;
  await db.query(
    `UPDATE outbox SET status = 'PUBLISHED', published_at = now(), attempts = attempts + 1,
       claimed_by = NULL, claim_expires_at = NULL, last_error = NULL
     WHERE seq = ANY($1::int8[]) AND status = 'PENDING'
       AND ($2::text IS NULL OR claimed_by = $2::text)`,
    [seqs, owner ?? null],
  );
}

/**
 * Hands claimed rows back to the relay, recording why the inline publish did not happen. With
 * `owner`, only rows still claimed by it.
 */
export async function releaseClaims(
  db: Queryable,
  seqs: string[],
  error: string | null,
  countAttempt = true,
  owner?: string,
): Promise<void> {
  if (seqs.length === 0) return;
  await db.query(
    `UPDATE outbox SET claimed_by = NULL, claim_expires_at = NULL, claimed_at = NULL,
       attempts = attempts + $3::int, last_error = COALESCE($2, last_error)
     WHERE seq = ANY($1::int8[]) AND status = 'PENDING'
       AND ($4::text IS NULL OR claimed_by = $4::text)`,
    [seqs, error, countAttempt ? 1 : 0, owner ?? null],
  );
}

/** Records a failed relay attempt without changing the row's place in line. */
export async function recordFailure(
  db: Queryable,
  seqs: string[],
  error: string,
  owner?: string,
): Promise<void> {
  await releaseClaims(db, seqs, error, true, owner);
}

/** Moves a row the broker will never accept out of the line, keeping its error for operators. */
export async function markDeadLettered(db: Queryable, seq: string, error: string): Promise<void> {
  await db.query(
    `UPDATE outbox SET status = 'DEAD_LETTERED', last_error = $2, attempts = attempts + 1,
       claimed_by = NULL, claim_expires_at = NULL
     WHERE seq = $1::int8 AND status = 'PENDING'`,
    [seq, error],
  );
}

/** One look at the line of pending rows. */
export interface PendingScan {
  /** Rows the relay may publish now, oldest first. */
  rows: OutboxRow[];
  /** The last pending row looked at (rows held back included); where the next look may go on. */
  scannedTo: string;
  /** True when `limit` pending rows were looked at: more may follow `scannedTo`. */
  full: boolean;
}

/**
 * Looks at the next `limit` pending rows after seq `after`, in acceptance order, and returns
 * those the relay may publish: not under a live inline claim, and not behind an older pending row
 * of the same key that is under a live claim or lies at or below `after` (a row an earlier look
 * held back, so the rows behind it wait for the next scan from the start).
 *
 * Continuing after the last row looked at lets a drain read each stretch of the pending index
 * once, instead of walking, every batch, over the entries that published rows leave behind
 * until vacuum. The rows are picked by the index first and only then checked, so the plan never
 * checks the whole backlog: on a table not yet analyzed the planner did exactly that (a bitmap
 * scan of 38,000 pending rows, 172,000 buffers, to return 500). The check is a LIMIT 1 subquery
 * (one index probe per row) for the reason given in outbox_accept (migrations.ts).
 */
export async function scanPending(
  db: Queryable,
  limit: number,
  after = "0",
  exactlyOnce = false,
): Promise<PendingScan> {
  // Exactly-once: any claim, live or expired, keeps the relay off the row (and off the rows of
  // its key behind it) until its owner marks or releases it, or recovery has dealt with it.
  const rows = await db.query<RawRow & { eligible: boolean }>(
    `WITH candidates AS MATERIALIZED (
       SELECT seq AS cseq FROM outbox WHERE status = 'PENDING' AND seq > $2::int8
       ORDER BY seq LIMIT $1)
     SELECT ${ROW_COLUMNS},
       (CASE WHEN $3::bool THEN o.claimed_by IS NULL
             ELSE o.claim_expires_at IS NULL OR o.claim_expires_at < now() END)
       AND (SELECT 1 FROM outbox p WHERE p.aggregateid = o.aggregateid
              AND p.status = 'PENDING' AND p.seq < o.seq
              AND ((CASE WHEN $3::bool THEN p.claimed_by IS NOT NULL
                         ELSE p.claim_expires_at >= now() END) OR p.seq <= $2::int8)
              LIMIT 1) IS NULL AS eligible
     FROM candidates JOIN outbox o ON o.seq = candidates.cseq
     ORDER BY o.seq`,
    [limit, after, exactlyOnce],
  );
  return {
    rows: rows.filter((r) => r.eligible).map(toRow),
    scannedTo: rows.length > 0 ? String(rows[rows.length - 1]!.seq) : after,
    full: rows.length === limit,
  };
}

/** One stored event by id, or null. */
export async function findEvent(db: Queryable, id: string): Promise<OutboxRow | null> {
  const rows = await db.query<RawRow>(
    `SELECT ${ROW_COLUMNS} FROM outbox WHERE id = $1::uuid`,
    [id],
  );
  return rows[0] ? toRow(rows[0]) : null;
}

/** Dead-lettered rows, newest first. */
export async function listDeadLettered(db: Queryable, limit = 100): Promise<OutboxRow[]> {
  const rows = await db.query<RawRow>(
    // outbox.seq, not the text alias `seq` of ROW_COLUMNS: "9" sorts after "10" as text.
    `SELECT ${ROW_COLUMNS} FROM outbox WHERE status = 'DEAD_LETTERED'
     ORDER BY outbox.seq DESC LIMIT $1`,
    [limit],
  );
  return rows.map(toRow);
}

/** Puts dead-lettered rows (all, or the given ids) back in line; returns how many. */
export async function retryDeadLettered(db: Queryable, ids?: string[]): Promise<number> {
  const rows = await db.query<{ seq: string }>(
    `UPDATE outbox SET status = 'PENDING', claimed_by = NULL, claim_expires_at = NULL
     WHERE status = 'DEAD_LETTERED' AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[]))
     RETURNING seq::text AS seq`,
    [ids ?? null],
  );
  return rows.length;
}

/**
 * Counts for operators. `publishedApprox` is the table's live rows less the pending and the
 * dead-lettered ones, without a scan: the live-row count of the cumulative statistics, which
 * every committed insert, delete and prune moves within seconds (each backend reports at most
 * once a second, an idle one within 10 s). The planner's `reltuples` is no substitute: it moves
 * only with ANALYZE or autovacuum, so it read 0 after thousands of publishes.
 */
export async function outboxStats(db: Queryable): Promise<OutboxStats> {
  const [row] = await db.query<
    { pending: string; oldest: number | null; dead: string; total: number }
  >(
    `SELECT
       (SELECT count(*) FROM outbox WHERE status = 'PENDING') AS pending,
       (SELECT extract(epoch FROM now() - min(created_at))::float8 FROM outbox
          WHERE status = 'PENDING') AS oldest,
       (SELECT count(*) FROM outbox WHERE status = 'DEAD_LETTERED') AS dead,
       (SELECT n_live_tup::float8 FROM pg_stat_user_tables
          WHERE relid = 'outbox'::regclass) AS total`,
  );
  const pending = Number(row?.pending ?? 0);
  const dead = Number(row?.dead ?? 0);
  return {
    pending,
    oldestPendingAgeSeconds: row?.oldest === null || row?.oldest === undefined
      ? null
      : Math.max(0, Number(row.oldest)),
    deadLettered: dead,
    publishedApprox: Math.max(0, Math.round(Number(row?.total ?? 0)) - pending - dead),
  };
}

/** Deletes published rows older than `olderThanMs`, at most `limit` per call; returns the count. */
export async function prunePublished(
  db: Queryable,
  olderThanMs: number,
  limit = 10_000,
): Promise<number> {
  const rows = await db.query<{ seq: string }>(
    `DELETE FROM outbox WHERE seq IN (
       SELECT seq FROM outbox WHERE status = 'PUBLISHED'
         AND published_at < now() - ($1::float8 * interval '1 ms') LIMIT $2)
     RETURNING seq::text AS seq`,
    [olderThanMs, limit],
  );
  return rows.length;
}

/** A PUBLISHED row as reconciliation compares it with the topic. */
export type PublishedRow = Pick<RawRow, "seq" | "id" | "aggregateid"> & {
  published_at: Date | string;
};

/** One keyset page of PUBLISHED rows, published_at in [since, until), seq after `after`. */
export async function publishedPage(
  db: Queryable,
  page: { since: Date; until: Date; after: string; limit: number },
): Promise<PublishedRow[]> {
  // outbox.seq, not the text alias `seq`: "10" sorts before "9" as text and pages would skip rows.
  return await db.query<PublishedRow>(
    `SELECT seq::text AS seq, id::text AS id, aggregateid, published_at FROM outbox
     WHERE status = 'PUBLISHED' AND published_at >= $1::timestamptz
       AND published_at < $2::timestamptz AND outbox.seq > $3::int8
     ORDER BY outbox.seq LIMIT $4`,
    [page.since.toISOString(), page.until.toISOString(), page.after, page.limit],
  );
}

/** Rows created in [since, until) that are still pending or dead-lettered. */
export async function unpublishedCounts(
  db: Queryable,
  range: { since: Date; until: Date },
): Promise<{ pending: number; deadLettered: number }> {
  const [row] = await db.query<{ pending: string | number; dead: string | number }>(
    `SELECT count(*) FILTER (WHERE status = 'PENDING') AS pending,
            count(*) FILTER (WHERE status = 'DEAD_LETTERED') AS dead
     FROM outbox WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz`,
    [range.since.toISOString(), range.until.toISOString()],
  );
  return { pending: Number(row?.pending ?? 0), deadLettered: Number(row?.dead ?? 0) };
}
