/**
 * The faults of the exactly-once matrix. Each runs against service instances in exactly-once
 * mode under steady load, at a moment chosen by the run's seed, and leaves the system able to
 * settle (every broker back, at least one instance running).
 */
import type { Cluster } from "../../scripts/lib/kafka_ctl.ts";
import type { ServiceProc } from "../../scripts/lib/service_process.ts";
import { sleep } from "../../scripts/lib/util.ts";
import type { Db } from "../../src/outbox/db.ts";
import { partitionLeaders, transactionStatePartition } from "../../src/testing/kafka_admin.ts";

/** What a fault can do to the run. */
export interface FaultContext {
  cluster: Cluster;
  db: Db;
  topic: string;
  /** Uniform in [0, 1), from the run's seed. */
  rng(): number;
  log(msg: string): void;
  /** Starts an instance (extra environment over the run's). */
  start(name: string, env?: Record<string, string>): Promise<ServiceProc>;
  /** The running instances by name. */
  instances: Map<string, ServiceProc>;
  /** Instances that take no load right now (a stopped process still holds its connections). */
  held: Set<string>;
}

/** One fault of the matrix. */
export interface Fault {
  name: string;
  /** Instances started before the load (A, B, ...), with their extra environment. */
  instances(rng: () => number): Record<string, string>[];
  /** Injects the fault (after a seeded delay) and heals it; returns notes for the report. */
  inject(ctx: FaultContext): Promise<string[]>;
}

/** The transaction state log's partitions (scripts/kafka.sh sets 3). */
const TXN_STATE_PARTITIONS = 3;

/** A producer owner currently holding claims (a transactional.id), or null. */
async function liveOwner(db: Db): Promise<string | null> {
  // A claim lives only while its publish does (milliseconds under steady load): look for one for
  // up to 5 s rather than once, so the fault is injected instead of skipped.
  const deadline = Date.now() + 5000;
  for (;;) {
    const [r] = await db.query<{ owner: string }>(
      `SELECT claimed_by AS owner FROM outbox WHERE status = 'PENDING' AND claimed_by IS NOT NULL
         AND claimed_by NOT LIKE 'recovery:%' LIMIT 1`,
    );
    if (r || Date.now() > deadline) return r?.owner ?? null;
    await sleep(10);
  }
}

async function killAndRestart(ctx: FaultContext, node: number, why: string): Promise<string> {
  ctx.log(`SIGKILL broker node ${node} (${why})`);
  await ctx.cluster.killNode(node);
  await sleep(3000);
  ctx.log(`restarting broker node ${node}`);
  await ctx.cluster.startNode(node);
  return `killed node ${node} (${why}), restarted after 3 s`;
}

/** Stops and starts brokers 1, 2 and 3 one after the other, a seeded moment into the load. */
async function rollingRestart(ctx: FaultContext): Promise<string[]> {
  await settleIn(ctx);
  for (const node of [1, 2, 3]) {
    ctx.log(`rolling restart: node ${node}`);
    await ctx.cluster.stopNode(node);
    await ctx.cluster.startNode(node);
  }
  return ["nodes 1, 2, 3 stopped and started one after the other"];
}

/** Waits a seeded 1.5-4.5 s into the load. */
const settleIn = (ctx: FaultContext) => sleep(1500 + Math.floor(ctx.rng() * 3000));

