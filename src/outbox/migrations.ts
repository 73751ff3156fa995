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
