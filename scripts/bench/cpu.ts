/**
 * CPU time per process from `/proc/<pid>/stat`, for the benchmark's per-event figures. On this
 * box the service, Postgres, Kafka and wrk share two cores, so requests per second swing from run
 * to run while CPU time per request of each process does not.
 */

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ; 100 on Linux x86-64). */
const TICKS_PER_SECOND = 100;

/** utime, stime, cutime, cstime of one process in ms, or null when it is gone. */
export function readStat(pid: number): [number, number, number, number] | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime is field 14.
  const at = (n: number) => Number(fields[n - 3]) * 1000 / TICKS_PER_SECOND;
  return [at(14), at(15), at(16), at(17)];
}

/** Parent pid and command name of every live process. */
function processTable(): Map<number, { ppid: number; comm: string }> {
  const out = new Map<number, { ppid: number; comm: string }>();
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid)) continue;
    try {
      const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
      const ppid = Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1]);
      out.set(pid, { ppid, comm });
    } catch { /* exited while listing */ }
  }
  return out;
}

/**
 * CPU ms of a process tree: the root's own time and the time of children it has reaped
 * (cutime + cstime), plus the own time of live descendants. Postgres backends that exit are
 * reaped by the postmaster, so rooting at the postmaster counts every backend the cluster ran.
 */
export function treeCpuMs(rootPid: number): number {
  const root = readStat(rootPid);
  if (!root) return 0;
  let total = root[0] + root[1] + root[2] + root[3];
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of table) {
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const stack = [...(children.get(rootPid) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const s = readStat(pid);
    if (s) total += s[0] + s[1];
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** The postmaster of the Postgres cluster serving `port`, found from its pid file or by name. */
export function postmasterPid(port = 5432): number | null {
  for (const dir of ["/var/run/postgresql", "/run/postgresql"]) {
    try {
      for (const entry of Deno.readDirSync(dir)) {
        if (!entry.name.endsWith(".pid")) continue;
        const pid = Number(Deno.readTextFileSync(`${dir}/${entry.name}`).split("\n")[0]);
        if (readStat(pid) && cmdline(pid).includes("postgres")) return pid;
      }
    } catch { /* no such directory */ }
  }
  // Fall back to the oldest "postgres" process whose parent is not one.
  const table = processTable();
  for (const [pid, { ppid, comm }] of [...table].sort((a, b) => a[0] - b[0])) {
    if (comm === "postgres" && table.get(ppid)?.comm !== "postgres") {
      return port === 5432 || cmdline(pid).includes(String(port)) ? pid : null;
    }
  }
  return null;
}

function cmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** Which processes a phase is charged to; a missing pid counts 0 (Kafka down). */
export interface Processes {
  service: () => number | null;
  postgres: () => number | null;
  /** Every Kafka broker (one, or the three of a cluster). */
  kafka: () => (number | null)[];
}

/** CPU ms of each measured process at one instant. */
export interface CpuSample {
  service: number;
  postgres: number;
  /** All brokers together. */
  kafka: number;
  /** Each broker. */
  kafkaBrokers: number[];
}

/** Reads the CPU ms of every measured process. */
export function sampleCpu(p: Processes): CpuSample {
  const of = (pid: number | null) => pid === null ? 0 : treeCpuMs(pid);
  const kafkaBrokers = p.kafka().map(of);
  return {
    service: of(p.service()),
    postgres: of(p.postgres()),
    kafka: kafkaBrokers.reduce((a, b) => a + b, 0),
    kafkaBrokers,
  };
}

/** CPU µs per request of each process between two samples. */
export function perRequestUs(
  before: CpuSample,
  after: CpuSample,
  requests: number,
): CpuSample {
  const perUs = (a: number, b: number) => requests > 0 ? Math.max(0, a - b) * 1000 / requests : NaN;
  return {
    service: perUs(after.service, before.service),
    postgres: perUs(after.postgres, before.postgres),
    kafka: perUs(after.kafka, before.kafka),
    kafkaBrokers: after.kafkaBrokers.map((a, i) => perUs(a, before.kafkaBrokers[i] ?? 0)),
  };
}
