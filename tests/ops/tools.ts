/** External tools the ops tests shell out to (promtool, amtool, docker-compose, sh). */
import { ROOT } from "./paths.ts";

/** What a finished command printed and returned. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command from the repository root and collects its output; never throws on exit code. */
export async function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; clearEnv?: boolean; cwd?: string; stdin?: string } = {},
): Promise<RunResult> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: opts.cwd ?? ROOT,
    env: opts.env,
    clearEnv: opts.clearEnv ?? false,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** True when `name` is an executable on PATH. */
export function hasCommand(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/**
 * Test option `ignore` for a test that needs `tool`: skipped on a developer machine without it,
 * but run (and failing with an install hint) under CI=true, so CI cannot silently lose it.
 */
export function missingTool(tool: string): boolean {
  const missing = !hasCommand(tool);
  if (missing && Deno.env.get("CI") !== "true") {
    console.warn(
      `tests/ops: ${tool} not found on PATH; its tests are skipped (they fail under CI=true)`,
    );
    return true;
  }
  return false;
}

/** Throws with an install hint when `tool` is missing (for tests that run under CI regardless). */
export function requireTool(tool: string, aptPackage: string): void {
  if (!hasCommand(tool)) {
    throw new Error(
      `${tool} is not installed: apt-get install -y --no-install-recommends ${aptPackage}`,
    );
  }
}

/** Fails with the command's output when it did not exit 0. */
export function assertSucceeded(r: RunResult, what: string): void {
  if (r.code !== 0) {
    throw new Error(`${what} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
}
