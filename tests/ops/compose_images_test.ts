/** The air-gapped path and the service image: recipes, Dockerfile, production deps, alert routing. */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { parse } from "@std/yaml";
import { writePrometheusConfig } from "../compose/stack_env.ts";
import { readRepoText, repoPath } from "./paths.ts";
import { missingTool, run } from "./tools.ts";

Deno.test("images.sh --list: every stack image has a recipe, or is one CI runs without", async () => {
  const r = await run("bash", ["scripts/compose/images.sh", "--list"]);
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => l.split(/\s+/, 2) as [string, string]);
  const registryOnly = lines.filter(([, how]) => how === "registry").map(([i]) => i.split(":")[0]);
  assertEquals(registryOnly.sort(), ["danielqsj/kafka-exporter", "grafana/grafana", "ngrok/ngrok"]);
  for (const image of ["denoland/deno", "postgres", "apache/kafka", "prom/prometheus"]) {
    assert(lines.some(([i, how]) => i.startsWith(`${image}:`) && how === "built"), image);
  }
});

Deno.test("Dockerfile: no syntax line, /app/data owned by deno, CMD runs what `deno task start` runs", async () => {
  const text = await readRepoText("Dockerfile");
  assert(!/^# syntax=/m.test(text), "a # syntax= line makes BuildKit pull an image");
  assertMatch(text, /mkdir -p \/app\/data && chown -R deno:deno \/app/);
  const cmd = JSON.parse(text.match(/^CMD (\[.*\])$/m)![1]!) as string[];
  const tasks = (JSON.parse(await readRepoText("deno.json")) as { tasks: Record<string, string> })
    .tasks;
  assertEquals(cmd.join(" "), tasks.start);
  assertMatch(text, /deno cache --frozen src\/main\.ts src\/consumer\/main\.ts/);
});

/** Packages only tests, benchmarks and the browser test use (import_map.dev.json, deno.dev.lock). */
const DEV_ONLY = ["playwright-core", "fast-check", "opossum", "cockatiel", "@sinonjs/fake-timers"];

Deno.test("production deps: deno.json and deno.lock hold only what the programs run, so deno task start fetches nothing else", async () => {
  type Config = { imports: Record<string, string> };
  const config = JSON.parse(await readRepoText("deno.json")) as Config;
  const dev = JSON.parse(await readRepoText("import_map.dev.json")) as Config;
  const lock = JSON.parse(await readRepoText("deno.lock")) as { npm: Record<string, unknown> };
  // deno task installs every package of deno.json's imports and deno.lock before any task runs.
  assertEquals(DEV_ONLY.filter((n) => n in config.imports), [], "dev-only imports in deno.json");
  const lockedDev = Object.keys(lock.npm).filter((k) =>
    DEV_ONLY.some((n) => k.startsWith(`${n}@`))
  );
  assertEquals(lockedDev, [], "dev-only packages in deno.lock");
  // The dev map is the production map plus the dev-only packages, the shared ones pinned alike.
  for (const [name, target] of Object.entries(config.imports)) {
    assertEquals(dev.imports[name], target, `import_map.dev.json's ${name}`);
  }
  for (const name of DEV_ONLY) assert(dev.imports[name], `${name} is not in import_map.dev.json`);
  const offenders: string[] = [];
  for await (const f of walk(repoPath("src"))) {
    if (f.endsWith("_test.ts") || f.includes("test_")) continue;
    const text = await Deno.readTextFile(f);
    for (const name of DEV_ONLY) {
      if (text.includes(`from "${name}"`)) offenders.push(`${f}: ${name}`);
    }
  }
  assertEquals(offenders, []);
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(p);
    else if (e.name.endsWith(".ts")) yield p;
  }
}

async function render(env: Record<string, string>) {
  return await run("sh", ["monitoring/alertmanager/entrypoint.sh"], {
    env: {
      RENDER_ONLY: "1",
      ALERTMANAGER_CONFIG: "monitoring/alertmanager/alertmanager.yml",
      ...env,
    },
  });
}

Deno.test("alertmanager entrypoint: receivers come from the environment, none means nothing pages", async () => {
  type Receivers = { receivers: Array<Record<string, unknown[] | string>> };
  const none = parse(
    (await render({ ALERT_WEBHOOK_URL: "", ALERT_SLACK_WEBHOOK_URL: "" })).stdout,
  ) as Receivers;
  for (const r of none.receivers) assertEquals(Object.keys(r), ["name"]);
  const both = await render({
    ALERT_WEBHOOK_URL: "http://hooks.internal:9000/alerts",
    ALERT_SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/X",
    ALERT_SLACK_CHANNEL: "#payments",
  });
  const doc = parse(both.stdout) as Receivers;
  assert(doc.receivers.length >= 2);
  for (const r of doc.receivers) {
    assertEquals(
      (r.webhook_configs as Array<{ url: string }>)[0]!.url,
      "http://hooks.internal:9000/alerts",
    );
    assertEquals((r.slack_configs as Array<{ channel: string }>)[0]!.channel, "#payments");
  }
  const bad = await render({ ALERT_WEBHOOK_URL: "hooks.internal/alerts" });
  assertEquals(bad.code, 64);
  assertMatch(
    bad.stderr,
    /ALERT_WEBHOOK_URL must be an http\(s\) URL, got "hooks.internal\/alerts"/,
  );
});

Deno.test({
  name: "alertmanager entrypoint: the rendered config passes amtool check-config",
  ignore: missingTool("amtool"),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const r = await render({
        ALERT_WEBHOOK_URL: "http://h:1/a",
        ALERT_SLACK_WEBHOOK_URL: "https://s/x",
      });
      await Deno.writeTextFile(`${dir}/am.yml`, r.stdout);
      const check = await run("amtool", ["check-config", `${dir}/am.yml`]);
      assertEquals(check.code, 0, check.stdout + check.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "compose test's Prometheus copy: short delay on the test alert only, and it still loads",
  ignore: missingTool("promtool"),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await writePrometheusConfig(dir);
      const rules = parse(await Deno.readTextFile(`${dir}/alerts.yml`)) as {
        groups: { rules: { alert?: string; for?: string }[] }[];
      };
      const all = rules.groups.flatMap((g) => g.rules);
      assertEquals(all.find((r) => r.alert === "CircuitBreakerOpenTooLong")?.for, "10s");
      assertEquals(all.find((r) => r.alert === "PaymentIngestDown")?.for, "1m");
      const check = await run("promtool", ["check", "config", `${dir}/prometheus.yml`]);
      assertEquals(check.code, 0, check.stdout + check.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
