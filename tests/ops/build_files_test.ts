import { assert, assertEquals, assertMatch } from "@std/assert";
import { FILES, readRepoText, ROOT } from "./paths.ts";
import { run } from "./tools.ts";

/** Dockerfile instructions with continuation lines joined and comments dropped. */
async function dockerfileInstructions(): Promise<Array<{ op: string; args: string }>> {
  const text = await readRepoText(FILES.dockerfile);
  const joined = text.replace(/\\\n/g, " ");
  return joined.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map(
    (l) => {
      const i = l.search(/\s/);
      return { op: l.slice(0, i).toUpperCase(), args: l.slice(i + 1).trim() };
    },
  );
}

Deno.test("Dockerfile: pinned Deno base image, non-root user, dependencies cached before the code", async () => {
  const ins = await dockerfileInstructions();
  const from = ins.filter((i) => i.op === "FROM");
  assertEquals(from.map((f) => f.args), ["denoland/deno:2.9.6"]);
  const users = ins.filter((i) => i.op === "USER").map((i) => i.args);
  assert(users.length > 0, "no USER instruction");
  assert(!["root", "0", "0:0", "root:root"].includes(users.at(-1)!), `runs as ${users.at(-1)}`);
  const index = (pred: (i: { op: string; args: string }) => boolean) => ins.findIndex(pred);
  const copyLock = index((i) =>
    i.op === "COPY" && /deno\.json/.test(i.args) && /deno\.lock/.test(i.args)
  );
  const install = index((i) => i.op === "RUN" && /deno (install|cache)\b.*--frozen/.test(i.args));
  const copySrc = index((i) => i.op === "COPY" && /\bsrc\/?\s/.test(i.args));
  const cacheMain = index((i) => i.op === "RUN" && /deno cache .*src\/main\.ts/.test(i.args));
  assert(
    copyLock >= 0 && install > copyLock,
    "deno.json + deno.lock must be copied, then installed",
  );
  assert(copySrc > install, "src/ must be copied after the dependency layer");
  assert(cacheMain > copySrc, "src/main.ts must be cached at build time");
  const userIndex = index((i) => i.op === "USER");
  assert(
    userIndex < install,
    "dependencies must be cached as the runtime user (DENO_DIR ownership)",
  );
  assertEquals(ins.filter((i) => i.op === "CMD").at(-1)?.args, '["deno", "task", "start"]');
  assert(ins.some((i) => i.op === "EXPOSE" && i.args === "8080"), "EXPOSE 8080");
});

/** The HEALTHCHECK's exec-form command. */
async function healthcheckCommand(): Promise<string[]> {
  const ins = await dockerfileInstructions();
  const hc = ins.filter((i) => i.op === "HEALTHCHECK");
  assertEquals(hc.length, 1, "exactly one HEALTHCHECK");
  const m = /CMD\s+(\[.*\])\s*$/.exec(hc[0]!.args);
  if (!m) throw new Error(`HEALTHCHECK must use the exec form: ${hc[0]!.args}`);
  const cmd = JSON.parse(m[1]!) as string[];
  assertEquals(cmd[0], "deno", "the image has no curl: probe with deno");
  assertMatch(cmd.join(" "), /\/health\/live/);
  return cmd;
}

Deno.test("Dockerfile: the HEALTHCHECK command succeeds on 200 and fails on 503 or no server", async () => {
  const cmd = await healthcheckCommand();
  let status = 200;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) =>
      new URL(req.url).pathname === "/health/live"
        ? new Response("{}", { status })
        : new Response("not found", { status: 404 }),
  );
  const port = String(server.addr.port);
  const probe = () =>
    run(Deno.execPath(), cmd.slice(1), { env: { PORT: port, NO_COLOR: "1" }, cwd: ROOT });
  try {
    assertEquals((await probe()).code, 0, "healthy service must pass");
    status = 503;
    assertEquals((await probe()).code, 1, "503 must fail the health check");
  } finally {
    await server.shutdown();
  }
  assertEquals((await probe()).code, 1, "no server must fail the health check");
});

Deno.test(".dockerignore keeps secrets and noise out but not what the image needs", async () => {
  const patterns = (await readRepoText(FILES.dockerignore)).split("\n").map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  for (const p of [".git", ".env", "node_modules/", "tests/"]) {
    assert(patterns.includes(p), `.dockerignore must exclude ${p}`);
  }
  for (const p of ["src", "src/", "deno.json", "deno.lock", "*.json", "*.lock", "*"]) {
    assert(!patterns.includes(p), `.dockerignore must not exclude ${p}`);
  }
});

