/**
 * Controls a local Kafka broker through scripts/kafka.sh on a given port pair: the fault suite's,
 * the soak's and the bench's private brokers, the breaker scenario's and the integration tests'
 * broker. KAFKA_PORT is deliberately not read here: the test runner exports it for the shared
 * broker the other suites use, and a suite that kills and pauses its broker names its own port.
 */
import { ROOT, run } from "./util.ts";

/** The broker a suite runs against. */
export interface Broker {
  port: number;
  controllerPort: number;
  /** "127.0.0.1:<port>" */
  address: string;
  start(): Promise<void>;
  /** Graceful stop (SIGTERM). */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** SIGSTOP: a stalled broker (connections open, no answers). */
  pause(): Promise<void>;
  /** SIGCONT. */
  resume(): Promise<void>;
  /** Stops the broker and deletes its data. */
  reset(): Promise<void>;
  /** running, paused or stopped. */
  status(): Promise<string>;
  /** The last lines of the broker's log. */
  logs(): Promise<string>;
  /** The broker's process id, or null when it is not running. */
  pid(): number | null;
}

/** Options of `broker`. */
export interface BrokerOptions {
  /** Allow the shared ports 9092/9093 (the scenario's and integration tests' default broker). */
  allowSharedPorts?: boolean;
}

const SHARED_PORTS = new Set([9092, 9093]);

/** A handle on the broker at the given ports (FAULTS_KAFKA_PORT, default 29092, by default). */
export function broker(
  port = Number(Deno.env.get("FAULTS_KAFKA_PORT") ?? 29092),
  controllerPort = port + 1,
  opts: BrokerOptions = {},
): Broker {
  if (!Number.isInteger(port) || !Number.isInteger(controllerPort)) {
    throw new RangeError(
      `FAULTS_KAFKA_PORT must be an integer, got ${Deno.env.get("FAULTS_KAFKA_PORT")}`,
    );
  }
  if (!opts.allowSharedPorts && (SHARED_PORTS.has(port) || SHARED_PORTS.has(controllerPort))) {
    throw new RangeError(
      `refusing to control the shared broker on ${port}/${controllerPort}; set FAULTS_KAFKA_PORT to a private port (default 29092)`,
    );
  }
  const env = {
    ...Deno.env.toObject(),
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
  };
  const ctl = async (cmd: string) => {
    const r = await run("bash", [`${ROOT}scripts/kafka.sh`, cmd], { env });
    if (r.code !== 0) throw new Error(`kafka.sh ${cmd} (port ${port}) failed: ${r.out.trim()}`);
    return r.out.trim();
  };
  const dir = Deno.env.get("KAFKA_LOCAL_DIR") ?? `${ROOT}.cache/kafka`;
  return {
    port,
    controllerPort,
    address: `127.0.0.1:${port}`,
    start: () => ctl("start").then(() => {}),
    stop: () => ctl("stop").then(() => {}),
    kill: () => ctl("kill").then(() => {}),
    pause: () => ctl("pause").then(() => {}),
    resume: () => ctl("resume").then(() => {}),
    reset: () => ctl("reset").then(() => {}),
    status: () => ctl("status"),
    logs: () => ctl("logs"),
    pid: () => pidFrom(`${dir}/broker-${port}.pid`),
  };
}

/** The live process whose id a pid file holds, or null. */
function pidFrom(file: string): number | null {
  try {
    const pid = Number(Deno.readTextFileSync(file).trim());
    Deno.statSync(`/proc/${pid}`);
    return pid;
  } catch {
    return null;
  }
}

/**
 * A cluster of `scripts/kafka.sh --brokers 3` on private ports: three brokers and a KRaft
 * controller of its own on `port + 1`.
 */
