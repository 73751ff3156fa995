/**
 * Steps 5 to 9 of the scenario: the breaker trips (answers do not wait on Kafka while OPEN),
 * Kafka comes back, recovery answers are quick, the breaker closes by itself, nothing is lost.
 */
import { sleep } from "../lib/util.ts";
import { verifyLedger } from "./kafka_topic.ts";
import { field, nowMs, type ScenarioOptions, secs, text } from "./options.ts";
import type { Run } from "./run.ts";
import { awaitTrip, type Settings, transitions, tripBoundMs } from "./trip_steps.ts";

/** Step 5: OPEN or HALF_OPEN in time; while OPEN, new-key requests are refused fast. */
export async function stepTrips(run: Run, s: Settings, opts: ScenarioOptions): Promise<void> {
  const t = run.target;
  const tripWithin = await tripBoundMs(run, s, opts);
  let expect = `breaker OPEN within ${secs(tripWithin)} of Kafka ${
    opts.slow ? "pausing" : "stopping"
  }; while OPEN 3 new-key requests 202 PENDING in < ${s.fastMs} ms each, refused by the breaker (not-permitted +3)`;
  if (opts.slow) {
    expect += `; tripped on slow calls (slow calls > 0, slow-call rate >= ${s.slowRateThreshold}%)`;
  }
  run.begin(5, "breaker trips", expect);
  const trip = await awaitTrip(run, s, opts, tripWithin);
  const firstState = run.b.state;
  const trippedAfter = trip.text;
  // Each measured request is sent inside an OPEN period with time to spare, so none of them can
  // become a half-open trial call (compose mode adds a docker exec per request).
  const execMs = t.mode === "compose" ? 1500 : 0;
  const openDeadline = nowMs() + 2 * (s.waitOpenMs + s.maxHalfOpenMs) + t.deliveryTimeoutMs +
    s.slackMs;
  const awaitOpenPeriod = async () => {
    while (
      !(run.b.state === "OPEN" && run.b.retry !== "null" &&
        Number(run.b.retry) >= s.fastMs + execMs + 500)
    ) {
      if (nowMs() >= openDeadline) {
        throw await run.fail(
          `first ${firstState} ${trippedAfter}, then no OPEN period long enough to measure (state ${run.b.state}, retryAfterMs ${run.b.retry})`,
        );
      }
      await sleep(100);
      await run.snapshot();
    }
  };
  await awaitOpenPeriod();
  // While OPEN the snapshot shows the window that opened it; after a re-opening (consecutiveOpenings
  // > 1) that is the half-open trial window, so the all-time slow-call count is the evidence then.
  const open = { ...run.b };
  const npBefore = Number(run.b.notPermitted) || 0;
  const obs: string[] = [];
  let maxMs = 0;
  for (const k of s.q) {
    await awaitOpenPeriod();
    const a = await run.post(5, k);
    obs.push(a.obs);
    if (a.status !== "202" || a.evStatus !== "PENDING") {
      throw await run.fail(`state OPEN; answers ${obs.join(" ")}`);
    }
    maxMs = Math.max(maxMs, a.ms);
    await run.snapshot();
  }
  const npDelta = (Number(run.b.notPermitted) || 0) - npBefore;
  const reason = trip.reason;
  const window = open.openings === "1"
    ? `window: ${open.buffered} calls, ${open.failed} failed, ${open.slow} slow, failure rate ${open.failureRate}%, slow-call rate ${open.slowRate}%`
    : `opening #${open.openings}, all-time slow calls ${open.slowTotal}`;
  const obs5 = `${trippedAfter} (trip: ${reason || "?"}; ${window}); OPEN answers ${
    obs.join(" ")
  }; not-permitted +${npDelta}`;
  if (maxMs >= s.fastMs) {
    throw await run.fail(`${obs5} (an answer took ${maxMs} ms: it waited on Kafka)`);
  }
  if (npDelta < 3) throw await run.fail(`${obs5} (the requests were not refused by the breaker)`);
  if (opts.slow) {
    if (reason !== "" && !reason.includes("slow call rate")) {
      throw await run.fail(
        `${obs5} (the slow-call rate did not reach its threshold: it tripped on errors only)`,
      );
    }
    if (open.openings === "1") {
      if (open.slow === "null" || Number(open.slow) <= 0) {
        throw await run.fail(
          `${obs5} (no slow calls in the window: the breaker did not trip on slowness)`,
        );
      }
      if (!(open.slowRate !== "null" && Number(open.slowRate) >= Number(s.slowRateThreshold))) {
        throw await run.fail(
          `${obs5} (slow-call rate below its threshold: it tripped on errors only)`,
        );
      }
    } else if (open.slowTotal <= 0) {
      throw await run.fail(`${obs5} (no slow calls at all: the breaker did not trip on slowness)`);
    }
  }
  run.pass(obs5);
}

