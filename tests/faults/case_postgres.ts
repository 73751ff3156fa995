/**
 * Fault case 4: the outbox's Postgres restarted under load. Runs on a private cluster (the shared
 * server is never touched). During the outage answers must be 503 with Retry-After, never a 2xx
 * for an event that was not committed; afterwards the service recovers by itself.
 */
import { caseKit, type CaseResult, resultRow, type SuiteContext } from "./lib/case_kit.ts";
import { verify, watchTransitions } from "../../scripts/lib/checks.ts";
import { runLoad } from "../../scripts/lib/load.ts";
import { startPrivatePostgres } from "./lib/private_pg.ts";
import { checkAlive, spawnService } from "../../scripts/lib/service_process.ts";
import { sleep, suffix } from "../../scripts/lib/util.ts";

/** Case 4: Postgres restarted under load. */
export async function postgresRestarted(ctx: SuiteContext): Promise<CaseResult> {
  const t0 = Date.now();
  await ctx.broker.start(); // a no-op when it runs; the case is about Postgres only
  const pg = await startPrivatePostgres(ctx.privatePgPort);
  const kit = caseKit(ctx, "pg", pg.url);
  const failures: string[] = [];
  const notes: string[] = [];
  let svc;
  let watch;
  try {
    svc = await spawnService({ name: "pg", env: kit.env() });
    const base = svc.base;
    watch = watchTransitions(() => [base]);
    const since = new Date(Date.now() - 1000);
    let down: [number, number] = [0, 0];
    // Even-numbered events are retried until acknowledged; odd ones are abandoned at the first
    // refusal, so the outbox must not hold them.
    const loadP = runLoad({
      targets: () => [base],
      keyPrefix: `k4-${suffix()}`,
      durationMs: 12_000,
      retry: (index, tries) => index % 2 === 0 && tries < 60,
    });
    await sleep(3000);
    ctx.log("case 4: stopping the private Postgres (fast shutdown)");
    await pg.stop();
    down = [Date.now(), 0];
    await sleep(3000);
    ctx.log("case 4: starting the private Postgres");
    // The outage ends when the start begins: pg_ctl returns only after the server is up.
    down[1] = Date.now();
    await pg.start();
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

    const refused = load.attempts.filter((a) => a.status === 503);
    const noRetryAfter = refused.filter((a) => !a.retryAfter);
    const otherErrors = load.attempts.filter((a) =>
      a.status !== 503 && (a.status < 200 || a.status >= 300)
    );
    const during = load.attempts.filter((a) => a.start >= down[0] && a.end <= down[1]);
    const okDuring = during.filter((a) => a.status >= 200 && a.status < 300);
    notes.push(
      `outage ${
        down[1] - down[0]
      } ms: ${during.length} answers inside it, ${refused.length} 503 in all, ${okDuring.length} 2xx inside it`,
    );
    if (refused.length === 0) failures.push("no request was refused during the outage");
    if (noRetryAfter.length > 0) {
      failures.push(`${noRetryAfter.length} 503 answers lack Retry-After`);
    }
    if (okDuring.length > 0) {
      failures.push(`${okDuring.length} 2xx answers while Postgres was down`);
    }
    if (otherErrors.length > 0) {
      notes.push(
        `non-503 errors: ${
          otherErrors.slice(0, 5).map((a) => `${a.status} ${a.error ?? ""}`).join("; ")
        }`,
      );
    }
    // Abandoned after a 503. A 503 acknowledges nothing, but when the connection dies during
    // COMMIT the outcome is unknown to the service too: the row may be committed ("in doubt").
    // Such a row must then be published like any other (a client retrying the same eventId gets
    // a 200 replay); a row that is stored and left unpublished would be a silent loss of state.
    const abandoned = load.unacked.filter((a) => a.status === 503).map((a) => a.eventId);
    const stored = abandoned.length === 0 ? [] : await kit.db.query<{ id: string; status: string }>(
      "SELECT id::text AS id, status FROM outbox WHERE id = ANY($1::uuid[])",
      [abandoned],
    );
    notes.push(
      `${abandoned.length} events abandoned after a 503; ${stored.length} of them committed in doubt`,
    );
    const stuck = stored.filter((r) => r.status !== "PUBLISHED");
    if (stuck.length > 0) {
      failures.push(
        `${stuck.length} in-doubt events stored but not published: ${
          stuck.slice(0, 3).map((r) => r.id)
        }`,
      );
    }
    // Recovered by itself: the last answers are acknowledgements again.
    const after = load.attempts.filter((a) => a.start > down[1] + 3000);
    const okAfter = after.filter((a) => a.status >= 200 && a.status < 300).length;
    notes.push(`after recovery: ${okAfter}/${after.length} answers 2xx`);
    if (after.length > 0 && okAfter < after.length) {
      failures.push(
        `${after.length - okAfter} failed answers more than 3 s after Postgres was back`,
      );
    }
    const contained = svc.lines.filter((l) => l.includes("postgres driver fault contained"));
    notes.push(`postgres.js null-socket faults contained (pool replaced): ${contained.length}`);
    const unexplained = load.unacked.filter((a) => a.status !== 503);
    if (unexplained.length > 0) {
      failures.push(
        `${unexplained.length} events unacknowledged for another reason than 503: ${
          unexplained.slice(0, 3).map((a) => `${a.status} ${a.error ?? ""}`).join("; ")
        }`,
      );
    }
    return resultRow(4, "Postgres restarted", load, v, transitions, t0, failures, notes);
  } finally {
    await watch?.stop();
    await svc?.stop();
    await kit.cleanup();
    await pg.destroy();
  }
}
