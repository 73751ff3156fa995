/**
 * Steps 1 to 4 of the scenario: health, warm-up, Kafka down and requests while it is down (and the
 * --sabotage-disabled demonstration); the settings every step reads.
 */
import { sleep } from "../lib/util.ts";
import { answered } from "./http.ts";
import { field, nowMs, type ScenarioOptions, text } from "./options.ts";
import { BREAKER, type Run } from "./run.ts";

/** What the steps derive from the breaker's config and the environment. */
export interface Settings {
  waitOpenMs: number;
  maxHalfOpenMs: number;
  slowThresholdMs: number;
  slowRateThreshold: string;
  fastMs: number;
  recoveryMs: number;
  slackMs: number;
  /** P1..P6 and Q1..Q3 of this run. */
  p: string[];
  q: string[];
  runId: string;
  /** Set by step 1: transitions before it are not this run's. */
  scenarioStart: number;
  /** Set by step 3. */
  kafkaDownMs: number;
}

/** Step 1: ready, breaker CLOSED, relay leading; a priming event gets PUBLISHED. */
export async function stepHealth(run: Run, s: Settings): Promise<void> {
  const { http } = run.target;
  run.begin(
    1,
    "health",
    "ready UP (postgres, migrations), breaker CLOSED, outbox relay leading; a priming event gets PUBLISHED",
  );
  const deadline = nowMs() + 30000;
  let ready: string;
  let readyStatus: string;
  let leader: string;
  for (;;) {
    const r = await http("GET", "/health/ready");
    ready = r.status;
    readyStatus = text(field(r.body, "status"));
    await run.snapshot();
    leader = text(field((await http("GET", "/outbox")).body, "relay.leader"));
    if (ready === "200" && readyStatus === "UP" && run.b.state === "CLOSED" && leader === "true") {
      break;
    }
    if (nowMs() >= deadline) {
      throw await run.fail(
        `ready ${ready} ${readyStatus}, breaker ${run.b.state || "?"}, relay leader ${
          leader || "?"
        } (another service on this database may hold the relay's leader lock)`,
      );
    }
    await sleep(500);
  }
  // The service connects its producer on the first publish; one priming event (in the ledger like
  // every other) keeps that one-off cost out of the warm-up, whose answers must all be 201.
  const prime = await run.post(1, `${s.runId}-P0`);
  const state = `ready ${ready} ${readyStatus}, breaker ${run.b.state}, relay leader ${leader}`;
  if (!/^2..$/.test(prime.status)) throw await run.fail(`${state}; priming event ${prime.obs}`);
  let evStatus = prime.evStatus;
  const until = nowMs() + 10000 + run.target.deliveryTimeoutMs;
  while (evStatus !== "PUBLISHED") {
    if (nowMs() >= until) throw await run.fail(`priming event ${prime.obs}, still ${evStatus}`);
    await sleep(200);
    const a = await http("GET", `/payments/${prime.eventId}`);
    if (answered(a)) evStatus = text(field(a.body, "status"));
  }
  run.pass(`${state}; priming event ${prime.obs}, PUBLISHED`);
  s.scenarioStart = nowMs();
}

/** --sabotage-disabled: force the breaker DISABLED so that the run must fail. */
export async function sabotage(run: Run): Promise<void> {
  const a = await run.target.http(
    "POST",
    `/circuit-breaker/${BREAKER}/state`,
    '{"state":"DISABLED","reason":"test-circuit-breaker.sh --sabotage-disabled"}',
    run.target.adminToken,
  );
  console.log(
    `[SABOTAGE] breaker forced DISABLED via POST /circuit-breaker/${BREAKER}/state -> HTTP ${a.status}, state ${
      text(field(a.body, "state"))
    } (demonstration: the scenario must fail)`,
  );
}

/** Step 2: five requests, each 201 PUBLISHED. */
export async function stepWarmUp(run: Run, s: Settings): Promise<void> {
  run.begin(2, "warm-up", "5 requests, each 201 PUBLISHED");
  const obs: string[] = [];
  for (const k of s.p.slice(0, 5)) {
    const a = await run.post(2, k);
    obs.push(a.obs);
    if (a.status !== "201" || a.evStatus !== "PUBLISHED") throw await run.fail(obs.join(" "));
  }
  run.pass(obs.join(" "));
}

/** Step 3: stop (or pause) Kafka. */
export async function stepKafkaDown(run: Run, s: Settings, opts: ScenarioOptions): Promise<void> {
  if (opts.slow) {
    run.begin(3, "pause Kafka", "broker paused (SIGSTOP: connections stay open, no answers)");
  } else {
    run.begin(3, "stop Kafka", "broker stopped");
  }
  s.kafkaDownMs = nowMs();
  try {
    await run.target.kafkaDown();
  } catch (e) {
    const tail = (e as Error).message.trimEnd().split("\n").slice(-5).join(" ");
    throw await run.fail(`could not ${opts.slow ? "pause" : "stop"} Kafka: ${tail} `);
  }
  const st = await run.target.kafkaState();
  if (st.wrong) throw await run.fail(st.wrong);
  run.pass(`broker ${st.state}`);
}

/** Step 4: six requests while Kafka is down, each 202 PENDING within the inline budget. */
export async function stepWhileDown(run: Run, s: Settings): Promise<void> {
  const budget = run.target.budgetMs;
  run.begin(
    4,
    "requests while Kafka is down",
    `6 requests, each 202 PENDING within the inline budget (${budget} ms + 2 s), none refused`,
  );
  const obs: string[] = [];
  for (const k of s.p) {
    const a = await run.post(4, k);
    obs.push(a.obs);
    if (a.status !== "202" || a.evStatus !== "PENDING") throw await run.fail(obs.join(" "));
    if (a.ms > budget + 2000) {
      throw await run.fail(`${obs.join(" ")} (answer slower than the inline budget allows)`);
    }
  }
  run.pass(obs.join(" "));
}
