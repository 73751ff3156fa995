/**
 * `deno task settle <command> --day YYYY-MM-DD`: close a business day, print its report, or
 * reconcile it. Reads the same environment as the settlement process (DATABASE_URL,
 * KAFKA_BROKERS, SETTLEMENT_TIMEZONE, ...).
 *
 *   deno task settle close --day 2026-12-03
 *   deno task settle report --day 2026-12-03 [--format json|csv]
 *   deno task settle reconcile --day 2026-12-03     (exit 1 when differences are found)
 *
 * Exit codes: 0 done (clean), 1 differences found, 2 bad usage or configuration, 3 failure.
 */
import { parseArgs } from "@std/cli/parse-args";
import { errorMessage } from "../error_message.ts";
import { isDay } from "./business_day.ts";
import { closeDay, closedDay, DayNotOverError, exceptionsOf } from "./close.ts";
import { loadSettlementConfig } from "./config.ts";
import { openLedgerDb, reconcilerFor } from "./main.ts";
import { closeSummary } from "./settlement_app.ts";
import { statementsCsv, statementsOf } from "./statements.ts";

const USAGE = `usage: deno task settle close|report|reconcile --day YYYY-MM-DD [--format json|csv]`;

function fail(code: number, message: string): never {
  console.error(message);
  Deno.exit(code);
}

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const flags = parseArgs(args, { string: ["day", "format"], default: { format: "json" } });
  const [command] = flags._.map(String);
  if (!command || !["close", "report", "reconcile"].includes(command)) fail(2, USAGE);
  const day = flags.day ?? "";
  if (!isDay(day)) fail(2, `--day must be a date written YYYY-MM-DD, got "${day}"\n${USAGE}`);
  if (!["json", "csv"].includes(flags.format)) {
    fail(2, `--format must be json or csv, got "${flags.format}"`);
  }
  let config;
  try {
    config = loadSettlementConfig(Deno.env.toObject());
  } catch (e) {
    fail(2, errorMessage(e));
  }
  const db = await openLedgerDb(config);
  try {
    const reconcile = reconcilerFor(db, config);
    if (command === "close") {
      const r = await closeDay(db, day, { calendar: config.calendar, reconcile });
      console.log(JSON.stringify(closeSummary(r), null, 2));
      return r.reconciled ? 0 : 1;
    }
    if (command === "reconcile") {
      const closed = await closedDay(db, day);
      const r = closed?.reconciliation ?? await reconcile(day);
      console.log(JSON.stringify(r, null, 2));
      return r.clean ? 0 : 1;
    }
    const records = await statementsOf(db, day);
    if (flags.format === "csv") {
      await Deno.stdout.write(new TextEncoder().encode(statementsCsv(records)));
      return 0;
    }
    const closed = await closedDay(db, day);
    console.log(JSON.stringify(
      {
        day,
        closed: closed !== null,
        closedAt: closed?.closedAt ?? null,
        reconciled: closed?.reconciled ?? null,
        differences: closed?.differences ?? null,
        statements: records.map((r) => ({ ...r.statement, sha256: r.sha256 })),
        exceptions: await exceptionsOf(db, day),
      },
      null,
      2,
    ));
    return 0;
  } catch (e) {
    if (e instanceof DayNotOverError) {
      console.error(e.message);
      return 2;
    }
    console.error(`settle ${command} failed: ${errorMessage(e)}`);
    return 3;
  } finally {
    await db.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
