/**
 * The compose test cases, each against the running stack: smoke, the breaker scenario in both
 * variants, an alert delivered end to end, and three replicas losing one under load.
 */
import { runSmoke } from "../ops/smoke.ts";
import { runLoad } from "../../scripts/lib/load.ts";
import { verify } from "../../scripts/lib/checks.ts";
import { ROOT, sleep, suffix } from "../../scripts/lib/util.ts";
import {
  type ComposeCmd,
  containerIds,
  publishedPort,
  upAndWait,
} from "../../scripts/compose/compose.ts";
import { createPostgresDb } from "../../src/outbox/db.ts";
import { TEST_ALERT } from "./stack_env.ts";
import { businessDayOf } from "../../src/settlement/business_day.ts";
import type { WebhookListener } from "./webhook.ts";

/** What a case needs of the stack. */
export interface Stack {
  cmd: ComposeCmd;
  env: Record<string, string>;
  hook: WebhookListener;
}

/** A case returns a one-line summary, or throws what went wrong. */
export type Case = (s: Stack) => Promise<string>;

async function baseUrl(s: Stack, index = 1): Promise<string> {
  return `http://${await publishedPort(s.cmd, "payment-ingest", 8080, index)}`;
}

/** An authorised and captured payment reaches the settlement process's statement of its day. */
export const settled: Case = async (s) => {
  const base = await baseUrl(s);
  const settlement = `http://${await publishedPort(s.cmd, "payment-settlement", 8082)}`;
  const merchantId = `compose-${suffix()}`;
  const paymentId = `pay-${suffix()}`;
  const occurredAt = new Date().toISOString();
  for (const type of ["PAYMENT_AUTHORIZED", "PAYMENT_CAPTURED"]) {
    const res = await fetch(`${base}/payments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        paymentId,
        merchantId,
        type,
        amount: 12_345,
        currency: "KRW",
        occurredAt,
      }),
    });
    await res.body?.cancel();
    if (res.status !== 201 && res.status !== 202) throw new Error(`POST answered ${res.status}`);
  }
  const day = businessDayOf(Date.parse(occurredAt), { timeZone: "Asia/Seoul", cutoffMinutes: 0 });
  const deadline = Date.now() + 90_000;
  let last = "";
  while (Date.now() < deadline) {
    const res = await fetch(`${settlement}/settlements?day=${day}&merchantId=${merchantId}`)
      .catch(() => null);
    last = res ? `${res.status} ${await res.text()}` : "no answer";
    if (res?.status === 200) {
      const body = JSON.parse(last.slice(4));
      const st = body.statements[0];
      if (st?.captured.count === 1 && st.netPayable === "12345") {
        return `statement of ${day}: captured ${st.captured.amount} KRW, net payable ${st.netPayable}`;
      }
    }
    await sleep(1000);
  }
  throw new Error(`the capture did not reach the statement within 90 s; last answer: ${last}`);
};

/** The smoke checks (tests/ops/smoke.ts) against the service's published port. */
export const smoke: Case = async (s) => {
  const results = await runSmoke(await baseUrl(s));
  const failed = results.filter((r) => !r.ok);
  for (const r of results) console.log(`  ${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.detail}`);
  if (failed.length) throw new Error(failed.map((r) => `${r.name}: ${r.detail}`).join("; "));
  return `${results.length} checks`;
};

/** The trip-and-recover scenario in compose mode; returns its step 5 line (time to trip). */
export function scenario(slow: boolean): Case {
  return async () => {
    const args = [
      "scripts/test-circuit-breaker.sh",
      "--mode",
      "compose",
      ...(slow ? ["--slow"] : []),
    ];
    const p = new Deno.Command("bash", { args, cwd: ROOT, stdout: "piped", stderr: "inherit" })
      .spawn();
    let out = "";
    const dec = new TextDecoder();
    for await (const chunk of p.stdout) {
      out += dec.decode(chunk, { stream: true });
      await Deno.stdout.write(chunk);
    }
    const { code } = await p.status;
    const step5 = out.split("\n").find((l) => l.includes("step 5/9")) ?? "";
    const observed = step5.match(/observed: ([^|]*)/)?.[1]?.trim() ?? "";
    if (code !== 0) throw new Error(`scenario exited ${code}; step 5: ${observed}`);
    return `step 5: ${observed.split(" (trip")[0]}`;
  };
}

/** Forces the breaker open and waits for Prometheus -> Alertmanager -> the test's webhook. */
export const alertDelivered: Case = async (s) => {
  const base = await baseUrl(s);
  const set = async (state: string) => {
    const r = await fetch(`${base}/circuit-breaker/kafka-publisher/state`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${s.env.ADMIN_TOKEN}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ state, reason: "compose test: alert delivery" }),
    });
    await r.body?.cancel();
    if (!r.ok) throw new Error(`POST state ${state}: HTTP ${r.status}`);
  };
  const t0 = Date.now();
  await set("FORCED_OPEN");
  try {
    const alert = await s.hook.waitFor(
      // The scenario's own OPEN periods fire the same alert with state "open".
      (a) =>
        a.labels.alertname === TEST_ALERT.name && a.labels.state === "forced_open" &&
        a.status === "firing" && a.receivedAt >= t0,
      150_000,
    );
    if (!alert) {
      const seen = s.hook.alerts.map((a) => `${a.labels.alertname}/${a.status}`).join(", ");
      throw new Error(
        `no firing ${TEST_ALERT.name} reached the webhook in 150 s (got: ${seen || "none"})`,
      );
    }
    const secs = ((alert.receivedAt - t0) / 1000).toFixed(1);
    return `${TEST_ALERT.name} (for: ${TEST_ALERT.for} in the test copy) received ${secs} s after FORCED_OPEN, severity ${alert.labels.severity}`;
  } finally {
    await set("CLOSED");
  }
};

async function promQuery(s: Stack, path: string): Promise<unknown> {
  const r = await fetch(`http://127.0.0.1:${s.env.PROMETHEUS_HOST_PORT}${path}`);
  if (!r.ok) throw new Error(`Prometheus ${path}: HTTP ${r.status}`);
  return ((await r.json()) as { data: unknown }).data;
}

/** Instances Prometheus scrapes successfully for job payment-ingest. */
async function scrapedInstances(s: Stack): Promise<string[]> {
  const q = encodeURIComponent('up{job="payment-ingest"} == 1');
  const data = await promQuery(s, `/api/v1/query?query=${q}`) as {
    result: { metric: { instance: string } }[];
  };
  return data.result.map((r) => r.metric.instance).sort();
}

/**
 * Three replicas behind their own host ports: Prometheus finds each by DNS, the dashboard's
 * instance variable lists them, and killing one under load loses no acknowledged event.
 */
export const scaled: Case = async (s) => {
  await upAndWait(s.cmd, ["payment-ingest"], { scale: { "payment-ingest": 3 } });
  const deadline = Date.now() + 90_000;
  let instances = await scrapedInstances(s);
  while (instances.length < 3 && Date.now() < deadline) {
    await sleep(2000);
    instances = await scrapedInstances(s);
  }
  if (instances.length < 3) {
    throw new Error(`Prometheus scrapes ${instances.length} replicas (${instances}), want 3`);
  }
  // The same query the dashboard's instance variable runs (label_values(up{...}, instance)).
  const match = encodeURIComponent('up{job="payment-ingest"}');
  const labelValues = await promQuery(
    s,
    `/api/v1/label/instance/values?match[]=${match}`,
  ) as string[];
  if (labelValues.length < 3) throw new Error(`instance variable lists ${labelValues}`);

  const urls = await Promise.all([1, 2, 3].map((i) => baseUrl(s, i)));
  const victim = (await containerIds(s.cmd, "payment-ingest"))[1]!;
  let alive = [...urls];
  const since = new Date(Date.now() - 60_000);
  const killer = (async () => {
    await sleep(4000);
    const k = await new Deno.Command("docker", { args: ["kill", victim], stdout: "null" }).output();
    if (!k.success) throw new Error(`docker kill ${victim} failed`);
    alive = alive.filter((u) => u !== urls[1]);
  })();
  const load = await runLoad({
    targets: () => alive,
    clients: 3,
    keys: 30,
    eventsPerKey: 200,
    durationMs: 12_000,
    ratePerClient: 15,
    keyPrefix: `scaled-${suffix()}`,
    requestTimeoutMs: 5_000,
  });
  await killer;
  const db = createPostgresDb(
    `postgres://${s.env.POSTGRES_USER}:${s.env.POSTGRES_PASSWORD}@127.0.0.1:${s.env.POSTGRES_HOST_PORT}/${s.env.POSTGRES_DB}`,
  );
  try {
    const v = await verify({
      db,
      brokers: [`127.0.0.1:${s.env.KAFKA_HOST_PORT}`],
      topic: s.env.KAFKA_TOPIC!,
      load,
      since,
      drainTimeoutMs: 90_000,
    });
    const figures = `${v.acknowledged} acknowledged over 3 replicas (one killed after 4 s), ` +
      `${v.foundInKafka} in Kafka, ${v.lost} lost, ${v.duplicates} duplicate copies, ` +
      `${v.orderViolations} order inversions, ${v.pendingLeft} pending left`;
    if (v.acknowledged === 0) throw new Error("no event was acknowledged");
    if (v.lost || v.orderViolations || v.ackedNotInOutbox || v.pendingLeft) {
      throw new Error(`${figures}; lost ids ${v.lostIds.join(",")} ${v.orderDetails.join("; ")}`);
    }
    return `Prometheus scrapes ${instances.length} replicas; ${figures}`;
  } finally {
    await db.close();
  }
};
