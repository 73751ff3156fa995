/** Watching the service during a benchmark phase: its memory, its answers, its outbox. */

/** Peak resident memory of a process, sampled every 200 ms while `during` runs. */
export async function withRss<T>(
  pid: number,
  during: () => Promise<T>,
): Promise<[T, number, number[]]> {
  const samples: number[] = [];
  const read = () => {
    try {
      const status = Deno.readTextFileSync(`/proc/${pid}/status`);
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      samples.push(kb / 1024);
    } catch { /* process gone */ }
  };
  read();
  const timer = setInterval(read, 200);
  try {
    const result = await during();
    read();
    return [result, Math.max(...samples), samples];
  } finally {
    clearInterval(timer);
  }
}

/** Answers by status code of one route so far, from the service's own http_requests_total. */
export async function statusCounts(base: string, route: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out: Record<string, number> = {};
  const re = new RegExp(
    `^http_requests_total\\{method="POST",route="${
      route.replaceAll("/", "\\/")
    }",status="(\\d+)"\\} (\\d+)`,
    "gm",
  );
  for (const m of text.matchAll(re)) out[m[1]!] = Number(m[2]);
  return out;
}

/** What each count grew by between two readings (only those that grew). */
export function diff(after: Record<string, number>, before: Record<string, number>) {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

/** GETs a JSON document. */
export async function json(url: string): Promise<Record<string, unknown>> {
  return await (await fetch(url)).json();
}

/** Polls `probe` until it holds, pausing `pauseMs()` between polls; throws after `timeoutMs`. */
export async function until(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  pauseMs: () => number = () => 100,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pauseMs()));
  }
}
