/**
 * Controls the suite's own Kafka broker through scripts/kafka.sh on a private port pair
 * (KAFKA_PORT / KAFKA_CONTROLLER_PORT, default 49092 / 49093). The shared broker on 9092 belongs
 * to other engineers: this module refuses to touch it.
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
  port = Number(Deno.env.get("KAFKA_PORT") ?? 49092),
  controllerPort = Number(Deno.env.get("KAFKA_CONTROLLER_PORT") ?? port + 1),
): Broker {
  if (!Number.isInteger(port) || !Number.isInteger(controllerPort)) {
    throw new RangeError(`KAFKA_PORT / KAFKA_CONTROLLER_PORT must be integers`);
  }
  if (SHARED_PORTS.has(port) || SHARED_PORTS.has(controllerPort)) {
    throw new RangeError(
      `refusing to control the shared broker on ${port}/${controllerPort}; use a private KAFKA_PORT (default 49092)`,
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
