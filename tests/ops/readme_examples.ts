/**
 * The README's shell examples, taken as written: the command lines of its ```sh blocks (with
 * their continuation lines joined) that address a given host port, run in README order by bash
 * against a running setup, with only that port swapped for the setup's own. Every curl fails on
 * an HTTP error (a .curlrc with `fail-with-body`), so an example that answers 4xx or 5xx fails.
 * The local setup (:8080) is run by tests/integration/readme_examples_test.ts, the compose stack
 * (:18080, Prometheus :9090) by the compose suite (tests/compose/cases.ts).
 */
import { ROOT } from "../../scripts/lib/util.ts";

/** Every command line of the README's sh blocks, continuation lines joined, comments kept. */
export async function readmeCommands(): Promise<string[]> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const out: string[] = [];
  for (const block of readme.matchAll(/^```(?:sh|bash)\n([\s\S]*?)^```/gm)) {
    const joined = block[1]!.replace(/\\\n\s*/g, "");
    for (const line of joined.split("\n")) if (line.trim() !== "") out.push(line.trim());
  }
  return out;
}

/** The README's commands that address one of `ports` (as `localhost:PORT`). */
export async function examplesFor(ports: readonly number[]): Promise<string[]> {
  const commands = await readmeCommands();
  return commands.filter((c) => ports.some((p) => c.includes(`localhost:${p}`)));
}

/** What running one example gave. */
export interface ExampleRun {
  command: string;
  code: number;
  output: string;
}

/**
 * Runs `commands` one by one, `localhost:FROM` swapped for `localhost:TO` per `ports`, in the
 * repository root with `env` over ours; stops at the first failure.
 */
export async function runExamples(
  commands: readonly string[],
  ports: Readonly<Record<number, number>>,
  env: Record<string, string>,
): Promise<ExampleRun[]> {
  const curlHome = await Deno.makeTempDir({ prefix: "readme-curl-" });
  await Deno.writeTextFile(`${curlHome}/.curlrc`, "fail-with-body\nmax-time = 30\n");
  const runs: ExampleRun[] = [];
  try {
    for (const command of commands) {
      let cmd = command;
      for (const [from, to] of Object.entries(ports)) {
        cmd = cmd.replaceAll(`localhost:${from}`, `localhost:${to}`);
      }
      const out = await new Deno.Command("bash", {
        args: ["-o", "pipefail", "-c", cmd],
        cwd: ROOT,
        env: { CURL_HOME: curlHome, ...env },
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const dec = new TextDecoder();
      runs.push({
        command,
        code: out.code,
        output: (dec.decode(out.stdout) + dec.decode(out.stderr)).slice(0, 2000),
      });
      if (out.code !== 0) break;
    }
  } finally {
    await Deno.remove(curlHome, { recursive: true });
  }
  return runs;
}
