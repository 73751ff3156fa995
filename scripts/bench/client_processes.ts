/**
 * The client bench's helpers: the reference service and the paced load as child processes, the
 * backlog added to the outbox, and the count of pending rows.
 */
import type { Db } from "../../src/outbox/db.ts";
import { freePort, ROOT } from "../lib/util.ts";
import { until } from "./probe.ts";

/** PENDING rows of the outbox (the drain's progress). */
export async function pendingRows(db: Db): Promise<number> {
  const [row] = await db.query<{ n: string }>(
    "SELECT count(*) AS n FROM outbox WHERE status = 'PENDING'",
  );
  return Number(row?.n ?? 0);
}

/**
 * Adds `n` pending rows as a long Kafka outage leaves them (one payment each, the service's
 * payload shape), in chunks of 100,000, then vacuums and analyzes the table.
 */
export async function seedBacklog(db: Db, n: number): Promise<void> {
  const chunk = 100_000;
  for (let from = 0; from < n; from += chunk) {
    await db.query(
      `INSERT INTO outbox (id, aggregateid, type, payload)
       SELECT gen_random_uuid(), 'backlog-' || g, 'PAYMENT_CREATED',
         jsonb_build_object('eventId', gen_random_uuid(), 'paymentId', 'backlog-' || g,
           'merchantId', 'm-1', 'type', 'PAYMENT_CREATED', 'amount', 100 + g,
           'currency', 'EUR', 'occurredAt', '2026-11-25T10:00:00Z')
       FROM generate_series($1::int, $2::int) g`,
      [from + 1, Math.min(n, from + chunk)],
    );
  }
  // The outage that left this backlog would have had autovacuum pass over it meanwhile; one
  // pass now keeps a first vacuum of two million rows out of the measured phase.
  await db.query("VACUUM (ANALYZE) outbox");
}

/** The reference service as a child process. */
export async function startReference(o: {
  databaseUrl: string;
  table: string;
  brokers: string[];
  topic: string;
}): Promise<{ base: string; pid: number; stop: () => Promise<void> }> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}scripts/bench/reference_service.ts`],
    env: {
      PORT: String(port),
      DATABASE_URL: o.databaseUrl,
      REF_TABLE: o.table,
      KAFKA_BROKERS: o.brokers.join(","),
      KAFKA_TOPIC: o.topic,
    },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  await until(
    () =>
      fetch(`${base}/`, { method: "POST", body: "{}" }).then((r) => r.status === 400, () => false),
    30_000,
    "the reference service",
  );
  return {
    base,
    pid: child.pid,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** The paced load as a child process; `stop` ends it and returns its figures. */
export function startPaced(url: string, rate: number, nonce: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}scripts/bench/paced_load.ts`,
      url,
      "--rate",
      String(rate),
      "--seconds",
      "900",
      "--nonce",
      String(nonce),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  return {
    async stop() {
      child.kill("SIGINT");
      const out = new TextDecoder().decode((await child.output()).stdout);
      const line = out.split("\n").find((l) => l.startsWith("PACED_JSON "));
      if (!line) throw new Error(`the paced load printed no result:\n${out}`);
      return JSON.parse(line.slice("PACED_JSON ".length)) as {
        sent: number;
        p50Ms: number;
        p99Ms: number;
        statuses: Record<string, number>;
      };
    },
  };
}
