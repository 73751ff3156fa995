/**
 * Statements: per business day, merchant and currency, what was authorised, captured, refunded
 * and charged back, the fees, the adjustments (late events of closed days) and the net payable.
 * Closing a day freezes its statements with a SHA-256 of their canonical JSON; a closed statement
 * is read back byte for byte, never computed again.
 */
import type { Queryable } from "../outbox/db.ts";
import { MAX_LINES } from "./lifecycle.ts";
import { minorDigits } from "./settlement_event.ts";

/** A count and a sum of minor units (decimal text: sums can pass 2^63). */
export interface Tally {
  count: number;
  amount: string;
}

/** A late event posted to this day. */
export interface Adjustment {
  eventId: string;
  originalDay: string;
  type: string;
  amount: string;
  fee: string;
}

/** One statement's content, in canonical key order. */
export interface Statement {
  day: string;
  merchantId: string;
  currency: string;
  minorDigits: number;
  authorized: Tally;
  captured: Tally;
  refunded: Tally;
  chargedBack: Tally;
  fees: string;
  adjustments: Adjustment[];
  /** Net payable of the adjustments alone (included in `netPayable`). */
  adjustmentsNet: string;
  /** What the merchant is owed for the day: merchant_payable credits minus debits. */
  netPayable: string;
  /** Journal totals per account. */
  journal: { account: string; debit: string; credit: string }[];
}

/** A statement as served: content, and for a closed day its hash. */
export interface StatementRecord {
  statement: Statement;
  /** The canonical JSON the hash is over. */
  canonical: string;
  /** Null while the day is open (a provisional statement). */
  sha256: string | null;
  closed: boolean;
}

const TALLY_OF: Record<
  string,
  keyof Pick<
    Statement,
    "authorized" | "captured" | "refunded" | "chargedBack"
  >
> = {
  PAYMENT_AUTHORIZED: "authorized",
  PAYMENT_CAPTURED: "captured",
  PAYMENT_REFUNDED: "refunded",
  PAYMENT_CHARGEBACK: "chargedBack",
};

/** The canonical text of a statement: JSON with the interface's key order, amounts as text. */
export function canonicalJson(s: Statement): string {
  return JSON.stringify({
    day: s.day,
    merchantId: s.merchantId,
    currency: s.currency,
    minorDigits: s.minorDigits,
    authorized: { count: s.authorized.count, amount: s.authorized.amount },
    captured: { count: s.captured.count, amount: s.captured.amount },
    refunded: { count: s.refunded.count, amount: s.refunded.amount },
    chargedBack: { count: s.chargedBack.count, amount: s.chargedBack.amount },
    fees: s.fees,
    adjustments: s.adjustments.map((a) => ({
      eventId: a.eventId,
      originalDay: a.originalDay,
      type: a.type,
      amount: a.amount,
      fee: a.fee,
    })),
    adjustmentsNet: s.adjustmentsNet,
    netPayable: s.netPayable,
    journal: s.journal.map((j) => ({ account: j.account, debit: j.debit, credit: j.credit })),
  });
}

/** SHA-256 of `text`, lower-case hex. */
export async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const zero = (): Tally => ({ count: 0, amount: "0" });

/** Computes the statements of `day` from the ledger (optionally one merchant's). */
export async function computeStatements(
  q: Queryable,
  day: string,
  merchantId?: string,
): Promise<Statement[]> {
  const m = merchantId ?? null;
  // One pass over the day's events: per merchant, currency, type and the event's list of
  // accounts, the counts, amounts and position-wise sums of the line arrays (journal lines are
  // then totalled per account below). Unnesting every line instead took 14.3 s of a 1,000,000
  // event close on this box; this pass takes half of that (7.0 s, scripts/bench/settlement_bench.ts).
  const positions = Array.from({ length: MAX_LINES }, (_, i) => i + 1);
  const [groups, adjustments] = await Promise.all([
    q.query<Record<string, string> & { accounts: string[]; regular: boolean }>(
      `SELECT merchant_id, currency, type, posted_day = business_day AS regular, accounts,
              count(*)::text AS n, sum(amount)::text AS amount,
              ${positions.map((i) => `sum(debits[${i}])::text AS d${i}`).join(", ")},
              ${positions.map((i) => `sum(credits[${i}])::text AS c${i}`).join(", ")}
         FROM settlement_events
        WHERE disposition = 'APPLIED' AND posted_day = $1::date
          AND (business_day = $1::date OR posted_day <> business_day)
          AND ($2::text IS NULL OR merchant_id = $2)
        GROUP BY 1, 2, 3, 4, 5`,
      [day, m],
    ),
    q.query<
      {
        merchant_id: string;
        currency: string;
        event_id: string;
        original_day: string;
        type: string;
        amount: string;
        fee: string;
      }
    >(
      `SELECT merchant_id, currency, event_id, business_day::text AS original_day, type,
              amount::text, fee::text
         FROM settlement_events
        WHERE disposition = 'APPLIED' AND posted_day = $1::date AND business_day <> posted_day
          AND ($2::text IS NULL OR merchant_id = $2)
        ORDER BY business_day, event_id`,
      [day, m],
    ),
  ]);
  const SEP = "\u0000";
  const tallies = new Map<string, { n: number; amount: bigint }>();
  const journal = new Map<string, { debit: bigint; credit: bigint }>();
  for (const g of groups) {
    if (g.regular) {
      const key = [g.merchant_id, g.currency, g.type].join(SEP);
      const t = tallies.get(key) ?? { n: 0, amount: 0n };
      t.n += Number(g.n);
      t.amount += BigInt(g.amount!);
      tallies.set(key, t);
    }
    g.accounts.forEach((account, i) => {
      const key = [g.merchant_id, g.currency, account].join(SEP);
      const j = journal.get(key) ?? { debit: 0n, credit: 0n };
      j.debit += BigInt(g[`d${i + 1}`] ?? 0);
      j.credit += BigInt(g[`c${i + 1}`] ?? 0);
      journal.set(key, j);
    });
  }
  const byKey = new Map<string, Statement>();
  const get = (merchant: string, currency: string): Statement => {
    const key = `${merchant}\u0000${currency}`;
    let s = byKey.get(key);
    if (!s) {
      s = {
        day,
        merchantId: merchant,
        currency,
        minorDigits: minorDigits(currency) ?? 0,
        authorized: zero(),
        captured: zero(),
        refunded: zero(),
        chargedBack: zero(),
        fees: "0",
        adjustments: [],
        adjustmentsNet: "0",
        netPayable: "0",
        journal: [],
      };
      byKey.set(key, s);
    }
    return s;
  };
  for (const [key, t] of tallies) {
    const [merchant, currency, type] = key.split(SEP) as [string, string, string];
    const field = TALLY_OF[type];
    if (field) get(merchant, currency)[field] = { count: t.n, amount: String(t.amount) };
    else get(merchant, currency);
  }
  for (const a of adjustments) {
    const s = get(a.merchant_id, a.currency);
    s.adjustments.push({
      eventId: a.event_id,
      originalDay: a.original_day,
      type: a.type,
      amount: a.amount,
      fee: a.fee,
    });
    const net = a.type === "PAYMENT_CAPTURED"
      ? BigInt(a.amount) - BigInt(a.fee)
      : a.type === "PAYMENT_REFUNDED" || a.type === "PAYMENT_CHARGEBACK"
      ? -BigInt(a.amount)
      : 0n;
    s.adjustmentsNet = String(BigInt(s.adjustmentsNet) + net);
  }
  for (const [key, j] of [...journal].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const [merchant, currency, account] = key.split(SEP) as [string, string, string];
    const s = get(merchant, currency);
    s.journal.push({ account, debit: String(j.debit), credit: String(j.credit) });
    if (account === "merchant_payable") s.netPayable = String(j.credit - j.debit);
    if (account === "fee_revenue") s.fees = String(j.credit - j.debit);
  }
  return [...byKey.values()].sort((a, b) =>
    a.merchantId < b.merchantId
      ? -1
      : a.merchantId > b.merchantId
      ? 1
      : a.currency < b.currency
      ? -1
      : a.currency > b.currency
      ? 1
      : 0
  );
}

