/**
 * Bad input for POST /payments: fast-check arbitraries that never produce a valid payment event
 * (each starts from a valid event and breaks it for sure), and an in-process app wired to a real
 * Postgres schema and a recording publisher, so "nothing is stored" can be counted.
 */
import { KAFKA_PUBLISH_ERRORS } from "../../src/kafka/errors.ts";
import fc from "fast-check";
import { CircuitBreaker } from "../../src/breaker/circuit_breaker.ts";
import { createApp } from "../../src/http/app.ts";
import type { AppDeps } from "../../src/http/app.ts";
import type { OutboundRecord, Publisher } from "../../src/kafka/publisher.ts";
import { silentLogger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics/metrics.ts";
import { createPostgresDb, type Db } from "../../src/outbox/db.ts";
import { createIngest } from "../../src/outbox/ingest.ts";
import { migrate } from "../../src/outbox/migrations.ts";
import { createRelay } from "../../src/outbox/relay.ts";

/** The Postgres server the fuzz tests use (never restarted). */
export const DATABASE_URL = Deno.env.get("DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/postgres";

/** Sanitizer options for tests holding real sockets and timers. */
export const REAL_IO = { sanitizeOps: false, sanitizeResources: false };

/** A valid event; the arbitraries below break it. */
export function validEvent(): Record<string, unknown> {
  return {
    eventId: crypto.randomUUID(),
    paymentId: "pay-fuzz-1",
    merchantId: "merchant-1",
    type: "PAYMENT_CREATED",
    amount: 1999,
    currency: "EUR",
    occurredAt: "2026-03-01T12:00:00Z",
  };
}

const REQUIRED = ["paymentId", "merchantId", "type", "amount", "currency", "occurredAt"] as const;

/** Values of the wrong JSON type for a string field. */
const notAString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** Strings the id pattern refuses: empty, too long, or holding a character outside it. */
const badId = fc.oneof(
  fc.constant(""),
  fc.string({ minLength: 65, maxLength: 5000 }).map((s) => `a${s}`),
  fc.tuple(
    fc.string({ maxLength: 10 }),
    fc.constantFrom(..."\u0000\n\r\t \"'<>/\\;%&{}$\u202e\ud800"),
  )
    .map(([s, c]) => `a${s}${c}${s}`),
  fc.string({ minLength: 1, maxLength: 20 }).map((s) => `-${s}`),
);

/** Amounts the schema refuses: not an integer, not positive, beyond 2^53, or not a number. */
const badAmount = fc.oneof(
  fc.constantFrom(0, -1, 1.5, 2 ** 53, 1e308, -1e308, Number.MAX_VALUE, 5e-324),
  fc.double({ noNaN: true }).filter((d) => !Number.isInteger(d) || d <= 0),
  fc.integer({ max: 0 }),
  fc.constantFrom("1000", "1e999", "NaN", "Infinity", "0x10", ""),
  notAString.filter((v) => typeof v !== "number"),
);

/** A field broken in one of the ways a client gets it wrong. */
const brokenField: fc.Arbitrary<[string, unknown]> = fc.oneof(
  fc.tuple(fc.constantFrom("paymentId", "merchantId"), fc.oneof(badId, notAString)),
  fc.tuple(fc.constant("type"), fc.oneof(fc.string({ maxLength: 40 }), notAString)),
  fc.tuple(fc.constant("amount"), badAmount),
  fc.tuple(
    fc.constant("currency"),
    fc.oneof(
      fc.constantFrom("eur", "EURO", "XXXX", "", "€", "E\u0000R"),
      fc.string({ maxLength: 3 }).filter((s) => !/^[A-Z]{3}$/.test(s)),
      notAString,
    ),
  ),
  fc.tuple(
    fc.constant("occurredAt"),
    fc.oneof(
      fc.constantFrom("yesterday", "2026-13-01T00:00:00Z", "2026-03-01", "1700000000", ""),
      fc.string({ maxLength: 30 }).filter((s) => !/^\d{4}-\d\d-\d\dT/.test(s)),
      notAString,
    ),
  ),
  fc.tuple(
    fc.constant("eventId"),
    fc.oneof(fc.string({ maxLength: 40 }).filter((s) => !/^[0-9a-f-]{36}$/i.test(s)), notAString),
  ),
  fc.tuple(
    fc.constant("metadata"),
    fc.oneof(
      notAString.filter((v) => v === null || typeof v !== "object" || Array.isArray(v)),
      fc.string(),
      // Values must be flat; 51 keys is one too many.
      fc.constant({ nested: { a: 1 } }),
      fc.constant(Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]))),
      fc.constant({ long: "x".repeat(1025) }),
    ),
  ),
  fc.tuple(
    fc.string({ minLength: 1, maxLength: 20 }).filter((k) =>
      ![...REQUIRED, "eventId", "metadata"].includes(k as never) && k !== "__proto__"
    ),
    // JSON.stringify drops an undefined value (and the key with it): that would be valid.
    fc.anything().filter((v) => v !== undefined),
  ),
);

/** A JSON object that is not a valid event: a broken field, a missing one, or both. */
export const invalidEventObject: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  brokenField.map(([k, v]) => ({ ...validEvent(), [k]: v })),
  fc.constantFrom(...REQUIRED).map((k) => {
    const e = validEvent();
    delete e[k];
    return e;
  }),
  fc.tuple(brokenField, brokenField).map(([[k1, v1], [k2, v2]]) => ({
    ...validEvent(),
    [k1]: v1,
    [k2]: v2,
  })),
);

