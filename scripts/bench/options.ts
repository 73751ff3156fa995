/** `deno task bench`'s command line: the options, checked, with their defaults. */
import { parseArgs } from "@std/cli/parse-args";

const USAGE = `usage: deno task bench [--smoke] [--duration <s>] [--connections <n>] [--threads <n>]
                       [--warmup <s>] [--brokers 1|3] [--profile] [--keep] [--out <file>]

  --smoke            a short run (2 s phases, 8 connections, 1 s warm-up); figures not judged
  --duration <s>     seconds per measured phase (default 10, smoke 2)
  --connections <n>  wrk connections (default 64, smoke 8)
  --threads <n>      wrk threads (default 1)
  --warmup <s>       warm-up seconds before each phase (default 3, smoke 1)
  --brokers 1|3      one broker (default), or three (replication factor 3,
                     min.insync.replicas=2): CPU per event of each broker is printed
  --profile          one more healthy phase under the V8 profiler: CPU per request by stage
  --keep             keep the bench's Kafka broker (BENCH_KAFKA_PORT) and its data afterwards
  --out <file>       the JSON report (default bench-results/latest.json, smoke: smoke.json)`;

/** Parses `argv`; `fail` prints a message and exits. */
export function benchOptions(argv: string[], root: string, fail: (message: string) => never) {
  const args = parseArgs(argv, {
    string: ["duration", "connections", "threads", "warmup", "out", "brokers"],
    boolean: ["smoke", "keep", "profile", "help"],
    unknown: (a: string) =>
      fail(
        a.startsWith("-")
          ? `unknown option "${a}" (known: --smoke --duration --connections --threads --warmup --brokers --profile --out)`
          : `unexpected argument "${a}"`,
      ),
  });
  if (args.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const SMOKE = args.smoke;
  /** A positive whole number option, or its default when not given. */
  function positive(name: "duration" | "connections" | "threads" | "warmup", fallback: number) {
    const v = args[name];
    if (v === undefined) return fallback;
    if (v === "") fail(`option --${name} needs a value`);
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got "${v}"`);
    return n;
  }
  const DURATION = positive("duration", SMOKE ? 2 : 10);
  const CONNECTIONS = positive("connections", SMOKE ? 8 : 64);
  const THREADS = positive("threads", 1);
  const WARMUP = positive("warmup", SMOKE ? 1 : 3);
  const PROFILE = args.profile;
  if (args.out === "") fail("option --out needs a value");
  const OUT = args.out ?? `${root}bench-results/${SMOKE ? "smoke" : "latest"}.json`;
  if (args.brokers !== undefined && args.brokers !== "1" && args.brokers !== "3") {
    fail(`--brokers must be 1 or 3, got "${args.brokers}"`);
  }
  return { args, SMOKE, DURATION, CONNECTIONS, THREADS, WARMUP, PROFILE, OUT };
}
