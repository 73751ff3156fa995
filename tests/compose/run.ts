/**
 * `deno task test:compose [--junit FILE] [--keep] [--case TEXT]...`: the compose stack, run for real.
 *
 * Makes the images available (present, pulled, or built here: scripts/compose/images.sh), starts
 * postgres, kafka, payment-ingest, payment-consumer, payment-settlement, prometheus and alertmanager under their own
 * project name and host ports, waits for health, runs the cases in tests/compose/cases.ts, keeps
 * every container's log under .cache/compose-test/ when anything failed, and removes the stack
 * with its volumes (unless --keep). `--case TEXT` (repeatable) runs only the cases whose name
 * contains TEXT, for iterating on one. Works with docker compose v2 and docker-compose v1.
 * The last line is `N passed, N failed`.
 */
import { parseArgs } from "@std/cli/parse-args";
import { ROOT } from "../../scripts/lib/util.ts";
import { dc, dockerEngine, findCompose, upAndWait } from "../../scripts/compose/compose.ts";
import {
  alertDelivered,
  type Case,
  idle,
  readmeExamples,
  scaled,
  scenario,
  settled,
  smoke,
  type Stack,
} from "./cases.ts";
import { stackEnv } from "./stack_env.ts";
import { startWebhook } from "./webhook.ts";
import { junitXml, type TestResult } from "./junit.ts";

/** The services the CI stack runs (Grafana, kafka-exporter and ngrok need a registry). */
export const CI_SERVICES = [
  "postgres",
  "kafka",
  "payment-ingest",
  "payment-consumer",
  "payment-settlement",
  "prometheus",
  "alertmanager",
];

const CASES: Array<[string, Case]> = [
  // First, while the stack is fresh: its start-up logs are part of the verdict.
  ["idle: a fresh stack held 2 minutes, no warning in the logs, no alert", idle],
  ["smoke checks against the published port", smoke],
  ["README examples for the compose stack, as written (:18080, Prometheus :9090)", readmeExamples],
  ["settlement: a payment posted to the service reaches the ledger and today's statement", settled],
  // Before the scenarios: their OPEN periods fire the same alert group, and Alertmanager would
  // hold a later notification for that group until group_interval (5 min) has passed.
  ["alert delivered: breaker forced open -> Prometheus -> Alertmanager -> webhook", alertDelivered],
  ["breaker scenario, compose mode: Kafka stopped", scenario(false)],
  // Bound: 5 slow calls x 1 s inline budget + 5 s slow-call threshold + 2 s for Docker
  // (tripBoundMs in scripts/scenario/trip_steps.ts); measured 9-10 s.
  ["breaker scenario, compose mode: Kafka paused (seed timings, trip within 12 s)", scenario(true)],
  ["scaled stack: 3 replicas, DNS discovery, one killed under load, nothing lost", scaled],
];

const args = parseArgs(Deno.args, {
  string: ["junit"],
  collect: ["case"],
  boolean: ["keep", "help"],
  unknown: (a: string) => {
    console.error(`test:compose: unknown option "${a}" (see --help)`);
    Deno.exit(2);
  },
});
if (args.help) {
  console.log("usage: deno task test:compose [--junit FILE] [--keep] [--case TEXT]...");
  Deno.exit(0);
}
const only = ((args.case ?? []) as unknown[]).map(String);
const cases = only.length ? CASES.filter(([name]) => only.some((t) => name.includes(t))) : CASES;
if (cases.length === 0) {
  console.error(`test:compose: no case name contains ${only.map((t) => `"${t}"`).join(" or ")}`);
  Deno.exit(2);
}

const work = `${ROOT}.cache/compose-test`;
await Deno.remove(work, { recursive: true }).catch(() => {});
await Deno.mkdir(work, { recursive: true });
const results: TestResult[] = [];
const t0 = Date.now();

function record(name: string, started: number, error?: string, summary?: string) {
  const seconds = (Date.now() - started) / 1000;
  results.push({ name, seconds, error });
  const tag = error ? "FAILED" : "ok";
  console.log(`\n[${tag}] ${name} (${seconds.toFixed(1)} s)${summary ? `: ${summary}` : ""}`);
  if (error) console.log(`  ${error}`);
}

async function saveLogs(cmd: string[]): Promise<void> {
  const all = await dc(cmd, "logs", "--no-color", "--timestamps");
  await Deno.writeTextFile(`${work}/compose.log`, all.out);
  for (const svc of CI_SERVICES) {
    const r = await dc(cmd, "logs", "--no-color", "--timestamps", "--tail", "300", svc);
    await Deno.writeTextFile(`${work}/${svc}.log`, r.out);
  }
  console.log(`\ncontainer logs kept in ${work}/ (compose.log and one file per service)`);
  const tail = await dc(cmd, "logs", "--no-color", "--tail", "25", "payment-ingest", "kafka");
  console.log(tail.out);
}

/** Test code the service image holds (.dockerignore keeps it out); undefined when none. */
async function testCode(env: Record<string, string>): Promise<string | undefined> {
  const image = `payment-ingest:${env.IMAGE_TAG ?? "local"}`;
  const find = ["/app/src", "(", "-name", "*_test.ts", "-o", "-path", "/app/src/testing", ")"];
  const out = await new Deno.Command("docker", {
    args: ["run", "--rm", "--entrypoint", "find", image, ...find, "-print"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
  if (!out.success) return `docker run ${image} failed: ${text(out.stderr)}`;
  return text(out.stdout) ? `in ${image}:\n${text(out.stdout)}` : undefined;
}

const cmd = await findCompose();
if (!cmd || !await dockerEngine()) {
  record("compose prerequisites", t0, cmd ? "no Docker engine answers" : "no docker compose");
} else {
  console.log(`compose command: ${cmd.join(" ")}`);
  const { env, hook: where } = await stackEnv(work);
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  const hook = startWebhook(where.hostname, where.port);
  const stack: Stack = { cmd, env, hook };
  let up = Date.now();
  try {
    const images = await new Deno.Command("bash", { args: [`${ROOT}scripts/compose/images.sh`] })
      .spawn().status;
    if (!images.success) throw new Error("scripts/compose/images.sh failed");
    record("images available (present, pulled or built here)", up);
    up = Date.now();
    // A clean slate: volumes of an interrupted run hold other secrets (Postgres' password).
    await dc(cmd, "down", "-v", "--remove-orphans");
    await upAndWait(cmd, CI_SERVICES, { log: (s) => console.log(`  ${s}`) });
    record(`stack up and healthy: ${CI_SERVICES.join(", ")}`, up);
    up = Date.now();
    record(
      "the service image holds no test code (src/testing/, *_test.ts)",
      up,
      await testCode(env),
    );
    for (const [name, fn] of cases) {
      const started = Date.now();
      try {
        record(name, started, undefined, await fn(stack));
      } catch (e) {
        record(name, started, (e as Error).message);
      }
    }
  } catch (e) {
    record("stack up and healthy", up, (e as Error).message);
  } finally {
    if (results.some((r) => r.error)) await saveLogs(cmd).catch(() => {});
    await hook.close();
    if (!args.keep) {
      const down = await dc(cmd, "down", "-v", "--remove-orphans");
      if (down.code !== 0) console.log(`compose down failed:\n${down.out}`);
    }
  }
}

if (args.junit) await Deno.writeTextFile(args.junit, junitXml("compose", results));
const failed = results.filter((r) => r.error).length;
console.log(`\ncompose tests took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
console.log(`${results.length - failed} passed, ${failed} failed`);
Deno.exit(failed ? 1 : 0);
