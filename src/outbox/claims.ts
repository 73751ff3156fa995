/**
 * Exactly-once claims: who may publish a row, and how recovery takes the rows of an owner that
 * can no longer finish them. Every statement is guarded by the claim's owner.
 */
import type { Queryable } from "./db.ts";

/**
 * Exactly-once: claims rows for `owner` before it publishes them; returns the seqs claimed
 * (rows that are still pending and claimed by nobody).
 */
export async function claimRows(
  db: Queryable,
  seqs: string[],
  owner: string,
  leaseMs: number,
): Promise<string[]> {
  if (seqs.length === 0) return [];
  const rows = await db.query<{ seq: string }>(
    `UPDATE outbox SET claimed_by = $2, claimed_at = now(),
       claim_expires_at = now() + ($3::int * interval '1 ms')
     WHERE seq = ANY($1::int8[]) AND status = 'PENDING' AND claimed_by IS NULL
     RETURNING seq::text AS seq`,
    [seqs, owner, leaseMs],
  );
  return rows.map((r) => r.seq);
}

/**
 * Exactly-once: rows whose publish outcome is unknown. The claim stays with `owner` (so nobody
 * republishes them blindly) but expires now, so recovery takes them over at once.
 */
export async function abandonClaims(
  db: Queryable,
  seqs: string[],
  owner: string,
  error: string,
): Promise<void> {
  if (seqs.length === 0) return;
  await db.query(
    `UPDATE outbox SET claim_expires_at = now(), attempts = attempts + 1, last_error = $3
     WHERE seq = ANY($1::int8[]) AND status = 'PENDING' AND claimed_by = $2`,
    [seqs, owner, error],
  );
}

/** Owners with expired claims (the read-back starts from what the take-over returns). */
export async function expiredOwners(db: Queryable, limit = 20): Promise<{ owner: string }[]> {
  return await db.query<{ owner: string }>(
    `SELECT DISTINCT claimed_by AS owner FROM outbox
     WHERE status = 'PENDING' AND claimed_by IS NOT NULL AND claim_expires_at < now()
     LIMIT $1`,
    [limit],
  );
}

/**
 * Exactly-once: moves the expired claims of `from` to `to` (recovery's step after it fenced
 * `from`): from here on `from` can neither mark nor release these rows. The claim's start is
 * kept, so a later read-back still covers `from`'s transactions.
 */
export async function takeOverClaims(
  db: Queryable,
  from: string,
  to: string,
  leaseMs: number,
): Promise<{ seq: string; id: string; claimedAt: Date }[]> {
  const rows = await db.query<{ seq: string; id: string; claimed_at: Date }>(
    `UPDATE outbox SET claimed_by = $2, claim_expires_at = now() + ($3::int * interval '1 ms'),
       claimed_at = coalesce(claimed_at, created_at)
     WHERE status = 'PENDING' AND claimed_by = $1 AND claim_expires_at < now()
     RETURNING seq::text AS seq, id::text AS id, claimed_at`,
    [from, to, leaseMs],
  );
  return rows.map((r) => ({ seq: r.seq, id: r.id, claimedAt: new Date(r.claimed_at) }));
}
