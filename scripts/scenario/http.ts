/**
 * The scenario's HTTP client: in local mode a fetch from here; in compose mode the request runs
 * inside the service container (curl, or `deno eval` when the image has no curl), so the measured
 * time excludes `docker exec`.
 */
import { run } from "../lib/util.ts";

/** One answer: status "000" when none came, the time in ms and the body text. */
export interface Answer {
  status: string;
  ms: number;
  body: string;
}

/** Sends one request to the service. */
export type Http = (method: string, path: string, body?: string, token?: string) => Promise<Answer>;

/** True for an answer that came (any status but 000). */
export function answered(a: Answer): boolean {
  return a.status !== "000";
}

/** Requests from this process to `base`. */
export function localHttp(base: string): Http {
  return async (method, path, body, token) => {
    const headers: Record<string, string> = {};
    if (body) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    const t0 = performance.now();
    try {
      const r = await fetch(`${base}${path}`, {
        method,
        headers,
        body: body || undefined,
        signal: AbortSignal.timeout(30_000),
      });
      const text = await r.text();
      return { status: String(r.status), ms: Math.round(performance.now() - t0), body: text };
    } catch {
      return { status: "000", ms: Math.round(performance.now() - t0), body: "" };
    }
  };
}

const FETCH_JS = `
const [method, url, body, token] = Deno.args;
const headers = {};
if (body) headers["content-type"] = "application/json";
if (token) headers.authorization = \`Bearer \${token}\`;
const t0 = performance.now();
try {
  const r = await fetch(url, { method, headers, body: body || undefined, signal: AbortSignal.timeout(30000) });
  const text = await r.text();
  console.log(\`\${text}\\n\${r.status} \${((performance.now() - t0) / 1000).toFixed(6)}\`);
} catch { console.log(\`\\n000 \${((performance.now() - t0) / 1000).toFixed(6)}\`); }`;

/** Requests from inside the compose service `svc` (`compose` is the compose command). */
export function composeHttp(
  compose: string[],
  svc: string,
  base: string,
  containerCurl: boolean,
): Http {
  return async (method, path, body, token) => {
    let args: string[];
    if (containerCurl) {
      args = ["exec", "-T", svc, "curl", "-sS", "-X", method, "--max-time", "30"];
      args.push("-w", "\n%{http_code} %{time_total}");
      if (body) args.push("-H", "content-type: application/json", "--data-binary", body);
      if (token) args.push("-H", `authorization: Bearer ${token}`);
      args.push(`${base}${path}`);
    } else {
      args = ["exec", "-T", svc, "deno", "eval", "-q", "--no-lock", FETCH_JS, method];
      args.push(`${base}${path}`, body ?? "", token ?? "");
    }
    const r = await run(compose[0]!, [...compose.slice(1), ...args]);
    return parseTimed(r.stdout.replace(/\n$/, ""));
  };
}

/** Splits `body\nSTATUS SECONDS` as curl's -w and the eval script print it. */
function parseTimed(out: string): Answer {
  const nl = out.lastIndexOf("\n");
  const last = nl >= 0 ? out.slice(nl + 1) : out;
  const body = nl >= 0 ? out.slice(0, nl) : "";
  const [code = "", seconds = "0"] = last.split(" ");
  return {
    status: /^[0-9]{3}$/.test(code) ? code : "000",
    ms: Math.round(Number(seconds) * 1000) || 0,
    body,
  };
}
