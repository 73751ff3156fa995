/**
 * Case 8: the settlement process under load, SIGKILLed at random moments (5 times), while a second
 * instance joins the group and later leaves, and copies of published records are offered again
 * (an at-least-once republish). Afterwards the ledger must equal an independent computation from
 * the outbox rows, event for event, and the three-way reconciliation of the day must be clean.
 */
import { caseKit, type CaseResult, type SuiteContext } from "./lib/case_kit.ts";
import { type ServiceProc, spawnService } from "../../scripts/lib/service_process.ts";
import { freePort, sleep, suffix } from "../../scripts/lib/util.ts";
import { kafkaClient } from "../../src/kafka/client.ts";
import { errorMessage } from "../../src/error_message.ts";
import { readTopic } from "../../src/kafka/topic_reader.ts";
import { toRecord } from "../../src/outbox/publish_rows.ts";
import { businessDayOf } from "../../src/settlement/business_day.ts";
import { computeStatements } from "../../src/settlement/statements.ts";
import { reconcileDay } from "../../src/settlement/three_way.ts";

const KILLS = 5;
const LOAD_MS = 40_000;
const CAL = { timeZone: "Asia/Seoul", cutoffMinutes: 0 };
/** Journal lines per applied event type (authorisation memo, capture, refund). */
const LINES: Record<string, number> = {
  PAYMENT_AUTHORIZED: 2,
  PAYMENT_CAPTURED: 4,
  PAYMENT_REFUNDED: 2,
};

