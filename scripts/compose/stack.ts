/**
 * `deno task compose:up [service ...]` and `deno task compose:down [--volumes]`.
 *
 * up: writes .env from .env.example with random secrets when there is none, makes the images
 * available (scripts/compose/images.sh: present, pulled, or built here), starts the services
 * (all but profiles by default; those whose image cannot be had are skipped, saying so) and
 * waits until every container is running and healthy. Works with compose v1 and v2.
 * down: stops and removes the stack; --volumes also deletes its data (outbox, Kafka log).
 */
import { parseArgs } from "@std/cli/parse-args";
import { ROOT } from "../lib/util.ts";
import {
  composeServices,
  dc,
  dcOk,
  dockerEngine,
  findCompose,
  imagePresent,
  interpolate,
  publishedPort,
  randomSecret,
  upAndWait,
} from "./compose.ts";

const SECRETS = ["POSTGRES_PASSWORD", "ADMIN_TOKEN", "GRAFANA_ADMIN_PASSWORD"];

function die(msg: string, code = 1): never {
  console.error(`compose: ${msg}`);
  Deno.exit(code);
}

/** .env.example with every secret replaced by a random value. */
export function envWithSecrets(example: string): string {
  return example.split("\n").map((line) => {
    const name = line.match(/^([A-Z_][A-Z0-9_]*)=/)?.[1];
    return name && SECRETS.includes(name) ? `${name}=${randomSecret()}` : line;
  }).join("\n");
}

/** Parses KEY=VALUE lines (comments and blanks skipped). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = line.match(/^([A-Z_][A-Z0-9_]*)=(.*)$/);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

async function ensureEnv(): Promise<Record<string, string>> {
  const path = `${ROOT}.env`;
  try {
    return parseEnvFile(await Deno.readTextFile(path));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const text = envWithSecrets(await Deno.readTextFile(`${ROOT}.env.example`));
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  console.log("compose: wrote .env from .env.example with random secrets (keep it private)");
  return parseEnvFile(text);
}

async function up(services: string[], pull: boolean): Promise<void> {
  const cmd = await findCompose() ?? die("needs docker compose (plugin) or docker-compose", 2);
  if (!await dockerEngine()) die("no Docker engine answers (start dockerd, or set DOCKER_HOST)", 2);
  const fileEnv = await ensureEnv();
  const images = ["bash", `${ROOT}scripts/compose/images.sh`, ...(pull ? [] : ["--no-pull"])];
  const built = await new Deno.Command(images[0]!, { args: images.slice(1) }).spawn().status;
  if (!built.success) die("the images could not be made available (see above)");
  // The shell's variables win over .env, as in compose itself.
  const env = { ...fileEnv, ...Deno.env.toObject() };
  const all = await composeServices(ROOT);
  const wanted = services.length ? services : all.filter((s) => s.byDefault).map((s) => s.name);
  const start: string[] = [];
  for (const svc of wanted) {
    const image = all.find((s) => s.name === svc)?.image;
    if (image === undefined) die(`no service "${svc}" in docker-compose.yml`, 2);
    if (
      image && !image.startsWith("payment-ingest:") && !await imagePresent(interpolate(image, env))
    ) {
      console.log(`compose: skipping ${svc}: image ${image} is not available here (no registry)`);
      continue;
    }
    start.push(svc);
  }
  console.log(`compose: starting ${start.join(", ")}`);
  await upAndWait(cmd, start, { log: (s) => console.log(`compose: ${s}`) });
  const port = await publishedPort(cmd, "payment-ingest", 8080).catch(() => "");
  console.log(`compose: ready${port ? `; payment-ingest at http://${port}` : ""}`);
  console.log((await dc(cmd, "ps")).stdout.trimEnd());
}

async function down(volumes: boolean): Promise<void> {
  const cmd = await findCompose() ?? die("needs docker compose (plugin) or docker-compose", 2);
  await dcOk(cmd, "down", "--remove-orphans", ...(volumes ? ["-v"] : []));
  console.log(`compose: stack removed${volumes ? " with its volumes" : " (volumes kept)"}`);
}

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    boolean: ["help", "volumes", "no-pull"],
    unknown: (a: string) => a.startsWith("-") ? die(`unknown option "${a}" (see --help)`, 2) : true,
  });
  const [verb, ...services] = args._.map(String);
  if (args.help || !verb) {
    console.log("usage: deno task compose:up [--no-pull] [service ...]");
    console.log("       deno task compose:down [--volumes]");
    Deno.exit(args.help ? 0 : 2);
  }
  try {
    if (verb === "up") await up(services, !args["no-pull"]);
    else if (verb === "down") await down(args.volumes);
    else die(`unknown command "${verb}" (up or down)`, 2);
  } catch (e) {
    die((e as Error).message);
  }
}
