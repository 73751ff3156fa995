/**
 * Accepting events into the outbox: the group commit's statements. Without a claim, one plain
 * INSERT; with inline claims, one call of `outbox_accept` (migrations.ts, version 3). Either is
 * committed on its own, so a group commit is one round trip.
 */
import type { Db, Queryable } from "./db.ts";
import type { AcceptOutcome, NewEvent, OutboxStatus } from "./repository.ts";
import { DEFAULT_CLAIM_LEASE_MS } from "../settings/service.ts";

/** Options of `acceptEvents`. */
export interface AcceptOptions {
  /** Claim new rows for an inline publish by this owner (only rows first in line for their key). */
  claimFor?: string | null;
  leaseMs?: number;
}

/**
 * Stores events in one transaction, in the given order, and answers per event. A known id is a
 * duplicate (nothing stored). A new row is claimed for an inline publish only when no older row
 * of the same key is still pending, so per-key order survives inline publishing.
 */
export async function acceptEvents(
  db: Db,
  events: NewEvent[],
  opts: AcceptOptions = {},
): Promise<AcceptOutcome[]> {
  if (events.length === 0) return [];
  const claimFor = opts.claimFor ?? null;
  // One statement either way, committed on its own (no BEGIN and COMMIT round trips).
  const inserted = claimFor === null
    ? await insertUnclaimed(db, events)
    : await insertClaiming(db, events, claimFor, opts.leaseMs ?? DEFAULT_CLAIM_LEASE_MS);
  return await outcomes(db, events, inserted, claimFor);
}

/** Answers per event from the rows inserted; ids not inserted are looked up as duplicates. */
async function outcomes(
  db: Queryable,
  events: NewEvent[],
  inserted: Inserted[],
  claimFor: string | null,
): Promise<AcceptOutcome[]> {
  const byId = new Map(inserted.map((r) => [r.id, r]));
  const offered = events.filter((e) => !byId.has(e.id.toLowerCase()));
  const dups = new Map<string, AcceptOutcome>();
  if (offered.length > 0) {
    const rows = await db.query<
      { id: string; status: OutboxStatus; created_at: Date; published_at: Date; same: boolean }
    >(
      `SELECT o.id::text AS id, o.status, o.created_at, o.published_at,
              bool_or(o.payload = i.payload::jsonb) AS same
       FROM unnest($1::uuid[], $2::text[]) AS i(id, payload) JOIN outbox o ON o.id = i.id
       GROUP BY o.id, o.status, o.created_at, o.published_at`,
      [offered.map((e) => e.id), offered.map((e) => e.payload)],
    );
    for (const r of rows) {
      dups.set(r.id, {
        kind: "duplicate",
        status: r.status,
        samePayload: Boolean(r.same),
        createdAt: new Date(r.created_at),
        publishedAt: r.published_at ? new Date(r.published_at) : null,
      });
    }
  }
  return events.map((e): AcceptOutcome => {
    const id = e.id.toLowerCase();
    const dup = dups.get(id);
    if (dup) return dup;
    const row = byId.get(id);
    if (!row) throw new Error(`event ${e.id} was neither inserted nor found`);
    // Two events of one batch with the same id: the first is created, the second is a replay.
    byId.delete(id);
    dups.set(id, {
      kind: "duplicate",
      status: "PENDING",
      samePayload: true,
      createdAt: new Date(row.created_at),
      publishedAt: null,
    });
    return {
      kind: "created",
      seq: row.seq,
      claimedBy: row.claimed ? claimFor : null,
      createdAt: new Date(row.created_at),
    };
  });
}

type Inserted = { seq: string; id: string; created_at: Date; claimed: boolean };

/** The events as the statements' unnest arrays take them. */
function columns(events: NewEvent[]): [string[], string[], string[], string[]] {
  return [
    events.map((e) => e.id),
    events.map((e) => e.aggregateid),
    events.map((e) => e.type),
    events.map((e) => e.payload),
  ];
}

/**
 * Inserts without claiming (the breaker is open, or publishing is the relay's): no row is
 * published inline, so nothing needs to see the older rows of a key, and neither the per-key
 * locks nor the per-key probe of `insertClaiming` are needed; one statement.
 */
async function insertUnclaimed(tx: Queryable, events: NewEvent[]): Promise<Inserted[]> {
  return await tx.query<Inserted>(
    `INSERT INTO outbox (id, aggregateid, type, payload)
     SELECT i.id, i.aggregateid, i.type, i.payload::jsonb
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY
       AS i(id, aggregateid, type, payload, ord)
     ORDER BY i.ord
     ON CONFLICT (id) DO NOTHING
     RETURNING seq::text AS seq, id::text AS id, created_at, false AS claimed`,
    columns(events),
  );
}

/**
 * Inserts and claims for an inline publish by `owner` the first new event of each key that has
 * nothing pending: one call of `outbox_accept` (migrations.ts, version 3), which takes the keys'
 * locks first, so the claim sees every committed row of its keys, then inserts. Committed on its
 * own: one round trip for the whole group commit.
 */
async function insertClaiming(
  db: Queryable,
  events: NewEvent[],
  owner: string,
  leaseMs: number,
): Promise<Inserted[]> {
  return await db.query<Inserted>(
    "SELECT * FROM outbox_accept($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text, $6::int)",
    [...columns(events), owner, leaseMs],
  );
}
