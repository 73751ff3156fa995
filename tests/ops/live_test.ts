/**
 * Monitoring against live data: the real service (real Postgres and Kafka) scraped by a real
 * Prometheus that also evaluates monitoring/prometheus/alerts.yml. Every metric name the
 * dashboards and alerts use must be served by /metrics, and every shipped expression must run.
 *
 * Needs the `prometheus` binary, Postgres and Kafka; skipped without them on a developer machine,
 * failing under CI=true (as tools.ts does for promtool).
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  ADMIN_TOKEN,
  DATABASE_URL,
  getJson,
  KAFKA_BROKERS,
  paymentEvent,
  postPayment,
  REAL_IO,
  startTestService,
  uniqueName,
  waitFor,
} from "../integration/helpers.ts";
import { loadConsumerConfig } from "../../src/consumer/config.ts";
import { type RunningConsumer, startConsumer } from "../../src/consumer/main.ts";
import { deleteGroups } from "../../src/testing/kafka_admin.ts";
import { silentLogger } from "../../src/log.ts";
import {
  type Exposition,
  formatMissing,
  isExternalMetric,
  liveConfig,
  type LivePrometheus,
  mergeExpositions,
  missingMetrics,
  parseExposition,
  promApi,
  promQuery,
  type PromSample,
  reachable,
  startPrometheus,
  vector,
} from "./live_prometheus.ts";
import { METRICS, OWN_SOURCES, PUBLISH_BREAKER, sampleNames } from "./metric_contract.ts";
import { FILES, repoPath } from "./paths.ts";
import {
  collectExpressions,
  expandGrafanaVariables,
  metricNamesFromPromQL,
  type ShippedExpression,
} from "./promql_names.ts";
import { hasCommand } from "./tools.ts";
import { readRepoYaml } from "./yaml.ts";

/** `value`, or a failure with `message` when it is missing (narrows the type, unlike assert). */
function must<T>(value: T | null | undefined | false, message: string): T {
  if (value === null || value === undefined || value === false) throw new Error(message);
  return value;
}

// --- the checker, without I/O ---------------------------------------------------------------

/** A prom-client style exposition of every family the contract says our programs export. */
function contractExposition(): string {
  const lines: string[] = [];
  for (const m of METRICS.filter((m) => OWN_SOURCES.includes(m.source))) {
    lines.push(`# HELP ${m.name} fixture`, `# TYPE ${m.name} ${m.type}`);
    const samples = m.type === "histogram" ? sampleNames(m).slice(1) : [m.name];
    for (const s of samples) lines.push(`${s}{name="${PUBLISH_BREAKER}"} 1`);
  }
  return lines.join("\n") + "\n";
}

Deno.test("parseExposition serves sample names; a histogram serves _bucket/_sum/_count only", () => {
  const e = parseExposition(
    [
      "# HELP outbox_pending_events Events stored but not yet published",
      "# TYPE outbox_pending_events gauge",
      "outbox_pending_events 0",
      "# TYPE http_request_duration_seconds histogram",
      'http_request_duration_seconds_bucket{le="0.1",route="/payments"} 1',
      'http_request_duration_seconds_bucket{le="+Inf",route="/payments"} 1',
      'http_request_duration_seconds_sum{route="/payments"} 0.01',
      'http_request_duration_seconds_count{route="/payments"} 1',
      "# TYPE circuitbreaker_transitions_total counter",
      "",
    ].join("\n"),
  );
  assertEquals([...e.samples].sort(), [
    "http_request_duration_seconds_bucket",
    "http_request_duration_seconds_count",
    "http_request_duration_seconds_sum",
    "outbox_pending_events",
  ]);
  assertEquals(e.declared.get("http_request_duration_seconds"), "histogram");
  assertEquals(e.declared.get("circuitbreaker_transitions_total"), "counter");
});

Deno.test("missingMetrics reports a bogus name added to a copy of a shipped expression, with its source", async () => {
  const shipped = await collectExpressions();
  const exposition = parseExposition(contractExposition());
  assertEquals(missingMetrics(shipped, exposition), [], "the contract fixture serves every name");

  const original = must(
    shipped.find((e) => e.source.startsWith("payment-overview.json")),
    "the overview dashboard has expressions",
  );
  const copy: ShippedExpression = {
    source: `${original.source} (copy with a bogus name)`,
    expr: `${original.expr} or payment_bogus_metric_total{name="$breaker"}`,
  };
  const missing = missingMetrics([...shipped, copy], exposition);
  assertEquals(missing, [{
    name: "payment_bogus_metric_total",
    sources: [copy.source],
    hint: undefined,
  }]);
  const message = formatMissing(missing);
  assertStringIncludes(message, "payment_bogus_metric_total");
  assertStringIncludes(message, `used by ${copy.source}`);
});

