/**
 * The README against the tree and the code: how to get Deno, the two commands, a code map that
 * matches the tree, a configuration table naming every variable src/config.ts reads, and an API
 * table naming every route the app serves.
 */
import { assert, assertEquals } from "@std/assert";
import { loadConfig } from "../../src/config.ts";
import { createApp } from "../../src/http/app.ts";
import { fakeApp } from "../../src/testing/http_fakes.ts";
import { readRepoText, repoFileExists, repoPath } from "./paths.ts";

/** The body of the section under `heading` (up to the next `## `). */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  assert(start >= 0, `README has no "${heading}" section`);
  const rest = markdown.slice(start + heading.length + 2);
  const end = rest.search(/\n## /);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The paths a code map names: the first word of every line of its fenced block. */
function codeMapPaths(markdown: string): string[] {
  const body = section(markdown, "## Code map");
  const block = /```[a-z]*\n([\s\S]*?)```/.exec(body);
  if (!block) throw new Error("the code map has no fenced block");
  return block[1]!.split("\n").map((l) => l.trim().split(/\s+/)[0]!).filter((p) => p !== "");
}

/** Folders a newcomer must find in the code map: every folder of src/, scripts/, tests/, monitoring/. */
async function folders(): Promise<string[]> {
  const out: string[] = [];
  for (const top of ["src", "scripts", "tests", "monitoring"]) {
    for await (const e of Deno.readDir(repoPath(top))) {
      if (e.isDirectory) out.push(`${top}/${e.name}/`);
    }
  }
  return out.sort();
}

Deno.test("README: says how to get the pinned Deno before the two commands", async () => {
  const readme = await readRepoText("README.md");
  const pinned = (await readRepoText(".deno-version")).trim();
  const twoCommands = section(readme, "## Two commands");
  const install = twoCommands.search(new RegExp(`npm install -g [^\`]*deno@${pinned}\``));
  const start = twoCommands.indexOf("deno task start");
  assert(install >= 0, `the two commands do not say how to install Deno ${pinned}`);
  assert(install < start, "the Deno install line comes after the commands that need it");
});

Deno.test("README: the code map follows the two commands and names only paths that exist", async () => {
  const readme = await readRepoText("README.md");
  const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  assertEquals(headings.indexOf("Code map"), headings.indexOf("Two commands") + 1);
  const missing: string[] = [];
  for (const p of codeMapPaths(readme)) if (!(await repoFileExists(p))) missing.push(p);
  assertEquals(missing, [], "the code map names paths that do not exist");
});

Deno.test("README: the code map has a line for every source folder and every top-level source file", async () => {
  const readme = await readRepoText("README.md");
  const named = new Set(codeMapPaths(readme));
  const want = await folders();
  for await (const e of Deno.readDir(repoPath("src"))) {
    if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
      want.push(`src/${e.name}`);
    }
  }
  assertEquals(want.filter((p) => !named.has(p)), [], "folders or files missing from the code map");
});

/** The first column of the first table in the section under `heading`, one string per row. */
function firstColumn(markdown: string, heading: string): string[] {
  const lines = section(markdown, heading).split("\n");
  const header = lines.findIndex((l) => l.startsWith("|"));
  assert(header >= 0, `no table under "${heading}"`);
  const rows: string[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.split("|")[1]!.trim());
  }
  return rows;
}

/** Every environment variable `loadConfig` reads, recorded by an environment that sets none. */
function variablesConfigReads(): Set<string> {
  const read = new Set<string>();
  const env = new Proxy({} as Record<string, string | undefined>, {
    get(_target, key) {
      if (typeof key === "string") read.add(key);
      return undefined;
    },
  });
  loadConfig(env);
  return read;
}

Deno.test("README: the configuration table names every variable src/config.ts reads, and no other", async () => {
  const readme = await readRepoText("README.md");
  const documented = new Set(
    firstColumn(readme, "## Configuration").flatMap((cell) =>
      [...cell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!)
    ),
  );
  const read = variablesConfigReads();
  assert(read.has("PORT") && read.has("BREAKER_FAILURE_RATE_THRESHOLD"), [...read].join(","));
  assertEquals([...read].filter((v) => !documented.has(v)), [], "missing from the README table");
  assertEquals(
    [...documented].filter((v) => !read.has(v)),
    [],
    "in the README table but not read by src/config.ts",
  );
});

/** "METHOD /path" of every route the app serves, path parameters written `{name}`. */
function servedRoutes(): Set<string> {
  const routes = createApp(fakeApp().deps).routes
    .filter((r) => r.method !== "ALL")
    // The operator page's assets, named by GET / in the table.
    .filter((r) => !r.path.startsWith("/page/"))
    .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
  return new Set(routes);
}

Deno.test("README: the API table lists every route the app serves, and no other", async () => {
  const readme = await readRepoText("README.md");
  const documented = new Set(
    firstColumn(readme, "## API").flatMap((cell) =>
      [...cell.matchAll(/`([A-Z]+ \/[^`?]*)(\?[^`]*)?`/g)].map((m) => m[1]!)
    ),
  );
  const served = servedRoutes();
  assert(served.has("POST /payments"), [...served].join(","));
  assertEquals([...served].filter((r) => !documented.has(r)), [], "missing from the API table");
  assertEquals([...documented].filter((r) => !served.has(r)), [], "in the API table, not served");
});

Deno.test("README: every `deno task X` it names is a task of deno.json", async () => {
  const readme = await readRepoText("README.md");
  const { tasks } = JSON.parse(await readRepoText("deno.json")) as {
    tasks: Record<string, string>;
  };
  const named = new Set(
    [...readme.matchAll(/deno task ([a-z][\w-]*(?::[\w-]+)*)/g)].map((m) => m[1]!),
  );
  assert(named.size >= 15, `tasks named: ${[...named]}`);
  assertEquals(
    [...named].filter((t) => !(t in tasks)),
    [],
    "tasks the README names that do not exist",
  );
});