/** Steps 6 to 8: Kafka back, quick recovery answers, CLOSED again with no operator action. */
export async function stepsRecover(run: Run, s: Settings, opts: ScenarioOptions): Promise<void> {
  run.begin(6, "restart Kafka", "broker answers metadata requests again");
  try {
    await run.target.kafkaUp();
  } catch (e) {
    const tail = (e as Error).message.trimEnd().split("\n").slice(-5).join(" ");
    throw await run.fail(`Kafka was not back: ${tail} `);
  }
  const kafkaBackMs = nowMs();
  await run.snapshot();
  run.pass(`broker ${opts.slow ? "resumed" : "started"} and ready; breaker ${run.b.state}`);

  run.begin(7, "recovery requests", `6 requests, each 2xx within ${s.recoveryMs} ms`);
  const obs: string[] = [];
  for (const k of [...s.p.slice(0, 3), ...s.q]) {
    const a = await run.post(7, k);
    obs.push(a.obs);
    if (!/^2..$/.test(a.status) || a.evStatus === "DEAD_LETTERED") {
      throw await run.fail(obs.join(" "));
    }
    if (a.ms > s.recoveryMs) {
      throw await run.fail(`${obs.join(" ")} (slower than ${s.recoveryMs} ms)`);
    }
  }
  await run.snapshot();
  run.pass(`${obs.join(" ")}; breaker ${run.b.state}`);

  const boundMs = s.waitOpenMs + s.maxHalfOpenMs + s.slackMs;
  run.begin(
    8,
    "breaker recovers",
    `CLOSED again within ${
      secs(boundMs)
    } of Kafka's return (open wait + half-open max + slack), no operator transition`,
  );
  for (;;) {
    await run.snapshot();
    if (run.b.state === "CLOSED") break;
    if (nowMs() >= kafkaBackMs + boundMs) {
      throw await run.fail(
        `breaker still ${run.b.state || "unknown"} ${
          secs(nowMs() - kafkaBackMs)
        } after Kafka's return`,
      );
    }
    await sleep(250);
  }
  const closedAfter = secs(nowMs() - kafkaBackMs);
  const events = await transitions(run, s);
  const path = events?.map((e) => e.to).join(" > ") ?? "";
  const operator = events ? String(events.filter((e) => e.operator === true).length) : "null";
  const obs8 = `CLOSED ${closedAfter} after Kafka's return (transitions: ${
    path || "?"
  }); operator transitions: ${operator}`;
  if (operator !== "0") throw await run.fail(obs8);
  run.pass(obs8);
}

/** Step 9: the outbox drains and an independent consumer reads every acknowledged id in order. */
export async function stepNoLoss(run: Run, s: Settings): Promise<void> {
  const t = run.target;
  const keys = new Set(run.ledger.map((e) => e.paymentId)).size;
  run.begin(
    9,
    "no loss",
    `outbox drains to 0 pending; an independent consumer reads all ${run.ledger.length} acknowledged ids (${keys} keys) in per-key order`,
  );
  const deadline = nowMs() + s.slackMs + 2 * t.deliveryTimeoutMs;
  let pending: string;
  let dead: string;
  for (;;) {
    const a = await t.http("GET", "/outbox");
    pending = text(field(a.body, "pending"));
    dead = text(field(a.body, "deadLettered"));
    if (pending === "0") break;
    if (nowMs() >= deadline) {
      throw await run.fail(`outbox still has ${pending} pending (dead-lettered ${dead})`);
    }
    await sleep(250);
  }
  if (t.mode === "local" && dead !== "0") {
    throw await run.fail(`outbox pending 0 but ${dead} dead-lettered`);
  }
  const v = await verifyLedger(
    t.consumerBrokers.split(","),
    t.topic,
    run.ledger,
    Number(Deno.env.get("SCENARIO_READ_TIMEOUT_MS") ?? 60000),
  );
  const obs9 = `outbox pending ${pending}, dead-lettered ${dead}; ${
    v.summary || "reader printed nothing"
  }`;
  if (v.code !== 0) {
    throw await run.fail(`${obs9}; ${v.errors.slice(0, 10).map((l) => `${l};`).join("")}`);
  }
  run.pass(obs9);
}
