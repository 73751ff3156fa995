/** Schema migrations of the outbox, applied at start-up; idempotent and safe to run concurrently. */
import type { Db } from "./db.ts";

/** One forward-only migration. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The outbox keeps the Debezium outbox event router's columns (id, aggregatetype, aggregateid,
 * type, payload) so change-data-capture can replace polling without migrating data; `seq` is the
 * acceptance order and the remaining columns are the relay's bookkeeping.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "outbox",
    sql: `
      CREATE TABLE IF NOT EXISTS outbox (
        seq              bigserial   PRIMARY KEY,
        id               uuid        NOT NULL UNIQUE,
        aggregatetype    text        NOT NULL DEFAULT 'payment',
        aggregateid      text        NOT NULL,
        type             text        NOT NULL,
        payload          jsonb       NOT NULL,
        status           text        NOT NULL DEFAULT 'PENDING'
                         CHECK (status IN ('PENDING', 'PUBLISHED', 'DEAD_LETTERED')),
        attempts         integer     NOT NULL DEFAULT 0,
        last_error       text,
        claimed_by       text,
        claim_expires_at timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        published_at     timestamptz
      );
      CREATE INDEX IF NOT EXISTS outbox_pending_seq ON outbox (seq) WHERE status = 'PENDING';
      CREATE INDEX IF NOT EXISTS outbox_pending_key ON outbox (aggregateid, seq)
        WHERE status = 'PENDING';
      CREATE INDEX IF NOT EXISTS outbox_dead_lettered ON outbox (seq)
        WHERE status = 'DEAD_LETTERED';
      CREATE INDEX IF NOT EXISTS outbox_published_at ON outbox (published_at)
        WHERE status = 'PUBLISHED';
    `,
  },
  {
    // Exactly-once recovery: when a claim began (a successor reads the topic back from there),
    // and the claimed rows found without a look at the whole pending line.
    version: 2,
    name: "claims",
    sql: `
      ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claimed_at timestamptz;
      CREATE INDEX IF NOT EXISTS outbox_claimed ON outbox (claimed_by, claim_expires_at)
        WHERE status = 'PENDING' AND claimed_by IS NOT NULL;
    `,
  },
  {
    // Accepting events with inline claims in one call: the key locks, then (in a statement of
    // its own, so with a snapshot taken after the locks) the insert that claims the first new
    // event of each key with nothing pending. One round trip and no BEGIN/COMMIT where the
    // transaction around two statements took four (repository.ts, insertClaiming).
    version: 3,
    name: "accept_function",
    sql: `
      CREATE OR REPLACE FUNCTION outbox_accept(
        ids uuid[], keys text[], types text[], payloads text[], owner text, lease_ms int)
      RETURNS TABLE (seq text, id text, created_at timestamptz, claimed boolean)
      LANGUAGE plpgsql VOLATILE AS $fn$
      BEGIN
        -- Sorted, so two batches cannot deadlock.
        PERFORM pg_advisory_xact_lock(hashtext(k))
          FROM (SELECT DISTINCT unnest(keys) AS k ORDER BY 1) s;
        -- A LIMIT 1 probe per key rather than NOT EXISTS: one index probe whatever the plan
        -- (a NOT EXISTS became a hash anti-join over every pending row once Kafka was down).
        RETURN QUERY
        WITH input AS (
          SELECT * FROM unnest(ids, keys, types, payloads) WITH ORDINALITY
            AS i(id, aggregateid, type, payload, ord)),
        claimable AS (
          SELECT DISTINCT ON (i.aggregateid) i.ord FROM input i
          WHERE (SELECT 1 FROM outbox p WHERE p.aggregateid = i.aggregateid
                   AND p.status = 'PENDING' LIMIT 1) IS NULL
          ORDER BY i.aggregateid, i.ord)
        INSERT INTO outbox AS o (id, aggregateid, type, payload, claimed_by, claimed_at,
                                 claim_expires_at)
        SELECT i.id, i.aggregateid, i.type, i.payload::jsonb,
               CASE WHEN c.ord IS NOT NULL THEN owner END,
               CASE WHEN c.ord IS NOT NULL THEN now() END,
               CASE WHEN c.ord IS NOT NULL THEN now() + (lease_ms * interval '1 ms') END
        FROM input i LEFT JOIN claimable c ON c.ord = i.ord
        ORDER BY i.ord
        ON CONFLICT ON CONSTRAINT outbox_id_key DO NOTHING
        RETURNING o.seq::text, o.id::text, o.created_at, o.claimed_by IS NOT NULL;
      END
      $fn$;
    `,
  },
];

/** A set of migrations with its own version table and lock (the outbox's, the ledger's). */
export interface MigrationSet {
  table: string;
  lockKey: string;
  migrations: readonly Migration[];
}

/** Applies every migration not yet recorded; returns the versions applied now. */
export async function migrate(
  db: Db,
  set: MigrationSet = {
    table: "schema_migrations",
    lockKey: "payment-ingest:migrations",
    migrations: MIGRATIONS,
  },
): Promise<number[]> {
  return await db.transaction(async (tx) => {
    // Several instances may start at once; one applies, the others wait and find nothing to do.
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [set.lockKey]);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${set.table} (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx.query<{ version: number }>(`SELECT version FROM ${set.table}`);
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of set.migrations) {
      if (done.has(m.version)) continue;
      await tx.query(m.sql);
      await tx.query(`INSERT INTO ${set.table} (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    return applied;
  });
}

/** True when every known migration is recorded (readiness). */
export async function migrationsApplied(db: Db): Promise<boolean> {
  const rows = await db.query<{ n: string | number }>(
    "SELECT count(*) AS n FROM schema_migrations WHERE version = ANY($1::int[])",
    [MIGRATIONS.map((m) => m.version)],
  );
  return Number(rows[0]?.n ?? 0) === MIGRATIONS.length;
}
