/**
 * The scenario's HTTP client: in local mode a fetch from here; in compose mode the request runs
 * inside the service container (one `deno eval` loop there for all requests), so the measured
 * time excludes `docker exec`.
 */

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

/**
 * The in-container side of `composeHttp`: one JSON request per stdin line (`{id, method, url,
 * body, token}`), one JSON answer per stdout line (`{id, status, ms, body}`), requests served
 * concurrently; it ends when stdin closes.
 */
const LOOP_JS = `
const answer = (o) => console.log(JSON.stringify(o));
async function serve({ id, method, url, body, token }) {
  const headers = {};
  if (body) headers["content-type"] = "application/json";
  if (token) headers.authorization = \`Bearer \${token}\`;
  const t0 = performance.now();
  try {
    const r = await fetch(url, { method, headers, body: body || undefined, signal: AbortSignal.timeout(30000) });
    const text = await r.text();
    answer({ id, status: String(r.status), ms: Math.round(performance.now() - t0), body: text });
  } catch {
    answer({ id, status: "000", ms: Math.round(performance.now() - t0), body: "" });
  }
}
let buf = "";
const dec = new TextDecoder();
for await (const chunk of Deno.stdin.readable) {
  buf += dec.decode(chunk, { stream: true });
  let nl;
  while ((nl = buf.indexOf("\\n")) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    if (line.trim()) serve(JSON.parse(line));
  }
}`;

/** Longest the host waits for an answer from the container (its own fetch gives up at 30 s). */
const COMPOSE_ANSWER_TIMEOUT_MS = 35_000;

/** An Http whose requests run in a helper process that `close()` ends. */
export interface ClosableHttp extends Http {
  close(): Promise<void>;
}

/**
 * Requests from inside the compose service `svc` (`compose` is the compose command), through one
 * long-lived `exec` running a small Deno loop there (LOOP_JS), started on the first request and
 * again after it ends. Why one exec for all: an exec per request costs 0.5-1 s of compose and
 * Deno start-up on this box, and step 4's requests, sent one after another, paced the stalled
 * publishes that trip the breaker by that much more than the inline budget (OPEN 13-15 s after
 * the pause instead of about 9 s). The time is measured in the container, as before.
 */
export function composeHttp(compose: string[], svc: string, base: string): ClosableHttp {
  let child: Deno.ChildProcess | null = null;
  let writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  let nextId = 1;
  const waiting = new Map<number, (a: Answer) => void>();
  const enc = new TextEncoder();

  const start = () => {
    const p = new Deno.Command(compose[0]!, {
      args: [...compose.slice(1), "exec", "-T", svc, "deno", "eval", "-q", "--no-lock", LOOP_JS],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    child = p;
    writer = p.stdin.getWriter();
    (async () => {
      let buf = "";
      const dec = new TextDecoder();
      for await (const chunk of p.stdout) {
        buf += dec.decode(chunk, { stream: true });
        for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let a: Answer & { id: number };
          try {
            a = JSON.parse(line);
          } catch {
            continue; // not an answer (a warning of the runtime, say)
          }
          waiting.get(a.id)?.({ status: a.status, ms: a.ms, body: a.body });
          waiting.delete(a.id);
        }
      }
    })().catch(() => {}).finally(async () => {
      await p.status.catch(() => {});
      if (child === p) {
        child = null;
        writer = null;
      }
      // Requests the loop had not answered get no answer (status 000).
      for (const done of waiting.values()) done({ status: "000", ms: 0, body: "" });
      waiting.clear();
    });
  };

  const http: Http = async (method, path, body, token) => {
    if (!child) start();
    const id = nextId++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answered = new Promise<Answer>((resolve) => {
      waiting.set(id, resolve);
      timer = setTimeout(() => {
        waiting.delete(id);
        resolve({ status: "000", ms: COMPOSE_ANSWER_TIMEOUT_MS, body: "" });
      }, COMPOSE_ANSWER_TIMEOUT_MS);
    });
    const line = JSON.stringify({ id, method, url: `${base}${path}`, body: body ?? "", token });
    try {
      await writer!.write(enc.encode(`${line}\n`));
    } catch {
      waiting.delete(id);
      clearTimeout(timer);
      return { status: "000", ms: 0, body: "" };
    }
    return await answered.finally(() => clearTimeout(timer));
  };

  return Object.assign(http, {
    async close() {
      const p = child;
      if (!p) return;
      await writer?.close().catch(() => {});
      child = null;
      writer = null;
      // The loop ends when its stdin closes; a kill only if it does not within 5 s.
      const timer = setTimeout(() => {
        try {
          p.kill("SIGTERM");
        } catch { /* already gone */ }
      }, 5_000);
      await p.status.catch(() => {});
      clearTimeout(timer);
    },
  });
}
