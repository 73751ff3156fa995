/**
 * `deno task reconcile --since <ISO time | duration> [--until ...] [--json] [--from-beginning]`
 * (`--help` lists every option)
 *
 * Compares the outbox's PUBLISHED events (published_at in the range) with what the Kafka topic
 * holds and reports missing, duplicated and out-of-order events per payment id. Reads
 * DATABASE_URL, DATABASE_SCHEMA, KAFKA_BROKERS and KAFKA_TOPIC like the service does.
 *
 * Exit codes: 0 clean (duplicates alone are clean), 1 something is missing or out of order,
 * 2 bad arguments or configuration, 3 the outbox or the topic could not be read.
 */
import { parseArgs } from "@std/cli/parse-args";
import { ConfigError, loadConfig } from "../src/config.ts";
import { errorMessage } from "../src/error_message.ts";
import { createPostgresDb } from "../src/outbox/db.ts";
import { reconcile } from "../src/reconcile/reconcile.ts";
import { formatReport } from "../src/reconcile/report_text.ts";
import { parseDuration, parseTimeRange, TimeArgumentError } from "../src/reconcile/time_range.ts";

const USAGE = `usage: deno task reconcile --since <time> [--until <time>] [--json] [options]

  --since <time>        start of the range: ISO 8601 (2026-03-01T10:00:00Z) or a duration
                        back from now (90s, 15m, 1h, 1h30m, 2d)
  --until <time>        end of the range (exclusive), same forms; default now
  --json                print the full report as JSON
  --from-beginning      read the whole topic instead of starting near --since
  --lookback <duration> read the topic from this long before --since (default 10m)
  --timeout <duration>  give up reading the topic after this long (default 60s)
  --limit <n>           list at most n items per finding in the text output (default 20)
  -h, --help            print this help

environment: DATABASE_URL (required), DATABASE_SCHEMA, KAFKA_BROKERS, KAFKA_TOPIC
exit codes: 0 clean, 1 missing or out-of-order events, 2 bad arguments, 3 could not read`;

class UsageError extends Error {}

interface Args {
  since: string;
  until?: string;
  json: boolean;
  fromBeginning: boolean;
  lookbackMs?: number;
  timeoutMs?: number;
  limit: number;
}

/** The parsed command line, or null for --help. */
function parseCommandLine(argv: string[]): Args | null {
  const a = parseArgs(argv, {
    string: ["since", "until", "lookback", "timeout", "limit"],
    boolean: ["json", "from-beginning", "help"],
    alias: { h: "help" },
    unknown: (arg: string) => {
      throw new UsageError(`unknown argument "${arg}"`);
    },
  });
  if (a.help) return null;
  const value = (name: "since" | "until" | "lookback" | "timeout" | "limit") => {
    const v = a[name];
    if (v === "") throw new UsageError(`--${name} needs a value`);
    return v;
  };
  const duration = (name: "lookback" | "timeout"): number | undefined => {
    const v = value(name);
    if (v === undefined) return undefined;
    const ms = parseDuration(v);
    if (ms === null) {
      throw new UsageError(`--${name}: expected a duration like 90s, 10m or 1h (got "${v}")`);
    }
    return ms;
  };
  const since = value("since");
  const limitText = value("limit");
  const limit = Number(limitText ?? 20);
  if (!Number.isInteger(limit) || limit < 0) {
    throw new UsageError(`--limit: expected a whole number (got "${limitText}")`);
  }
  const lookbackMs = duration("lookback");
  const timeoutMs = duration("timeout");
  if (since === undefined) throw new UsageError("--since is required");
  return {
    since,
    until: value("until"),
    json: a.json,
    fromBeginning: a["from-beginning"],
    lookbackMs,
    timeoutMs,
    limit,
  };
}

async function main(): Promise<number> {
  let args: Args | null;
  let range;
  try {
    args = parseCommandLine(Deno.args);
    if (args === null) {
      console.log(USAGE);
      return 0;
    }
    range = parseTimeRange(args.since, args.until, new Date(), {
      since: "--since",
      until: "--until",
    });
  } catch (e) {
    if (e instanceof UsageError || e instanceof TimeArgumentError) {
      console.error(`reconcile: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  let config;
  try {
    config = loadConfig(Deno.env.toObject());
  } catch (e) {
    console.error(`reconcile: ${e instanceof ConfigError ? e.message : errorMessage(e)}`);
    return 2;
  }
  if (!config.databaseUrl) {
    console.error(
      "reconcile: DATABASE_URL is not set; it must name the Postgres server of the outbox",
    );
    return 2;
  }
  const db = createPostgresDb(config.databaseUrl, {
    schema: config.databaseSchema,
    poolSize: 2,
  });
  try {
    const report = await reconcile(db, {
      brokers: config.kafka.brokers,
      topic: config.kafka.topic,
      since: range.since,
      until: range.until,
      fromBeginning: args.fromBeginning,
      lookbackMs: args.lookbackMs,
      readTimeoutMs: args.timeoutMs,
    });
    console.log(args.json ? JSON.stringify(report, null, 2) : formatReport(report, args.limit));
    return report.clean ? 0 : 1;
  } catch (e) {
    console.error(
      `reconcile: could not compare ${db.location} with topic ${config.kafka.topic} on ${
        config.kafka.brokers.join(",")
      }: ${errorMessage(e)}`,
    );
    return 3;
  } finally {
    await db.close(2000).catch(() => {});
  }
}

Deno.exit(await main());
