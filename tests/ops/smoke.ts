/**
 * Smoke test of a deployed service (Jenkins "Smoke test" stage, or by hand):
 *
 *   BASE_URL=http://127.0.0.1:8080 deno run --allow-net --allow-env tests/ops/smoke.ts
 *
 * Checks health, the publish breaker, one accepted payment (and its idempotent replay), the
 * outbox view, and that /metrics exports every metric family of the contract. Exits non-zero
 * naming each failed check. It changes nothing but adding one payment event.
 */
import { BREAKER_STATES, METRICS, PUBLISH_BREAKER } from "./metric_contract.ts";
import { errorMessage } from "../../src/error_message.ts";

/** Outcome of one smoke check. */
export interface SmokeResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** Metric family names declared by `# TYPE` lines of a Prometheus text exposition. */
export function exposedFamilies(exposition: string): Set<string> {
  const out = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) \w+/gm)) out.add(m[1]!);
  return out;
}

/** The value of every `state` label of resilience4j_circuitbreaker_state for one breaker. */
export function exposedStates(exposition: string, breaker: string): Map<string, number> {
  const out = new Map<string, number>();
  const line = /^resilience4j_circuitbreaker_state\{([^}]*)\} (\S+)/gm;
  for (const m of exposition.matchAll(line)) {
    const labels = Object.fromEntries(
      [...m[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (labels.name === breaker && labels.state) out.set(labels.state, Number(m[2]));
  }
  return out;
}

/** A valid payment event with a fresh event id. */
export function samplePayment(): Record<string, unknown> {
  const id = crypto.randomUUID();
  return {
    eventId: id,
    paymentId: `smoke-${id.slice(0, 8)}`,
    merchantId: "smoke-test",
    type: "PAYMENT_CREATED",
    amount: 1234,
    currency: "EUR",
    occurredAt: new Date().toISOString(),
    metadata: { source: "smoke-test" },
  };
}

/** Runs every check against `baseUrl`; never throws for a failed check. */
export async function runSmoke(baseUrl: string, timeoutMs = 10_000): Promise<SmokeResult[]> {
  const results: SmokeResult[] = [];
  const base = baseUrl.replace(/\/$/, "");
  const call = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    return { status: res.status, text };
  };
  const check = async (name: string, fn: () => Promise<string>) => {
    try {
      results.push({ name, ok: true, detail: await fn() });
    } catch (e) {
      results.push({ name, ok: false, detail: errorMessage(e) });
    }
  };
  const expectStatus = (got: number, want: number[], text: string) => {
    if (!want.includes(got)) {
      throw new Error(`HTTP ${got} (want ${want.join("/")}): ${text.slice(0, 300)}`);
    }
  };

  await check("GET /health/live", async () => {
    const r = await call("/health/live");
    expectStatus(r.status, [200], r.text);
    return r.text;
  });
  await check("GET /health/ready", async () => {
    const r = await call("/health/ready");
    expectStatus(r.status, [200], r.text);
    return r.text;
  });
  await check(`GET /circuit-breaker/${PUBLISH_BREAKER} is CLOSED`, async () => {
    const r = await call(`/circuit-breaker/${PUBLISH_BREAKER}`);
    expectStatus(r.status, [200], r.text);
    const state = (JSON.parse(r.text) as { state?: string }).state;
    if (state !== "CLOSED") throw new Error(`state is ${state}, want CLOSED`);
    return `state ${state}`;
  });
  const payment = samplePayment();
  await check("POST /payments accepts an event", async () => {
    const r = await call("/payments", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payment),
    });
    expectStatus(r.status, [201, 202], r.text);
    const body = JSON.parse(r.text) as { eventId?: string; status?: string };
    if (body.eventId !== payment.eventId) {
      throw new Error(`eventId ${body.eventId}, want ${payment.eventId}`);
    }
    return `HTTP ${r.status} ${body.status}`;
  });
  await check("POST /payments replays a known event id", async () => {
    const r = await call("/payments", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payment),
    });
    expectStatus(r.status, [200], r.text);
    return `HTTP ${r.status}`;
  });
  await check("POST /payments rejects an invalid event", async () => {
    const r = await call("/payments", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...samplePayment(), amount: -1 }),
    });
    expectStatus(r.status, [400, 422], r.text);
    return `HTTP ${r.status}`;
  });
  await check("GET /outbox", async () => {
    const r = await call("/outbox");
    expectStatus(r.status, [200], r.text);
    return r.text.slice(0, 200);
  });
  await check("GET /openapi.json", async () => {
    const r = await call("/openapi.json");
    expectStatus(r.status, [200], r.text);
    const doc = JSON.parse(r.text) as { paths?: Record<string, unknown> };
    if (!doc.paths?.["/payments"]) throw new Error("no /payments path in the OpenAPI document");
    return "ok";
  });
  await check("GET /metrics exports the metric contract", async () => {
    const r = await call("/metrics");
    expectStatus(r.status, [200], r.text);
    const families = exposedFamilies(r.text);
    const missing = METRICS.filter((m) => m.source === "payment-ingest" && !families.has(m.name))
      .map((m) => m.name);
    if (missing.length > 0) throw new Error(`missing metric families: ${missing.join(", ")}`);
    const states = exposedStates(r.text, PUBLISH_BREAKER);
    const absent = BREAKER_STATES.filter((s) => !states.has(s));
    if (absent.length > 0) throw new Error(`no state series for ${absent.join(", ")}`);
    const active = [...states].filter(([, v]) => v === 1).map(([s]) => s);
    if (active.length !== 1) {
      throw new Error(`exactly one state must be 1, got [${active.join(", ")}]`);
    }
    return `${families.size} families, state ${active[0]}`;
  });
  return results;
}

if (import.meta.main) {
  const baseUrl = Deno.env.get("BASE_URL") ??
    `http://127.0.0.1:${Deno.env.get("APP_HOST_PORT") ?? "8080"}`;
  console.log(`smoke test against ${baseUrl}`);
  const results = await runSmoke(baseUrl);
  for (const r of results) console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.detail}`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  Deno.exit(failed === 0 ? 0 : 1);
}