/** Jenkinsfile text without Groovy comments. */
async function jenkinsfile(): Promise<string> {
  return (await readRepoText(FILES.jenkinsfile)).split("\n").filter((l) => !/^\s*\/\//.test(l))
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

Deno.test("Jenkinsfile: githubPush trigger and the stages in order", async () => {
  const text = await jenkinsfile();
  const pipeline = block(text, "pipeline").body;
  assertMatch(block(pipeline, "triggers").body, /githubPush\(\)/);
  const stages = [...block(pipeline, "stages").body.matchAll(/stage\('([^']+)'\)/g)].map((m) =>
    m[1]!
  );
  const required = [
    "Checkout",
    "Format, lint, type check",
    "Unit tests",
    "Build image",
    "Deploy (compose)",
    "Health check",
    "Smoke test",
    "Circuit Breaker Test",
  ];
  const positions = required.map((s) => stages.indexOf(s));
  assert(
    positions.every((p) => p >= 0),
    `missing stages: ${required.filter((_, i) => positions[i]! < 0)}`,
  );
  assertEquals(
    [...positions].sort((a, b) => a - b),
    positions,
    `stage order: ${stages.join(" -> ")}`,
  );
  const stageBody = (name: string) =>
    block(pipeline, new RegExp(`stage\\('${name.replace(/[()]/g, "\\$&")}'\\)\\s*\\{`, "g")).body;
  const checks = stageBody("Format, lint, type check");
  for (const c of ["deno fmt --check", "deno lint", "deno task check"]) {
    assert(checks.includes(c), c);
  }
  assert(stageBody("Unit tests").includes("deno task test:unit"));
  assert(stageBody("Build image").includes("docker compose build"));
  assertMatch(stageBody("Deploy (compose)"), /docker compose up -d/);
  assertMatch(stageBody("Health check"), /health\/ready/);
  assertMatch(stageBody("Smoke test"), /tests\/ops\/smoke\.ts/);
  assertMatch(stageBody("Circuit Breaker Test"), /deno task test:breaker/);
});

Deno.test("Jenkinsfile: post always collects logs, archives them and tears the stack down", async () => {
  const text = await jenkinsfile();
  const pipeline = block(text, "pipeline").body;
  const always = block(block(pipeline, "post").body, "always").body;
  const logs = always.search(/docker compose logs[^\n]*>/);
  const archive = always.search(/archiveArtifacts\b/);
  const down = always.search(/docker compose down -v/);
  assert(logs >= 0, "post/always must write docker compose logs to a file");
  assert(archive > logs, "archiveArtifacts after collecting logs");
  assert(down > archive, "docker compose down -v after archiving");
});

Deno.test("Jenkinsfile: every deno task it runs exists in deno.json", async () => {
  const text = await jenkinsfile();
  const tasks = Object.keys(
    (JSON.parse(await readRepoText("deno.json")) as { tasks?: Record<string, unknown> }).tasks ??
      {},
  );
  const used = [...text.matchAll(/deno task ([\w:-]+)/g)].map((m) => m[1]!);
  assert(used.length >= 3, `expected deno tasks in the Jenkinsfile, found ${used}`);
  assertEquals(used.filter((t) => !tasks.includes(t)), [], `tasks in deno.json: ${tasks}`);
});

/** Groovy single-quoted string escapes, as Jenkins hands the script to the shell. */
function groovySingleQuoted(s: string): string {
  return s.replace(
    /\\(\n|.)/g,
    (_, c: string) => c === "\n" ? "" : c === "n" ? "\n" : c === "t" ? "\t" : c,
  );
}

Deno.test("Jenkinsfile: every multi-line sh script is valid POSIX shell", async () => {
  const text = await jenkinsfile();
  const scripts = [...text.matchAll(/sh\s+'''([\s\S]*?)'''/g)].map((m) =>
    groovySingleQuoted(m[1]!)
  );
  assert(scripts.length >= 4, `found ${scripts.length} sh ''' scripts`);
  for (const script of scripts) {
    const r = await run("sh", ["-n"], { stdin: script });
    assertEquals(r.code, 0, `sh -n failed: ${r.stderr}\n${script}`);
  }
  assert(!/sh\s+"""/.test(text), "use sh ''' (no Groovy interpolation) for shell scripts");
});