Deno.test("missingMetrics explains a histogram without suffix and a family declared without samples", () => {
  const exposition = parseExposition(
    [
      "# TYPE kafka_publish_duration_seconds histogram",
      'kafka_publish_duration_seconds_count{outcome="success"} 1',
      "# TYPE circuitbreaker_transitions_total counter",
      "",
    ].join("\n"),
  );
  const missing = missingMetrics([
    { source: "d.json: panel 1", expr: "rate(kafka_publish_duration_seconds[5m])" },
    { source: "d.json: panel 2", expr: "rate(kafka_publish_duration_seconds_count[5m])" },
    { source: "a.yml: A", expr: "increase(circuitbreaker_transitions_total[1m]) > 0" },
    { source: "d.json: panel 3", expr: "sum(increase(circuitbreaker_transitions_total[1m]))" },
  ], exposition);
  assertEquals(missing.map((m) => [m.name, m.sources]), [
    ["circuitbreaker_transitions_total", ["a.yml: A", "d.json: panel 3"]],
    ["kafka_publish_duration_seconds", ["d.json: panel 1"]],
  ]);
  assertStringIncludes(missing[0]!.hint ?? "", "no sample");
  assertStringIncludes(missing[1]!.hint ?? "", "_bucket/_sum/_count");
});

Deno.test("isExternalMetric: other exporters, Prometheus itself and other jobs are not checked", () => {
  for (const name of ["kafka_consumergroup_lag", "kafka_consumergroup_lag_sum", "up", "ALERTS"]) {
    assert(isExternalMetric(name), name);
  }
  assert(isExternalMetric("prometheus_tsdb_head_series"));
  assert(isExternalMetric("alertmanager_notifications_failed_total"));
  assert(
    isExternalMetric(
      "process_cpu_seconds_total",
      'rate(process_cpu_seconds_total{job="prometheus"}[1m])',
    ),
  );
  assert(isExternalMetric("go_goroutines", 'go_goroutines{job=~"alertmanager|prometheus"}'));
  assert(
    !isExternalMetric(
      "process_cpu_seconds_total",
      'rate(process_cpu_seconds_total{job="payment-ingest"}[1m]) or process_cpu_seconds_total{job="prometheus"}',
    ),
  );
  assert(
    !isExternalMetric("process_resident_memory_bytes", 'process_resident_memory_bytes{job=~".*"}'),
  );
  assert(!isExternalMetric("kafka_publish_duration_seconds_bucket"));
  assert(!isExternalMetric("outbox_pending_events", "max(outbox_pending_events)"));
});

Deno.test("liveConfig keeps the repository's payment-ingest and payment-consumer jobs and rules, aimed at the test targets", async () => {
  const config = JSON.parse(
    await liveConfig({ service: "127.0.0.1:12345", consumer: "127.0.0.1:12346" }),
  ) as {
    global: Record<string, string>;
    rule_files: string[];
    scrape_configs: Array<
      {
        job_name: string;
        metrics_path?: string;
        static_configs: Array<{ targets: string[] }>;
        dns_sd_configs?: unknown;
        relabel_configs?: Array<{ target_label?: string; replacement?: string }>;
      }
    >;
    alerting?: unknown;
  };
  assertEquals(config.global.scrape_interval, "1s");
  assertEquals(config.global.evaluation_interval, "1s");
  assertEquals(config.rule_files, [repoPath(FILES.alertRules)]);
  assertEquals(config.scrape_configs.map((j) => j.job_name), [
    "payment-ingest",
    "payment-consumer",
  ]);
  for (const [i, target] of ["127.0.0.1:12345", "127.0.0.1:12346"].entries()) {
    const job = config.scrape_configs[i]!;
    assertEquals(job.metrics_path, "/metrics");
    assertEquals(job.static_configs[0]!.targets, [target]);
    assertEquals(job.dns_sd_configs, undefined, "no DNS discovery outside compose");
    assertEquals(job.relabel_configs?.[0]?.replacement, job.job_name, "the service label stays");
  }
  assertEquals(config.alerting, undefined);
  const serviceOnly = JSON.parse(await liveConfig({ service: "127.0.0.1:1" })) as {
    scrape_configs: Array<{ job_name: string }>;
  };
  assertEquals(serviceOnly.scrape_configs.map((j) => j.job_name), ["payment-ingest"]);
});

// --- live: service + Prometheus ------------------------------------------------------------

