/**
 * Helpers for the live monitoring test (live_test.ts): which metric names a `/metrics` exposition
 * really serves, which names shipped PromQL uses that it does not serve, and a throw-away
 * Prometheus server (the `prometheus` binary) scraping a running service.
 */
import { METRICS, OWN_SOURCES } from "./metric_contract.ts";
import { FILES, repoPath } from "./paths.ts";
import { metricNamesFromPromQL, type ShippedExpression } from "./promql_names.ts";
import { readRepoYaml } from "./yaml.ts";

/** What a Prometheus text exposition declares and what it really serves. */
export interface Exposition {
  /** Names of sample lines (`name{...} value`): what Prometheus ingests and queries can select. */
  samples: Set<string>;
  /** Family name to type, from `# TYPE` lines. */
  declared: Map<string, string>;
}

/** Parses a Prometheus text exposition (prom-client's format). */
export function parseExposition(text: string): Exposition {
  const samples = new Set<string>();
  const declared = new Map<string, string>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) (\w+)/.exec(line);
    if (type) {
      declared.set(type[1]!, type[2]!);
      continue;
    }
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{|\s)/.exec(line);
    if (sample) samples.add(sample[1]!);
  }
  return { samples, declared };
}

/** Jobs of the compose stack that are not our programs; their series never come from our /metrics. */
const EXTERNAL_JOBS = ["kafka-exporter", "alertmanager", "prometheus"];

/**
 * Names (or prefixes, ending in `*`) other exporters or Prometheus itself produce, and those of our
 * programs the live test does not start (see OWN_SOURCES).
 */
const EXTERNAL_NAMES = [
  ...METRICS.filter((m) => !OWN_SOURCES.includes(m.source)).map((m) => m.name),
  "kafka_consumergroup_lag*",
  "up",
  "ALERTS",
  "ALERTS_FOR_STATE",
  "scrape_*",
  "prometheus_*",
  "alertmanager_*",
];

/** Escapes a string for use inside a RegExp. */
function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * True when `name` does not come from the service: a known external name, or every selector of
 * it in `expr` is restricted to another job (`{job="alertmanager"}`, `{job=~"prometheus"}`).
 */
export function isExternalMetric(name: string, expr = ""): boolean {
  const known = EXTERNAL_NAMES.some((n) =>
    n.endsWith("*") ? name.startsWith(n.slice(0, -1)) : name === n
  );
  if (known) return true;
  const selectors = [
    ...expr.matchAll(
      new RegExp(`(?<![A-Za-z0-9_:])${escapeRegExp(name)}(?![A-Za-z0-9_:])\\s*(\\{[^}]*\\})?`, "g"),
    ),
  ];
  if (selectors.length === 0) return false;
  return selectors.every((m) => {
    const job = /\bjob\s*(=~|=)\s*"([^"]*)"/.exec(m[1] ?? "");
    if (!job) return false;
    if (job[1] === "=") return EXTERNAL_JOBS.includes(job[2]!);
    return !new RegExp(`^(?:${job[2]})$`).test("payment-ingest");
  });
}

/** A metric name shipped PromQL selects that the service's /metrics does not serve. */
export interface MissingMetric {
  name: string;
  /** Where it is used (`alerts.yml: Alert`, `dashboard.json: panel 3 "Title" A`). */
  sources: string[];
  /** Why it may be missing, when the exposition gives a clue. */
  hint?: string;
}

/** Why `name` has no samples although the exposition mentions something close to it. */
function missingHint(name: string, exposition: Exposition): string | undefined {
  const type = exposition.declared.get(name);
  if (type === "histogram" || type === "summary") {
    return `${type} family: queries select ${name}_bucket/_sum/_count, not ${name}`;
  }
  if (type) return `declared as ${type} but no sample yet (series created lazily?)`;
  const family = name.replace(/_(bucket|sum|count)$/, "");
  if (family !== name && exposition.declared.has(family)) {
    return `${family} is declared (${exposition.declared.get(family)}) but has no ${name} sample`;
  }
  return undefined;
}

/**
 * Every metric name of `expressions` that `exposition` does not serve, skipping names other
 * exporters produce. Sorted by name; each with every place it is used.
 */
export function missingMetrics(
  expressions: readonly ShippedExpression[],
  exposition: Exposition,
): MissingMetric[] {
  const byName = new Map<string, MissingMetric>();
  for (const { source, expr } of expressions) {
    for (const name of metricNamesFromPromQL(expr)) {
      if (exposition.samples.has(name) || isExternalMetric(name, expr)) continue;
      const entry = byName.get(name) ??
        { name, sources: [], hint: missingHint(name, exposition) };
      if (!entry.sources.includes(source)) entry.sources.push(source);
      byName.set(name, entry);
    }
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** A failure message naming each missing metric and where it is used. */
export function formatMissing(missing: readonly MissingMetric[]): string {
  const lines = [
    `${missing.length} metric name(s) used by monitoring/ but not served by /metrics:`,
  ];
  for (const m of missing) {
    lines.push(`  ${m.name}${m.hint ? ` (${m.hint})` : ""}`);
    for (const s of m.sources) lines.push(`    used by ${s}`);
  }
  return lines.join("\n");
}

/** A free TCP port on 127.0.0.1 (bound and released; a tiny race is acceptable in tests). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** True when something accepts TCP connections on host:port within `timeoutMs`. */
export async function reachable(hostPort: string, timeoutMs = 2000): Promise<boolean> {
  const url = new URL(`tcp://${hostPort}`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const conn = await Promise.race([
      Deno.connect({ hostname: url.hostname, port: Number(url.port) }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), timeoutMs);
      }),
    ]);
    conn.close();
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  static_configs?: Array<{ targets: string[]; labels?: Record<string, string> }>;
  [key: string]: unknown;
}

