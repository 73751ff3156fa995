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
    pid() {
      try {
        const pid = Number(Deno.readTextFileSync(`${dir}/broker-${port}.pid`).trim());
        Deno.statSync(`/proc/${pid}`);
        return pid;
      } catch {
        return null;
      }
    },
  };
}
