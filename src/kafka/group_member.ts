/**
 * What every consumer-group member of ours shares (the reference consumer's group_consumer.ts,
 * settlement's ledger_consumer.ts): one client, a read_committed consumer that never creates
 * topics, the partitions it holds and whether it is connected (kept from kafkajs's events), an
 * admin client connected at first use, and the start and stop that undo each other.
 */
import type { Admin, Consumer } from "kafkajs";
import { kafkaClient } from "./client.ts";
import { errorMessage } from "../error_message.ts";
import type { Logger } from "../log.ts";

/** Options of `createGroupMember`. */
export interface GroupMemberOptions {
  brokers: string[];
  topic: string;
  groupId: string;
  clientId: string;
  /** How long the group waits for a silent member before rebalancing. */
  sessionTimeoutMs: number;
  /** Default 10 s. */
  requestTimeoutMs?: number;
  logger: Logger;
  /** The member in log lines and errors: "consumer", "settlement consumer". */
  name: string;
  /** Called when kafkajs gives up on the consumer (a crash it will not restart from). */
  onCrash?: (error: unknown) => void;
  /** Called on each join, after the new assignment is read. */
  onJoin?: () => void;
  /** Called whenever the member holds nothing: rebalancing, stopped, crashed, disconnected. */
  onUnassign?: () => void;
}

/** A started-on-demand member of one group on one topic. */
export interface GroupMember {
  /**
   * Creates the consumer, lets `listen` add its own event handlers, connects, subscribes and
   * hands the consumer to `run` (kafkajs's `run`); a failure disconnects it and rejects.
   */
  start(
    fromBeginning: boolean,
    run: (c: Consumer) => Promise<void>,
    listen?: (c: Consumer) => void,
  ): Promise<void>;
  /** Partitions held now, ascending. */
  assigned(): number[];
  connected(): boolean;
  /** Runs `fn` on the admin client, connected at first use and afresh after a failure. */
  withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T>;
  /** Finishes the batch in flight, leaves the group and disconnects; idempotent. */
  stop(): Promise<void>;
}

/** Creates a member; nothing connects before `start()` or `withAdmin()`. */
export function createGroupMember(opts: GroupMemberOptions): GroupMember {
  const { logger, name } = opts;
  let joined = false;
  const kafka = kafkaClient({
    clientId: opts.clientId,
    brokers: opts.brokers,
    requestTimeoutMs: opts.requestTimeoutMs,
    // Quiet until the first join (see logCreatorFor).
    log: { logger, quiet: () => !joined },
  });
  let consumer: Consumer | null = null;
  let isConnected = false;
  let partitions: number[] = [];
  let stopping: Promise<void> | null = null;
  const admin: Admin = kafka.admin({ retry: { retries: 1 } });
  let adminConnected = false;

  const unassign = () => {
    partitions = [];
    opts.onUnassign?.();
  };

  function listen(c: Consumer): void {
    const { events } = c;
    c.on(events.CONNECT, () => (isConnected = true));
    c.on(events.DISCONNECT, () => {
      isConnected = false;
      unassign();
    });
    c.on(events.GROUP_JOIN, (e) => {
      joined = true;
      partitions = [...(e.payload.memberAssignment[opts.topic] ?? [])].sort((a, b) => a - b);
      opts.onJoin?.();
      logger.info(`${name} joined the group`, {
        group: opts.groupId,
        topic: opts.topic,
        partitions,
      });
    });
    c.on(events.REBALANCING, unassign);
    c.on(events.STOP, unassign);
    c.on(events.CRASH, (e) => {
      unassign();
      logger.warn(`${name} crashed`, {
        error: errorMessage(e.payload.error),
        restart: e.payload.restart,
      });
      // A retriable crash is followed by kafkajs restarting the consumer by itself.
      if (!e.payload.restart) opts.onCrash?.(e.payload.error);
    });
  }

  return {
    async start(fromBeginning, run, listenMore) {
      if (stopping) throw new Error(`the ${name} is stopped`);
      if (consumer) throw new Error(`the ${name} is already started`);
      const c = kafka.consumer({
        groupId: opts.groupId,
        sessionTimeout: opts.sessionTimeoutMs,
        heartbeatInterval: Math.min(3000, Math.floor(opts.sessionTimeoutMs / 3)),
        maxWaitTimeInMs: 500,
        allowAutoTopicCreation: false,
        // read_committed: records of aborted transactions (an exactly-once publisher fenced
        // mid-transaction) are never delivered, and open ones are waited for.
        readUncommitted: false,
      });
      listen(c);
      listenMore?.(c);
      consumer = c;
      try {
        await c.connect();
        await c.subscribe({ topic: opts.topic, fromBeginning });
        await run(c);
      } catch (e) {
        consumer = null;
        isConnected = false;
        await c.disconnect().catch(() => {});
        throw e;
      }
    },

    assigned: () => [...partitions],

    connected: () => isConnected,

    async withAdmin(fn) {
      try {
        if (!adminConnected) {
          await admin.connect();
          adminConnected = true;
        }
        return await fn(admin);
      } catch (e) {
        // A fresh connection next time: the broker may have moved or restarted.
        adminConnected = false;
        await admin.disconnect().catch(() => {});
        throw e;
      }
    },

    stop() {
      return stopping ??= (async () => {
        // kafkajs waits for the batch in flight, commits its resolved offsets, leaves the group.
        if (consumer) await consumer.disconnect().catch(() => {});
        consumer = null;
        isConnected = false;
        unassign();
        if (adminConnected) await admin.disconnect().catch(() => {});
        adminConnected = false;
      })();
    },
  };
}
