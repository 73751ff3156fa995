/**
 * Property-based fuzzing of POST /payments in-process (`app.request()`), against a real Postgres
 * schema: every bad request gets a 4xx problem+json answer, nothing is stored, nothing reaches
 * the publisher, and the app stays live.
 */
import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { type BadRequest, badRequest, inProcessApp, REAL_IO } from "./fixtures.ts";

const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 2000);

async function send(app: Awaited<ReturnType<typeof inProcessApp>>["app"], r: BadRequest) {
  const headers: Record<string, string> = {};
  if (r.contentType !== null) headers["content-type"] = r.contentType;
  if (typeof r.body === "string") {
    headers["content-length"] = String(new TextEncoder().encode(r.body).length);
  } else headers["content-length"] = String(r.body.length);
  return await app.request("/payments", { method: "POST", headers, body: r.body });
}

/** Checks one answer is the problem+json the request deserves; returns the answer's size. */
async function assertProblem(res: Response, r: BadRequest, maxDetail = 5000): Promise<number> {
  const text = await res.text();
  assert(
    r.allowed.includes(res.status),
    `${r.kind}: expected ${r.allowed} but got ${res.status}: ${text.slice(0, 300)}`,
  );
  assertEquals(res.headers.get("content-type"), "application/problem+json", r.kind);
  const body = JSON.parse(text);
  assertEquals(body.status, res.status, `${r.kind}: problem status`);
  assertEquals(typeof body.title, "string");
  assertEquals(typeof body.detail, "string");
  assert(
    body.detail.length < maxDetail,
    `${r.kind}: detail of ${body.detail.length} characters`,
  );
  return text.length;
}

Deno.test({
  name: "fuzz: every malformed POST /payments is a 4xx problem+json and nothing is stored",
  ...REAL_IO,
  async fn() {
    const t = await inProcessApp();
    try {
      const kinds = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(badRequest, async (r) => {
          kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
          await assertProblem(await send(t.app, r), r);
        }),
        { numRuns: RUNS },
      );
      assertEquals(await t.rows(), 0, "rows stored by malformed requests");
      assertEquals(t.publisher.published.length, 0, "records offered to Kafka");
      assertEquals((await t.app.request("/health/live")).status, 200);
      console.log(`  ${RUNS} requests: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(", ")}`);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "fuzz: pathological bodies (deep nesting, huge numbers, long strings) are refused cleanly",
  ...REAL_IO,
  async fn() {
    const t = await inProcessApp();
    try {
      const cases: BadRequest[] = [
        {
          kind: "nesting 30000 deep",
          body: `{"metadata":${"[".repeat(30_000)}${"]".repeat(30_000)}}`,
          contentType: "application/json",
          allowed: [400, 422],
        },
        {
          kind: "number with 20000 digits",
          body: `{"amount":${"9".repeat(20_000)}}`,
          contentType: "application/json",
          allowed: [422],
        },
        {
          kind: "exponent overflow",
          body: '{"amount":1e999999}',
          contentType: "application/json",
          allowed: [422],
        },
        {
          kind: "60 kB paymentId",
          body: JSON.stringify({ paymentId: "p".repeat(60_000) }),
          contentType: "application/json",
          allowed: [422],
        },
        {
          kind: "control characters everywhere",
          body: JSON.stringify({
            paymentId: "\u0000\u0001\u001f",
            merchantId: "\r\n",
            type: "\u007f",
            amount: 1,
            currency: "\u0000EU",
            occurredAt: "\u0000",
          }),
          contentType: "application/json",
          allowed: [422],
        },
        {
          kind: "4000 unknown keys",
          body: JSON.stringify(
            Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [i, i])),
          ),
          contentType: "application/json",
          allowed: [422],
        },
        {
          kind: "empty body",
          body: "",
          contentType: "application/json",
          allowed: [400],
        },
        {
          kind: "invalid UTF-8",
          body: new Uint8Array([0x7b, 0xff, 0xfe, 0xc0, 0x80, 0x7d]),
          contentType: "application/json; charset=utf-8",
          allowed: [400],
        },
      ];
      const figures: string[] = [];
      for (const c of cases) {
        const t0 = performance.now();
        // A 422 lists every bad field (4000 unknown keys: one entry each), so its size follows
        // the body's; the body limit bounds both.
        const size = await assertProblem(await send(t.app, c), c, 1_000_000);
        const ms = performance.now() - t0;
        const sent = typeof c.body === "string" ? c.body.length : c.body.length;
        figures.push(`${c.kind}: ${sent} B in, ${size} B out, ${Math.round(ms)} ms`);
        assert(ms < 2000, `${c.kind} took ${Math.round(ms)} ms`);
        assert(size < 1_000_000, `${c.kind}: answer of ${size} bytes`);
      }
      console.log(figures.map((f) => `  ${f}`).join("\n"));
      assertEquals(await t.rows(), 0);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "a body that never completes is answered 408 after the body read timeout",
  ...REAL_IO,
  async fn() {
    const t = await inProcessApp({ bodyReadTimeoutMs: 300 });
    try {
      let cancelled = false;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('{"paymentId":'));
        },
        cancel() {
          cancelled = true;
        },
      });
      const t0 = performance.now();
      const res = await t.app.request("/payments", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        // @ts-ignore: Deno's RequestInit accepts duplex for streamed bodies
        duplex: "half",
      });
      const ms = performance.now() - t0;
      assertEquals(res.status, 408);
      assertEquals(res.headers.get("content-type"), "application/problem+json");
      assert(ms < 2000, `answered after ${Math.round(ms)} ms`);
      assert(cancelled, "the stalled body stream was not cancelled");
      assertEquals(await t.rows(), 0);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "a body whose connection fails mid-read is a retriable 503, not a 400",
  ...REAL_IO,
  async fn() {
    const t = await inProcessApp();
    try {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('{"paymentId":'));
          setTimeout(() => c.error(new Error("connection reset by peer")), 20);
        },
      });
      const res = await t.app.request("/payments", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        // @ts-ignore: Deno's RequestInit accepts duplex for streamed bodies
        duplex: "half",
      });
      assertEquals(res.status, 503);
      assertEquals(res.headers.get("retry-after"), "2");
      const problem = await res.json();
      assertEquals(problem.title, "Request body unavailable");
      assertEquals(await t.rows(), 0);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "requests over the in-flight cap are refused 503 with Retry-After, the rest proceed",
  ...REAL_IO,
  async fn() {
    const t = await inProcessApp({ maxInFlightPayments: 2, bodyReadTimeoutMs: 2000 });
    try {
      // Two requests whose bodies stall hold both slots.
      const stalled = [0, 1].map(() => {
        let ctl!: ReadableStreamDefaultController<Uint8Array>;
        const body = new ReadableStream<Uint8Array>({ start: (c) => void (ctl = c) });
        const res = t.app.request("/payments", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          // @ts-ignore: Deno's RequestInit accepts duplex for streamed bodies
          duplex: "half",
        });
        return { res: Promise.resolve(res), ctl };
      });
      await new Promise((r) => setTimeout(r, 50));
      const over = await t.app.request("/payments", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assertEquals(over.status, 503);
      assertEquals(over.headers.get("retry-after"), "2");
      assertEquals((await over.json()).title, "Too many requests in flight");
      for (const s of stalled) {
        s.ctl.enqueue(new TextEncoder().encode("{}"));
        s.ctl.close();
        assertEquals((await s.res).status, 422);
      }
      // Slots are given back: the next request is handled again.
      const after = await t.app.request("/payments", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assertEquals(after.status, 422);
    } finally {
      await t.close();
    }
  },
});
