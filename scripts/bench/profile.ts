/**
 * Where the service's CPU goes per accepted event: a V8 CPU profile taken through the inspector
 * (the service runs with `--inspect`), each sample charged to a stage of the request's path by
 * the innermost frame of our own code on its stack, or, for callbacks no code of ours is under
 * (socket reads of the Postgres driver or the Kafka client, the HTTP server), by the library of
 * its leaf frame.
 */
import { perRequestUs, type Processes, sampleCpu } from "./cpu.ts";

/** A V8 CPU profile as `Profiler.stop` returns it. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

/** Stages of one accepted event, in the order the request meets them. */
export const STAGES = [
  "HTTP in JavaScript (Deno server glue, Hono, middleware, answer)",
  "body read and JSON parse",
  "validation (zod)",
  "outbox statements (group commit, marks; Postgres driver)",
  "inline publish (breaker, kafkajs)",
  "metrics (prom-client)",
  "relay",
  "logging",
  "garbage collection",
  "other",
] as const;

/** One stage of the path. */
export type Stage = typeof STAGES[number];

/** Our own code: which stage a frame of ours belongs to, by file and function. */
function ourStage(url: string, fn: string): Stage | null {
  const m = /\/src\/(.+)\.ts$/.exec(url);
  if (!m) return null;
  const file = m[1]!;
  if (file === "http/payment_schema") return "validation (zod)";
  if (file === "http/payment_request") {
    return /valid|schema|parse(Event|Payment)/i.test(fn)
      ? "validation (zod)"
      : "body read and JSON parse";
  }
  if (file.startsWith("metrics/")) return "metrics (prom-client)";
  if (file === "log") return "logging";
  if (file === "outbox/relay") return "relay";
  if (file === "outbox/repository" || file === "outbox/db" || /accept|commit/i.test(fn)) {
    return "outbox statements (group commit, marks; Postgres driver)";
  }
  if (file.startsWith("kafka/") || file.startsWith("breaker/") || /publish|send/i.test(fn)) {
    return "inline publish (breaker, kafkajs)";
  }
  if (file.startsWith("http/")) {
    return "HTTP in JavaScript (Deno server glue, Hono, middleware, answer)";
  }
  return null;
}

/** A library whose frames say which stage they serve (node compat and the runtime do not). */
function libraryStage(url: string): Stage | null {
  if (/\/postgres[@/]/.test(url)) return "outbox statements (group commit, marks; Postgres driver)";
  if (/kafkajs/.test(url)) return "inline publish (breaker, kafkajs)";
  if (/prom-client/.test(url)) return "metrics (prom-client)";
  if (/\/zod[@/]/.test(url)) return "validation (zod)";
  if (/\/hono[@/]/.test(url)) {
    return "HTTP in JavaScript (Deno server glue, Hono, middleware, answer)";
  }
  return null;
}

/** The runtime's own modules, when nothing more specific is on the stack. */
function runtimeStage(url: string): Stage | null {
  if (/ext:deno_(http|net|fetch|web)|ext:runtime/.test(url)) {
    return "HTTP in JavaScript (Deno server glue, Hono, middleware, answer)";
  }
  return null;
}

/**
 * Microseconds of JavaScript per stage in a profile. "(program)" and "(idle)" samples (native
 * code with no JavaScript on the stack: the runtime's HTTP server in Rust, I/O polling, waiting)
 * are left out: the caller charges what /proc counted beyond these stages to the runtime.
 */
export function stageTimes(profile: CpuProfile): Map<Stage, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOf = new Map<number, Stage | null>();
  const classify = (leaf: number): Stage | null => {
    const known = stageOf.get(leaf);
    if (known !== undefined) return known;
    const node = byId.get(leaf)!;
    const fn = node.callFrame.functionName;
    let stage: Stage | null;
    if (fn === "(idle)" || fn === "(root)" || fn === "(program)") stage = null;
    else {
      // Innermost code of ours decides; else the innermost library that names a stage (a socket
      // write of the Postgres driver runs in node compat, under the driver's frames); else the
      // runtime's HTTP modules.
      const stack: { url: string; functionName: string }[] = [];
      for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
        stack.push(byId.get(id)!.callFrame);
      }
      stage = null;
      // Zod runs inside our request reader: its frames are validation, whoever called it.
      for (const f of stack) {
        if (!stage) {
          stage = /\/zod[@/]/.test(f.url) ? "validation (zod)" : ourStage(f.url, f.functionName);
        }
      }
      for (const f of stack) if (!stage) stage = libraryStage(f.url);
      for (const f of stack) if (!stage) stage = runtimeStage(f.url);
      if (!stage) stage = fn === "(garbage collector)" ? "garbage collection" : "other";
    }
    stageOf.set(leaf, stage);
    return stage;
  };
  const time = new Map<Stage, number>(STAGES.map((s) => [s, 0]));
  profile.samples.forEach((leaf, i) => {
    // A sample's time delta is the time since the previous sample: it belongs to this sample.
    const stage = classify(leaf);
    if (stage) time.set(stage, time.get(stage)! + (profile.timeDeltas[i] ?? 0));
  });
  return time;
}

/** Takes a CPU profile of the process whose inspector listens on `inspectPort` while `during` runs. */
export async function profileWhile<T>(
  inspectPort: number,
  during: () => Promise<T>,
): Promise<[T, CpuProfile]> {
  const targets = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const waiting = new Map<number, (r: unknown) => void>();
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.result);
  };
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      waiting.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: 500 });
    await send("Profiler.start");
    const result = await during();
    const stopped = await send("Profiler.stop") as { profile: CpuProfile };
    return [result, stopped.profile];
  } finally {
    ws.close();
  }
}

/** What `profiledPhase` needs: the inspector, the processes to charge, and the load to run. */
export interface ProfiledPhaseOptions {
  inspectPort: number;
  processes: Processes;
  /** Runs the phase's load and says how many requests it made. */
  run: () => Promise<{ requests: number }>;
  /** Where the raw profile is kept for a closer look (DevTools opens it). */
  saveTo: string;
}

/**
 * One more healthy phase under the V8 profiler: CPU µs per request of each stage of the path.
 * What /proc counted beyond the JavaScript stages is the runtime outside JavaScript (the HTTP
 * server and I/O in Rust, the compiler and GC threads). The profiler costs CPU of its own, so
 * this phase is reported apart and never replaces the measured one.
 */
export async function profiledPhase(opts: ProfiledPhaseOptions): Promise<Record<string, number>> {
  const before = sampleCpu(opts.processes);
  const [r, profile] = await profileWhile(opts.inspectPort, opts.run);
  const cpu = perRequestUs(before, sampleCpu(opts.processes), r.requests);
  await Deno.writeTextFile(opts.saveTo, JSON.stringify(profile));
  const out: Record<string, number> = {};
  let js = 0;
  for (const [stage, us] of stageTimes(profile)) {
    out[stage] = us / r.requests;
    js += us / r.requests;
  }
  out["runtime outside JavaScript (HTTP server in Rust, I/O, GC and compiler threads)"] = Math.max(
    0,
    cpu.service - js,
  );
  out["total (from /proc)"] = cpu.service;
  console.log("bench: CPU µs per request by stage (profiled healthy phase):");
  for (const [stage, us] of Object.entries(out)) {
    console.log(`  ${us.toFixed(1).padStart(7)}  ${stage}`);
  }
  return out;
}