/** The stored statements of a closed day (optionally one merchant's). */
export async function storedStatements(
  q: Queryable,
  day: string,
  merchantId?: string,
): Promise<StatementRecord[]> {
  const rows = await q.query<{ content: string; sha256: string }>(
    `SELECT content, sha256 FROM settlement_statements
      WHERE day = $1::date AND ($2::text IS NULL OR merchant_id = $2)
      ORDER BY merchant_id, currency`,
    [day, merchantId ?? null],
  );
  return rows.map((r) => ({
    statement: JSON.parse(r.content) as Statement,
    canonical: r.content,
    sha256: r.sha256,
    closed: true,
  }));
}

/** Freezes the statements of `day` (inside the close's transaction); returns them. */
export async function freezeStatements(tx: Queryable, day: string): Promise<StatementRecord[]> {
  const statements = await computeStatements(tx, day);
  const out: StatementRecord[] = [];
  for (const s of statements) {
    const canonical = canonicalJson(s);
    out.push({ statement: s, canonical, sha256: await sha256Hex(canonical), closed: true });
  }
  if (out.length > 0) {
    await tx.query(
      `INSERT INTO settlement_statements (day, merchant_id, currency, content, sha256)
       SELECT $1::date, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])`,
      [
        day,
        out.map((o) => o.statement.merchantId),
        out.map((o) => o.statement.currency),
        out.map((o) => o.canonical),
        out.map((o) => o.sha256),
      ],
    );
  }
  return out;
}

/** Statements of `day`: the frozen ones once closed, else computed now (provisional). */
export async function statementsOf(
  q: Queryable,
  day: string,
  merchantId?: string,
): Promise<StatementRecord[]> {
  const [closed] = await q.query("SELECT 1 FROM settlement_days WHERE day = $1::date", [day]);
  if (closed) return await storedStatements(q, day, merchantId);
  return (await computeStatements(q, day, merchantId)).map((s) => ({
    statement: s,
    canonical: canonicalJson(s),
    sha256: null,
    closed: false,
  }));
}

/** One CSV table of statements (amounts in minor units), header first. */
export function statementsCsv(records: StatementRecord[]): string {
  const head = [
    "day",
    "merchant_id",
    "currency",
    "minor_digits",
    "authorized_count",
    "authorized_amount",
    "captured_count",
    "captured_amount",
    "refunded_count",
    "refunded_amount",
    "chargeback_count",
    "chargeback_amount",
    "fees",
    "adjustments_count",
    "adjustments_net",
    "net_payable",
    "closed",
    "sha256",
  ];
  const rows = records.map(({ statement: s, sha256, closed }) =>
    [
      s.day,
      s.merchantId,
      s.currency,
      s.minorDigits,
      s.authorized.count,
      s.authorized.amount,
      s.captured.count,
      s.captured.amount,
      s.refunded.count,
      s.refunded.amount,
      s.chargedBack.count,
      s.chargedBack.amount,
      s.fees,
      s.adjustments.length,
      s.adjustmentsNet,
      s.netPayable,
      closed,
      sha256 ?? "",
    ].map((v) => csvCell(String(v))).join(",")
  );
  return [head.join(","), ...rows].join("\r\n") + "\r\n";
}

/** One CSV cell, quoted when it holds a comma, quote or line break. */
export function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}