/** What the live test needs that this machine does not have. */
async function liveMissing(): Promise<string[]> {
  const missing: string[] = [];
  if (!hasCommand("prometheus")) missing.push("the prometheus binary (apt-get install prometheus)");
  const pg = new URL(DATABASE_URL);
  const pgHost = `${pg.hostname || "127.0.0.1"}:${pg.port || "5432"}`;
  if (!(await reachable(pgHost))) missing.push(`Postgres at ${pgHost} (DATABASE_URL)`);
  const kafka = KAFKA_BROKERS.split(",")[0]!;
  if (!(await reachable(kafka))) missing.push(`Kafka at ${kafka} (scripts/kafka.sh start)`);
  return missing;
}

const LIVE_MISSING = await liveMissing();
const SKIP_LIVE = LIVE_MISSING.length > 0 && Deno.env.get("CI") !== "true";
if (SKIP_LIVE) {
  console.warn(`tests/ops/live_test.ts: live test skipped, missing ${LIVE_MISSING.join("; ")}`);
}

/** Values of the dashboard variables: the publish breaker, and "All" instances. */
const GRAFANA_VALUES = { breaker: PUBLISH_BREAKER, instance: ".*" };

/** Bound of every wait on Prometheus (scrapes and evaluations happen every second). */
const WAIT_MS = 30_000;

interface RuleGroup {
  name: string;
  lastEvaluation?: string;
  rules: Array<
    { name: string; health: string; lastError?: string; lastEvaluation?: string; query: string }
  >;
}

interface ActiveAlert {
  labels: Record<string, string>;
  state: string;
}

const NEVER = "0001-01-01T00:00:00Z";

