/**
 * The service as a subprocess (`deno run --config <root>/deno.json -A <root>/src/main.ts`), with
 * its output captured line by line so tests can parse the start line and grep the logs.
 */
import { ROOT, sleep } from "./util.ts";

/** The admin token the suite starts services with (never printed by the service). */
export const FAULTS_ADMIN_TOKEN = "faults-suite-admin-token-6d1f0c8a";

/** Short timing knobs: the breaker and the relay react within seconds, not minutes. */
export const FAST_TIMING: Readonly<Record<string, string>> = Object.freeze({
  KAFKA_REQUEST_TIMEOUT_MS: "1000",
  KAFKA_DELIVERY_TIMEOUT_MS: "2000",
  BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS: "2000",
  BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS: "500",
  BREAKER_MINIMUM_NUMBER_OF_CALLS: "3",
  BREAKER_SLIDING_WINDOW_SIZE: "6",
  BREAKER_EVENT_BUFFER_SIZE: "5000",
  RELAY_POLL_INTERVAL_MS: "100",
  OUTBOX_CLAIM_LEASE_MS: "3000",
});

/** A running service subprocess. */
export interface ServiceProc {
  name: string;
  pid: number;
  port: number;
  base: string;
  /** Every line the service printed so far (stdout and stderr). */
  lines: string[];
  /** Settles when the process exits. */
  exited: Promise<Deno.CommandStatus>;
  exitStatus: Deno.CommandStatus | null;
  signal(sig: Deno.Signal): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit status. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

/** Options of `spawnService`. */
export interface SpawnOptions {
  name: string;
  env: Record<string, string>;
  /** Longest wait for the start line. */
  startTimeoutMs?: number;
}

const START_LINE = /payment-ingest on http:\/\/([0-9.]+):(\d+)/;

/** Environment a child needs from ours to find Deno's caches; nothing else leaks in. */
function baseEnv(): Record<string, string> {
  const keep = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR", "LANG", "TZ"];
  const out: Record<string, string> = {};
  for (const k of keep) {
    const v = Deno.env.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Starts the service and resolves once it printed its start line (parsed for the port). */
export async function spawnService(opts: SpawnOptions): Promise<ServiceProc> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", `${ROOT}deno.json`, "-A", `${ROOT}src/main.ts`],
    cwd: ROOT,
    clearEnv: true,
    env: { ...baseEnv(), HOST: "127.0.0.1", LOG_LEVEL: "info", ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let onStart: (port: number) => void = () => {};
  const started = new Promise<number>((resolve) => (onStart = resolve));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let buf = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        const m = START_LINE.exec(line);
        if (m) onStart(Number(m[2]));
      }
    }
    if (buf) lines.push(buf);
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]).catch(() => {});
  const proc: ServiceProc = {
    name: opts.name,
    pid: child.pid,
    port: 0,
    base: "",
    lines,
    exitStatus: null,
    exited: child.status.then(async (s) => {
      await pumps;
      proc.exitStatus = s;
      return s;
    }),
    signal(sig) {
      if (proc.exitStatus === null) {
        try {
          child.kill(sig);
        } catch { /* already gone */ }
      }
    },
    async stop(graceMs = 15_000) {
      proc.signal("SIGTERM");
      const timer = setTimeout(() => proc.signal("SIGKILL"), graceMs);
      const s = await proc.exited;
      clearTimeout(timer);
      return s;
    },
  };
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const port = await Promise.race([
    started,
    proc.exited.then(() => -1),
    sleep(timeoutMs).then(() => -2),
  ]);
  if (port < 0) {
    if (port === -2) proc.signal("SIGKILL");
    await proc.exited;
    throw new Error(
      `service ${opts.name} ${
        port === -1
          ? `exited (code ${proc.exitStatus?.code})`
          : `did not start within ${timeoutMs} ms`
      }; last output:\n${lines.slice(-20).join("\n")}`,
    );
  }
  proc.port = port;
  proc.base = `http://127.0.0.1:${port}`;
  return proc;
}

/** Adds a failure when the service died on its own, with the tail of its output. */
export function checkAlive(svc: ServiceProc, failures: string[]): void {
  if (svc.exitStatus === null) return;
  const tail = svc.lines.filter((l) => !l.includes('"level":"info"')).slice(-8).join("\n      ");
  failures.push(
    `service ${svc.name} exited by itself (code ${svc.exitStatus.code}); last output:\n      ${tail}`,
  );
}
