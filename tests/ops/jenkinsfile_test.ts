/**
 * The Jenkinsfile, read as text: stages in order, one detected compose command (v1 or v2), checks
 * through the compose network only, pulls only when asked, JUnit results, and a post section that
 * archives the logs before it removes the stack. Simple string checks; no Jenkins is needed.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { FILES, readRepoText } from "./paths.ts";
import { run } from "./tools.ts";

/** Jenkinsfile text without Groovy line comments and shell comment lines (shebangs are kept). */
async function jenkinsfile(): Promise<string> {
  return (await readRepoText(FILES.jenkinsfile)).split("\n")
    .filter((l) => !/^\s*\/\//.test(l) && !/^\s*#(?!!)/.test(l))
    .join("\n");
}

/** The body of the first `name { ... }` block after `from`, braces balanced outside strings. */
function block(text: string, name: string | RegExp, from = 0): { body: string; end: number } {
  const re = typeof name === "string" ? new RegExp(`\\b${name}\\s*\\{`, "g") : name;
  re.lastIndex = from;
  const m = re.exec(text);
  if (!m) throw new Error(`no ${name} block`);
  let depth = 0;
  let quote: string | null = null;
  for (let i = m.index + m[0].length - 1; i < text.length; i++) {
    if (quote) {
      if (text.startsWith(quote, i)) {
        i += quote.length - 1;
        quote = null;
      } else if (text[i] === "\\") i++;
      continue;
    }
    for (const q of ["'''", '"""', "'", '"']) {
      if (text.startsWith(q, i)) {
        quote = q;
        i += q.length - 1;
        break;
      }
    }
    if (quote) continue;
    if (text[i] === "{") depth++;
    if (text[i] === "}" && --depth === 0) {
      return { body: text.slice(m.index + m[0].length, i), end: i + 1 };
    }
  }
  throw new Error(`unbalanced braces in ${name} block`);
}

/** The `pipeline { ... }` body. */
async function pipeline(): Promise<string> {
  return block(await jenkinsfile(), "pipeline").body;
}

/** The body of `stage('name') { ... }`. */
function stageBody(pipelineBody: string, name: string): string {
  const escaped = name.replace(/[()]/g, "\\$&");
  return block(pipelineBody, new RegExp(`stage\\('${escaped}'\\)\\s*\\{`, "g")).body;
}

/** The `post { always { ... } }` body. */
function postAlways(pipelineBody: string): string {
  return block(block(pipelineBody, "post").body, "always").body;
}

/** Groovy single-quoted string escapes, as Jenkins hands the script to the shell. */
function groovySingleQuoted(s: string): string {
  return s.replace(
    /\\(\n|.)/g,
    (_, c: string) => c === "\n" ? "" : c === "n" ? "\n" : c === "t" ? "\t" : c,
  );
}

/** Every shell script the pipeline runs: `sh '''...'''`, `script: '''...'''` and `sh '...'`. */
function shellScripts(text: string): string[] {
  const multi = [...text.matchAll(/(?:\bsh\s+|script:\s*)'''([\s\S]*?)'''/g)].map((m) => m[1]!);
  const single = [...text.matchAll(/\bsh\s+'((?:[^'\\\n]|\\.)*)'/g)].map((m) => m[1]!);
  return [...multi, ...single].map(groovySingleQuoted);
}

