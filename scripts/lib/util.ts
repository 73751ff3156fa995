/** Small helpers shared by the scripts, the fault suite, the abuse tests and the soak. */
import { isFree } from "../free_port.ts";

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, below Linux's ephemeral range (32768+).
 * A port in that range can be taken by a client socket: a client retrying a dead listener on
 * loopback occasionally gets that very port as its local port and connects to itself (TCP
 * simultaneous open), and the listener cannot bind again. CI saw exactly that with a broker.
 */
export function freePort(): number {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (isFree(port)) return port;
  }
  throw new Error("no free port between 20000 and 32000 after 200 tries");
}

/** The q-quantile (0..1) of `values`; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes; returns the last value. */
export async function waitFor<T>(
  probe: () => Promise<T>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe().catch(() => undefined as T);
  while (!last && Date.now() < deadline) {
    await sleep(intervalMs);
    last = await probe().catch(() => undefined as T);
  }
  return last;
}

/** A short random suffix for schema and topic names. */
export function suffix(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 10);
}

/**
 * Runs a command, returning exit code, combined output and stdout alone (never throws for a
 * non-zero exit).
 */
export async function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<{ code: number; out: string; stdout: string }> {
  const o = await new Deno.Command(cmd, {
    args,
    env: opts.env,
    cwd: opts.cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const stdout = dec.decode(o.stdout);
  return { code: o.code, out: stdout + dec.decode(o.stderr), stdout };
}

/** Resident set size of a process in KiB (VmRSS), or null when it is gone. */
export async function rssKiB(pid: number): Promise<number | null> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Open file descriptors of a process (sockets included), or null when it is gone. */
export async function openFds(pid: number): Promise<number | null> {
  try {
    let n = 0;
    for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) n++;
    return n;
  } catch {
    return null;
  }
}

/** Root of the repository (two levels above scripts/lib). */
export const ROOT = new URL("../../", import.meta.url).pathname;
