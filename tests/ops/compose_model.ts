/** Typed views of docker-compose.yml and .env.example shared by the ops tests. */
import { FILES, readRepoText } from "./paths.ts";
import { parseYaml } from "./yaml.ts";

/** The parts of a compose service the tests look at. */
export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | null> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
  extra_hosts?: string[];
  restart?: string;
  entrypoint?: string[] | string;
}

/** A compose file. */
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** docker-compose.yml, raw text and parsed. */
export async function loadCompose(): Promise<{ text: string; compose: ComposeFile }> {
  const text = await readRepoText(FILES.compose);
  return { text, compose: parseYaml(text) as ComposeFile };
}

/** A service's environment as a map, whichever syntax the file uses. */
export function serviceEnv(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => {
      const i = e.indexOf("=");
      return i < 0 ? [e, ""] : [e.slice(0, i), e.slice(i + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? "" : String(v)]));
}

/** One `${VAR}` reference: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`. */
export interface Interpolation {
  name: string;
  operator: "" | ":-" | "-" | ":?" | "?";
  argument: string;
}

/** Every `${...}` interpolation of a compose file (escaped `$${...}` excluded). */
export function interpolations(text: string): Interpolation[] {
  const out: Interpolation[] = [];
  for (
    const m of text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?)([^}]*))?\}/g)
  ) {
    out.push({
      name: m[1]!,
      operator: (m[2] ?? "") as Interpolation["operator"],
      argument: m[3] ?? "",
    });
  }
  return out;
}

/** The variables `.env.example` assigns (`NAME=value` lines), with their values. */
export function parseEnvFile(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) vars.set(m[1]!, m[2]!.replace(/^"(.*)"$/, "$1"));
  }
  return vars;
}

/** `.env.example` as a map. */
export async function loadEnvExample(): Promise<Map<string, string>> {
  return parseEnvFile(await readRepoText(FILES.envExample));
}

/** Splits an image reference into repository and tag (digest references count as pinned). */
export function imageTag(image: string): { repository: string; tag: string | null } {
  const at = image.indexOf("@");
  if (at >= 0) return { repository: image.slice(0, at), tag: image.slice(at + 1) };
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  if (colon > slash) return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repository: image, tag: null };
}
