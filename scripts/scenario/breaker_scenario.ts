/**
 * The trip-and-recover scenario: proves that the Kafka publish breaker opens when Kafka fails,
 * that clients keep getting fast 2xx answers meanwhile, that it closes again by itself once Kafka
 * is back, and that no acknowledged event is lost or reordered. `deno task test:breaker` runs it
 * through scripts/test-circuit-breaker.sh.
 *
 *   1 health + breaker CLOSED      4 six requests while Kafka is down: all 202 PENDING
 *   2 warm-up: 5 x 201 PUBLISHED   5 breaker OPEN/HALF_OPEN; answers do not wait on Kafka
 *   3 stop (or --slow: pause) Kafka 6 restart Kafka        7 recovery answers within 2 s
 *   8 breaker CLOSED again, no operator action, within a bound derived from its config
 *   9 an independent consumer reads back every acknowledged event in per-key order; outbox drained
 *
 * Each step prints one line; any deviation prints the service and broker log tails and exits 1.
 * Usage errors and missing prerequisites exit 2. `--help` lists the knobs.
 */
import { answered } from "./http.ts";
import { composeNames, composeTarget, requireCompose } from "./compose_target.ts";
import { dockerEngine, findCompose, serviceRunning } from "../compose/compose.ts";
import { localTarget } from "./local_target.ts";
import { die, field, note, nowMs, parseScenarioArgs, ScenarioExit, secs, text } from "./options.ts";
import type { ScenarioOptions } from "./options.ts";
import { stepNoLoss, stepsRecover, stepTrips } from "./recovery_steps.ts";
import { BREAKER, Run } from "./run.ts";
import {
  sabotage,
  type Settings,
  stepHealth,
  stepKafkaDown,
  stepWarmUp,
  stepWhileDown,
} from "./trip_steps.ts";
import type { Target } from "./target.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** local unless a Docker engine answers, compose is installed and the service runs. */
async function chooseMode(opts: ScenarioOptions): Promise<ScenarioOptions["mode"]> {
  if (opts.mode !== "auto") return opts.mode;
  const cmd = await dockerEngine() ? await findCompose() : null;
  const file = await Deno.stat(`${ROOT}docker-compose.yml`).then(() => true, () => false);
  return cmd && file && await serviceRunning(cmd, composeNames().svc) ? "compose" : "local";
}

/** Reads the breaker's config and prints the header; the settings the steps use. */
async function settingsOf(t: Target, opts: ScenarioOptions, runId: string): Promise<Settings> {
  const a = await t.http("GET", `/circuit-breaker/${BREAKER}`);
  if (!answered(a)) die(`the service does not answer at ${t.base}`);
  const c = (p: string) => text(field(a.body, `config.${p}`));
  let waitOpen = c("waitDurationInOpenState");
  const backoffMax = c("openWaitBackoff.maxWaitMs");
  if (backoffMax !== "null") waitOpen = backoffMax; // with backoff, a re-opening may wait up to the cap
  const slowThreshold = c("slowCallDurationThreshold");
  if (opts.slow && Number(slowThreshold) >= t.deliveryTimeoutMs) {
    die(
      `--slow needs BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS (${slowThreshold}) below KAFKA_DELIVERY_TIMEOUT_MS (${t.deliveryTimeoutMs}), or timed-out publishes are not slow calls`,
    );
  }
  const env = (k: string, d: number) => Number(Deno.env.get(k) || d);
  const s: Settings = {
    waitOpenMs: Number(waitOpen),
    maxHalfOpenMs: Number(c("maxWaitDurationInHalfOpenState")),
    slowThresholdMs: Number(slowThreshold),
    slowRateThreshold: c("slowCallRateThreshold"),
    fastMs: env("SCENARIO_FAST_MS", Math.floor(Math.min(t.budgetMs, t.requestTimeoutMs) / 2)),
    recoveryMs: env("SCENARIO_RECOVERY_MS", 2000),
    slackMs: env("SCENARIO_SLACK_MS", 15000),
    p: [1, 2, 3, 4, 5, 6].map((i) => `${runId}-P${i}`),
    q: [1, 2, 3].map((i) => `${runId}-Q${i}`),
    runId,
    scenarioStart: 0,
    kafkaDownMs: 0,
  };
  const variant = opts.slow ? "pause" : "stop";
  console.log(
    `breaker scenario: mode ${t.mode}, outage = ${variant} Kafka, service ${t.base}, brokers ${t.consumerBrokers}, topic ${t.topic}`,
  );
  console.log(
    `  breaker: open wait ${waitOpen} ms, half-open max ${
      c("maxWaitDurationInHalfOpenState")
    } ms, slow > ${slowThreshold} ms, failure rate >= ${
      c("failureRateThreshold")
    }%, slow rate >= ${s.slowRateThreshold}%, min calls ${c("minimumNumberOfCalls")}`,
  );
  console.log(
    `  kafka: request timeout ${t.requestTimeoutMs} ms, delivery timeout ${t.deliveryTimeoutMs} ms; inline budget ${t.budgetMs} ms; fast answer < ${s.fastMs} ms`,
  );
  return s;
}

async function scenario(
  opts: ScenarioOptions,
  t: Target,
  ids: { runId: string; t0: number },
  work: string,
) {
  const s = await settingsOf(t, opts, ids.runId);
  const run = new Run(t, `${work}/ledger.tsv`, ids.t0);
  await stepHealth(run, s);
  if (opts.sabotage) await sabotage(run);
  await stepWarmUp(run, s);
  await stepKafkaDown(run, s, opts);
  await stepWhileDown(run, s);
  await stepTrips(run, s, opts);
  await stepsRecover(run, s, opts);
  await stepNoLoss(run, s);
  console.log(
    `breaker scenario PASSED (mode ${t.mode}, ${opts.slow ? "pause" : "stop"} variant) in ${
      secs(nowMs() - run.t0)
    }`,
  );
}

async function main(): Promise<number> {
  const t0 = nowMs();
  const opts = parseScenarioArgs(Deno.args);
  const runId = Array.from(
    crypto.getRandomValues(new Uint8Array(8)),
    (b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36],
  ).join("");
  const work = await Deno.makeTempDir({ prefix: "breaker-scenario." });
  await Deno.writeTextFile(`${work}/ledger.tsv`, "");
  let target: Target | null = null;
  let code = 0;
  let cleaning: Promise<void> | null = null;
  const cleanup = () =>
    cleaning ??= (async () => {
      await target?.cleanup().catch((e) => note(`clean-up failed: ${(e as Error).message}`));
      if (opts.keep) {
        if (target?.mode === "compose") {
          note(
            `kept: work dir ${work}, schema ${
              Deno.env.get("DATABASE_SCHEMA") ?? ""
            }, topic ${target.topic}`,
          );
        }
      } else {
        await Deno.remove(work, { recursive: true }).catch(() => {});
      }
    })();
  for (const [sig, exit] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    Deno.addSignalListener(sig, () => cleanup().finally(() => Deno.exit(exit)));
  }
  try {
    const mode = await chooseMode(opts);
    target = mode === "compose"
      ? await composeTarget(opts, await requireCompose())
      : await localTarget(opts, runId, work);
    await scenario(opts, target, { runId, t0 }, work);
  } catch (e) {
    if (!(e instanceof ScenarioExit)) throw e;
    code = e.code;
  } finally {
    await cleanup();
  }
  return code;
}

// kafkajs and the service's child may leave sockets and timers behind; the answer is final.
Deno.exit(await main());
