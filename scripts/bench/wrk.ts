/** wrk, the benchmark's load generator: installing it, running one phase, reading its figures. */

/** What one wrk run reports (printed by scripts/bench/post_payment.lua). */
export interface WrkResult {
  requests: number;
  duration_us: number;
  errors_status: number;
  errors_connect: number;
  errors_timeout: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  /** CPU ms wrk itself spent (its reaped time, read by the shell that waited for it). */
  cpu_ms: number;
}

/** How wrk drives one phase. */
export interface WrkOptions {
  threads: number;
  connections: number;
  seconds: number;
  /** Keeps event ids unique across runs (read by the Lua script). */
  nonce: number;
  /** A new paymentId per request and no eventId, as clients send (default: reused keys, ids sent). */
  fresh?: boolean;
}

/** Runs `cmd` with bash in `cwd`; returns stdout and stderr, throws with both on failure. */
export async function sh(
  cmd: string,
  env: Record<string, string>,
  cwd: string,
): Promise<string> {
  const out = await new Deno.Command("bash", { args: ["-c", cmd], env, cwd }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} failed:\n${text}`);
  return text;
}

/** Installs wrk with apt-get when it is missing; false when that failed. */
export async function ensureWrk(root: string): Promise<boolean> {
  try {
    await sh("command -v wrk", {}, root);
    return true;
  } catch {
    console.log("bench: wrk is missing; installing it with apt-get (Debian package wrk)");
  }
  try {
    await sh(
      "apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk)",
      {},
      root,
    );
    return true;
  } catch {
    return false;
  }
}

/** Posts payment events to `url` for `opts.seconds`; returns wrk's figures and its CPU time. */
export async function runWrk(root: string, url: string, opts: WrkOptions): Promise<WrkResult> {
  // The shell that waited for wrk prints its own stat: cutime + cstime are wrk's CPU time.
  const text = await sh(
    `wrk -t${opts.threads} -c${opts.connections} -d${opts.seconds}s --timeout 10s ` +
      `-s scripts/bench/post_payment.lua ${url}; rc=$?; echo "CPU_STAT $(cat /proc/$$/stat)"; exit $rc`,
    { BENCH_NONCE: String(opts.nonce), BENCH_FRESH: opts.fresh ? "1" : "0" },
    root,
  );
  const line = text.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (!line) throw new Error(`wrk printed no result:\n${text}`);
  const stat = text.split("\n").find((l) => l.startsWith("CPU_STAT "))?.slice(9) ?? "";
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 16 and 17 (cutime, cstime) in clock ticks of 10 ms.
  const cpuMs = (Number(fields[16 - 3]) + Number(fields[17 - 3])) * 10;
  return { ...JSON.parse(line.slice("BENCH_JSON ".length)), cpu_ms: cpuMs };
}
