import { assert, assertEquals, assertMatch } from "@std/assert";
import {
  type ComposeService,
  imageTag,
  interpolations,
  loadCompose,
  loadEnvExample,
  serviceEnv,
} from "./compose_model.ts";
import { FILES, readRepoText, repoFileExists, repoPath } from "./paths.ts";
import { assertSucceeded, missingTool, requireTool, run } from "./tools.ts";
import { parseYaml, readRepoYaml } from "./yaml.ts";

const noCompose = missingTool("docker-compose");

/** docker-compose v1 (Debian's python package) renders the file without a Docker engine. */
function compose(args: string[], envFile: string) {
  return run("docker-compose", ["-f", FILES.compose, "--env-file", envFile, ...args], {
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/root" },
  });
}

Deno.test({
  name: "docker-compose config validates docker-compose.yml with .env.example",
  ignore: noCompose,
  async fn() {
    requireTool("docker-compose", "docker-compose");
    const r = await compose(["config", "--quiet"], repoPath(FILES.envExample));
    assertSucceeded(r, "docker-compose config");
    const rendered = await compose(["--profile", "ngrok", "config"], repoPath(FILES.envExample));
    assertSucceeded(rendered, "docker-compose --profile ngrok config");
    const doc = parseYaml(rendered.stdout) as { services: Record<string, ComposeService> };
    const env = serviceEnv(doc.services["payment-ingest"]!);
    assertMatch(env.DATABASE_URL!, /^postgres:\/\/payments:[^@]+@postgres:5432\/payments$/);
    assertEquals(env.KAFKA_BROKERS, "kafka:19092");
  },
});

