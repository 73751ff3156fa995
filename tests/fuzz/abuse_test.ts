/**
 * Abuse of a real service subprocess (real Postgres, no Kafka needed): thousands of malformed
 * requests (memory and descriptors flat, nothing stored, still live), admin-token guessing (the
 * token never appears in the logs), slow clients and a connection flood (a normal request still
 * answers quickly). Figures are printed for docs/RELIABILITY.md.
 */
import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { createPostgresDb } from "../../src/outbox/db.ts";
import { spawnService } from "../../scripts/lib/service_process.ts";
import { freePort, openFds, quantile, rssKiB, sleep } from "../../scripts/lib/util.ts";
import { type BadRequest, badRequest, DATABASE_URL, REAL_IO, validEvent } from "./fixtures.ts";

const TOKEN = `abuse-${crypto.randomUUID()}`;
const ROUNDS = 8;
const PER_ROUND = Number(Deno.env.get("ABUSE_REQUESTS_PER_ROUND") ?? 1200);

async function startService(extra: Record<string, string> = {}) {
  const schema = `abuse_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const svc = await spawnService({
    name: "abuse",
    env: {
      PORT: "0",
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      // Nothing listens there: these tests never need Kafka.
      KAFKA_BROKERS: `127.0.0.1:${freePort()}`,
      KAFKA_TOPIC: `abuse-${schema}`,
      ADMIN_TOKEN: TOKEN,
      LOG_LEVEL: "debug",
      INLINE_PUBLISH: "false",
      ...extra,
    },
  });
  const db = createPostgresDb(DATABASE_URL, { schema, poolSize: 1 });
  return {
    svc,
    async rows() {
      const [r] = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM outbox");
      return Number(r?.n ?? -1);
    },
    async stop() {
      const status = await svc.stop();
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await db.close(1000);
      return status;
    },
  };
}

async function sendBad(base: string, r: BadRequest): Promise<{ status: number; type: string }> {
  const headers: Record<string, string> = {};
  if (r.contentType !== null) headers["content-type"] = r.contentType;
  const res = await fetch(`${base}/payments`, { method: "POST", headers, body: r.body });
  await res.arrayBuffer();
  return { status: res.status, type: res.headers.get("content-type") ?? "" };
}

/** Sends `requests` with `concurrency` clients; returns the statuses seen. */
async function blast(base: string, requests: BadRequest[], concurrency = 8) {
  const seen = new Map<number, number>();
  let bad = 0;
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests.length) {
      const r = requests[next++]!;
      const a = await sendBad(base, r);
      seen.set(a.status, (seen.get(a.status) ?? 0) + 1);
      if (!r.allowed.includes(a.status) || a.type !== "application/problem+json") bad++;
    }
  }));
  return { seen, bad };
}

Deno.test({
  name: "abuse: thousands of malformed requests leave memory and descriptors flat, nothing stored",
  ...REAL_IO,
  async fn() {
    const s = await startService();
    try {
      const base = s.svc.base;
      // V8 grows its heap over the first several thousand requests, then holds: the first half
      // of the rounds is the warm-up, the second half must be flat.
      const rounds: { rss: number; fds: number }[] = [];
      const statuses = new Map<number, number>();
      let bad = 0;
      const t0 = performance.now();
      for (let round = 0; round < ROUNDS; round++) {
        const r = await blast(base, fc.sample(badRequest, { numRuns: PER_ROUND, seed: round }));
        bad += r.bad;
        for (const [k, v] of r.seen) statuses.set(k, (statuses.get(k) ?? 0) + v);
        rounds.push({ rss: (await rssKiB(s.svc.pid))!, fds: (await openFds(s.svc.pid))! });
      }
      const secs = (performance.now() - t0) / 1000;
      const live = await fetch(`${base}/health/live`);
      await live.body?.cancel();
      const mib = (k: number) => (k / 1024).toFixed(1);
      const half = Math.floor(ROUNDS / 2) - 1;
      const growth = rounds.at(-1)!.rss - rounds[half]!.rss;
      console.log(
        `  ${ROUNDS * PER_ROUND} malformed requests in ${secs.toFixed(1)} s; answers ${
          [...statuses].sort().map(([k, v]) => `${k}:${v}`).join(" ")
        }\n  RSS per ${PER_ROUND} requests (MiB): ${rounds.map((r) => mib(r.rss)).join(" ")}` +
          `\n  second half growth ${mib(growth)} MiB; fds ${rounds.map((r) => r.fds).join(" ")}`,
      );
      assertEquals(bad, 0, "answers that were not the expected 4xx problem+json");
      assertEquals(await s.rows(), 0, "rows stored by malformed requests");
      assertEquals(live.status, 200);
      // V8 collects lazily (RSS saw-tooths by tens of MiB), so the bounds are: the second half
      // adds less than 48 MiB, and the peak stays under 320 MiB; a leak of 8 KiB per request
      // would pass 320 MiB over these ~10000 requests.
      const peak = Math.max(...rounds.map((r) => r.rss));
      assert(growth < 48 * 1024, `RSS grew ${mib(growth)} MiB over the second half`);
      assert(peak < 320 * 1024, `RSS peaked at ${mib(peak)} MiB`);
      assert(rounds.at(-1)!.fds - rounds[0]!.fds < 20, "descriptors grew");
      assertEquals(s.svc.exitStatus, null);
    } finally {
      await s.stop();
    }
  },
});

Deno.test({
  name: "abuse: the admin token never appears in the service's output or answers",
  ...REAL_IO,
  async fn() {
    const s = await startService();
    const answers: string[] = [];
    try {
      const base = s.svc.base;
      const tries = [
        `Bearer ${TOKEN.slice(0, -1)}`,
        `Bearer ${TOKEN}0`,
        `Basic ${btoa(`x:${TOKEN}`)}`,
        TOKEN,
        `Bearer  ${TOKEN} trailing`,
        `Bearer ${TOKEN.toUpperCase()}`,
      ];
      for (const auth of tries) {
        const res = await fetch(`${base}/circuit-breaker/kafka-publisher/state`, {
          method: "POST",
          headers: { authorization: auth, "content-type": "application/json" },
          body: JSON.stringify({ state: "FORCED_OPEN", reason: "guess" }),
        });
        answers.push(await res.text());
        assert([401, 403].includes(res.status), `${res.status} for a wrong token`);
      }
      // The token where it does not belong: in the URL, the body, an event.
      for (
        const [path, body] of [
          [`/circuit-breaker/kafka-publisher/state?token=${TOKEN}`, `{"state":"${TOKEN}"}`],
          [`/payments?admin=${TOKEN}`, JSON.stringify({ ...validEvent(), paymentId: TOKEN })],
          [`/outbox/reconcile`, JSON.stringify({ since: TOKEN })],
          [`/no-such-route/${TOKEN}`, TOKEN],
        ]
      ) {
        const res = await fetch(`${base}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}x` },
          body,
        });
        answers.push(await res.text());
      }
      // A legitimate operator action with the right token, logged by the service.
      const ok = await fetch(`${base}/circuit-breaker/kafka-publisher/state`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ state: "FORCED_OPEN", reason: "abuse test", ttlSeconds: 1 }),
      });
      answers.push(await ok.text());
      assertEquals(ok.status, 200);
      await sleep(1500);
    } finally {
      await s.stop();
    }
    const logs = s.svc.lines.join("\n");
    assert(logs.includes("state set by operator"), "the operator action was not logged");
    const needle = TOKEN.slice(6, 30);
    assert(!logs.includes(needle), "the admin token appears in the service output");
    assert(!logs.includes(btoa(`x:${TOKEN}`)), "the encoded token appears in the service output");
    // Answers may quote what the client sent in the body or path, never the configured token
    // in response to a header.
    for (const a of answers.slice(0, 6)) assert(!a.includes(needle), `answer echoes token: ${a}`);
    console.log(`  ${s.svc.lines.length} log lines (LOG_LEVEL=debug) searched: token absent`);
  },
});

/** Opens a raw connection; `send` decides what (if anything) it writes. */
async function rawConn(port: number): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port });
}

Deno.test({
  name: "abuse: slow clients and a connection flood do not stop a normal request",
  ...REAL_IO,
  async fn() {
    const s = await startService();
    const conns: Deno.TcpConn[] = [];
    let dribbling = true;
    const enc = new TextEncoder();
    try {
      const port = s.svc.port;
      const base = s.svc.base;
      const fd0 = (await openFds(s.svc.pid))!;
      const rss0 = (await rssKiB(s.svc.pid))!;
      // 500 idle connections that never send a byte.
      for (let i = 0; i < 500; i++) conns.push(await rawConn(port));
      // 200 slowloris connections sending their headers one byte at a time.
      const slowHeaders: Deno.TcpConn[] = [];
      for (let i = 0; i < 200; i++) slowHeaders.push(await rawConn(port));
      conns.push(...slowHeaders);
      const header = enc.encode(
        "POST /payments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Pad: ",
      );
      const dribble = (async () => {
        for (let i = 0; dribbling && i < 600; i++) {
          for (const c of slowHeaders) {
            await c.write(header.subarray(i % header.length, i % header.length + 1)).catch(
              () => {},
            );
          }
          await sleep(100);
        }
      })();
      // 50 requests whose body never completes.
      const stalled: { conn: Deno.TcpConn; answer: Promise<string> }[] = [];
      for (let i = 0; i < 50; i++) {
        const conn = await rawConn(port);
        conns.push(conn);
        await conn.write(enc.encode(
          "POST /payments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
            'Content-Length: 1000\r\n\r\n{"paymentId":"stall',
        ));
        const answer = (async () => {
          const buf = new Uint8Array(2048);
          const n = await conn.read(buf).catch(() => null);
          return n === null ? "" : new TextDecoder().decode(buf.subarray(0, n));
        })();
        stalled.push({ conn, answer });
      }
      await sleep(500);
      const fdAttack = (await openFds(s.svc.pid))!;
      // Normal traffic during the attack.
      const lat: number[] = [];
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t0 = performance.now();
        const res = i % 3 === 0
          ? await fetch(`${base}/health/ready`)
          : await fetch(`${base}/payments`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ ...validEvent(), paymentId: `normal-${i}` }),
          });
        await res.arrayBuffer();
        lat.push(performance.now() - t0);
        statuses.push(res.status);
        await sleep(50);
      }
      // The stalled bodies are cut off by the body read timeout (default 10 s).
      const t408 = performance.now();
      const stalledAnswers = await Promise.race([
        Promise.all(stalled.map((x) => x.answer)),
        sleep(15_000).then(() => null),
      ]);
      const stalledMs = performance.now() - t408;
      dribbling = false;
      await dribble;
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      conns.length = 0;
      await sleep(1000);
      const fd1 = (await openFds(s.svc.pid))!;
      const rss1 = (await rssKiB(s.svc.pid))!;
      const answered408 = stalledAnswers?.filter((a) => a.startsWith("HTTP/1.1 408")).length ?? 0;
      console.log(
        `  attack: 500 idle + 200 slow-header + 50 stalled-body connections; service fds ${fd0} -> ${fdAttack} -> ${fd1} after; RSS ${
          (rss0 / 1024).toFixed(1)
        } -> ${(rss1 / 1024).toFixed(1)} MiB\n` +
          `  normal requests during the attack: ${lat.length}, p50 ${
            Math.round(quantile(lat, 0.5))
          } ms, max ${Math.round(Math.max(...lat))} ms, statuses ${[...new Set(statuses)]}\n` +
          `  stalled bodies answered 408: ${answered408}/50 (${
            Math.round(stalledMs / 1000)
          } s after the attack's normal requests ended)`,
      );
      assert(Math.max(...lat) < 1000, `a normal request took ${Math.round(Math.max(...lat))} ms`);
      assert(statuses.every((st) => st === 200 || st === 202), `statuses ${statuses}`);
      assertEquals(answered408, 50, "stalled bodies not answered 408");
      assert(fd1 - fd0 < 20, `descriptors not released: ${fd0} -> ${fd1}`);
      assertEquals(s.svc.exitStatus, null);
    } finally {
      dribbling = false;
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await s.stop();
    }
  },
});