Deno.test("Jenkinsfile: githubPush trigger and the stages in order", async () => {
  const body = await pipeline();
  assertMatch(block(body, "triggers").body, /githubPush\(\)/);
  const stages = [...block(body, "stages").body.matchAll(/stage\('([^']+)'\)/g)].map((m) => m[1]!);
  const required = [
    "Checkout",
    "Agent tools",
    "Format, lint, type check",
    "Unit tests",
    "Build image",
    "Deploy (compose)",
    "Health check",
    "Smoke Test",
    "Circuit Breaker Test",
  ];
  const positions = required.map((s) => stages.indexOf(s));
  assert(
    positions.every((p) => p >= 0),
    `missing stages: ${required.filter((_, i) => positions[i]! < 0)}`,
  );
  assertEquals([...positions].sort((a, b) => a - b), positions, `stage order: ${stages}`);
  const checks = stageBody(body, "Format, lint, type check");
  for (const c of ["deno fmt --check", "deno lint", "deno task check"]) {
    assert(checks.includes(c), c);
  }
  assertMatch(stageBody(body, "Build image"), /\$COMPOSE [^\n]*\bbuild\b[^\n]*payment-ingest/);
  assertMatch(stageBody(body, "Deploy (compose)"), /deno task compose:up\b/);
  assertMatch(stageBody(body, "Health check"), /\$COMPOSE exec -T payment-ingest\b/);
  assertMatch(stageBody(body, "Health check"), /\/health\/ready/);
  for (const stage of ["Smoke Test", "Circuit Breaker Test"]) {
    assertMatch(stageBody(body, stage), /deno task test:compose\b/);
  }
});

Deno.test("Jenkinsfile: every compose case runs in exactly one of the two test stages, the breaker's on its own", async () => {
  const body = await pipeline();
  const runner = await Deno.readTextFile(new URL("../compose/run.ts", import.meta.url));
  const names = [...runner.matchAll(/^\s*\["([^"]+)", [\w()!]+\],$/gm)].map((m) => m[1]!);
  assert(names.length >= 6, `compose cases found in tests/compose/run.ts: ${names}`);
  const selected = (stage: string) =>
    [...stageBody(body, stage).matchAll(/--case (?:"([^"]+)"|(\S+))/g)].map((m) => m[1] ?? m[2]!);
  const smoke = selected("Smoke Test");
  const breaker = selected("Circuit Breaker Test");
  for (const name of names) {
    const runs = [...smoke, ...breaker].filter((t) => name.includes(t));
    assertEquals(runs.length, 1, `case "${name}" is selected by ${runs.length} --case filters`);
  }
  const breakerCases = names.filter((n) => breaker.some((t) => n.includes(t)));
  assert(breakerCases.some((n) => n.startsWith("breaker scenario")), `${breakerCases}`);
  assert(breakerCases.every((n) => !n.startsWith("smoke")), `${breakerCases}`);
});

/** A literal compose command with a subcommand (global options such as --env-file allowed). */
const COMPOSE_SUBCOMMAND = new RegExp(
  String.raw`\bdocker[ -]compose(\s+--?[\w-]+(\s+[^\s-]\S*)?)*\s+` +
    "(up|down|build|pull|push|ps|logs|exec|run|config|port|start|stop|restart|rm|kill|create|" +
    String.raw`images|top|pause|unpause|events|cp|ls|scale|wait|watch|attach|stats)\b`,
  "g",
);

Deno.test("Jenkinsfile: one compose command, detected once, v1 and v2 alike", async () => {
  const text = await jenkinsfile();
  const detect = stageBody(block(text, "pipeline").body, "Agent tools");
  assertMatch(detect, /env\.COMPOSE\s*=/, "the first stages set env.COMPOSE");
  assertMatch(detect, /docker compose version/, "detection tries the v2 plugin");
  assertMatch(detect, /docker-compose version/, "detection falls back to v1");
  const literal = [...text.matchAll(COMPOSE_SUBCOMMAND)].map((m) => m[0]);
  assertEquals(literal, [], "run $COMPOSE, not a literal compose command");
  assertMatch(text, /\$COMPOSE /);
  // Compose v1 (1.29) has none of these.
  for (const v2Only of [/--wait\b/, /\bps\s[^\n]*--status\b/, /\bps\s[^\n]*--format\b/]) {
    assert(!v2Only.test(text), `compose v2 only: ${v2Only}`);
  }
});

Deno.test("Jenkinsfile: checks go through the compose network, never through a published port", async () => {
  const text = await jenkinsfile();
  assert(!/\bcurl\b/.test(text), "no curl: ask the service from inside with $COMPOSE exec");
  assert(!/_HOST_PORT\b|\bBASE_URL\b/.test(text), "no fixed host ports or host URL");
  assert(!/https?:\/\/(localhost|127\.0\.0\.1):\d+/.test(text), "no fixed loopback URL");
  const unquoted = [...text.matchAll(/(?<!")\$(\{?)(PWD|WORKSPACE)\b/g)].map((m) => m[0]);
  assertEquals(unquoted, [], 'quote paths: "$PWD/..."');
});

Deno.test("Jenkinsfile: images are pulled only when PULL_IMAGES is ticked, else built locally", async () => {
  const text = await jenkinsfile();
  assertMatch(
    block(text, "parameters").body,
    /booleanParam\(\s*name:\s*'PULL_IMAGES',\s*defaultValue:\s*true/,
  );
  const lines = text.split("\n");
  const pulls = lines.flatMap((l, i) => /--pull\b/.test(l) ? [i] : []);
  assert(pulls.length > 0, "build with --pull when a registry answers");
  for (const i of pulls) {
    assert(
      lines.slice(Math.max(0, i - 3), i).some((l) => /PULL_IMAGES/.test(l)),
      `--pull without a PULL_IMAGES condition just before it: ${lines[i]!.trim()}`,
    );
  }
  assertMatch(
    stageBody(block(text, "pipeline").body, "Build image"),
    /else[\s\S]*deno task compose:images/,
  );
});

Deno.test("Jenkinsfile: unit and compose test results are JUnit XML for the junit step", async () => {
  const body = await pipeline();
  assertMatch(
    stageBody(body, "Unit tests"),
    /deno task test:unit --junit-path=artifacts\/\S+\.xml/,
  );
  for (const stage of ["Smoke Test", "Circuit Breaker Test"]) {
    assertMatch(
      stageBody(body, stage),
      /deno task test:compose (--keep )?.*--junit artifacts\/\S+\.xml/,
    );
  }
  assertMatch(postAlways(body), /\bjunit\b[^\n]*artifacts\/[^\n]*allowEmptyResults:\s*true/);
});

Deno.test("Jenkinsfile: post always collects logs per service, archives them, then removes the stack", async () => {
  const always = postAlways(await pipeline());
  const logs = always.search(/\$COMPOSE logs[^\n]*"\$service"[^\n]*>/);
  const archive = always.search(/archiveArtifacts\b/);
  const down = always.search(/\$COMPOSE down -v --rmi local --remove-orphans\b/);
  assert(logs >= 0, "post/always must write each service's logs to a file");
  assert(archive > logs, "archiveArtifacts after collecting logs");
  assert(down > archive, "$COMPOSE down -v --rmi local --remove-orphans after archiving");
});

/**
 * Tasks the compose work adds to deno.json in parallel with this Jenkinsfile. Until that lands
 * (no compose:* task in deno.json yet) they are taken on trust; from then on they must exist.
 */
const COMPOSE_TASKS = ["compose:images", "compose:up", "compose:down", "test:compose"];

Deno.test("Jenkinsfile: every deno task it runs exists in deno.json", async () => {
  const text = await jenkinsfile();
  const tasks = Object.keys(
    (JSON.parse(await readRepoText("deno.json")) as { tasks?: Record<string, unknown> }).tasks ??
      {},
  );
  const pending = tasks.some((t) => t.startsWith("compose:")) ? [] : COMPOSE_TASKS;
  const used = [...text.matchAll(/deno task ([\w:-]+)/g)].map((m) => m[1]!);
  assert(used.length >= 3, `expected deno tasks in the Jenkinsfile, found ${used}`);
  assertEquals(
    used.filter((t) => !tasks.includes(t) && !pending.includes(t)),
    [],
    `tasks in deno.json: ${tasks}`,
  );
});

Deno.test("Jenkinsfile: every sh script is valid POSIX shell", async () => {
  const text = await readRepoText(FILES.jenkinsfile);
  const scripts = shellScripts(text);
  assert(scripts.length >= 8, `found ${scripts.length} sh scripts`);
  for (const script of scripts) {
    const r = await run("sh", ["-n"], { stdin: script });
    assertEquals(r.code, 0, `sh -n failed: ${r.stderr}\n${script}`);
  }
  assert(!/sh\s+"""/.test(text), "use sh ''' (no Groovy interpolation) for shell scripts");
});
