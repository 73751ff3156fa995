/**
 * The process series of the three programs, each run with the permissions of its own deno task
 * (deno.json), i.e. without the /proc access that only --allow-all has: resident memory, V8 heap,
 * CPU seconds and start time are real readings, and no series reads a 0 that looks like one.
 */
import { assert } from "@std/assert";
import { type ServiceProc, spawnService } from "../../scripts/lib/service_process.ts";
import { ROOT } from "../../scripts/lib/util.ts";
import { createPostgresDb } from "../../src/outbox/db.ts";
import { DATABASE_URL, KAFKA_BROKERS, REAL_IO, uniqueName } from "./helpers.ts";

/** The deno run flags of a deno.json task (those between `deno run` and the script). */
async function taskFlags(task: string): Promise<string[]> {
  const { tasks } = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
    tasks: Record<string, string>;
  };
  return tasks[task]!.split(/\s+/).filter((w) => w.startsWith("--"));
}

/** Every sample of the exposition whose name starts `process_` or `nodejs_heap`, by name. */
function processSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^((?:process_|nodejs_heap_size_)[a-z_]+)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const PROGRAMS: {
  task: string;
  script: "src/main.ts" | "src/consumer/main.ts" | "src/settlement/main.ts";
  env: () => Record<string, string>;
}[] = [
  {
    task: "start",
    script: "src/main.ts",
    env: () => ({
      DATABASE_URL,
      DATABASE_SCHEMA: uniqueName("pm"),
      KAFKA_BROKERS,
      KAFKA_TOPIC: uniqueName("pm"),
    }),
  },
  {
    task: "consumer",
    script: "src/consumer/main.ts",
    env: () => ({
      KAFKA_BROKERS,
      KAFKA_TOPIC: uniqueName("pm"),
      CONSUMER_GROUP: uniqueName("pm"),
    }),
  },
  {
    task: "settlement",
    script: "src/settlement/main.ts",
    env: () => ({
      DATABASE_URL,
      DATABASE_SCHEMA: uniqueName("pm"),
      KAFKA_BROKERS,
      KAFKA_TOPIC: uniqueName("pm"),
    }),
  },
];

for (const program of PROGRAMS) {
  Deno.test({
    name:
      `process metrics of deno task ${program.task}, under its own flags: real resident memory, heap, CPU and start time; no 0 posing as a reading`,
    ...REAL_IO,
    async fn() {
      let proc: ServiceProc | null = null;
      const env = program.env();
      try {
        proc = await spawnService({
          name: program.task,
          script: program.script,
          denoFlags: await taskFlags(program.task),
          env: { PORT: "0", ...env },
          startTimeoutMs: 60_000,
        });
        const text = await (await fetch(`${proc.base}/metrics`)).text();
        const s = processSamples(text);
        const rss = s.get("process_resident_memory_bytes") ?? 0;
        assert(rss > 20e6 && rss < 4e9, `process_resident_memory_bytes ${rss}`);
        const heap = s.get("nodejs_heap_size_used_bytes") ?? 0;
        assert(heap > 1e6 && heap <= (s.get("nodejs_heap_size_total_bytes") ?? 0), `heap ${heap}`);
        assert((s.get("process_cpu_seconds_total") ?? 0) > 0, "process_cpu_seconds_total");
        const started = s.get("process_start_time_seconds") ?? 0;
        const now = Date.now() / 1000;
        assert(started > now - 600 && started <= now + 1, `process_start_time_seconds ${started}`);
        const zeros = [...s].filter(([name, v]) => v === 0 && !name.includes("system")).map((
          [name],
        ) => name);
        assert(zeros.length === 0, `series reading 0: ${zeros.join(", ")}`);
      } finally {
        await proc?.stop(15_000);
        if (env.DATABASE_SCHEMA) {
          const db = createPostgresDb(DATABASE_URL, { poolSize: 1 });
          await db.query(`DROP SCHEMA IF EXISTS "${env.DATABASE_SCHEMA}" CASCADE`);
          await db.close();
        }
      }
    },
  });
}
