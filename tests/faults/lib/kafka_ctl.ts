/**
 * Controls the suite's own Kafka broker through scripts/kafka.sh on a private port pair
 * (FAULTS_KAFKA_PORT, default 29092, controller +1). KAFKA_PORT is deliberately not read: the test
 * runner exports it for the shared broker the other suites use, and this suite kills and pauses its
 * broker. The broker on 9092/9093 is never touched.
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
  status(): Promise<string>;
}

const SHARED_PORTS = new Set([9092, 9093]);

/** A handle on the broker at the given ports (from the environment by default). */
export function broker(
  port = Number(Deno.env.get("FAULTS_KAFKA_PORT") ?? 29092),
  controllerPort = port + 1,
): Broker {
  if (!Number.isInteger(port) || !Number.isInteger(controllerPort)) {
    throw new RangeError(
      `FAULTS_KAFKA_PORT must be an integer, got ${Deno.env.get("FAULTS_KAFKA_PORT")}`,
    );
  }
  if (SHARED_PORTS.has(port) || SHARED_PORTS.has(controllerPort)) {
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
  return {
    port,
    controllerPort,
    address: `127.0.0.1:${port}`,
    start: () => ctl("start").then(() => {}),
    stop: () => ctl("stop").then(() => {}),
    kill: () => ctl("kill").then(() => {}),
    pause: () => ctl("pause").then(() => {}),
    resume: () => ctl("resume").then(() => {}),
    status: () => ctl("status"),
  };
}
