/** Fault cases 5-7: the service itself is killed, shares its outbox, or is shut down gracefully. */
import {
  caseKit,
  type CaseResult,
  mergeLoads,
  resultRow,
  type SuiteContext,
} from "./lib/case_kit.ts";
import { verify, waitDrained, watchTransitions } from "../../scripts/lib/checks.ts";
import { eventBody, type LoadResult, runLoad } from "../../scripts/lib/load.ts";
import {
  FAULTS_ADMIN_TOKEN,
  type ServiceProc,
  spawnService,
} from "../../scripts/lib/service_process.ts";
import { freePort, sleep, suffix, waitFor } from "../../scripts/lib/util.ts";
import { readTopic } from "../../src/kafka/topic_reader.ts";
import { errorMessage } from "../../src/error_message.ts";

async function pendingCount(kit: { db: { query: <T>(s: string) => Promise<T[]> } }) {
  const [r] = await kit.db.query<{ n: string }>(
    "SELECT count(*)::text AS n FROM outbox WHERE status = 'PENDING'",
  );
  return Number(r?.n ?? 0);
}

/** Case 5: the service SIGKILLed with events pending (Kafka down), restarted: all published. */
export async function serviceKilled(ctx: SuiteContext): Promise<CaseResult> {
  const t0 = Date.now();
  const kit = caseKit(ctx, "svckill");
  const port = freePort();
  const env = kit.env({ PORT: String(port) });
  const failures: string[] = [];
  const notes: string[] = [];
  let svc: ServiceProc | null = null;
  let kafkaStart: Promise<void> | null = null;
  const bases = () => (svc ? [svc.base] : []);
  const watch = watchTransitions(bases);
  try {
    // Topic created while Kafka is up, so the restarted service only has to publish.
    svc = await spawnService({ name: "svckill-1", env });
    const since = new Date(Date.now() - 1000);
    ctx.log("case 5: stopping the broker so events pile up");
    await ctx.broker.stop();
    const loadP = runLoad({
      targets: () => [`http://127.0.0.1:${port}`],
      keyPrefix: `k5-${suffix()}`,
      durationMs: 10_000,
    });
    await sleep(4000);
    const pendingAtKill = await pendingCount(kit);
    ctx.log(`case 5: SIGKILL the service (${pendingAtKill} pending)`);
    svc.signal("SIGKILL");
    const killed = await svc.exited;
    notes.push(`killed with ${pendingAtKill} events pending (exit signal ${killed.signal})`);
    if (pendingAtKill === 0) failures.push("nothing was pending when the service was killed");
    svc = null;
    await sleep(1000);
    ctx.log("case 5: restarting the service");
    svc = await spawnService({ name: "svckill-2", env });
    await sleep(1000);
    ctx.log("case 5: starting the broker");
    kafkaStart = ctx.broker.start();
    const load = await loadP;
    await kafkaStart;
    const v = await verify({
      db: kit.db,
      brokers: [ctx.broker.address],
      topic: kit.topic,
      load,
      since,
    });
    const transitions = await watch.stop();
    if (load.unacked.length > 0) {
      failures.push(
        `${load.unacked.length} events never acknowledged (retries through the restart)`,
      );
    }
    return resultRow(5, "service SIGKILL, pending", load, v, transitions, t0, failures, notes);
  } finally {
    await kafkaStart?.catch(() => {});
    await ctx.broker.start().catch(() => {});
    await watch.stop();
    await svc?.stop();
    await kit.cleanup();
  }
}

async function outboxStatus(
  base: string,
): Promise<{ pending: number; relay: { leader: boolean } }> {
  const res = await fetch(`${base}/outbox`, { signal: AbortSignal.timeout(2000) });
  return await res.json();
}