interface PrometheusConfig {
  rule_files?: string[];
  scrape_configs?: ScrapeConfig[];
}

/** Where the live test's programs listen (host:port). */
export interface LiveTargets {
  /** The service: the repository's payment-ingest job. */
  service: string;
  /** The reference consumer: the payment-consumer job (left out when not given). */
  consumer?: string;
}

/**
 * The repository's Prometheus config reduced to our programs' jobs (payment-ingest and, with a
 * consumer target, payment-consumer), each pointed at its test target instead of its DNS
 * discovery and scraped every `intervalSeconds`, with the repository's rule files (absolute
 * paths) and no Alertmanager. JSON is YAML, so the result is written as is.
 */
export async function liveConfig(
  targets: LiveTargets,
  intervalSeconds = 1,
): Promise<string> {
  const real = await readRepoYaml<PrometheusConfig>(FILES.prometheusConfig);
  const configDir = repoPath(FILES.prometheusConfig).replace(/\/[^/]*$/, "");
  const interval = `${intervalSeconds}s`;
  const jobs: Array<[string, string | undefined]> = [
    ["payment-ingest", targets.service],
    ["payment-consumer", targets.consumer],
  ];
  const scrapeConfigs = jobs.filter(([, target]) => target !== undefined).map(([name, target]) => {
    const job = real.scrape_configs?.find((j) => j.job_name === name);
    if (!job) throw new Error(`${FILES.prometheusConfig} has no ${name} scrape job`);
    // The compose stack finds replicas by DNS; here the one target is given.
    const { dns_sd_configs: _dns, static_configs: statics, ...rest } = job;
    return {
      ...rest,
      scrape_interval: interval,
      scrape_timeout: interval,
      static_configs: [{ targets: [target!], labels: statics?.[0]?.labels ?? {} }],
    };
  });
  return JSON.stringify(
    {
      global: {
        scrape_interval: interval,
        scrape_timeout: interval,
        evaluation_interval: interval,
      },
      rule_files: (real.rule_files ?? []).map((f) => f.startsWith("/") ? f : `${configDir}/${f}`),
      scrape_configs: scrapeConfigs,
    },
    null,
    2,
  );
}

/** One exposition holding what every given exposition declares and serves. */
export function mergeExpositions(...parts: Exposition[]): Exposition {
  return {
    samples: new Set(parts.flatMap((p) => [...p.samples])),
    declared: new Map(parts.flatMap((p) => [...p.declared])),
  };
}

/** A Prometheus server started by a test. */
export interface LivePrometheus {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** The last lines Prometheus logged (for failure messages). */
  log(): string;
  /** Stops the server (SIGTERM, SIGKILL after 10 s) and removes its temp directory. */
  stop(): Promise<void>;
}

/** Starts `prometheus` with `configYaml` in a temp dir and waits until it is ready (bounded). */
export async function startPrometheus(
  configYaml: string,
  readyMs = 30_000,
): Promise<LivePrometheus> {
  const dir = await Deno.makeTempDir({ prefix: "payment-ingest-prometheus-" });
  await Deno.writeTextFile(`${dir}/prometheus.yml`, configYaml);
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let logText = "";
  const pump = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      logText = (logText + dec.decode(chunk, { stream: true })).slice(-20_000);
    }
  })().catch(() => {});
  let exited: Deno.CommandStatus | null = null;
  const status = child.status.then((s) => (exited = s));
  let stopped = false;
  const prometheus: LivePrometheus = {
    base,
    log: () => logText,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch {
          // already gone
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), 10_000)));
        if ((await Promise.race([status, late])) === "late") {
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
          await status;
        }
        clearTimeout(timer);
      }
      await pump;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  const deadline = Date.now() + readyMs;
  while (true) {
    if (exited) {
      await prometheus.stop();
      throw new Error(`prometheus exited with ${JSON.stringify(exited)}:\n${logText}`);
    }
    try {
      const res = await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return prometheus;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await prometheus.stop();
      throw new Error(`prometheus not ready after ${readyMs} ms:\n${logText}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One series of an instant-vector result. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** The body of a Prometheus HTTP API answer. */
export interface PromAnswer<T> {
  status: "success" | "error";
  data?: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
}

/** GETs `/api/v1/<path>` with query parameters; returns the parsed answer, errors included. */
export async function promApi<T>(
  base: string,
  path: string,
  params: Record<string, string> = {},
): Promise<PromAnswer<T>> {
  const url = `${base}/api/v1/${path}?${new URLSearchParams(params)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  try {
    return JSON.parse(text) as PromAnswer<T>;
  } catch {
    return { status: "error", errorType: `HTTP ${res.status}`, error: text.slice(0, 500) };
  }
}

/** An instant query result: vector, scalar, matrix or string. */
export interface QueryData {
  resultType: string;
  result: unknown;
}

/** Runs an instant query. */
export function promQuery(base: string, expr: string): Promise<PromAnswer<QueryData>> {
  return promApi<QueryData>(base, "query", { query: expr });
}

/** The series of an instant query, or [] when it failed or was not a vector. */
export async function vector(base: string, expr: string): Promise<PromSample[]> {
  const r = await promQuery(base, expr);
  if (r.status !== "success" || r.data?.resultType !== "vector") return [];
  return r.data.result as PromSample[];
}