Deno.test({
  name:
    "live: Prometheus scrapes the running service, evaluates alerts.yml and answers every shipped query",
  ignore: SKIP_LIVE,
  ...REAL_IO,
  async fn(t) {
    if (LIVE_MISSING.length > 0) throw new Error(`missing ${LIVE_MISSING.join("; ")}`);
    const svc = await startTestService();
    const group = uniqueName("live");
    let consumer: RunningConsumer | undefined;
    let prom: LivePrometheus | undefined;
    try {
      const setState = async (state: string) => {
        const res = await fetch(`${svc.base}/circuit-breaker/${PUBLISH_BREAKER}/state`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${ADMIN_TOKEN}`,
          },
          body: JSON.stringify({ state, reason: "tests/ops/live_test.ts" }),
        });
        const text = await res.text();
        assertEquals(res.status, 200, `set ${state}: ${text}`);
        assertEquals((JSON.parse(text) as { state?: string }).state, state);
      };

      // Lazily created series: a payment published through the breaker (HTTP and publish
      // histograms, accepted/published counters).
      const paid = await postPayment(svc.base, paymentEvent());
      assert([201, 202].includes(paid.status), `POST /payments: ${paid.status}`);
      const drained = await waitFor(
        async () => (await getJson(svc.base, "/outbox")).pending === 0,
        WAIT_MS,
      );
      assert(drained, "the payment was not published within 30 s");

      // The reference consumer reads that payment: lag, records and last-processed series.
      consumer = await startConsumer(
        loadConsumerConfig({
          PORT: "0",
          HOST: "127.0.0.1",
          KAFKA_BROKERS,
          KAFKA_TOPIC: svc.topic,
          CONSUMER_GROUP: group,
          CONSUMER_LAG_REFRESH_MS: "200",
          CONSUMER_SESSION_TIMEOUT_MS: "6000",
        }),
        silentLogger,
      );
      const consumerBase = `http://127.0.0.1:${consumer.port}`;
      const consumed = await waitFor(async () => {
        const text = await (await fetch(`${consumerBase}/metrics`)).text();
        return /^payment_consumer_messages_total\{[^}]*\} [1-9]/m.test(text) &&
          /^payment_consumer_lag\{[^}]*\} 0$/m.test(text) &&
          !/^payment_consumer_lag\{[^}]*\} [1-9]/m.test(text);
      }, WAIT_MS);
      assert(consumed, "the reference consumer did not read the payment within 30 s");

      const target = new URL(svc.base).host;
      const consumerTarget = new URL(consumerBase).host;
      prom = await startPrometheus(
        await liveConfig({ service: target, consumer: consumerTarget }),
      );
      const base = prom.base;
      const log = prom.log;
      const targets = async () =>
        JSON.stringify((await promApi(base, "targets")).data ?? {}).slice(0, 2000);
      const breakerSeries = async (state: string): Promise<PromSample | undefined> =>
        (await vector(base, `resilience4j_circuitbreaker_state{state="${state}"}`))
          .find((s) => s.metric.name === PUBLISH_BREAKER);

      await t.step(
        'resilience4j_circuitbreaker_state{state="closed"} is 1 once scraped',
        async () => {
          const closed = await waitFor(() => breakerSeries("closed"), WAIT_MS);
          if (!closed) {
            throw new Error(
              `no closed series after ${WAIT_MS} ms\ntargets: ${await targets()}\n${log()}`,
            );
          }
          assertEquals(closed.value[1], "1");
          assertEquals(closed.metric.job, "payment-ingest");
          assertEquals(closed.metric.instance, target);
        },
      );

      await t.step(
        "a forced transition to FORCED_OPEN reaches Prometheus and alerts.yml",
        async () => {
          await setState("FORCED_OPEN");
          const seen = await waitFor(async () => {
            const open = await breakerSeries("forced_open");
            const closed = await breakerSeries("closed");
            return open?.value[1] === "1" && closed?.value[1] === "0";
          }, WAIT_MS);
          if (!seen) {
            const open = (await breakerSeries("forced_open"))?.value[1];
            const closed = (await breakerSeries("closed"))?.value[1];
            throw new Error(
              `forced_open=${open} closed=${closed} after ${WAIT_MS} ms, want 1 and 0`,
            );
          }
          const pending = must(
            await waitFor(async () => {
              const alerts = (await promApi<{ alerts: ActiveAlert[] }>(base, "alerts")).data
                ?.alerts;
              return alerts?.find((a) =>
                a.labels.alertname === "CircuitBreakerOpenTooLong" &&
                a.labels.name === PUBLISH_BREAKER && a.labels.state === "forced_open"
              );
            }, WAIT_MS),
            'CircuitBreakerOpenTooLong{state="forced_open"} never became active',
          );
          assertEquals(pending.state, "pending", "for: 5m, so pending, not firing yet");
        },
      );

      const shipped = await collectExpressions();
      let exposition: Exposition | undefined;

      await t.step(
        "every metric name in the dashboards and alerts is served by /metrics",
        async () => {
          // FORCED_OPEN (a no-op when the step above left it there), then CLOSED: both
          // circuitbreaker_transitions_total series exist.
          await setState("FORCED_OPEN");
          await setState("CLOSED");
          const res = await fetch(`${svc.base}/metrics`);
          assertEquals(res.status, 200);
          const fromConsumer = await fetch(`${consumerBase}/metrics`);
          assertEquals(fromConsumer.status, 200);
          exposition = mergeExpositions(
            parseExposition(await res.text()),
            parseExposition(await fromConsumer.text()),
          );
          const missing = missingMetrics(shipped, exposition);
          assert(missing.length === 0, formatMissing(missing));
        },
      );

      // Let the newest series (the forced_open -> closed transition) collect a few samples, so
      // rate() and increase() over them have data.
      const settled = await waitFor(
        async () =>
          (await vector(
            base,
            `count_over_time(circuitbreaker_transitions_total{name="${PUBLISH_BREAKER}",to="closed"}[1m]) >= 3`,
          )).length > 0,
        WAIT_MS,
      );
      assert(settled, `the transition to CLOSED was not scraped 3 times in ${WAIT_MS} ms`);

      const answers = new Map<ShippedExpression, PromSample[] | null>();
      await t.step("every dashboard and alert expression runs on the live Prometheus", async () => {
        const problems: string[] = [];
        for (const e of shipped) {
          const expr = expandGrafanaVariables(e.expr, GRAFANA_VALUES);
          if (/\$\{?[A-Za-z_]/.test(expr)) {
            problems.push(`${e.source}: unexpanded Grafana variable in ${expr}`);
          }
          const r = await promQuery(base, expr);
          if (r.status !== "success") {
            problems.push(`${e.source}: ${r.errorType}: ${r.error}\n    ${expr}`);
            answers.set(e, null);
            continue;
          }
          for (const w of r.warnings ?? []) problems.push(`${e.source}: warning ${w}\n    ${expr}`);
          answers.set(
            e,
            r.data?.resultType === "vector" ? r.data.result as PromSample[] : [{
              metric: {},
              value: r.data?.result as [number, string],
            }],
          );
        }
        assert(problems.length === 0, `${problems.length} failed:\n${problems.join("\n")}`);
      });

      await t.step(
        "negative control: broken copies of a shipped expression are caught live",
        async () => {
          const original = must(
            shipped.find((e) => e.source.startsWith("payment-overview.json")),
            "the overview dashboard has expressions",
          );
          const bogus: ShippedExpression = {
            source: `${original.source} (copy with a bogus name)`,
            expr: `${original.expr} or payment_bogus_metric_total{name="$breaker"}`,
          };
          const served = must(exposition, "the exposition step ran");
          const missing = missingMetrics([original, bogus], served);
          assertEquals(missing.map((m) => [m.name, m.sources]), [
            ["payment_bogus_metric_total", [bogus.source]],
          ]);
          assertEquals(await vector(base, "payment_bogus_metric_total"), []);
          const expanded = expandGrafanaVariables(original.expr, GRAFANA_VALUES);
          for (const broken of [`${expanded} +`, `bogus_function(${expanded})`]) {
            const r = await promQuery(base, broken);
            assertEquals(r.status, "error", `Prometheus accepted ${broken}`);
          }
        },
      );

      await t.step("every dashboard query on the service's series shows data", async () => {
        const served = must(exposition, "the exposition step ran");
        const empty: string[] = [];
        for (const e of shipped) {
          if (e.source.startsWith("alerts.yml")) continue; // alerts are empty while healthy
          const names = metricNamesFromPromQL(e.expr);
          if (!names.every((n) => served.samples.has(n) || n === "up")) continue;
          const result = answers.get(e);
          if (result === null) continue; // reported by the step above
          const rows = result ?? await vector(base, expandGrafanaVariables(e.expr, GRAFANA_VALUES));
          if (rows.length === 0) empty.push(`${e.source}: ${e.expr}`);
        }
        assert(empty.length === 0, `no data on live Prometheus:\n${empty.join("\n")}`);
      });

      await t.step("alerts.yml groups are loaded and evaluate without errors", async () => {
        const file = await readRepoYaml<{ groups: Array<{ name: string; rules: unknown[] }> }>(
          FILES.alertRules,
        );
        const seen = new Map<string, Set<string>>();
        let groups: RuleGroup[] = [];
        const evaluatedTwice = await waitFor(async () => {
          groups = (await promApi<{ groups: RuleGroup[] }>(base, "rules")).data?.groups ?? [];
          for (const g of groups) {
            if (g.lastEvaluation && g.lastEvaluation !== NEVER) {
              seen.set(g.name, (seen.get(g.name) ?? new Set()).add(g.lastEvaluation));
            }
          }
          return file.groups.every((g) => (seen.get(g.name)?.size ?? 0) >= 2);
        }, WAIT_MS);
        assert(
          evaluatedTwice,
          `rule groups not evaluated twice in ${WAIT_MS} ms: ${
            JSON.stringify([...seen])
          }\n${log()}`,
        );
        assertEquals(
          groups.map((g) => `${g.name}: ${g.rules.length} rules`).sort(),
          file.groups.map((g) => `${g.name}: ${g.rules.length} rules`).sort(),
          "Prometheus loaded other rule groups than alerts.yml has",
        );
        const unhealthy = groups.flatMap((g) =>
          g.rules.filter((r) => r.health !== "ok" || r.lastError).map((r) =>
            `${g.name}/${r.name}: health ${r.health} ${r.lastError ?? ""}\n    ${r.query}`
          )
        );
        assert(unhealthy.length === 0, unhealthy.join("\n"));
        const alerts = (await promApi<{ alerts: ActiveAlert[] }>(base, "alerts")).data?.alerts ??
          [];
        const down = alerts.filter((a) => a.labels.alertname === "PaymentIngestDown");
        assertEquals(down, [], "the scraped service is up, PaymentIngestDown must not be active");
      });

      await t.step(
        "the consumer's lag reaches Prometheus under job payment-consumer; ConsumerLagMetricAbsent clears",
        async () => {
          const lag = await waitFor(
            async () =>
              (await vector(base, 'payment_consumer_lag{job="payment-consumer"}')).length > 0,
            WAIT_MS,
          );
          assert(lag, `no payment_consumer_lag scraped in ${WAIT_MS} ms\n${await targets()}`);
          const absentActive = async () =>
            ((await promApi<{ alerts: ActiveAlert[] }>(base, "alerts")).data?.alerts ?? [])
              .filter((a) => a.labels.alertname === "ConsumerLagMetricAbsent");
          const cleared = await waitFor(async () => (await absentActive()).length === 0, WAIT_MS);
          assert(
            cleared,
            `ConsumerLagMetricAbsent still active: ${JSON.stringify(await absentActive())}`,
          );
          const [series] = await vector(base, 'payment_consumer_lag{job="payment-consumer"}');
          assertEquals(series?.metric.service, "payment-consumer");
          assertEquals(series?.metric.group, group);
        },
      );
    } finally {
      await prom?.stop();
      await consumer?.stop();
      await deleteGroups(KAFKA_BROKERS.split(","), [group]).catch(() => {});
      await svc.stop();
    }
  },
});
