/**
 * One way to drive the compose stack from scripts and tests, with `docker compose` (v2) or
 * `docker-compose` (v1, 1.29). v1 lacks `ps --status`, `ps --format` and `up --wait`, so
 * container states come from `docker inspect` of the ids `ps -q` prints, in both versions.
 */
import { run, sleep } from "../lib/util.ts";

/** The compose command, e.g. ["docker", "compose"] or ["docker-compose"]. */
export type ComposeCmd = string[];

/** Result of one command: exit code, combined output, stdout alone. */
export type RunResult = Awaited<ReturnType<typeof run>>;

/** True when a Docker engine answers within 15 s. */
export async function dockerEngine(): Promise<boolean> {
  return (await run("timeout", ["15", "docker", "info"]).catch(() => ({ code: 1 }))).code === 0;
}

/** The compose command (plugin preferred), or null when neither is installed. */
export async function findCompose(): Promise<ComposeCmd | null> {
  const v2 = await run("docker", ["compose", "version"]).catch(() => ({ code: 1, stdout: "" }));
  if (v2.code === 0) return ["docker", "compose"];
  const v1 = await run("docker-compose", ["version", "--short"]).catch(() => ({ code: 1 }));
  return v1.code === 0 ? ["docker-compose"] : null;
}

/** Runs one compose subcommand (never throws for a non-zero exit). */
export async function dc(cmd: ComposeCmd, ...args: string[]): Promise<RunResult> {
  return await run(cmd[0]!, [...cmd.slice(1), ...args]);
}

/** Runs one compose subcommand and throws with its output when it fails. */
export async function dcOk(cmd: ComposeCmd, ...args: string[]): Promise<string> {
  const r = await dc(cmd, ...args);
  if (r.code !== 0) throw new Error(`${[...cmd, ...args].join(" ")} failed:\n${r.out.trim()}`);
  return r.stdout;
}

/** Ids of the service's containers, stopped ones included. */
export async function containerIds(cmd: ComposeCmd, svc: string): Promise<string[]> {
  // v2 lists only running containers without -a; v1 lists all and has no -a.
  const args = cmd.length === 2 ? ["ps", "-a", "-q", svc] : ["ps", "-q", svc];
  return (await dc(cmd, ...args)).stdout.split("\n").map((s) => s.trim()).filter(Boolean);
}

/** What `docker inspect` says of one container. */
export interface ContainerState {
  id: string;
  /** created, running, paused, restarting, exited, dead */
  status: string;
  /** healthy, unhealthy, starting, or "" without a health check */
  health: string;
}

/** The state of each given container (missing ones are left out). */
export async function inspect(ids: string[]): Promise<ContainerState[]> {
  if (ids.length === 0) return [];
  const fmt = "{{.Id}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}";
  const r = await run("docker", ["inspect", "-f", fmt, ...ids]);
  return r.stdout.split("\n").filter((l) => l.trim()).map((l) => {
    const [id = "", status = "", health = ""] = l.trim().split(" ");
    return { id, status, health };
  });
}

/** The states of the service's containers. */
export async function serviceStates(cmd: ComposeCmd, svc: string): Promise<ContainerState[]> {
  return await inspect(await containerIds(cmd, svc));
}

/** True when the service has a running container. */
export async function serviceRunning(cmd: ComposeCmd, svc: string): Promise<boolean> {
  return (await serviceStates(cmd, svc)).some((s) => s.status === "running");
}

/** Ready: running, and healthy when the image or service has a health check. */
export function ready(s: ContainerState): boolean {
  return s.status === "running" && (s.health === "" || s.health === "healthy");
}

/**
 * Waits until every container of each service is ready, or throws naming those that are not.
 * Docker 20.10 reports a just-unpaused container unhealthy until its next probe, so callers that
 * bring a service back wait here instead of assuming it.
 */
export async function waitReady(
  cmd: ComposeCmd,
  services: string[],
  timeoutMs: number,
  onWait?: (pending: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = "";
  while (true) {
    const waiting: string[] = [];
    for (const svc of services) {
      const states = await serviceStates(cmd, svc);
      const bad = states.filter((s) => !ready(s));
      if (states.length === 0) waiting.push(`${svc} (no container)`);
      else if (bad.length) waiting.push(`${svc} (${bad.map((s) => s.health || s.status)})`);
    }
    if (waiting.length === 0) return;
    const now = waiting.join(", ");
    if (now !== pending && onWait) onWait(now);
    pending = now;
    if (Date.now() >= deadline) {
      throw new Error(`not ready after ${Math.round(timeoutMs / 1000)} s: ${now}`);
    }
    await sleep(1000);
  }
}

/** The host address of a published port of one replica (index from 1), e.g. 127.0.0.1:18080. */
export async function publishedPort(
  cmd: ComposeCmd,
  svc: string,
  port: number,
  index = 1,
): Promise<string> {
  const out = (await dc(cmd, "port", "--index", String(index), svc, String(port))).stdout;
  const addr = out.split("\n")[0]!.trim().replace("0.0.0.0", "127.0.0.1");
  if (!addr) throw new Error(`${svc} #${index} publishes no port ${port}`);
  return addr;
}

/** A service of docker-compose.yml as `up` sees it. */
export interface ComposeService {
  name: string;
  /** The image, or null for a service built from the Dockerfile. */
  image: string | null;
  /** Started by a plain `up` (no profile). */
  byDefault: boolean;
}

/** The services of docker-compose.yml, in file order. */
export async function composeServices(root: string): Promise<ComposeService[]> {
  const { parse } = await import("@std/yaml");
  const doc = parse(await Deno.readTextFile(`${root}/docker-compose.yml`)) as {
    services: Record<string, { profiles?: string[]; image?: string; build?: unknown }>;
  };
  return Object.entries(doc.services).map(([name, s]) => ({
    name,
    image: s.build ? null : s.image ?? null,
    byDefault: !s.profiles?.length,
  }));
}

/** True when the image (tag) is in the local engine. */
export async function imagePresent(image: string): Promise<boolean> {
  return (await run("docker", ["image", "inspect", image])).code === 0;
}

/**
 * Starts `services` (building the service image when needed) and waits for all to be ready;
 * `scale` sets replica counts (`--scale svc=n`).
 */
export async function upAndWait(
  cmd: ComposeCmd,
  services: string[],
  opts: { timeoutMs?: number; scale?: Record<string, number>; log?: (s: string) => void } = {},
): Promise<void> {
  const scale = Object.entries(opts.scale ?? {}).flatMap(([s, n]) => ["--scale", `${s}=${n}`]);
  await dcOk(cmd, "up", "-d", "--build", ...scale, ...services);
  await waitReady(cmd, services, opts.timeoutMs ?? 240_000, (p) => opts.log?.(`waiting: ${p}`));
}

/** `${VAR:-default}` / `${VAR}` in a compose value, resolved against `env` as compose does. */
export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\{(\w+)(?::?[-?]([^}]*))?\}/g, (_m, name: string, def?: string) => {
    const v = env[name];
    return v !== undefined && v !== "" ? v : def ?? "";
  });
}

/** Random hex for generated secrets. */
export function randomSecret(bytes = 16): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}
