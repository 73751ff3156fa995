/**
 * README.md's configuration tables are generated from the settings tables (src/settings/): the
 * README must hold exactly what `deno task docs:config` would write, and every variable a
 * program's config reads must have a row.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { loadConfig } from "../../src/config.ts";
import { loadConsumerConfig } from "../../src/consumer/config.ts";
import type { Env } from "../../src/env_reader.ts";
import { configTables, DOCS_TASK, markers, withConfigTables } from "../../src/settings/docs.ts";
import { loadSettlementConfig } from "../../src/settlement/config.ts";
import { readRepoText } from "./paths.ts";

Deno.test("README: the configuration tables are what deno task docs:config writes", async () => {
  const readme = await readRepoText("README.md");
  const wanted = withConfigTables(readme);
  assert(
    wanted === readme,
    `README.md's configuration tables differ from src/settings/: run \`${DOCS_TASK}\``,
  );
});

/** Every variable `load` reads from an environment that sets none. */
function variablesRead(load: (env: Env) => unknown): string[] {
  const read = new Set<string>();
  load(
    new Proxy({}, {
      get(_target, key) {
        if (typeof key === "string") read.add(key);
        return undefined;
      },
    }),
  );
  return [...read].sort();
}

/** The variables a generated table names, in its first column. */
function tableVariables(table: string): string[] {
  return table.split("\n").slice(2).map((row) => /^\| `([A-Z0-9_]+)`/.exec(row)?.[1] ?? row)
    .sort();
}

Deno.test("config docs: each program's table names exactly the variables its config reads", () => {
  const tables = configTables();
  assertEquals(tableVariables(tables.service!), variablesRead(loadConfig));
  assertEquals(tableVariables(tables.consumer!), variablesRead(loadConsumerConfig));
  assertEquals(tableVariables(tables.settlement!), variablesRead(loadSettlementConfig));
});

Deno.test("config docs: a README without a table's markers is refused, naming the markers", () => {
  const { start, end } = markers("consumer");
  const readme = `${start}\nold\n${end}\n`;
  const e = assertThrows(() => withConfigTables(readme), Error);
  assert(e.message.includes("config:service:start"), e.message);
});
