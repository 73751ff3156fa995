import { assert, assertEquals } from "@std/assert";
import { BREAKER_STATES, METRICS, PUBLISH_BREAKER } from "./metric_contract.ts";
import { exposedFamilies, exposedStates, runSmoke } from "./smoke.ts";

interface FakeOptions {
  state?: string;
  dropMetric?: string;
  replayStatus?: number;
}

/** Exposition text with every contract family of the service, one state series at 1. */
function exposition(state: string, drop?: string): string {
  const lines: string[] = [];
  for (const m of METRICS.filter((x) => x.source === "payment-ingest" && x.name !== drop)) {
    lines.push(`# HELP ${m.name} test`, `# TYPE ${m.name} ${m.type}`);
    if (m.name === "resilience4j_circuitbreaker_state") {
      for (const s of BREAKER_STATES) {
        lines.push(
          `${m.name}{name="${PUBLISH_BREAKER}",state="${s}"} ${s === state.toLowerCase() ? 1 : 0}`,
        );
      }
    } else lines.push(`${m.type === "histogram" ? `${m.name}_count` : m.name} 0`);
  }
  return lines.join("\n") + "\n";
}

/** A stand-in for the service with just enough behaviour for the smoke checks. */
function fakeService(opts: FakeOptions = {}) {
  const seen = new Set<string>();
  const state = opts.state ?? "CLOSED";
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const { pathname } = new URL(req.url);
    const json = (body: unknown, status = 200) => Response.json(body, { status });
    if (pathname === "/health/live") return json({ status: "UP" });
    if (pathname === "/health/ready") return json({ status: "UP" });
    if (pathname === `/circuit-breaker/${PUBLISH_BREAKER}`) return json({ state });
    if (pathname === "/outbox") return json({ pending: 0 });
    if (pathname === "/openapi.json") return json({ paths: { "/payments": {} } });
    if (pathname === "/metrics") return new Response(exposition(state, opts.dropMetric));
    if (pathname === "/payments" && req.method === "POST") {
      const body = await req.json() as { eventId: string; amount: number };
      if (body.amount <= 0) return json({ title: "Invalid payment event" }, 422);
      if (seen.has(body.eventId)) return json({ eventId: body.eventId }, opts.replayStatus ?? 200);
      seen.add(body.eventId);
      return json({ eventId: body.eventId, status: "PENDING" }, 202);
    }
    return json({ title: "not found" }, 404);
  });
}

async function smokeAgainst(opts: FakeOptions) {
  const server = fakeService(opts);
  try {
    return await runSmoke(`http://127.0.0.1:${server.addr.port}`, 5000);
  } finally {
    await server.shutdown();
  }
}

Deno.test("smoke: every check passes against a healthy service", async () => {
  const results = await smokeAgainst({});
  assertEquals(results.filter((r) => !r.ok), []);
  assertEquals(results.length, 9);
});

Deno.test("smoke: a missing metric family fails the metrics check and names it", async () => {
  const results = await smokeAgainst({ dropMetric: "outbox_oldest_pending_age_seconds" });
  const failed = results.filter((r) => !r.ok);
  assertEquals(failed.map((r) => r.name), ["GET /metrics exports the metric contract"]);
  assert(failed[0]!.detail.includes("outbox_oldest_pending_age_seconds"), failed[0]!.detail);
});

Deno.test("smoke: a breaker that is not CLOSED fails", async () => {
  const results = await smokeAgainst({ state: "FORCED_OPEN" });
  assert(results.some((r) => !r.ok && r.name.includes("is CLOSED")), JSON.stringify(results));
});

Deno.test("smoke: a replay answered as a new event fails", async () => {
  const results = await smokeAgainst({ replayStatus: 202 });
  assert(results.some((r) => !r.ok && r.name.includes("replays")), JSON.stringify(results));
});

Deno.test("smoke: nothing listening fails every check without throwing", async () => {
  const server = fakeService();
  const port = server.addr.port;
  await server.shutdown();
  const results = await runSmoke(`http://127.0.0.1:${port}`, 2000);
  assert(results.length > 0 && results.every((r) => !r.ok));
});

Deno.test("exposition parsing: families from # TYPE lines, states per breaker", () => {
  const text = [
    "# TYPE a_total counter",
    "a_total 1",
    "# TYPE resilience4j_circuitbreaker_state gauge",
    'resilience4j_circuitbreaker_state{name="other",state="open"} 1',
    'resilience4j_circuitbreaker_state{name="kafka-publisher",state="open"} 0',
    'resilience4j_circuitbreaker_state{state="closed",name="kafka-publisher"} 1',
  ].join("\n");
  assertEquals([...exposedFamilies(text)], ["a_total", "resilience4j_circuitbreaker_state"]);
  assertEquals(
    [...exposedStates(text, "kafka-publisher")],
    [["open", 0], ["closed", 1]],
  );
});
