/**
 * Steps 1 to 4 of the scenario: health, warm-up, Kafka down and requests while it is down (and the
 * --sabotage-disabled demonstration), then step 5's wait for the trip with its measured time and
 * bound; the settings every step reads.
 */
import { sleep } from "../lib/util.ts";
import { answered } from "./http.ts";
import { field, nowMs, type ScenarioOptions, secs, text } from "./options.ts";
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

/** This run's transitions (at or after step 1's end) from the service's event buffer. */
export async function transitions(run: Run, s: Settings) {
  const a = await run.target.http(
    "GET",
    `/circuit-breaker/${BREAKER}/events?type=STATE_TRANSITION&limit=100`,
  );
  const events = answered(a) ? field(a.body, "events") : undefined;
  if (!Array.isArray(events)) return null;
  return (events as Record<string, unknown>[]).filter((e) => Number(e.at) >= s.scenarioStart);
}

/**
 * What the outage command and the requests through Docker may add to the time to trip in compose
 * mode (measured: about 0.1 s for `docker pause` and a few ms per request through the one exec).
 */
export const COMPOSE_TRIP_SLACK_MS = 2000;

/**
 * Slow calls that open a COUNT_BASED window full of successes: the slow-call rate reaches the
 * threshold at ceil(threshold% x window size) slow calls, and never fewer than the minimum number
 * of calls (5 with the seed's window of 10 at 50 %). TIME_BASED: the minimum.
 */
export function slowCallsToTrip(config: {
  minimumNumberOfCalls: number;
  slowCallRateThreshold: number;
  slidingWindowType: string;
  slidingWindowSize: number;
}): number {
  const min = Math.max(1, config.minimumNumberOfCalls);
  if (config.slidingWindowType !== "COUNT_BASED") return min;
  return Math.max(min, Math.ceil((config.slowCallRateThreshold / 100) * config.slidingWindowSize));
}

/**
 * Step 5's bound on the time from the outage start (step 3) to OPEN. Paused (--slow): a call
 * counts as slow once it has run past the slow-call threshold, while still running, so Kafka's
 * request and delivery timeouts play no part. Step 4 sends one request at a time and each answer
 * waits out the inline budget, so its n-th stalled publish starts (n - 1) budgets after the first
 * and the breaker opens one threshold after the n-th, n = slowCallsToTrip. With the seed's
 * timings: 4 x 1 s + 5 s = 9 s; the bound is n budgets + the threshold (one budget to spare for
 * the outage command and the requests' round trips) + COMPOSE_TRIP_SLACK_MS in compose mode:
 * 5 x 1 s + 5 s + 2 s = 12 s. Stopped: a publish fails fast, so the bound stays the old
 * 2 x delivery timeout + 5 s.
 */
export async function tripBoundMs(run: Run, s: Settings, opts: ScenarioOptions): Promise<number> {
  const t = run.target;
  if (!opts.slow) return 2 * t.deliveryTimeoutMs + 5000;
  const a = await t.http("GET", `/circuit-breaker/${BREAKER}`);
  const num = (p: string, d: number) => Number(field(a.body, `config.${p}`)) || d;
  const calls = slowCallsToTrip({
    minimumNumberOfCalls: num("minimumNumberOfCalls", 5),
    slowCallRateThreshold: num("slowCallRateThreshold", 50),
    slidingWindowType: String(field(a.body, "config.slidingWindowType") ?? "COUNT_BASED"),
    slidingWindowSize: num("slidingWindowSize", 10),
  });
  return calls * t.budgetMs + s.slowThresholdMs +
    (t.mode === "compose" ? COMPOSE_TRIP_SLACK_MS : 0);
}

/** When the breaker opened after the outage began, as measured by step 5. */
export interface Trip {
  /** ms from the outage start (step 3) to the first CLOSED -> OPEN after it. */
  ms: number;
  /** The transition's reason ("" when the event buffer no longer holds it). */
  reason: string;
  /** `OPEN 9.8s after Kafka paused (bound 12.0s)`, for the step's line. */
  text: string;
}

/**
 * Step 5, first part: waits for OPEN (or already HALF_OPEN) and measures the time from the outage
 * start to the transition, from the service's own event time; fails when that exceeds `boundMs`.
 */
export async function awaitTrip(
  run: Run,
  s: Settings,
  opts: ScenarioOptions,
  boundMs: number,
): Promise<Trip> {
  const down = opts.slow ? "paused" : "stopped";
  // Polling may see the trip a little late (requests pass through docker exec in compose mode);
  // the verdict is on the transition's own time.
  const deadline = s.kafkaDownMs + boundMs + 2000 + (run.target.mode === "compose" ? 1500 : 0);
  for (;;) {
    await run.snapshot();
    if (run.b.state === "OPEN" || run.b.state === "HALF_OPEN") break;
    if (nowMs() >= deadline) {
      const b = run.b;
      throw await run.fail(
        `breaker still ${b.state || "unknown"} ${
          secs(nowMs() - s.kafkaDownMs)
        } after Kafka ${down} (bound ${
          secs(boundMs)
        }; failure rate ${b.failureRate}, slow-call rate ${b.slowRate}, buffered ${b.buffered}, not-permitted ${b.notPermitted})`,
      );
    }
    await sleep(200);
  }
  const seen = nowMs();
  const opened = (await transitions(run, s))?.find((e) =>
    e.from === "CLOSED" && e.to === "OPEN" && Number(e.at) >= s.kafkaDownMs
  );
  // Without the event (buffer overrun) the time it was seen is an upper bound.
  const ms = (opened ? Number(opened.at) : seen) - s.kafkaDownMs;
  const trip = {
    ms,
    reason: String(opened?.reason ?? ""),
    text: `OPEN ${secs(ms)} after Kafka ${down}${opened ? "" : " (seen; no event)"} (bound ${
      secs(boundMs)
    })`,
  };
  if (ms > boundMs) throw await run.fail(`${trip.text}: later than the bound`);
  return trip;
}
