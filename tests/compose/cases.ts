/**
 * The compose test cases, each against the running stack: a fresh stack left idle, smoke, the
 * breaker scenario in both variants, an alert delivered end to end, and three replicas losing one
 * under load.
 */
import { examplesFor, runExamples } from "../ops/readme_examples.ts";
import { runSmoke } from "../ops/smoke.ts";
import { runLoad } from "../../scripts/lib/load.ts";
import { verify } from "../../scripts/lib/checks.ts";
import { ROOT, sleep, suffix } from "../../scripts/lib/util.ts";
import {
  type ComposeCmd,
  containerIds,
  dc,
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

/**
 * The README's examples for the compose stack (the service on :18080, Prometheus on :9090), run
 * as written against this stack, with only the ports swapped for the ones it published.
 */
export const readmeExamples: Case = async (s) => {
  const examples = await examplesFor([18080, 9090]);
  if (!examples.some((c) => c.includes("deno task smoke"))) {
    throw new Error("the README names no smoke command for the compose stack");
  }
  const portOf = (addr: string) => Number(addr.split(":").at(-1));
  const ports = {
    18080: portOf(await publishedPort(s.cmd, "payment-ingest", 8080)),
    9090: portOf(await publishedPort(s.cmd, "prometheus", 9090)),
  };
  const env: Record<string, string> = { ADMIN_TOKEN: s.env.ADMIN_TOKEN ?? "" };
  for (const k of ["PATH", "HOME", "DENO_DIR"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  const runs = await runExamples(examples, ports, env);
  const failed = runs.filter((r) => r.code !== 0);
  if (failed.length > 0) {
    throw new Error(failed.map((r) => `${r.command} -> exit ${r.code}: ${r.output}`).join("; "));
  }
  return `${runs.length} README examples`;
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

/** How long the idle case holds the fresh stack. */
export const IDLE_HOLD_MS = 120_000;
/** The processes whose logs must stay free of warnings on an idle stack. */
const IDLE_QUIET_SERVICES = ["payment-ingest", "payment-consumer", "payment-settlement"];

/** Prometheus's active alerts (pending and firing) as `name (state)`. */
async function activeAlerts(s: Stack): Promise<{ name: string; state: string }[]> {
  const data = await promQuery(s, "/api/v1/alerts") as {
    alerts: { labels: Record<string, string>; state: string }[];
  };
  return data.alerts.map((a) => ({ name: a.labels.alertname ?? "?", state: a.state }));
}

/**
 * The warning and error lines in the logs of `services` since their containers started: JSON
 * lines at level warn or error, and any other line that says warning or error (a runtime's own
 * warning, say).
 */
export async function logWarnings(
  s: Stack,
  services: string[],
): Promise<{ lines: number; warnings: string[] }> {
  const r = await dc(s.cmd, "logs", "--no-color", ...services);
  const warnings: string[] = [];
  let lines = 0;
  for (const raw of r.stdout.split("\n")) {
    // compose prefixes each line with "service_1  | ".
    const bar = raw.indexOf("| ");
    const line = (bar >= 0 ? raw.slice(bar + 2) : raw).trim();
    if (!line || line.startsWith("Attaching to")) continue;
    lines++;
    let level: unknown = null;
    try {
      level = (JSON.parse(line) as { level?: unknown }).level;
    } catch {
      if (/warn|error/i.test(line)) warnings.push(raw.trim());
      continue;
    }
    if (level === "warn" || level === "error") warnings.push(raw.trim());
  }
  return { lines, warnings };
}

/**
 * A fresh stack left idle is healthy (issue 23): for IDLE_HOLD_MS no Prometheus alert fires,
 * none is pending at the end, the consumer reports its lag (the topic was created at start-up,
 * before any event), and the service, consumer and settlement logs hold no warning since they
 * started. Runs first, while the stack is fresh.
 */
export const idle: Case = async (s) => {
  const started = Date.now();
  const fired = new Set<string>();
  let polls = 0;
  for (;;) {
    for (const a of await activeAlerts(s)) if (a.state === "firing") fired.add(a.name);
    polls++;
    const left = IDLE_HOLD_MS - (Date.now() - started);
    if (left <= 0) break;
    await sleep(Math.min(5000, left));
  }
  const problems: string[] = [];
  if (fired.size) problems.push(`alerts fired while idle: ${[...fired].join(", ")}`);
  const active = await activeAlerts(s);
  if (active.length) {
    problems.push(`alerts active at the end: ${active.map((a) => `${a.name} (${a.state})`)}`);
  }
  const q = encodeURIComponent('count(payment_consumer_lag{job="payment-consumer"})');
  const lag = await promQuery(s, `/api/v1/query?query=${q}`) as {
    result: { value: [number, string] }[];
  };
  const partitions = Number(lag.result[0]?.value[1] ?? 0);
  if (partitions === 0) problems.push("the consumer reports no lag series (no topic?)");
  const logs = await logWarnings(s, IDLE_QUIET_SERVICES);
  if (logs.warnings.length) {
    problems.push(
      `${logs.warnings.length} warning lines in ${IDLE_QUIET_SERVICES.join(", ")}: ` +
        logs.warnings.slice(0, 5).map((l) => l.slice(0, 300)).join(" || "),
    );
  }
  if (problems.length) throw new Error(problems.join("; "));
  return `held ${IDLE_HOLD_MS / 1000} s: no alert fired (${polls} polls) or active at the end; ` +
    `consumer lag reported for ${partitions} partitions; no warning in ${logs.lines} log lines`;
};

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
