import { assert, assertEquals, assertMatch } from "@std/assert";
import { loadEnvExample } from "./compose_model.ts";
import { BREAKER_STATES } from "./metric_contract.ts";
import { FILES, readRepoText } from "./paths.ts";

/** Rows of the first Markdown table after `heading` whose header starts with `firstColumn`. */
function tableAfter(markdown: string, heading: string, firstColumn: string): string[][] {
  const start = markdown.indexOf(`\n${heading}\n`);
  assert(start >= 0, `no heading ${heading}`);
  const lines = markdown.slice(start).split("\n");
  const header = lines.findIndex((l) => new RegExp(`^\\|\\s*${firstColumn}\\s*\\|`).test(l));
  assert(header >= 0, `no table with first column ${firstColumn} under ${heading}`);
  const rows: string[][] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.split("|").slice(1, -1).map((c) => c.trim().replace(/^`|`$/g, "")));
  }
  return rows;
}

Deno.test("guide: a mermaid state diagram naming all seven states", async () => {
  const guide = await readRepoText(FILES.guide);
  const m = /```mermaid\n(stateDiagram(?:-v2)?\n[\s\S]*?)```/.exec(guide);
  if (!m) throw new Error("no mermaid stateDiagram block");
  for (const s of BREAKER_STATES) {
    assert(
      new RegExp(`\\b${s.toUpperCase()}\\b`).test(m[1]!),
      `state diagram lacks ${s.toUpperCase()}`,
    );
  }
  assertMatch(m[1]!, /CLOSED --> OPEN/);
  assertMatch(m[1]!, /OPEN --> HALF_OPEN/);
  assertMatch(m[1]!, /HALF_OPEN --> CLOSED/);
  assertMatch(m[1]!, /HALF_OPEN --> OPEN/);
});

Deno.test("guide: the configuration table documents every BREAKER_* variable with the .env.example value", async () => {
  const guide = await readRepoText(FILES.guide);
  const env = await loadEnvExample();
  const rows = tableAfter(guide, "## Configuration", "Setting");
  const byVar = new Map(rows.map((r) => [r[1]!, r]));
  const breakerVars = [...env.keys()].filter((k) => k.startsWith("BREAKER_"));
  assert(breakerVars.length >= 9, `.env.example lists ${breakerVars.length} BREAKER_* variables`);
  const problems: string[] = [];
  for (const name of breakerVars) {
    const row = byVar.get(name);
    if (!row) {
      problems.push(`${name} missing from the configuration table`);
      continue;
    }
    const value = env.get(name)!;
    if (value !== "" && row[2] !== value) {
      problems.push(`${name}: guide says ${row[2]}, .env.example ${value}`);
    }
    if (!row[3]) problems.push(`${name}: no meaning given`);
  }
  for (const name of byVar.keys()) {
    if (!env.has(name)) problems.push(`${name} is in the guide but not in .env.example`);
  }
  assertEquals(problems, []);
});

Deno.test("guide: admin API examples use the bearer token and the publish breaker", async () => {
  const guide = await readRepoText(FILES.guide);
  const admin = guide.slice(guide.indexOf("## Admin API"), guide.indexOf("## Metrics"));
  assertMatch(admin, /curl -s -X POST \$BASE\/circuit-breaker\/kafka-publisher\/state/);
  assertMatch(admin, /Authorization: Bearer \$ADMIN_TOKEN/);
  for (const s of ["FORCED_OPEN", "FORCED_HALF_OPEN", "CLOSED"]) {
    assert(admin.includes(`"state": "${s}"`), `no example setting ${s}`);
  }
  assertMatch(admin, /ttlSeconds/);
  assertMatch(admin, /\/circuit-breaker\/kafka-publisher\/events/);
});

Deno.test("guide: the trip-and-recover scenario section exists for the scenario engineer", async () => {
  const guide = await readRepoText(FILES.guide);
  assertMatch(guide, /\n## The trip-and-recover scenario\n\n\S/);
});

Deno.test("CHANGELOG follows Keep a Changelog with an Unreleased section", async () => {
  const text = await readRepoText(FILES.changelog);
  assert(text.startsWith("# Changelog\n"), "title");
  assertMatch(text, /keepachangelog\.com/);
  const unreleased = /\n## \[Unreleased\]\n([\s\S]*?)(\n## |\n\[Unreleased\]:)/.exec(text);
  if (!unreleased) throw new Error("no ## [Unreleased] section");
  const kinds = [...unreleased[1]!.matchAll(/^### (\w+)$/gm)].map((m) => m[1]!);
  assert(kinds.length > 0, "Unreleased has no change type heading");
  for (const k of kinds) {
    assert(["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"].includes(k), k);
  }
  assertMatch(unreleased[1]!, /^- /m);
  assertMatch(text, /^\[Unreleased\]: https?:\/\//m);
});