/** Arrays nested `depth` deep inside the metadata. */
export function deeplyNested(depth: number): string {
  const e = validEvent();
  const body = JSON.stringify({ ...e, metadata: { deep: "§" } });
  return body.replace('"§"', "[".repeat(depth) + "]".repeat(depth));
}

/** Text that is not JSON at all, or JSON cut or padded into invalidity. */
export const brokenJson: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }).filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  }),
  fc.integer({ min: 1, max: 150 }).map((n) => JSON.stringify(validEvent()).slice(0, n)),
  fc.constantFrom(
    "{",
    "}",
    "{'paymentId': 'x'}",
    '{"amount": 01}',
    '{"a":1,}',
    "NaN",
    "\u0000",
    "{}}",
    "[",
  ),
  fc.string({ maxLength: 50 }).map((s) => `${JSON.stringify(validEvent())}${s}x`),
);

/** Valid JSON that is not an object: the schema refuses it. */
export const nonObjectJson: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).filter((v) =>
    v === null || typeof v !== "object" || Array.isArray(v)
  )
    .map((v) => JSON.stringify(v)),
  fc.constantFrom("[]", "null", "0", '""', "true", '[{"paymentId":"x"}]'),
);

/** One bad request: body, content type and the statuses it may get. */
export interface BadRequest {
  kind: string;
  body: string | Uint8Array<ArrayBuffer>;
  contentType: string | null;
  allowed: number[];
}

/** Content types the service must refuse with 415. */
const wrongContentType = fc.constantFrom(
  null,
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "application/jsonp",
  "json",
  "application/json-patch",
  "text/json",
);

/** Every kind of bad request, with the answers each may get. */
export const badRequest: fc.Arbitrary<BadRequest> = fc.oneof(
  invalidEventObject.map((o) => ({
    kind: "invalid event",
    body: JSON.stringify(o),
    contentType: "application/json",
    allowed: [422],
  })),
  brokenJson.map((s) => ({
    kind: "broken JSON",
    body: s,
    contentType: "application/json",
    allowed: [400],
  })),
  nonObjectJson.map((s) => ({
    kind: "not an object",
    body: s,
    contentType: "application/json",
    allowed: [422],
  })),
  fc.tuple(wrongContentType, invalidEventObject).map(([t, o]) => ({
    kind: "wrong content type",
    body: JSON.stringify({ ...o, ...validEvent() }),
    contentType: t,
    allowed: [415],
  })),
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => ({
    kind: "random bytes",
    body: new Uint8Array(b),
    contentType: "application/json",
    allowed: [400, 422],
  })),
  fc.integer({ min: 64 * 1024 + 1, max: 200 * 1024 }).map((n) => ({
    kind: "oversized",
    body: JSON.stringify({ ...validEvent(), metadata: { pad: "x".repeat(n) } }),
    contentType: "application/json",
    allowed: [413],
  })),
  fc.integer({ min: 100, max: 20_000 }).map((d) => ({
    kind: "deep nesting",
    body: deeplyNested(d),
    contentType: "application/json",
    allowed: [400, 422],
  })),
);

/** A recording publisher that fails every call (nothing should ever reach it). */
export function recordingPublisher(): Publisher & { published: OutboundRecord[] } {
  const published: OutboundRecord[] = [];
  return {
    published,
    publish(records) {
      published.push(...records);
      return Promise.reject(new Error("the fuzz publisher refuses everything"));
    },
    connect: () => Promise.resolve(),
    ping: () => Promise.reject(new Error("no broker")),
    close: () => Promise.resolve(),
  } as Publisher & { published: OutboundRecord[] };
}

/** The app in-process on a fresh schema of the real Postgres server. */
export interface InProcessApp {
  app: ReturnType<typeof createApp>;
  db: Db;
  breaker: CircuitBreaker;
  publisher: ReturnType<typeof recordingPublisher>;
  rows(): Promise<number>;
  close(): Promise<void>;
}

/** Builds the app in-process; `over` replaces dependencies (token, timeouts, reconcile). */
export async function inProcessApp(over: Partial<AppDeps> = {}): Promise<InProcessApp> {
  const schema = `fuzz_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const db = createPostgresDb(DATABASE_URL, { schema, poolSize: 4 });
  await migrate(db);
  const breaker = new CircuitBreaker("kafka-publisher");
  const publisher = recordingPublisher();
  const relay = createRelay({
    db,
    breaker,
    publisher,
    errors: KAFKA_PUBLISH_ERRORS,
    logger: silentLogger,
  });
  const ingest = createIngest({
    db,
    breaker,
    publisher,
    errors: KAFKA_PUBLISH_ERRORS,
    logger: silentLogger,
    instanceId: "fuzz",
  });
  const app = createApp({
    db,
    ingest,
    relay,
    breakers: [breaker],
    metrics: createMetrics({ breakers: [breaker], defaultMetrics: false }),
    logger: silentLogger,
    adminToken: null,
    ...over,
  });
  return {
    app,
    db,
    breaker,
    publisher,
    async rows() {
      const [r] = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM outbox");
      return Number(r?.n ?? -1);
    },
    async close() {
      breaker.dispose();
      await relay.stop();
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await db.close(1000);
    },
  };
}
