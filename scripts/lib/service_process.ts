/**
 * The one helper that starts the service as a process (`deno run --config <root>/deno.json
 * <flags> <root>/src/main.ts`), or the reference consumer (`src/consumer/main.ts`), for scripts
 * and tests alike: a clean environment, its output captured line by line (the start line is
 * parsed for the port), and a stop that escalates.
 */
import { ROOT, sleep } from "./util.ts";

/** The admin token the fault suite and the soak start services with (never printed by the service). */
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
  /** Every line the service printed so far (stdout and stderr; the last `maxLines` of them). */
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
  /** The service's environment over PATH, HOME and Deno's cache variables; nothing else leaks in. */
  env: Record<string, string>;
  /** The program, relative to the repository root; default the service, `src/main.ts`. */
  script?:
    | "src/main.ts"
    | "src/consumer/main.ts"
    | "src/settlement/main.ts"
    | "scripts/bench/bench_service.ts";
  /** Deno flags before the script; default `-A`. */
  denoFlags?: string[];
  /**
   * The whole command line instead of `deno run --config <root>/deno.json <denoFlags> <script>`:
   * e.g. the README's `deno task start` under the launcher a user installed.
   */
  command?: string[];
  /** Working directory; default the repository root. */
  cwd?: string;
  /** Longest wait for the start line (and readiness with `ready`); default 60 s. */
  startTimeoutMs?: number;
  /**
   * Also wait until GET /health/ready answers 200 (Postgres reachable, migrations applied). With
   * a fixed PORT in `env` the start line is not awaited, so any LOG_LEVEL works.
   */
  ready?: boolean;
  /** Keep only the last this many lines of output (a long run under load); default all. */
  maxLines?: number;
  /** Also copy the service's stderr (its warnings and errors) to ours as it arrives. */
  echoStderr?: boolean;
}

/** The service exited or did not start in time; `lines` holds its output. */
export class ServiceStartError extends Error {
  constructor(message: string, readonly exited: boolean, readonly lines: string[]) {
    super(message);
    this.name = "ServiceStartError";
  }
}

const START_LINE = /payment-(?:ingest|consumer|settlement) on http:\/\/([0-9.]+):(\d+)/;

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
  const [program, ...args] = opts.command ?? [
    Deno.execPath(),
    "run",
    "--config",
    `${ROOT}deno.json`,
    ...(opts.denoFlags ?? ["-A"]),
    `${ROOT}${opts.script ?? "src/main.ts"}`,
  ];
  const child = new Deno.Command(program!, {
    args,
    cwd: opts.cwd ?? ROOT,
    clearEnv: true,
    env: { ...baseEnv(), HOST: "127.0.0.1", LOG_LEVEL: "info", ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const maxLines = opts.maxLines ?? Infinity;
  let onStart: (port: number) => void = () => {};
  const started = new Promise<number>((resolve) => (onStart = resolve));
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > maxLines) lines.splice(0, lines.length - maxLines);
  };
  const pump = async (stream: ReadableStream<Uint8Array>, echo: boolean) => {
    let buf = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      if (echo) await Deno.stderr.write(new TextEncoder().encode(chunk));
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        keep(line);
        const m = START_LINE.exec(line);
        if (m) onStart(Number(m[2]));
      }
    }
    if (buf) keep(buf);
  };
  const pumps = Promise.all([pump(child.stdout, false), pump(child.stderr, !!opts.echoStderr)])
    .catch(() => {});
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
  const deadline = Date.now() + timeoutMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A fixed port and a readiness wait need no start line (it is logged at info level only).
  const fixed = opts.ready ? Number(opts.env.PORT ?? 0) : 0;
  const port = fixed > 0 ? fixed : await Promise.race([
    started,
    proc.exited.then(() => -1),
    new Promise<number>((r) => (timer = setTimeout(() => r(-2), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (port > 0) {
    proc.port = port;
    proc.base = `http://127.0.0.1:${port}`;
  }
  const outcome = port < 0 ? port : opts.ready ? await untilReady(proc, deadline) : 0;
  if (outcome < 0) {
    if (outcome === -2) proc.signal("SIGKILL");
    await proc.exited;
    throw new ServiceStartError(
      `service ${opts.name} ${
        outcome === -1
          ? `exited (code ${proc.exitStatus?.code})`
          : `did not start within ${timeoutMs} ms`
      }; last output:\n${lines.slice(-20).join("\n")}`,
      outcome === -1,
      lines,
    );
  }
  return proc;
}

/** 0 once GET /health/ready answers 200; -1 when the process exited, -2 at the deadline. */
async function untilReady(proc: ServiceProc, deadline: number): Promise<number> {
  for (;;) {
    if (proc.exitStatus !== null) return -1;
    try {
      const res = await fetch(`${proc.base}/health/ready`, { signal: AbortSignal.timeout(5000) });
      await res.body?.cancel();
      if (res.status === 200) return 0;
    } catch { /* not listening yet */ }
    if (Date.now() >= deadline) return -2;
    await Promise.race([sleep(300), proc.exited]);
  }
}

/** Adds a failure when the service died on its own, with the tail of its output. */
export function checkAlive(svc: ServiceProc, failures: string[]): void {
  if (svc.exitStatus === null) return;
  const tail = svc.lines.filter((l) => !l.includes('"level":"info"')).slice(-8).join("\n      ");
  failures.push(
    `service ${svc.name} exited by itself (code ${svc.exitStatus.code}); last output:\n      ${tail}`,
  );
}
