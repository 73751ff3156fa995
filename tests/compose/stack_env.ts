/**
 * The environment the compose tests run the stack with: its own project name, free host ports
 * (none of the machine's usual ones), fresh secrets, the seed's timings pinned, alerts routed to
 * the test's webhook listener, and a copy of the Prometheus configuration with short delays.
 */
import { parse, stringify } from "@std/yaml";
import { isFree } from "../../scripts/free_port.ts";
import { randomSecret } from "../../scripts/compose/compose.ts";
import { freePort, ROOT } from "../../scripts/lib/util.ts";

/** The alert the test forces and waits for, and the delay it runs with in the test copy. */
export const TEST_ALERT = { name: "CircuitBreakerOpenTooLong", for: "10s" };

/** The seed's timings (MISSION.md), pinned so a developer's .env cannot change the verdict. */
export const SEED_TIMINGS: Readonly<Record<string, string>> = {
  KAFKA_REQUEST_TIMEOUT_MS: "10000",
  KAFKA_DELIVERY_TIMEOUT_MS: "15000",
  KAFKA_RETRIES: "1",
  BREAKER_FAILURE_RATE_THRESHOLD: "50",
  BREAKER_SLOW_CALL_RATE_THRESHOLD: "50",
  BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS: "5000",
  BREAKER_MINIMUM_NUMBER_OF_CALLS: "5",
  BREAKER_SLIDING_WINDOW_TYPE: "COUNT_BASED",
  BREAKER_SLIDING_WINDOW_SIZE: "10",
  BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS: "30000",
  BREAKER_PERMITTED_NUMBER_OF_CALLS_IN_HALF_OPEN_STATE: "3",
  INLINE_PUBLISH_BUDGET_MS: "1000",
};

/** Three consecutive free ports, for the replicas' host port range. */
function freeRange(n: number): number {
  for (let i = 0; i < 200; i++) {
    const p = freePort();
    if (Array.from({ length: n }, (_, k) => p + k).every(isFree)) return p;
  }
  throw new Error(`no ${n} consecutive free ports`);
}

/** The Docker host's address as containers see it (host-gateway: the default bridge). */
export async function hostGateway(): Promise<string> {
  const o = await new Deno.Command("docker", {
    args: ["network", "inspect", "bridge", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(o.stdout).trim() || "172.17.0.1";
}

/**
 * Copies monitoring/prometheus to `dir` with the test alert's `for:` shortened and rules
 * evaluated every 5 s (the real delays are covered by promtool's rule tests).
 */
export async function writePrometheusConfig(dir: string): Promise<void> {
  const src = `${ROOT}monitoring/prometheus`;
  for await (const f of Deno.readDir(src)) {
    if (f.isFile) await Deno.copyFile(`${src}/${f.name}`, `${dir}/${f.name}`);
  }
  const rules = parse(await Deno.readTextFile(`${dir}/alerts.yml`)) as {
    groups: { rules: { alert?: string; for?: string }[] }[];
  };
  const rule = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === TEST_ALERT.name);
  if (!rule) throw new Error(`alerts.yml has no rule ${TEST_ALERT.name}`);
  rule.for = TEST_ALERT.for;
  await Deno.writeTextFile(`${dir}/alerts.yml`, stringify(rules));
  const prom = parse(await Deno.readTextFile(`${dir}/prometheus.yml`)) as {
    global: Record<string, unknown>;
  };
  prom.global.evaluation_interval = "5s";
  await Deno.writeTextFile(`${dir}/prometheus.yml`, stringify(prom));
  // Prometheus runs as nobody in its container.
  await Deno.chmod(dir, 0o755);
  for await (const f of Deno.readDir(dir)) await Deno.chmod(`${dir}/${f.name}`, 0o644);
}

/** The variables for compose and the scripts, and where the webhook listener must listen. */
export async function stackEnv(workDir: string): Promise<{
  env: Record<string, string>;
  hook: { hostname: string; port: number };
}> {
  const promDir = `${workDir}/prometheus`;
  await Deno.mkdir(promDir, { recursive: true });
  await writePrometheusConfig(promDir);
  const hook = { hostname: await hostGateway(), port: freePort() };
  const app = freeRange(3);
  const env: Record<string, string> = {
    COMPOSE_PROJECT_NAME: Deno.env.get("COMPOSE_PROJECT_NAME") || "payment-ingest-test",
    IMAGE_TAG: Deno.env.get("IMAGE_TAG") || "local",
    BIND_ADDRESS: "127.0.0.1",
    APP_HOST_PORT: `${app}-${app + 2}`,
    POSTGRES_HOST_PORT: String(freePort()),
    KAFKA_HOST_PORT: String(freePort()),
    KAFKA_ADVERTISED_HOST: "127.0.0.1",
    PROMETHEUS_HOST_PORT: String(freePort()),
    ALERTMANAGER_HOST_PORT: String(freePort()),
    GRAFANA_HOST_PORT: String(freePort()),
    KAFKA_EXPORTER_HOST_PORT: String(freePort()),
    SETTLEMENT_HOST_PORT: String(freePort()),
    NGROK_INSPECTOR_PORT: String(freePort()),
    POSTGRES_USER: "payments",
    POSTGRES_DB: "payments",
    POSTGRES_PASSWORD: randomSecret(),
    ADMIN_TOKEN: randomSecret(),
    GRAFANA_ADMIN_PASSWORD: randomSecret(),
    KAFKA_TOPIC: "payment-events",
    PROMETHEUS_CONFIG_DIR: promDir,
    ALERT_WEBHOOK_URL: `http://host.docker.internal:${hook.port}/alerts`,
    ALERT_SLACK_WEBHOOK_URL: "",
    ...SEED_TIMINGS,
  };
  return { env, hook };
}