Deno.test({
  name:
    "docker-compose config: the kafka-cluster profile renders three brokers, replicated, for the service",
  ignore: noCompose,
  async fn() {
    requireTool("docker-compose", "docker-compose");
    const dir = await Deno.makeTempDir();
    try {
      // .env.example with the three-broker lines its comment gives, as an operator would edit it.
      const example = await readRepoText(FILES.envExample);
      const cluster = [...example.matchAll(/^# {3}([A-Z_]+=\S+)$/gm)].map((m) => m[1]!);
      assertEquals(cluster.length, 5, "the five three-broker lines of .env.example");
      await Deno.writeTextFile(`${dir}/cluster.env`, `${example}\n${cluster.join("\n")}\n`);
      const r = await compose(["config"], `${dir}/cluster.env`);
      assertSucceeded(r, "docker-compose config with the kafka-cluster lines");
      const doc = parseYaml(r.stdout) as { services: Record<string, ComposeService> };
      assert(doc.services["kafka-2"] && doc.services["kafka-3"], "brokers 2 and 3 run");
      for (const name of ["kafka", "kafka-2", "kafka-3"]) {
        const env = serviceEnv(doc.services[name]!);
        assertEquals(
          env.KAFKA_CONTROLLER_QUORUM_VOTERS,
          "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093",
        );
        assertEquals(env.KAFKA_DEFAULT_REPLICATION_FACTOR, "3");
        assertEquals(env.KAFKA_MIN_INSYNC_REPLICAS, "2");
        assertEquals(env.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR, "2");
      }
      assertEquals(
        serviceEnv(doc.services["payment-ingest"]!).KAFKA_BROKERS,
        "kafka:19092,kafka-2:19092,kafka-3:19092",
      );
      assertEquals(
        serviceEnv(doc.services["payment-consumer"]!).KAFKA_BROKERS,
        "kafka:19092,kafka-2:19092,kafka-3:19092",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "docker-compose config refuses to render without the required secrets",
  ignore: noCompose,
  async fn() {
    requireTool("docker-compose", "docker-compose");
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/empty.env`, "# no secrets\n");
      const r = await compose(["config", "--quiet"], `${dir}/empty.env`);
      assert(r.code !== 0, "docker-compose config passed without POSTGRES_PASSWORD/ADMIN_TOKEN");
      assertMatch(r.stderr, /POSTGRES_PASSWORD|ADMIN_TOKEN|GRAFANA_ADMIN_PASSWORD/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("compose: the stack has the expected services, ngrok and brokers 2-3 only under their profiles", async () => {
  const { compose } = await loadCompose();
  const names = Object.keys(compose.services).sort();
  assertEquals(names, [
    "alertmanager",
    "grafana",
    "kafka",
    "kafka-2",
    "kafka-3",
    "kafka-exporter",
    "ngrok",
    "payment-consumer",
    "payment-ingest",
    "payment-settlement",
    "postgres",
    "prometheus",
  ]);
  for (const [name, svc] of Object.entries(compose.services)) {
    if (name === "ngrok") assertEquals(svc.profiles, ["ngrok"]);
    else if (name === "kafka-2" || name === "kafka-3") {
      assertEquals(svc.profiles, ["kafka-cluster"]);
    } else assertEquals(svc.profiles, undefined, `${name} must start without a profile`);
  }
});

Deno.test("compose: every image is pinned to an explicit tag", async () => {
  const { compose } = await loadCompose();
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(compose.services)) {
    if (!svc.image) {
      problems.push(`${name}: no image`);
      continue;
    }
    // Built here (the consumer runs the service's image); tagged with IMAGE_TAG.
    if (svc.build || svc.image.startsWith("payment-ingest:")) continue;
    const { tag } = imageTag(svc.image);
    if (!tag || tag === "latest" || !/\d/.test(tag) || tag.includes("${")) {
      problems.push(`${name}: ${svc.image} is not pinned`);
    }
  }
  assertEquals(problems, []);
  assertEquals(compose.services.kafka?.image, "apache/kafka:4.1.1");
  assertEquals(imageTag(compose.services.postgres?.image ?? "").repository, "postgres");
  assertMatch(imageTag(compose.services.postgres?.image ?? "").tag ?? "", /^15(\.|$|-)/);
});

Deno.test("compose: depends_on targets exist and service_healthy targets have a health check", async () => {
  const { compose } = await loadCompose();
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(compose.services)) {
    const deps = Array.isArray(svc.depends_on)
      ? Object.fromEntries(svc.depends_on.map((d) => [d, {}]))
      : svc.depends_on ?? {};
    for (const [target, spec] of Object.entries(deps) as Array<[string, { condition?: string }]>) {
      const t = compose.services[target];
      if (!t) {
        problems.push(`${name} depends on unknown service ${target}`);
        continue;
      }
      if (spec.condition === "service_healthy" && !t.healthcheck && !t.build) {
        problems.push(
          `${name} waits for ${target} to be healthy, but ${target} has no healthcheck`,
        );
      }
    }
  }
  assertEquals(problems, []);
  const app = compose.services["payment-ingest"]!;
  // Kafka never blocks ingest: started, not healthy.
  assertEquals(app.depends_on, {
    postgres: { condition: "service_healthy" },
    kafka: { condition: "service_started" },
  });
  assertEquals(compose.services.prometheus!.depends_on, {
    alertmanager: { condition: "service_started" },
  });
});

Deno.test("compose: every bind-mounted path under ./ exists", async () => {
  const { compose } = await loadCompose();
  const missing: string[] = [];
  let mounts = 0;
  for (const [name, svc] of Object.entries(compose.services)) {
    for (const v of svc.volumes ?? []) {
      // ${VAR:-./path}: the default is what a plain `docker compose up` mounts.
      const source = v.replace(/^\$\{[A-Z_]+:-([^}]*)\}/, "$1").split(":")[0]!;
      if (!source.startsWith("./")) continue;
      mounts++;
      if (!await repoFileExists(source)) missing.push(`${name}: ${source}`);
    }
  }
  assertEquals(missing, []);
  assert(mounts >= 5, `expected the monitoring folders to be mounted, found ${mounts} mounts`);
});

Deno.test("compose: every ${VAR} is documented in .env.example with the same default", async () => {
  const { text } = await loadCompose();
  const documented = await loadEnvExample();
  const problems: string[] = [];
  for (const i of interpolations(text)) {
    if (!documented.has(i.name)) {
      problems.push(`${i.name} is used in docker-compose.yml but not documented in .env.example`);
      continue;
    }
    const example = documented.get(i.name)!;
    if ((i.operator === ":-" || i.operator === "-") && example !== "" && example !== i.argument) {
      problems.push(
        `${i.name}: compose default "${i.argument}" differs from .env.example "${example}"`,
      );
    }
    if ((i.operator === ":?" || i.operator === "?") && example === "") {
      problems.push(`${i.name} is required by docker-compose.yml but empty in .env.example`);
    }
  }
  assertEquals(problems, []);
  for (
    const name of ["POSTGRES_PASSWORD", "ADMIN_TOKEN", "GRAFANA_ADMIN_PASSWORD", "NGROK_AUTHTOKEN"]
  ) {
    assert(interpolations(text).some((i) => i.name === name), `${name} is not read by compose`);
  }
});

Deno.test("compose: the ngrok profile tunnels to Jenkins on the host with NGROK_AUTHTOKEN", async () => {
  const { compose } = await loadCompose();
  const ngrok = compose.services.ngrok!;
  const env = serviceEnv(ngrok);
  assertEquals(env.NGROK_AUTHTOKEN, "${NGROK_AUTHTOKEN:-}");
  // Not JENKINS_URL: Jenkins sets it itself and the shell's value wins over .env.
  assertEquals(env.NGROK_UPSTREAM_URL, "${NGROK_UPSTREAM_URL:-http://host.docker.internal:8080}");
  assert(
    (ngrok.extra_hosts ?? []).includes("host.docker.internal:host-gateway"),
    "ngrok needs host.docker.internal on Linux",
  );
  const command = (Array.isArray(ngrok.command) ? ngrok.command : [ngrok.command ?? ""]).join(" ");
  assertMatch(command, /if \[ -z "\$\$NGROK_AUTHTOKEN" \];.*exit 64/s);
  assertMatch(command, /exec ngrok http "\$\$NGROK_UPSTREAM_URL"/);
  // Fails fast instead of looping on a missing token.
  assertEquals(ngrok.restart, "no");
  // The service no longer defaults to Jenkins' host port.
  const appPorts = (compose.services["payment-ingest"]!.ports ?? []).join(" ");
  assert(!/:-8080[}-]/.test(appPorts), `payment-ingest publishes host port 8080: ${appPorts}`);
});

Deno.test("compose: the ngrok entrypoint exits with a message when the token is empty", async () => {
  const { compose } = await loadCompose();
  const script = (compose.services.ngrok!.command as string[])[0]!.replaceAll("$$", "$");
  const r = await run("sh", ["-c", script], {
    env: { NGROK_AUTHTOKEN: "", NGROK_UPSTREAM_URL: "http://x:1" },
  });
  assertEquals(r.code, 64);
  assertMatch(r.stderr, /NGROK_AUTHTOKEN is empty/);
});

Deno.test("compose: Kafka keeps its log in a named volume and its health check starts no JVM", async () => {
  const { compose } = await loadCompose();
  const kafka = compose.services.kafka!;
  const logDirs = serviceEnv(kafka).KAFKA_LOG_DIRS!;
  assert(
    (kafka.volumes ?? []).includes(`kafka-data:${logDirs}`),
    `KAFKA_LOG_DIRS ${logDirs} is not on the kafka-data volume: ${kafka.volumes}`,
  );
  const check = JSON.stringify(kafka.healthcheck?.test);
  assert(!/kafka-[\w-]+\.sh|java/.test(check), `the health check starts a JVM: ${check}`);
});

Deno.test("compose: Postgres' health check goes over TCP, not the init-time socket", async () => {
  const { compose } = await loadCompose();
  const check = JSON.stringify(compose.services.postgres!.healthcheck?.test);
  assertMatch(check, /pg_isready -h 127\.0\.0\.1/);
});

Deno.test("compose: Kafka listeners serve the compose network and the host", async () => {
  const { compose } = await loadCompose();
  const kafka = serviceEnv(compose.services.kafka!);
  assertEquals(kafka.KAFKA_PROCESS_ROLES, "broker,controller");
  const advertised = kafka.KAFKA_ADVERTISED_LISTENERS!.split(",");
  assert(advertised.includes("INTERNAL://kafka:19092"), advertised.join(","));
  assert(
    advertised.includes("EXTERNAL://${KAFKA_ADVERTISED_HOST:-127.0.0.1}:${KAFKA_HOST_PORT:-9092}"),
    advertised.join(","),
  );
  assertEquals(
    serviceEnv(compose.services["payment-ingest"]!).KAFKA_BROKERS,
    "${KAFKA_BOOTSTRAP:-kafka:19092}",
  );
  assert(
    (compose.services["kafka-exporter"]!.command as string[]).includes(
      "--kafka.server=kafka:19092",
    ),
    "kafka-exporter must use the internal listener",
  );
});

Deno.test("compose: Prometheus targets and the Grafana datasource are compose services", async () => {
  const { compose } = await loadCompose();
  const prom = await readRepoYaml<{
    alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
    scrape_configs: Array<{
      job_name: string;
      static_configs?: Array<{ targets: string[] }>;
      dns_sd_configs?: Array<{ names: string[] }>;
    }>;
  }>(FILES.prometheusConfig);
  const targets = [
    ...prom.scrape_configs.flatMap((s) => (s.static_configs ?? []).flatMap((c) => c.targets)),
    ...prom.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets)),
  ];
  for (const t of targets) {
    const host = t.split(":")[0]!;
    assert(
      host === "localhost" || compose.services[host],
      `prometheus target ${t}: no such service`,
    );
  }
  const discovered = prom.scrape_configs.flatMap((s) =>
    (s.dns_sd_configs ?? []).flatMap((c) => c.names)
  );
  assert(discovered.includes("payment-ingest"), `DNS-discovered: ${discovered}`);
  for (const name of discovered) {
    assert(
      compose.services[name],
      `prometheus discovers ${name} by DNS: no such compose service`,
    );
  }
  const ds = await readRepoYaml<{ datasources: Array<{ url: string }> }>(FILES.grafanaDatasources);
  for (const d of ds.datasources) {
    const host = new URL(d.url).hostname;
    assert(compose.services[host], `grafana datasource ${d.url}: no such service`);
  }
});

Deno.test("compose: Grafana mounts the provisioning and the dashboards where the provider looks", async () => {
  const { compose } = await loadCompose();
  const volumes = compose.services.grafana!.volumes ?? [];
  const mountOf = (source: string) =>
    volumes.map((v) => v.split(":")).find(([s]) => s === source)?.[1];
  const providers = await readRepoYaml<{ providers: Array<{ options: { path: string } }> }>(
    FILES.grafanaDashboardProviders,
  );
  assertEquals(mountOf(`./${FILES.grafanaDashboardsDir}`), providers.providers[0]!.options.path);
  assertEquals(
    mountOf("./monitoring/grafana/provisioning/datasources"),
    "/etc/grafana/provisioning/datasources",
  );
  assertEquals(
    mountOf("./monitoring/grafana/provisioning/dashboards"),
    "/etc/grafana/provisioning/dashboards",
  );
  assertEquals(mountOf("./monitoring/prometheus"), undefined);
  assertEquals(
    (compose.services.prometheus!.volumes ?? []).find((v) => v.includes("./monitoring/prometheus")),
    "${PROMETHEUS_CONFIG_DIR:-./monitoring/prometheus}:/etc/prometheus:ro",
  );
});

Deno.test("compose: the images Jenkins validates monitoring with are the ones compose runs", async () => {
  const { compose } = await loadCompose();
  const jenkinsfile = await readRepoText(FILES.jenkinsfile);
  for (const service of ["prometheus", "alertmanager"]) {
    const image = compose.services[service]!.image!;
    const { repository } = imageTag(image);
    const used = [
      ...jenkinsfile.matchAll(new RegExp(`${repository.replace("/", "\\/")}:[\\w.-]+`, "g")),
    ]
      .map((m) => m[0]);
    assert(used.length > 0, `Jenkinsfile does not use ${repository}`);
    for (const u of used) assertEquals(u, image, `Jenkinsfile uses ${u}, compose runs ${image}`);
  }
});
