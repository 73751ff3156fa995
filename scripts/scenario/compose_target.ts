/**
 * Compose mode: drives the running compose stack (docker compose stop|start|pause kafka), sends
 * requests from inside the service container and reads the service's own settings.
 */
import { brokerAnswers } from "../../src/testing/kafka_admin.ts";
import { run, sleep } from "../lib/util.ts";
import {
  type ComposeCmd,
  containerIds,
  dc,
  dockerEngine,
  findCompose,
  inspect,
  serviceRunning,
  waitReady,
} from "../compose/compose.ts";
import { composeHttp } from "./http.ts";
import { die, nowMs, type ScenarioOptions } from "./options.ts";
import type { Target } from "./target.ts";

/** The compose command (plugin or standalone) and the two services' names. */
export interface Compose {
  cmd: ComposeCmd;
  svc: string;
  kafkaSvc: string;
}

/** The services' names from the environment. */
export function composeNames(): { svc: string; kafkaSvc: string } {
  return {
    svc: Deno.env.get("SCENARIO_SERVICE") || "payment-ingest",
    kafkaSvc: Deno.env.get("SCENARIO_KAFKA_SERVICE") || "kafka",
  };
}

/** Checks compose mode's prerequisites (exit 2 with the reason when one is missing). */
export async function requireCompose(): Promise<Compose> {
  const { svc, kafkaSvc } = composeNames();
  if (!await dockerEngine()) {
    die("--mode compose needs a running Docker engine (docker info failed)");
  }
  const cmd = await findCompose();
  if (!cmd) die("--mode compose needs docker compose (plugin) or docker-compose");
  if (!await serviceRunning(cmd, svc)) {
    die(`service ${svc} is not running; deploy the stack first (docker compose up -d)`);
  }
  return { cmd, svc, kafkaSvc };
}

/** Prepares compose mode against the running stack. */
export async function composeTarget(opts: ScenarioOptions, c: Compose): Promise<Target> {
  const { cmd, svc, kafkaSvc } = c;
  // v NAME: a variable of the service container's environment (empty when unset).
  const v = async (name: string) =>
    (await dc(cmd, "exec", "-T", svc, "printenv", name)).stdout.replaceAll("\r", "").trim();
  const port = await v("PORT");
  const base = `http://127.0.0.1:${port || "8080"}`;
  // The reader runs on the host: the broker's published EXTERNAL listener.
  const published = (await dc(cmd, "port", kafkaSvc, "9092")).stdout.split("\n")[0]!.trim()
    .replace("0.0.0.0", "127.0.0.1");
  const consumerBrokers = Deno.env.get("SCENARIO_CONSUMER_BROKERS") || published ||
    "127.0.0.1:9092";
  let outage = false;
  const http = composeHttp(cmd, svc, base);
  // The broker's container, so that the outage is one `docker` call: `docker compose pause`
  // (compose v1 is a Python program) took 0.5-1 s to start, all of it counted in the time to trip.
  const [kafkaId] = await containerIds(cmd, kafkaSvc);
  if (!kafkaId) die(`service ${kafkaSvc} has no container`);
  const target: Target = {
    mode: "compose",
    base,
    http,
    consumerBrokers,
    topic: (await v("KAFKA_TOPIC")) || "payment-events",
    adminToken: Deno.env.get("ADMIN_TOKEN") || await v("ADMIN_TOKEN"),
    requestTimeoutMs: Number((await v("KAFKA_REQUEST_TIMEOUT_MS")) || 10000),
    deliveryTimeoutMs: Number((await v("KAFKA_DELIVERY_TIMEOUT_MS")) || 15000),
    budgetMs: Number((await v("INLINE_PUBLISH_BUDGET_MS")) || 1000),
    async kafkaDown() {
      outage = true;
      const r = await run("docker", [opts.slow ? "pause" : "stop", kafkaId]);
      if (r.code !== 0) throw new Error(r.out);
    },
    async kafkaUp() {
      const r = await dc(cmd, opts.slow ? "unpause" : "start", kafkaSvc);
      if (r.code !== 0) throw new Error(r.out);
      const timeoutMs = Number(Deno.env.get("SCENARIO_START_TIMEOUT_S") ?? 90) * 1000;
      const deadline = nowMs() + timeoutMs;
      // Healthy again, not just running: Docker 20.10 keeps a just-unpaused container
      // "unhealthy" until its next probe, and anything waiting on health would see that.
      await waitReady(cmd, [kafkaSvc], timeoutMs);
      while (!await brokerAnswers(consumerBrokers.split(",")[0]!, 3000)) {
        if (nowMs() >= deadline) throw new Error("the broker did not answer metadata requests");
        await sleep(1000);
      }
      outage = false;
    },
    async kafkaState() {
      // docker inspect, not `ps --format` (compose v2 only): running, paused, exited, ...
      const state = (await inspect([kafkaId]))[0]?.status || "stopped";
      const want = opts.slow ? "paused" : "exited";
      return state === want ? { state } : { state, wrong: `docker inspect says ${state}` };
    },
    serviceLogTail: async () => (await dc(cmd, "logs", "--no-color", "--tail", "40", svc)).out,
    brokerLogTail: async () => (await dc(cmd, "logs", "--no-color", "--tail", "40", kafkaSvc)).out,
    async cleanup() {
      // Never leave the stack's Kafka stopped or paused, nor its breaker sabotaged.
      if (outage) await dc(cmd, opts.slow ? "unpause" : "start", kafkaSvc);
      if (opts.sabotage) {
        const r = await target.http(
          "POST",
          "/circuit-breaker/kafka-publisher/state",
          '{"state":"CLOSED","reason":"end of --sabotage-disabled"}',
          target.adminToken,
        );
        if (r.status === "000") console.error("  ... could not return the breaker to CLOSED");
      }
      await http.close();
    },
  };
  return target;
}