/** Each client walks payments through authorise, capture, partial refund, one after the other. */
async function lifecycleLoad(target: string, prefix: string, stopAt: number) {
  let sent = 0;
  let acked = 0;
  const client = async (c: number) => {
    for (let p = 0; Date.now() < stopAt; p++) {
      const paymentId = `${prefix}-${c}-${p}`;
      const amount = 10_000 + ((c * 7919 + p * 104_729) % 90_000);
      const steps: [string, number][] = [
        ["PAYMENT_AUTHORIZED", amount],
        ["PAYMENT_CAPTURED", amount],
        ["PAYMENT_REFUNDED", Math.floor(amount / 3)],
      ];
      for (const [type, a] of steps) {
        const body = JSON.stringify({
          eventId: crypto.randomUUID(),
          paymentId,
          merchantId: `merchant-${c % 3}`,
          type,
          amount: a,
          currency: ["KRW", "EUR", "BHD"][p % 3],
          occurredAt: new Date().toISOString(),
        });
        sent++;
        for (let tries = 0; tries < 10; tries++) {
          const res = await fetch(`${target}/payments`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
          }).catch(() => null);
          await res?.body?.cancel();
          if (res && res.status < 300) {
            acked++;
            break;
          }
          await sleep(200);
        }
        await sleep(20);
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(client));
  return { sent, acked };
}

/** The sum of a counter's samples in a Prometheus exposition (0 when absent). */
function counter(text: string, name: string): number {
  let n = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      n += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return n;
}

/** Case 8. */
export async function settlementKilled(ctx: SuiteContext): Promise<CaseResult> {
  const t0 = Date.now();
  const kit = caseKit(ctx, "settle");
  const failures: string[] = [];
  const notes: string[] = [];
  const group = `settlement-faults-${suffix()}`;
  const settlementEnv = (port: number) =>
    kit.env({
      PORT: String(port),
      SETTLEMENT_GROUP: group,
      SETTLEMENT_SCHEDULE_CLOSE: "false",
      SETTLEMENT_SESSION_TIMEOUT_MS: "6000",
      LOG_LEVEL: "warn",
    });
  let svc: ServiceProc | null = null;
  const instances = new Map<string, ServiceProc>();
  /** Last duplicates counter scraped from each incarnation (a SIGKILL loses the counter). */
  const dupSeen = new Map<string, number>();
  let scraping = true;
  const scraper = (async () => {
    while (scraping) {
      for (const [name, p] of instances) {
        const text = await fetch(`${p.base}/metrics`, { signal: AbortSignal.timeout(1000) })
          .then((r) => r.text()).catch(() => "");
        if (text) dupSeen.set(name, counter(text, "settlement_duplicates_ignored_total"));
      }
      await sleep(300);
    }
  })();
  let incarnation = 0;
  const startA = async () => {
    const name = `settle-a${++incarnation}`;
    const port = freePort();
    instances.set(
      name,
      await spawnService({
        name,
        env: settlementEnv(port),
        script: "src/settlement/main.ts",
        ready: true,
      }),
    );
    return name;
  };
  let offered = 0;
  try {
    svc = await spawnService({ name: "settle-svc", env: kit.env({ PORT: String(freePort()) }) });
    let current = await startA();
    const stopAt = Date.now() + LOAD_MS;
    const load = lifecycleLoad(svc.base, `s8-${suffix()}`, stopAt);

    // Republish copies of published rows now and then: the ledger must ignore them.
    const kafka = kafkaClient({ brokers: [ctx.broker.address], clientId: "fault-suite" });
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const republisher = (async () => {
      while (Date.now() < stopAt) {
        await sleep(1500);
        const rows = await kit.db.query<
          { id: string; aggregateid: string; type: string; payload: string }
        >(
          `SELECT id::text, aggregateid, type, payload::text FROM outbox
            WHERE status = 'PUBLISHED' ORDER BY random() LIMIT 10`,
        ).catch(() => []);
        if (rows.length === 0) continue;
        await producer.send({ topic: kit.topic, acks: -1, messages: rows.map((r) => toRecord(r)) })
          .then(() => (offered += rows.length), () => {});
      }
    })();

    let second: ServiceProc | null = null;
    for (let k = 1; k <= KILLS; k++) {
      await sleep(2500 + Math.floor(Math.random() * 3500));
      const victim = instances.get(current)!;
      ctx.log(`case 8: SIGKILL ${current} (kill ${k} of ${KILLS})`);
      victim.signal("SIGKILL");
      await victim.exited;
      current = await startA();
      if (k === 2) {
        ctx.log("case 8: a second instance joins the group");
        second = await spawnService({
          name: "settle-b",
          env: settlementEnv(freePort()),
          script: "src/settlement/main.ts",
          ready: true,
        });
        instances.set("settle-b", second);
      }
      if (k === 4 && second) {
        ctx.log("case 8: the second instance leaves the group");
        await second.stop();
      }
    }
    const { sent, acked } = await load;
    await republisher;
    await producer.disconnect();

    // Every accepted event ends in the ledger: wait for the relay and the settlement to finish.
    const deadline = Date.now() + 90_000;
    let counts = { outbox: 0, ledger: 0, pending: 0, held: 0 };
    while (Date.now() < deadline) {
      const [r] = await kit.db.query<Record<string, string>>(
        `SELECT (SELECT count(*) FROM outbox)::text AS outbox,
                (SELECT count(*) FROM outbox WHERE status = 'PENDING')::text AS pending,
                (SELECT count(*) FROM settlement_events WHERE disposition = 'APPLIED')::text AS ledger,
                (SELECT count(*) FROM settlement_events WHERE disposition = 'HELD')::text AS held`,
      );
      counts = {
        outbox: Number(r?.outbox),
        ledger: Number(r?.ledger),
        pending: Number(r?.pending),
        held: Number(r?.held),
      };
      if (counts.pending === 0 && counts.ledger === counts.outbox) break;
      await sleep(500);
    }
    scraping = false;
    await scraper;
    const duplicatesIgnored = [...dupSeen.values()].reduce((a, b) => a + b, 0);

    // The independent computation: per merchant, currency and type, straight from the outbox.
    const byGroup = await kit.db.query<{ g: string; n: string; s: string }>(
      `SELECT concat_ws('/', payload->>'merchantId', payload->>'currency', type) AS g,
              count(*)::text AS n, sum((payload->>'amount')::bigint)::text AS s
         FROM outbox GROUP BY 1 ORDER BY 1`,
    );
    const ledgerGroups = await kit.db.query<{ g: string; n: string; s: string }>(
      `SELECT concat_ws('/', merchant_id, currency, type) AS g, count(*)::text AS n,
              sum(amount)::text AS s
         FROM settlement_events WHERE disposition = 'APPLIED' GROUP BY 1 ORDER BY 1`,
    );
    const want = JSON.stringify(byGroup);
    if (JSON.stringify(ledgerGroups) !== want) {
      failures.push(
        `ledger totals differ from the outbox: ${JSON.stringify(ledgerGroups)} vs ${want}`,
      );
    }
    const [lines] = await kit.db.query<{ n: string; d: string; c: string; bad: string }>(
      `SELECT count(*)::text AS n, sum(debit)::text AS d, sum(credit)::text AS c,
              (SELECT count(*) FROM settlement_exceptions)::text AS bad FROM settlement_journal`,
    );
    const expectLines = byGroup.reduce(
      (n, g) => n + Number(g.n) * (LINES[g.g.split("/")[2]!] ?? 0),
      0,
    );
    if (Number(lines?.n) !== expectLines) {
      failures.push(`journal has ${lines?.n} lines, the events make ${expectLines}`);
    }
    if (lines?.d !== lines?.c) failures.push(`journal debits ${lines?.d} != credits ${lines?.c}`);
    if (Number(lines?.bad) > 0) failures.push(`${lines?.bad} exceptions for valid events`);
    if (counts.ledger !== counts.outbox || counts.held > 0) {
      failures.push(
        `ledger applied ${counts.ledger} of ${counts.outbox} accepted events (${counts.held} held, ${counts.pending} pending)`,
      );
    }
    if (acked !== counts.outbox) {
      failures.push(`${acked} acknowledged, ${counts.outbox} in the outbox`);
    }
    if (offered === 0) failures.push("no copies were republished");
    if (duplicatesIgnored === 0) failures.push("settlement_duplicates_ignored_total stayed 0");

    // Statements and the three-way reconciliation of every day the load touched.
    const days = [...new Set([businessDayOf(t0, CAL), businessDayOf(Date.now(), CAL)])];
    let differences = 0;
    for (const day of days) {
      const statements = await computeStatements(kit.db, day);
      const net = statements.reduce((n, s) => n + BigInt(s.netPayable), 0n);
      notes.push(`day ${day}: ${statements.length} statements, net payable ${net}`);
      const report = await reconcileDay({
        db: kit.db,
        calendar: CAL,
        topic: kit.topic,
        catchUpMs: 30_000,
        scanTopic: async (fromMs, onRecord) => {
          await readTopic({
            brokers: [ctx.broker.address],
            topic: kit.topic,
            fromTimestamp: fromMs,
            values: true,
            onRecord,
          });
        },
      }, day);
      differences += report.differenceCount;
      notes.push(
        `reconciliation ${day}: ${report.differenceCount} differences, ${report.topicDuplicates} extra copies in the topic`,
      );
    }
    if (differences > 0) failures.push(`reconciliation found ${differences} differences`);
    notes.push(
      `${KILLS} SIGKILLs, second instance joined and left; ${sent} events sent, ${acked} acknowledged, ${counts.ledger} applied; ${offered} copies republished, ${duplicatesIgnored} duplicates ignored (sum over incarnations' last scrapes); ${expectLines} journal lines`,
    );
    return {
      id: 8,
      name: "settlement SIGKILL x5 + 2nd instance",
      sent,
      acknowledged: acked,
      foundInKafka: counts.outbox,
      duplicates: offered,
      orderViolations: 0,
      lost: Math.max(0, counts.outbox - counts.ledger),
      transitions: "-",
      durationS: Math.round((Date.now() - t0) / 100) / 10,
      failures,
      notes,
    };
  } catch (e) {
    failures.push(`crashed: ${errorMessage(e)}`);
    throw e;
  } finally {
    scraping = false;
    for (const p of instances.values()) {
      p.signal("SIGKILL");
      await p.exited;
    }
    if (svc) await svc.stop();
    await kit.cleanup();
  }
}
