/**
 * Admin routes under abuse, in-process: missing, wrong and malformed tokens never get through and
 * never echo the token; forced states with a TTL expire as promised; POST /outbox/reconcile.
 */
import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { cleanReport } from "../../src/testing/http_fakes.ts";
import { inProcessApp, REAL_IO } from "./fixtures.ts";

const TOKEN = "admin-fuzz-token-0123456789abcdef";

function stateRequest(auth: string | null, body: unknown = { state: "FORCED_OPEN" }) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (auth !== null) headers.authorization = auth;
  return {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

Deno.test({
  name: "admin: missing, malformed and wrong tokens are 401/403 problem+json, never echoed",
  ...REAL_IO,
  async fn() {
    const t = await inProcessApp({ adminToken: TOKEN });
    try {
      const fixed: [string | null, number][] = [
        [null, 401],
        ["", 401],
        ["Bearer", 401],
        ["Bearer ", 401],
        [`Basic ${btoa(`admin:${TOKEN}`)}`, 401],
        [TOKEN, 401],
        [`Bearer ${TOKEN} extra`, 401],
        [`Bearer ${TOKEN.slice(0, -1)}`, 403],
        [`Bearer ${TOKEN}x`, 403],
        [`Bearer ${TOKEN.toUpperCase()}`, 403],
        [`Bearer ${"x".repeat(50_000)}`, 403],
      ];
      for (const [auth, status] of fixed) {
        const res = await t.app.request(
          "/circuit-breaker/kafka-publisher/state",
          stateRequest(auth),
        );
        const text = await res.text();
        assertEquals(res.status, status, `${auth?.slice(0, 40)}: ${text}`);
        assertEquals(res.headers.get("content-type"), "application/problem+json");
        assert(!text.includes(TOKEN.slice(4, 20)), "the answer echoes the token");
        if (status === 401) assert(res.headers.get("www-authenticate")?.startsWith("Bearer"));
      }
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 200 }), async (guess) => {
          fc.pre(guess.trim() !== TOKEN);
          let auth = `Bearer ${guess}`;
          // Headers cannot carry control characters or non-Latin-1 text at all.
          if (!/^[\x20-\x7e]*$/.test(auth)) auth = `Bearer ${encodeURIComponent(guess)}`;
          const res = await t.app.request(
            "/circuit-breaker/kafka-publisher/state",
            stateRequest(auth),
          );
          assert([401, 403].includes(res.status), `${res.status} for ${JSON.stringify(guess)}`);
          assert(!(await res.text()).includes(TOKEN));
        }),
        { numRuns: 300 },
      );
      assertEquals(t.breaker.state, "CLOSED", "a refused request changed the breaker");
      // The other admin mutation is guarded the same way.
      const retry = await t.app.request("/outbox/dead-lettered/retry", { method: "POST" });
      assertEquals(retry.status, 401);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "admin: with no ADMIN_TOKEN configured every mutation is refused 403",
  ...REAL_IO,
  async fn() {
    const t = await inProcessApp({ adminToken: null });
    try {
      for (const auth of [null, "Bearer ", `Bearer ${TOKEN}`]) {
        const res = await t.app.request(
          "/circuit-breaker/kafka-publisher/state",
          stateRequest(auth),
        );
        assertEquals(res.status, 403);
        await res.body?.cancel();
      }
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "admin: forced states with ttlSeconds 1 return to CLOSED within 3 s",
  ...REAL_IO,
  async fn() {
    const t = await inProcessApp({ adminToken: TOKEN });
    try {
      const took: string[] = [];
      for (const state of ["FORCED_OPEN", "FORCED_HALF_OPEN", "DISABLED", "METRICS_ONLY"]) {
        const res = await t.app.request(
          "/circuit-breaker/kafka-publisher/state",
          stateRequest(`Bearer ${TOKEN}`, { state, reason: "fuzz ttl", ttlSeconds: 1 }),
        );
        assertEquals(res.status, 200, await res.clone().text());
        assertEquals((await res.json()).state, state);
        const t0 = Date.now();
        while (t.breaker.state !== "CLOSED" && Date.now() - t0 < 3000) {
          await new Promise((r) => setTimeout(r, 50));
        }
        const ms = Date.now() - t0;
        assertEquals(t.breaker.state, "CLOSED", `${state} still held after ${ms} ms`);
        assert(ms >= 900, `${state} released after only ${ms} ms`);
        took.push(`${state} ${ms} ms`);
      }
      console.log(`  ttlSeconds 1 -> CLOSED after: ${took.join(", ")}`);
      // Bad TTLs are refused and change nothing.
      for (const ttlSeconds of [0, -1, 1.5, "1", 604_801, null, 1e300]) {
        const res = await t.app.request(
          "/circuit-breaker/kafka-publisher/state",
          stateRequest(`Bearer ${TOKEN}`, { state: "FORCED_OPEN", ttlSeconds }),
        );
        assertEquals(res.status, 422, `ttlSeconds ${ttlSeconds}`);
        await res.body?.cancel();
      }
      assertEquals(t.breaker.state, "CLOSED");
      // Malformed bodies on the admin route are problems too.
      for (const body of ["{", "[]", "null", '{"state": 5}', '{"state": "NOPE"}']) {
        const res = await t.app.request(
          "/circuit-breaker/kafka-publisher/state",
          stateRequest(`Bearer ${TOKEN}`, body),
        );
        assert([400, 422].includes(res.status), `${body}: ${res.status}`);
        assertEquals(res.headers.get("content-type"), "application/problem+json");
        await res.body?.cancel();
      }
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "POST /outbox/reconcile: admin only, validates the range, one run at a time",
  ...REAL_IO,
  async fn() {
    let release: () => void = () => {};
    const calls: [Date, Date][] = [];
    const t = await inProcessApp({
      adminToken: TOKEN,
      reconcile: async (since, until) => {
        calls.push([since, until]);
        await new Promise<void>((r) => (release = r));
        return cleanReport(since, until);
      },
    });
    const post = (body: unknown, auth: string | null = `Bearer ${TOKEN}`) =>
      t.app.request("/outbox/reconcile", stateRequest(auth, body));
    try {
      assertEquals((await post({ since: "1h" }, null)).status, 401);
      const bad = await post({ since: "last tuesday" });
      assertEquals(bad.status, 422);
      assert((await bad.text()).includes("last tuesday"), "the error names the value");
      assertEquals((await post({})).status, 422);
      assertEquals((await post({ since: "1h", until: "2h" })).status, 422);
      assertEquals((await post("{")).status, 400);
      assertEquals(calls.length, 0);

      const first = post({ since: "1h" });
      await new Promise((r) => setTimeout(r, 20));
      const busy = await post({ since: "1h" });
      assertEquals(busy.status, 409);
      release();
      const ok = await first;
      assertEquals(ok.status, 200);
      const report = await ok.json();
      assertEquals(report.clean, true);
      const [since, until] = calls[0]!;
      assert(Math.abs(until.getTime() - since.getTime() - 3_600_000) < 1000);
    } finally {
      release();
      await t.close();
    }
    const none = await inProcessApp({ adminToken: TOKEN });
    try {
      const res = await none.app.request(
        "/outbox/reconcile",
        stateRequest(`Bearer ${TOKEN}`, { since: "1h" }),
      );
      assertEquals(res.status, 501);
      await res.body?.cancel();
    } finally {
      await none.close();
    }
  },
});