export interface Cluster {
  /** Client ports of brokers 1-3: port, port + 2, port + 4. */
  ports: number[];
  /** "127.0.0.1:<port>" of every node. */
  brokers: string[];
  /** Starts every node that is not running (resumes paused ones) and waits for all three. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Deletes every node's data (stops them first). */
  reset(): Promise<void>;
  /** Starts one node (1-based) and waits until it answers with all three brokers registered. */
  startNode(node: number): Promise<void>;
  /** Graceful stop of one node. */
  stopNode(node: number): Promise<void>;
  /** SIGKILL of one node. */
  killNode(node: number): Promise<void>;
  /** SIGSTOP of one node (a stalled broker). */
  pauseNode(node: number): Promise<void>;
  /** SIGCONT of one node. */
  resumeNode(node: number): Promise<void>;
  /** The process ids of brokers 1-3 (null for one that is not running). */
  pids(): (number | null)[];
  /** running (every node), or stopped. */
  status(): Promise<string>;
  /** SIGKILL of every node. */
  kill(): Promise<void>;
  /** The node (1-based) whose client port is `port`. */
  nodeOf(port: number): number;
  /**
   * Transactions the brokers know of, from Kafka's own `kafka-transactions.sh list`
   * (org.apache.kafka.tools.TransactionsCommand): transactional id and state.
   */
  transactions(): Promise<{ id: string; state: string }[]>;
}

/** A handle on the three-node cluster whose first node serves clients on `port`. */
export function cluster(port: number): Cluster {
  if (!Number.isInteger(port) || SHARED_PORTS.has(port)) {
    throw new RangeError(`a test cluster needs a private port, got ${port}`);
  }
  const ports = [port, port + 2, port + 4];
  // The controller listens on port + 1 (the test runner exports its own broker's ports).
  const env = {
    ...Deno.env.toObject(),
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(port + 1),
  };
  const ctl = async (...args: string[]) => {
    const r = await run("bash", [`${ROOT}scripts/kafka.sh`, ...args, "--brokers", "3"], { env });
    if (r.code !== 0) throw new Error(`kafka.sh ${args.join(" ")} (port ${port}) failed: ${r.out}`);
    return r.out.trim();
  };
  const dir = Deno.env.get("KAFKA_LOCAL_DIR") ?? `${ROOT}.cache/kafka`;
  const brokers = ports.map((p) => `127.0.0.1:${p}`);
  return {
    ports,
    brokers,
    start: () => ctl("start").then(() => {}),
    stop: () => ctl("stop").then(() => {}),
    reset: () => ctl("reset").then(() => {}),
    startNode: (n) => ctl("start", "--node", String(n)).then(() => {}),
    stopNode: (n) => ctl("stop", "--node", String(n)).then(() => {}),
    killNode: (n) => ctl("kill", "--node", String(n)).then(() => {}),
    pauseNode: (n) => ctl("pause", "--node", String(n)).then(() => {}),
    pids: () => ports.map((p) => pidFrom(`${dir}/broker-${p}.pid`)),
    status: async () =>
      (await ctl("status")).split("\n").every((l) => l.includes(" running "))
        ? "running"
        : "stopped",
    kill: () => ctl("kill").then(() => {}),
    resumeNode: (n) => ctl("resume", "--node", String(n)).then(() => {}),
    nodeOf(p) {
      const i = ports.indexOf(p);
      if (i < 0) throw new RangeError(`port ${p} is not a node of the cluster on ${port}`);
      return i + 1;
    },
    async transactions() {
      const r = await run("java", [
        "-cp",
        `${dir}/jars/*`,
        `-Dlog4j2.configurationFile=${dir}/log4j2.properties`,
        "org.apache.kafka.tools.TransactionsCommand",
        "--bootstrap-server",
        brokers.join(","),
        "list",
      ]);
      if (r.code !== 0) throw new Error(`kafka-transactions list failed: ${r.out}`);
      // TransactionalId  Coordinator  ProducerId  TransactionState (log lines may come first)
      const lines = r.stdout.split("\n");
      const header = lines.findIndex((l) => l.startsWith("TransactionalId"));
      return lines.slice(header + 1).map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length >= 4).map((f) => ({ id: f[0]!, state: f[3]! }));
    },
  };
}
