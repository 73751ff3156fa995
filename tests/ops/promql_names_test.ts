import { assert, assertEquals } from "@std/assert";
import {
  collectExpressions,
  expandGrafanaVariables,
  expressionsFromDashboard,
  expressionsFromRuleFile,
  metricNamesFromPromQL,
} from "./promql_names.ts";

Deno.test("metricNamesFromPromQL: a bare selector and a selector with matchers", () => {
  assertEquals(metricNamesFromPromQL("up"), ["up"]);
  assertEquals(
    metricNamesFromPromQL('resilience4j_circuitbreaker_state{name="kafka-publisher",state="open"}'),
    ["resilience4j_circuitbreaker_state"],
  );
});

Deno.test("metricNamesFromPromQL: label names in matchers and strings are not metrics", () => {
  assertEquals(
    metricNamesFromPromQL(
      'x{name=~"open|forced_open", route!="/metrics"} + on(name) group_left(state) y',
    ),
    ["x", "y"],
  );
  assertEquals(
    metricNamesFromPromQL('label_replace(up, "dst", "$1", "instance", "(fake_metric):.*")'),
    ["up"],
  );
});

Deno.test("metricNamesFromPromQL: functions, aggregations and grouping clauses are dropped", () => {
  assertEquals(
    metricNamesFromPromQL(
      "histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    ["http_request_duration_seconds_bucket"],
  );
  assertEquals(
    metricNamesFromPromQL(
      "sum(rate(resilience4j_circuitbreaker_calls_seconds_count[1m])) by (kind)",
    ),
    ["resilience4j_circuitbreaker_calls_seconds_count"],
  );
  assertEquals(
    metricNamesFromPromQL("max without (instance, pod) (outbox_pending_events)"),
    ["outbox_pending_events"],
  );
  assertEquals(metricNamesFromPromQL('topk(5, count_values("v", build_info))'), ["build_info"]);
});

Deno.test("metricNamesFromPromQL: keywords, numbers, durations and modifiers are dropped", () => {
  assertEquals(
    metricNamesFromPromQL(
      "deriv(outbox_pending_events[10m]) > 0 and outbox_pending_events offset 5m > 1e3 unless on() vector(0) == bool 0x1F",
    ),
    ["outbox_pending_events"],
  );
  assertEquals(metricNamesFromPromQL("a or b unless c atan2 d"), ["a", "b", "c", "d"]);
  assertEquals(metricNamesFromPromQL("x > Inf or y < -NaN or z @ start()"), ["x", "y", "z"]);
  assertEquals(metricNamesFromPromQL("max_over_time(rate(x_total[1m])[30m:1m]) * 1.5e-3"), [
    "x_total",
  ]);
});

Deno.test("metricNamesFromPromQL: histogram suffixes are kept as written", () => {
  assertEquals(
    metricNamesFromPromQL(
      "rate(kafka_publish_duration_seconds_sum[5m]) / rate(kafka_publish_duration_seconds_count[5m])",
    ),
    ["kafka_publish_duration_seconds_sum", "kafka_publish_duration_seconds_count"],
  );
});

Deno.test("metricNamesFromPromQL: Grafana variables, comments and recording-rule names", () => {
  assertEquals(
    metricNamesFromPromQL(
      'sum by (kind) (rate(resilience4j_circuitbreaker_calls_seconds_count{name="$breaker"}[$__rate_interval]))',
    ),
    ["resilience4j_circuitbreaker_calls_seconds_count"],
  );
  assertEquals(metricNamesFromPromQL("job:http_requests:rate5m # up is only a comment"), [
    "job:http_requests:rate5m",
  ]);
  assertEquals(metricNamesFromPromQL("x[${__range}] and $metric"), ["x"]);
});

Deno.test("metricNamesFromPromQL: duplicates are reported once, in order of appearance", () => {
  assertEquals(metricNamesFromPromQL("b + a + b / a"), ["b", "a"]);
});

Deno.test("expressionsFromRuleFile reads alert and recording rules", () => {
  const exprs = expressionsFromRuleFile(
    "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n      - record: r:x\n        expr: sum(x)\n",
    "f.yml",
  );
  assertEquals(exprs, [{ source: "f.yml: A", expr: "up == 0" }, {
    source: "f.yml: r:x",
    expr: "sum(x)",
  }]);
});

Deno.test("expressionsFromDashboard reads nested panels and label_values variables", () => {
  const exprs = expressionsFromDashboard({
    panels: [
      {
        id: 1,
        title: "row",
        panels: [{ id: 2, title: "inner", targets: [{ refId: "A", expr: "a" }] }],
      },
      { id: 3, title: "top", targets: [{ refId: "B", expr: "b" }, { refId: "C", expr: "" }] },
    ],
    templating: {
      list: [
        {
          name: "breaker",
          query: { query: "label_values(resilience4j_circuitbreaker_state, name)" },
        },
        { name: "custom", query: "a,b,c" },
      ],
    },
  }, "d.json");
  assertEquals(exprs.map((e) => e.expr), ["a", "b", "resilience4j_circuitbreaker_state"]);
});

Deno.test("expandGrafanaVariables substitutes intervals and dashboard variables", () => {
  assertEquals(
    expandGrafanaVariables('rate(x{name="$breaker",i=~"${instance:regex}"}[$__rate_interval])', {
      breaker: "kafka-publisher",
      instance: ".*",
    }),
    'rate(x{name="kafka-publisher",i=~".*"}[1m])',
  );
  assertEquals(expandGrafanaVariables("x[$__unknown]"), "x[$__unknown]");
});

Deno.test("collectExpressions finds the alert rules and the overview dashboard", async () => {
  const exprs = await collectExpressions();
  const alerts = exprs.filter((e) => e.source.startsWith("alerts.yml"));
  const dashboard = exprs.filter((e) => e.source.startsWith("payment-overview.json"));
  assert(alerts.length >= 6, `expected at least 6 alert expressions, got ${alerts.length}`);
  assert(
    dashboard.length >= 20,
    `expected at least 20 dashboard expressions, got ${dashboard.length}`,
  );
  for (const e of exprs) {
    assert(metricNamesFromPromQL(e.expr).length > 0, `${e.source} selects no metric: ${e.expr}`);
  }
});
