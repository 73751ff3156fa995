/**
 * The settlement process's tables, kept apart from the outbox's (own version table, own lock):
 * the ledger can live in the outbox's database or in one of its own.
 */
import type { Db } from "../outbox/db.ts";
import { migrate, type Migration } from "../outbox/migrations.ts";

/** Forward-only migrations of the ledger. */
export const SETTLEMENT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "ledger",
    sql: `
      CREATE TABLE IF NOT EXISTS settlement_offsets (
        topic       text        NOT NULL,
        partition   integer     NOT NULL,
        next_offset bigint      NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic, partition)
      );
      CREATE TABLE IF NOT EXISTS settlement_payments (
        payment_id   text   PRIMARY KEY,
        merchant_id  text   NOT NULL,
        currency     text   NOT NULL,
        authorized   bigint NOT NULL,
        captured     bigint NOT NULL,
        refunded     bigint NOT NULL,
        charged_back bigint NOT NULL,
        settled      bigint NOT NULL,
        terminal     text
      );
      CREATE TABLE IF NOT EXISTS settlement_events (
        event_id        text        PRIMARY KEY,
        payment_id      text        NOT NULL,
        merchant_id     text        NOT NULL,
        currency        text        NOT NULL,
        type            text        NOT NULL,
        amount          bigint      NOT NULL CHECK (amount > 0),
        occurred_at     timestamptz NOT NULL,
        business_day    date        NOT NULL,
        disposition     text        NOT NULL CHECK (disposition IN ('APPLIED', 'HELD', 'EXCEPTION')),
        rule            text,
        reason          text,
        fee             bigint      NOT NULL DEFAULT 0,
        posted_day      date,
        held_at         timestamptz,
        topic_partition integer     NOT NULL,
        topic_offset    bigint      NOT NULL,
        accounts        text[]      NOT NULL DEFAULT '{}',
        debits          bigint[]    NOT NULL DEFAULT '{}',
        credits         bigint[]    NOT NULL DEFAULT '{}',
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        CHECK (cardinality(accounts) = cardinality(debits)
               AND cardinality(accounts) = cardinality(credits))
      );
      -- One full index (the day an event belongs to: reconciliation, statements) and a small
      -- partial one for late events posted to another day: two full indexes cost Postgres
      -- about 8 µs more per applied event.
      CREATE INDEX IF NOT EXISTS settlement_events_day ON settlement_events (business_day);
      CREATE INDEX IF NOT EXISTS settlement_events_late
        ON settlement_events (posted_day) WHERE posted_day <> business_day;
      CREATE INDEX IF NOT EXISTS settlement_events_held
        ON settlement_events (payment_id) WHERE disposition = 'HELD';
      -- The journal: each applied event's lines are its own row's parallel arrays (account,
      -- debit, credit); the view shows them a line per row. A table of lines of its own cost
      -- Postgres 16 µs more per applied event (measured on 60,000 events, 2.7 lines each).
      CREATE OR REPLACE VIEW settlement_journal AS
        SELECT e.event_id, e.posted_day, e.business_day, e.merchant_id, e.currency, l.account,
               l.debit, l.credit
          FROM settlement_events e
         CROSS JOIN LATERAL unnest(e.accounts, e.debits, e.credits) AS l(account, debit, credit)
         WHERE e.disposition = 'APPLIED';
      CREATE TABLE IF NOT EXISTS settlement_exceptions (
        id              bigserial   PRIMARY KEY,
        business_day    date        NOT NULL,
        rule            text        NOT NULL,
        reason          text        NOT NULL,
        event_id        text,
        payment_id      text,
        merchant_id     text,
        currency        text,
        type            text,
        amount          text,
        topic_partition integer     NOT NULL,
        topic_offset    bigint      NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX IF NOT EXISTS settlement_exceptions_day ON settlement_exceptions (business_day);
      CREATE TABLE IF NOT EXISTS settlement_fees (
        merchant_id text        PRIMARY KEY,
        fee_bps     integer     NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
        updated_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS settlement_days (
        day            date        PRIMARY KEY,
        closed_at      timestamptz NOT NULL,
        reconciled     boolean     NOT NULL,
        differences    integer     NOT NULL,
        reconciliation text        NOT NULL
      );
      CREATE TABLE IF NOT EXISTS settlement_statements (
        day         date NOT NULL,
        merchant_id text NOT NULL,
        currency    text NOT NULL,
        content     text NOT NULL,
        sha256      text NOT NULL,
        PRIMARY KEY (day, merchant_id, currency)
      );
      -- A closed statement never changes: the database refuses updates and deletes.
      CREATE OR REPLACE FUNCTION settlement_statements_immutable() RETURNS trigger AS $$
      BEGIN
        RAISE EXCEPTION 'settlement statements are immutable (day %)', OLD.day;
      END $$ LANGUAGE plpgsql;
      DROP TRIGGER IF EXISTS settlement_statements_immutable ON settlement_statements;
      CREATE TRIGGER settlement_statements_immutable BEFORE UPDATE OR DELETE ON settlement_statements
        FOR EACH ROW EXECUTE FUNCTION settlement_statements_immutable();
      CREATE OR REPLACE FUNCTION settlement_statements_no_truncate() RETURNS trigger AS $$
      BEGIN
        RAISE EXCEPTION 'settlement statements are immutable (truncate refused)';
      END $$ LANGUAGE plpgsql;
      DROP TRIGGER IF EXISTS settlement_statements_no_truncate ON settlement_statements;
      CREATE TRIGGER settlement_statements_no_truncate BEFORE TRUNCATE ON settlement_statements
        FOR EACH STATEMENT EXECUTE FUNCTION settlement_statements_no_truncate();
    `,
  },
];

/** Applies every ledger migration not yet recorded; returns the versions applied now. */
export function migrateSettlement(db: Db): Promise<number[]> {
  return migrate(db, {
    table: "settlement_schema_migrations",
    lockKey: "payment-settlement:migrations",
    migrations: SETTLEMENT_MIGRATIONS,
  });
}