export const FAULTS: Fault[] = [
  {
    name: "kill at the failpoint (after commit, before mark)",
    // The instance dies right after its n-th commit (n from the seed), before the mark.
    instances: (rng) => [{ FAILPOINT: `kill-after-commit:${20 + Math.floor(rng() * 200)}` }],
    async inject(ctx) {
      const a = ctx.instances.get("A")!;
      const status = await Promise.race([a.exited, sleep(30_000).then(() => null)]);
      ctx.instances.delete("A");
      if (!status) {
        a.signal("SIGKILL");
        await a.exited;
        return ["the failpoint never fired within 30 s: killed by the test instead"];
      }
      ctx.log(`A died at its failpoint (signal ${status.signal}); restarting`);
      await ctx.start("A2");
      return [`failpoint kill-after-commit fired (exit signal ${status.signal})`];
    },
  },
  {
    name: "SIGKILL of the service at a random moment",
    instances: () => [{}],
    async inject(ctx) {
      await settleIn(ctx);
      const a = ctx.instances.get("A")!;
      ctx.instances.delete("A");
      a.signal("SIGKILL");
      await a.exited;
      ctx.log("A SIGKILLed; restarting");
      await ctx.start("A2");
      return ["SIGKILL of the only instance, restarted"];
    },
  },
  {
    name: "SIGKILL of the partition leader",
    instances: () => [{}],
    async inject(ctx) {
      await settleIn(ctx);
      const partition = Math.floor(ctx.rng() * 3);
      const leaders = await partitionLeaders(ctx.cluster.brokers, ctx.topic);
      const node = leaders.get(partition) ?? 1;
      return [await killAndRestart(ctx, node, `leader of partition ${partition}`)];
    },
  },
  {
    name: "SIGKILL of the transaction coordinator",
    instances: () => [{}],
    async inject(ctx) {
      await settleIn(ctx);
      const owner = await liveOwner(ctx.db);
      if (!owner) return ["no owner held claims at the moment: nothing to aim at (fault skipped)"];
      const p = transactionStatePartition(owner, TXN_STATE_PARTITIONS);
      const leaders = await partitionLeaders(ctx.cluster.brokers, "__transaction_state");
      const node = leaders.get(p) ?? 1;
      return [await killAndRestart(ctx, node, `coordinator of ${owner}`)];
    },
  },
  {
    name: "rolling restart of all three brokers",
    instances: () => [{}],
    inject: rollingRestart,
  },
  {
    name: "two instances racing for the same rows (claims expire early)",
    // Claims outlive a healthy publish, but not a stalled broker: the other instance's recovery
    // takes over claims whose owner is still alive and publishing.
    instances: () => [{ OUTBOX_CLAIM_LEASE_MS: "1000" }, { OUTBOX_CLAIM_LEASE_MS: "1000" }],
    async inject(ctx) {
      await settleIn(ctx);
      const partition = Math.floor(ctx.rng() * 3);
      const node = (await partitionLeaders(ctx.cluster.brokers, ctx.topic)).get(partition) ?? 1;
      ctx.log(`SIGSTOP broker node ${node} for 2.5 s (publishes outlive their 1 s claims)`);
      await ctx.cluster.pauseNode(node);
      await sleep(2500);
      await ctx.cluster.resumeNode(node);
      return [`leases of 1 s; node ${node} (leader of partition ${partition}) stalled 2.5 s`];
    },
  },
  {
    name: "SIGSTOP of an instance past its claims' expiry, then SIGCONT",
    instances: () => [{}, {}],
    async inject(ctx) {
      await settleIn(ctx);
      const a = ctx.instances.get("A")!;
      ctx.held.add("A");
      a.signal("SIGSTOP");
      ctx.log("A stopped (SIGSTOP) for 7 s; its 3 s claims expire and B recovers them");
      await sleep(7000);
      a.signal("SIGCONT");
      ctx.held.delete("A");
      return ["A stopped 7 s (claims of 3 s), then resumed"];
    },
  },
];

/** Cases of the same cluster in at-least-once mode (item: three brokers without transactions). */
export const AT_LEAST_ONCE_FAULTS: Fault[] = [
  {
    name: "at-least-once: rolling restart of all three brokers",
    instances: () => [{ DELIVERY_GUARANTEE: "at-least-once" }],
    inject: rollingRestart,
  },
  {
    name: "at-least-once: two of three brokers down",
    instances: () => [{ DELIVERY_GUARANTEE: "at-least-once" }],
    async inject(ctx) {
      await settleIn(ctx);
      ctx.log("SIGKILL brokers 2 and 3 (min.insync.replicas=2 cannot be met)");
      await ctx.cluster.killNode(2);
      await ctx.cluster.killNode(3);
      // The controller fences a broker after its session timeout (9 s); from then the ISR is the
      // one broker left and produce answers NOT_ENOUGH_REPLICAS.
      await sleep(15_000);
      const [r] = await ctx.db.query<{ n: string; err: string | null }>(
        `SELECT count(*)::text AS n, max(last_error) AS err FROM outbox WHERE status = 'PENDING'`,
      );
      ctx.log("restarting brokers 2 and 3");
      await ctx.cluster.start();
      return [
        `15 s with one broker of three: ${r?.n ?? 0} events held in the outbox, last error: ${
          r?.err ?? "none"
        }`,
      ];
    },
  },
];
