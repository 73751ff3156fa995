/**
 * The README's way in, taken as a user takes it: Deno installed by the README's npm command (under
 * an npm configured to run no install scripts, as hardened set-ups are), `deno task start` from the
 * repository root with a DATA_DIR of the user's choosing and a broker to connect to, then SIGTERM
 * to the very process the user started. Also: a `deno run` whose flags do not cover DATA_DIR says
 * in one line which flag to add.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { relative } from "node:path";
import { type ServiceProc, spawnService } from "../../scripts/lib/service_process.ts";
import { ROOT } from "../../scripts/lib/util.ts";
import {
  KAFKA_BROKERS,
  paymentEvent,
  postPayment,
  REAL_IO,
  uniqueName,
  waitFor,
} from "./helpers.ts";

/** The README's command that installs Deno from npm, as written there. */
async function readmeInstallCommand(): Promise<string> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const m = /`(npm install -g [^`]*deno@[0-9.]+)`/.exec(readme);
  if (!m) throw new Error("README names no `npm install -g ... deno@<version>` command");
  return m[1]!;
}

/** Runs the README's install command into `prefix`, with npm's install scripts disabled. */
async function installDenoAsReadmeSays(prefix: string): Promise<string> {
  const cmd = `${await readmeInstallCommand()} --prefix ${prefix} --no-audit --no-fund`;
  const out = await new Deno.Command("bash", {
    args: ["-c", cmd],
    env: { npm_config_ignore_scripts: "true" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert(out.success, `${cmd} failed:\n${dec.decode(out.stdout)}${dec.decode(out.stderr)}`);
  return `${prefix}/bin/deno`;
}

const NEGATIVE_TIMER = "TimeoutNegativeWarning";

Deno.test({
  name:
    "start task as the README says: npm-installed Deno, a relative DATA_DIR of one's own, Kafka connected without a negative-timer warning, SIGTERM to the launcher drains the service",
  ...REAL_IO,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "start-task-" });
    const launcher = await installDenoAsReadmeSays(`${tmp}/npm`);
    // A DATA_DIR other than ./data, written relative to the repository root as a user would.
    const dataDir = relative(ROOT, `${tmp}/instance-2`);
    let svc: ServiceProc | null = null;
    try {
      // setsid: the launcher leads its own process group, so the finally below can remove
      // whatever it left behind even when the test fails.
      svc = await spawnService({
        name: "start-task",
        command: ["setsid", launcher, "task", "start"],
        env: {
          PATH: `${tmp}/npm/bin:${Deno.env.get("PATH") ?? ""}`,
          PORT: "0",
          DATA_DIR: dataDir,
          KAFKA_BROKERS,
          KAFKA_TOPIC: uniqueName("start_task"),
        },
        startTimeoutMs: 120_000,
      });
      const startLine = svc.lines.find((l) => l.includes("payment-ingest on")) ?? "";
      assertStringIncludes(startLine, `embedded Postgres (PGlite) in ${dataDir}/outbox`);

      const connected = await waitFor(
        () => Promise.resolve(svc!.lines.some((l) => l.includes("kafka producer connected"))),
        30_000,
      );
      assert(connected, `no "kafka producer connected" line:\n${svc.lines.join("\n")}`);
      const posted = await postPayment(svc.base, paymentEvent());
      assert([201, 202].includes(posted.status), JSON.stringify(posted.body));
      const published = await waitFor(async () => {
        const outbox = await (await fetch(`${svc!.base}/outbox`)).json();
        return outbox.pending === 0;
      }, 30_000);
      assert(published, "the event was not published within 30 s");
      assertEquals(svc.lines.filter((l) => l.includes(NEGATIVE_TIMER)), []);

      svc.signal("SIGTERM");
      const exited = await Promise.race([
        svc.exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 30_000)),
      ]);
      const log = svc.lines.join("\n");
      assert(exited, `the launcher did not exit within 30 s of SIGTERM:\n${log}`);
      assertMatch(log, /"msg":"shutting down","signal":"SIGTERM"/);
      assertMatch(log, /"msg":"service stopped"/);
      assertEquals(svc.exitStatus?.code, 0, log);
      assertEquals(svc.lines.filter((l) => l.includes(NEGATIVE_TIMER)), []);
    } finally {
      if (svc) {
        try {
          Deno.kill(-svc.pid, "SIGKILL");
        } catch { /* the group is gone: nothing was left behind */ }
        await svc.exited;
      }
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "a deno run whose --allow-write does not cover DATA_DIR stops at once with one line naming the flag to add",
  ...REAL_IO,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "not-granted-" });
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          "--allow-env",
          "--allow-read",
          "--allow-write=./data",
          "--allow-sys",
          "src/main.ts",
        ],
        cwd: ROOT,
        clearEnv: true,
        env: {
          PATH: Deno.env.get("PATH") ?? "",
          HOME: Deno.env.get("HOME") ?? "",
          ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
          PORT: "0",
          HOST: "127.0.0.1",
          DATA_DIR: dataDir,
          KAFKA_BROKERS,
        },
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const out = await child;
      const dec = new TextDecoder();
      const text = dec.decode(out.stdout) + dec.decode(out.stderr);
      assertEquals(out.code, 1, text);
      const errors = text.split("\n").filter((l) => l.includes('"level":"error"'));
      assertEquals(errors.length, 1, text);
      assertStringIncludes(errors[0]!, `--allow-write=${dataDir}`);
    } finally {
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
