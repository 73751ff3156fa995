/** Fault cases 1-3: the broker crashes, stalls, and flaps while clients keep sending. */
import {
  caseKit,
  type CaseResult,
  intervalsIn,
  latenciesWithin,
  resultRow,
  type SuiteContext,
} from "./lib/case_kit.ts";
import { verify, watchTransitions } from "../../scripts/lib/checks.ts";
import { runLoad } from "../../scripts/lib/load.ts";
import { checkAlive, spawnService } from "../../scripts/lib/service_process.ts";
import { quantile, sleep, suffix } from "../../scripts/lib/util.ts";

/** Case 1: Kafka SIGKILLed under load, restarted later. */
export async function kafkaKilled(ctx: SuiteContext): Promise<CaseResult> {
  const t0 = Date.now();
  const kit = caseKit(ctx, "kill");
  const svc = await spawnService({ name: "kill", env: kit.env() });
  const watch = watchTransitions(() => [svc.base]);
  const failures: string[] = [];
  const notes: string[] = [];
  try {
    const since = new Date(Date.now() - 1000);
    const loadP = runLoad({ targets: () => [svc.base], keyPrefix: `k1-${suffix()}` });
    await sleep(3000);
    ctx.log("case 1: SIGKILL the broker");
    await ctx.broker.kill();
    await sleep(3000);
    ctx.log("case 1: restarting the broker");
    const restarted = ctx.broker.start();
    const load = await loadP;
    checkAlive(svc, failures);
    await restarted;
    const v = await verify({
      db: kit.db,
      brokers: [ctx.broker.address],
      topic: kit.topic,
      load,
      since,
    });
    const transitions = await watch.stop();
    if (!transitions.some((t) => t.to === "OPEN")) {
      const logged = svc.lines.filter((l) => l.includes("circuit breaker transition")).length;
      failures.push(`the breaker never opened (${logged} transitions in the service log)`);
    }
    if (load.unacked.length > 0) {
      failures.push(`${load.unacked.length} events refused while only Kafka was down`);
    }
    return resultRow(1, "Kafka SIGKILL, restarted", load, v, transitions, t0, failures, notes);
  } finally {
    await watch.stop();
    await svc.stop();
    await kit.cleanup();
  }
}

/** Case 2: Kafka SIGSTOPped (a stalled broker) under load, then SIGCONT. */
export async function kafkaStalled(ctx: SuiteContext): Promise<CaseResult> {
  const t0 = Date.now();
  const kit = caseKit(ctx, "stall");
  const svc = await spawnService({ name: "stall", env: kit.env() });
  const watch = watchTransitions(() => [svc.base], 200);
  const failures: string[] = [];
  const notes: string[] = [];
  let paused = false;
  try {
    const since = new Date(Date.now() - 1000);
    const loadP = runLoad({
      targets: () => [svc.base],
      keyPrefix: `k2-${suffix()}`,
      durationMs: 14_000,
    });
    await sleep(2000);
    ctx.log("case 2: SIGSTOP the broker");
    await ctx.broker.pause();
    paused = true;
    const pausedAt = Date.now();
    await sleep(9000);
    ctx.log("case 2: SIGCONT the broker");
    await ctx.broker.resume();
    paused = false;
    const resumedAt = Date.now();
    const load = await loadP;
    checkAlive(svc, failures);
    const v = await verify({
      db: kit.db,
      brokers: [ctx.broker.address],
      topic: kit.topic,
      load,
      since,
    });
    const transitions = await watch.stop();
    const opened = transitions.find((t) => t.to === "OPEN" && t.at >= pausedAt);
    if (!opened) {
      failures.push("the breaker did not trip on the stalled broker");
    } else {
      notes.push(
        `tripped ${opened.at - pausedAt} ms after SIGSTOP (${opened.reason ?? "no reason"})`,
      );
    }
    // "Fast once OPEN": answers that began and ended while the breaker was OPEN.
    const open = latenciesWithin(
      load.attempts,
      intervalsIn(transitions, "OPEN", resumedAt).filter(([s]) => s < resumedAt),
    );
    const p99 = quantile(open, 0.99);
    notes.push(
      `while OPEN: ${open.length} answers, p50 ${quantile(open, 0.5)} ms, p99 ${p99} ms, max ${
        Math.max(0, ...open)
      } ms`,
    );
    if (open.length === 0) failures.push("no answer was measured while the breaker was OPEN");
    else if (p99 > 300) failures.push(`answers while OPEN were slow: p99 ${p99} ms (limit 300)`);
    if (load.unacked.length > 0) {
      failures.push(`${load.unacked.length} events refused while only Kafka was stalled`);
    }
    return resultRow(2, "Kafka SIGSTOP, SIGCONT", load, v, transitions, t0, failures, notes);
  } finally {
    if (paused) await ctx.broker.resume().catch(() => {});
    await watch.stop();
    await svc.stop();
    await kit.cleanup();
  }
}

/** Case 3: Kafka stopped and started several times within a minute. */
export async function kafkaFlapping(ctx: SuiteContext, cycles = 3): Promise<CaseResult> {
  const t0 = Date.now();
  const kit = caseKit(ctx, "flap");
  const svc = await spawnService({ name: "flap", env: kit.env() });
  const watch = watchTransitions(() => [svc.base]);
  const failures: string[] = [];
  const notes: string[] = [];
  const stopLoad = new AbortController();
  try {
    const since = new Date(Date.now() - 1000);
    const loadP = runLoad({
      targets: () => [svc.base],
      keyPrefix: `k3-${suffix()}`,
      durationMs: 75_000,
      ratePerClient: 10,
      eventsPerKey: 60,
      signal: stopLoad.signal,
    });
    await sleep(2000);
    const flapStart = Date.now();
    for (let i = 0; i < cycles; i++) {
      ctx.log(`case 3: flap ${i + 1}/${cycles}: stop`);
      await ctx.broker.stop();
      await sleep(2000);
      ctx.log(`case 3: flap ${i + 1}/${cycles}: start`);
      await ctx.broker.start();
      await sleep(2500);
    }
    notes.push(`${cycles} stop/start cycles in ${Math.round((Date.now() - flapStart) / 1000)} s`);
    stopLoad.abort();
    const load = await loadP;
    checkAlive(svc, failures);
    const v = await verify({
      db: kit.db,
      brokers: [ctx.broker.address],
      topic: kit.topic,
      load,
      since,
    });
    const transitions = await watch.stop();
    if (load.unacked.length > 0) {
      failures.push(`${load.unacked.length} events refused while only Kafka was flapping`);
    }
    return resultRow(3, "Kafka flapping", load, v, transitions, t0, failures, notes);
  } finally {
    stopLoad.abort();
    await watch.stop();
    await svc.stop();
    await kit.cleanup();
  }
}