/** Case 6: two instances share one outbox; one is killed; the survivor publishes its backlog. */
export async function twoInstances(ctx: SuiteContext): Promise<CaseResult> {
  const t0 = Date.now();
  const kit = caseKit(ctx, "pair");
  const failures: string[] = [];
  const notes: string[] = [];
  const alive = new Map<string, ServiceProc>();
  const targets = () => [...alive.values()].map((s) => s.base);
  const watch = watchTransitions(targets);
  try {
    const a = await spawnService({ name: "A", env: kit.env() });
    alive.set("A", a);
    const led = await waitFor(async () => (await outboxStatus(a.base)).relay.leader, 15_000);
    if (!led) failures.push("instance A never became the relay leader");
    const b = await spawnService({ name: "B", env: kit.env() });
    alive.set("B", b);
    const since = new Date(Date.now() - 1000);
    const prefix = `k6-${suffix()}`;

    // Phase 1, the normal case: both instances take traffic, nothing is published twice.
    const phase1 = await runLoad({
      targets,
      keyPrefix: prefix,
      durationMs: 4000,
      eventsPerKey: 8,
    });
    await waitDrained(kit.db, 30_000);
    const normal = await readTopic({ brokers: [ctx.broker.address], topic: kit.topic });
    const ids = new Set<string>();
    let dupNormal = 0;
    for (const r of normal.records) {
      if (ids.has(r.eventId)) dupNormal++;
      ids.add(r.eventId);
    }
    notes.push(`normal phase: ${normal.records.length} records, ${dupNormal} duplicates`);
    if (dupNormal > 0) failures.push(`${dupNormal} events published twice in the normal case`);

    // Phase 2: A (the relay leader) is held FORCED_OPEN so a backlog piles up, then killed.
    const loadP = runLoad({
      targets,
      keyPrefix: prefix,
      durationMs: 9000,
      eventsPerKey: 40,
    });
    await sleep(1500);
    const forced = await fetch(`${a.base}/circuit-breaker/kafka-publisher/state`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${FAULTS_ADMIN_TOKEN}`,
      },
      body: JSON.stringify({ state: "FORCED_OPEN", reason: "fault suite: pile up a backlog" }),
    });
    await forced.body?.cancel();
    if (!forced.ok) failures.push(`forcing A open answered ${forced.status}`);
    await sleep(2500);
    const pendingAtKill = await pendingCount(kit);
    ctx.log(`case 6: SIGKILL instance A (${pendingAtKill} pending)`);
    alive.delete("A");
    a.signal("SIGKILL");
    await a.exited;
    notes.push(`A killed with ${pendingAtKill} events pending`);
    if (pendingAtKill === 0) failures.push("nothing was pending when A was killed");
    const phase2 = await loadP;
    const took = await waitFor(async () => (await outboxStatus(b.base)).relay.leader, 15_000);
    if (!took) failures.push("B did not take over the relay");
    const load = mergeLoads(phase1, phase2);
    const v = await verify({
      db: kit.db,
      brokers: [ctx.broker.address],
      topic: kit.topic,
      load,
      since,
    });
    const transitions = await watch.stop();
    if (load.unacked.length > 0) {
      failures.push(`${load.unacked.length} events never acknowledged`);
    }
    return resultRow(6, "2 instances, 1 killed", load, v, transitions, t0, failures, notes);
  } finally {
    await watch.stop();
    for (const s of alive.values()) await s.stop();
    await kit.cleanup();
  }
}

/** A POST whose body arrives in two parts, `gapMs` apart, over a raw connection. */
async function slowPost(
  port: number,
  body: string,
  firstPartSent: () => void,
  gapMs: number,
): Promise<{ status: number; retryAfter: string | null; error: string | null }> {
  const enc = new TextEncoder();
  let conn: Deno.TcpConn | null = null;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const bytes = enc.encode(body);
    const half = Math.floor(bytes.length / 2);
    await conn.write(enc.encode(
      `POST /payments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`,
    ));
    await conn.write(bytes.subarray(0, half));
    firstPartSent();
    await sleep(gapMs);
    await conn.write(bytes.subarray(half));
    const buf = new Uint8Array(4096);
    let text = "";
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
      if (/\r\n\r\n/.test(text)) break;
    }
    const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
    const retryAfter = /^retry-after:\s*(\S+)/im.exec(text)?.[1] ?? null;
    return m
      ? { status: Number(m[1]), retryAfter, error: null }
      : { status: 0, retryAfter: null, error: `no answer: ${text}` };
  } catch (e) {
    return { status: 0, retryAfter: null, error: errorMessage(e) };
  } finally {
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

/** Case 7: SIGTERM under load: in-flight requests complete, nothing half-written, exit 0. */
export async function gracefulShutdown(ctx: SuiteContext): Promise<CaseResult> {
  const t0 = Date.now();
  const kit = caseKit(ctx, "term");
  const port = freePort();
  const env = kit.env({ PORT: String(port) });
  const failures: string[] = [];
  const notes: string[] = [];
  let svc: ServiceProc | null = await spawnService({ name: "term-1", env });
  const bases = () => (svc ? [svc.base] : []);
  const watch = watchTransitions(bases);
  try {
    const since = new Date(Date.now() - 1000);
    const prefix = `k7-${suffix()}`;
    let sigtermAt = Infinity;
    const loadP = runLoad({
      targets: () => [`http://127.0.0.1:${port}`],
      keyPrefix: prefix,
      durationMs: 6000,
      // After the SIGTERM the port is closed: a refused connection is expected, not retried.
      retry: (_i, tries, last) => last.start < sigtermAt && tries < 3,
    });
    await sleep(2500);
    // Requests with a body still on the wire when the signal arrives.
    const slow: {
      id: string;
      key: string;
      p: ReturnType<typeof slowPost>;
    }[] = [];
    let partsSent = 0;
    for (let i = 0; i < 3; i++) {
      const id = crypto.randomUUID();
      const key = `${prefix}-slow-${i}`;
      // The second half comes after the drain (SHUTDOWN_DRAIN_MS, 2 s by default) has ended.
      slow.push({ id, key, p: slowPost(port, eventBody(key, 0, id), () => partsSent++, 4000) });
    }
    await waitFor(() => Promise.resolve(partsSent === 3), 3000, 20);
    ctx.log("case 7: SIGTERM the service");
    sigtermAt = Date.now();
    svc.signal("SIGTERM");
    const exitP = svc.exited;
    // Draining: still serving, but not ready, so a balancer stops sending.
    const drainingSeen = await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
        const body = await res.json();
        return res.status === 503 && body.checks?.shutdown === "DRAINING";
      },
      1500,
      50,
    );
    if (drainingSeen) notes.push("while draining: /health/ready 503 DRAINING");
    else failures.push("/health/ready did not answer 503 DRAINING after SIGTERM");
    const slowResults = await Promise.all(slow.map((s) => s.p));
    const load = await loadP;
    const status = await Promise.race([exitP, sleep(20_000).then(() => null)]);
    if (status === null) {
      failures.push("the service did not exit within 20 s of SIGTERM");
      svc.signal("SIGKILL");
      await svc.exited;
    } else {
      notes.push(
        `exit code ${status.code} ${
          Math.round((Date.now() - sigtermAt) / 100) / 10
        } s after SIGTERM`,
      );
      if (status.code !== 0) failures.push(`exit code ${status.code} (signal ${status.signal})`);
    }
    svc = null;

    // A body still on the wire when the signal came: Deno's server.shutdown() cuts its read, so
    // the answer must be a retriable 503 (nothing stored), never a 400 or a reset.
    const cut: string[] = [];
    slowResults.forEach((r, i) => {
      if (r.status >= 200 && r.status < 300) return;
      if (r.status === 503 && r.retryAfter) cut.push(slow[i]!.id);
      else failures.push(`in-flight slow request ${i} got ${r.status} ${r.error ?? ""}`);
    });
    notes.push(
      `requests with a body still arriving at SIGTERM: ${
        slowResults.map((r) => r.status).join(", ")
      } (503 = body cut by the shutdown, retriable)`,
    );
    if (cut.length > 0) {
      const kept = await kit.db.query<{ id: string }>(
        "SELECT id::text AS id FROM outbox WHERE id = ANY($1::uuid[])",
        [cut],
      );
      if (kept.length > 0) failures.push(`${kept.length} cut requests were stored anyway`);
    }
    // Fold the slow requests into the acknowledged set.
    const slowLoad: LoadResult = {
      attempts: [],
      sent: slow.length,
      acked: new Map(
        slow.filter((_, i) => slowResults[i]!.status >= 200 && slowResults[i]!.status < 300)
          .map((s) => [s.id, s.key]),
      ),
      ackOrder: new Map(slow.map((s) => [s.key, [s.id]])),
      unacked: [],
      durationMs: 0,
    };
    const merged = mergeLoads(load, slowLoad);

    // Resets of requests sent before the signal, and requests that failed yet were stored.
    const failed = load.attempts.filter((a) => a.status === 0);
    const resetBefore = failed.filter((a) => a.start < sigtermAt);
    notes.push(
      `${failed.length} network errors (${resetBefore.length} for requests sent before SIGTERM: ${
        [...new Set(resetBefore.map((a) => a.error))].slice(0, 2).join("; ")
      })`,
    );
    if (resetBefore.length > 0) {
      failures.push(`${resetBefore.length} requests sent before SIGTERM got no answer`);
    }
    const failedIds = [...new Set(load.unacked.map((a) => a.eventId))];
    const stored = failedIds.length === 0 ? [] : await kit.db.query<{ id: string }>(
      "SELECT id::text AS id FROM outbox WHERE id = ANY($1::uuid[])",
      [failedIds],
    );
    if (stored.length > 0) {
      failures.push(`${stored.length} events without an answer were stored (half-written)`);
    }
    const [claims] = await kit.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM outbox WHERE status = 'PENDING' AND claimed_by IS NOT NULL
         AND claim_expires_at > now()`,
    );
    notes.push(`after exit: ${claims?.n ?? "?"} live inline claims left behind`);
    if (Number(claims?.n ?? 0) > 0) failures.push(`${claims?.n} inline claims left behind`);

    // A fresh instance publishes whatever is left; then the usual checks.
    svc = await spawnService({ name: "term-2", env });
    const v = await verify({
      db: kit.db,
      brokers: [ctx.broker.address],
      topic: kit.topic,
      load: merged,
      since,
    });
    const transitions = await watch.stop();
    return resultRow(7, "graceful SIGTERM", merged, v, transitions, t0, failures, notes);
  } finally {
    await watch.stop();
    await svc?.stop();
    await kit.cleanup();
  }
}
