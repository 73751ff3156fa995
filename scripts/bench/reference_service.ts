/**
 * The client bench's reference: the same durable work as POST /payments with nothing else. Each
 * request is parsed and checked, joins a batch, the batch is one INSERT (one commit, one fsync)
 * into a table shaped like the outbox, then one kafkajs send with acks=all; every request of the
 * batch is answered 201 after both. No breaker, no claims, no marks, no metrics.
 *
 *   PORT=... DATABASE_URL=... REF_TABLE=schema.table KAFKA_BROKERS=... KAFKA_TOPIC=... \
 *     deno run -A scripts/bench/reference_service.ts
 */
import postgres from "postgres";
import { kafkaClient } from "../../src/kafka/client.ts";

const env = (k: string) => Deno.env.get(k) ?? (() => Deno.exit(console.error(`${k} unset`)!))();
const sql = postgres(env("DATABASE_URL"), { max: 4, prepare: true, onnotice: () => {} });
const table = env("REF_TABLE");
const kafka = kafkaClient({
  brokers: env("KAFKA_BROKERS").split(","),
  clientId: "reference-service",
});
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
const topic = env("KAFKA_TOPIC");

type Item = { id: string; key: string; type: string; body: string; done: (ok: boolean) => void };
const queue: Item[] = [];
let running = 0;

async function flush(batch: Item[]): Promise<void> {
  try {
    await sql.unsafe(
      `INSERT INTO ${table} (id, aggregateid, type, payload)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[])`,
      [
        batch.map((b) => b.id),
        batch.map((b) => b.key),
        batch.map((b) => b.type),
        batch.map((b) => b.body),
      ],
      { prepare: true },
    );
    await producer.send({
      topic,
      acks: -1,
      messages: batch.map((b) => ({ key: b.key, value: b.body, headers: { eventId: b.id } })),
    });
    for (const b of batch) b.done(true);
  } catch {
    for (const b of batch) b.done(false);
  }
}

function pump(): void {
  while (running < 2 && queue.length > 0) {
    running++;
    flush(queue.splice(0, 256)).finally(() => (running--, pump()));
  }
}

Deno.serve(
  { port: Number(env("PORT")), hostname: "127.0.0.1", onListen: () => {} },
  async (req) => {
    const body = await req.text();
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(body);
    } catch {
      return new Response("malformed JSON", { status: 400 });
    }
    if (typeof e.paymentId !== "string" || typeof e.type !== "string") {
      return new Response("paymentId and type are required", { status: 400 });
    }
    const id = crypto.randomUUID();
    const ok = await new Promise<boolean>((done) => {
      queue.push({ id, key: e.paymentId as string, type: e.type as string, body, done });
      if (queue.length === 1) queueMicrotask(pump);
    });
    return Response.json({ eventId: id, status: ok ? "PUBLISHED" : "FAILED" }, {
      status: ok ? 201 : 503,
    });
  },
);
console.log(`reference on http://127.0.0.1:${env("PORT")}/`);
