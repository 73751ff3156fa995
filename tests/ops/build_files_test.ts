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
  // The dependency layer installs deno.json's imports as deno.lock pins them (production only).
  const install = index((i) => i.op === "RUN" && /^deno install --frozen$/.test(i.args));
  const copySrc = index((i) => i.op === "COPY" && /\bsrc\/?\s/.test(i.args));
  const cacheMain = index((i) =>
    i.op === "RUN" && /deno cache --frozen .*src\/main\.ts/.test(i.args)
  );
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
  // Deno is PID 1 (no `deno task` shell), so SIGTERM reaches the service; compose_images_test.ts
  // checks the permissions equal the start task's.
  assertMatch(ins.filter((i) => i.op === "CMD").at(-1)?.args ?? "", /^\["deno", "run", /);
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
