/**
 * Open-loop load at a fixed rate, for the drain phase of the client bench (wrk only drives as
 * fast as it can): request i is due at start + i / rate, and its latency is counted from when it
 * was due, so a stalled server is not hidden by requests that were never sent (coordinated
 * omission). Each request is a new payment without an eventId, as clients send. Prints one line:
 * `PACED_JSON {...}`.
 *
 *   deno run -A scripts/bench/paced_load.ts <url> --rate <req/s> --seconds <s> [--nonce <n>]
 */
import { parseArgs } from "@std/cli/parse-args";

const args = parseArgs(Deno.args, { string: ["rate", "seconds", "nonce"] });
const url = String(args._[0] ?? "");
const rate = Number(args.rate ?? 1000);
const seconds = Number(args.seconds ?? 10);
const nonce = String(args.nonce ?? Date.now());
if (!url.startsWith("http") || !(rate > 0) || !(seconds > 0)) {
  console.error("usage: paced_load.ts <url> --rate <req/s> --seconds <s> [--nonce <n>]");
  Deno.exit(2);
}
/** Requests outstanding at most; one due past this is counted as dropped (the server is stuck). */
const MAX_OUTSTANDING = 2048;

const latencies: number[] = [];
const statuses: Record<string, number> = {};
let outstanding = 0;
let dropped = 0;
const total = Math.round(rate * seconds);
const start = performance.now();

async function send(i: number, due: number): Promise<void> {
  outstanding++;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        paymentId: `paced-${nonce}-${i}`,
        merchantId: "m-1",
        type: "PAYMENT_CREATED",
        amount: 100 + i,
        currency: "EUR",
        occurredAt: "2026-11-25T10:00:00Z",
      }),
    });
    await res.body?.cancel();
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  } catch {
    statuses.error = (statuses.error ?? 0) + 1;
  } finally {
    outstanding--;
    latencies.push(performance.now() - due);
  }
}

// SIGINT ends the load early: what was sent is awaited and reported.
let stopped = false;
Deno.addSignalListener("SIGINT", () => (stopped = true));
const pending: Promise<void>[] = [];
for (let i = 0; i < total && !stopped; i++) {
  const due = start + i * 1000 / rate;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  if (stopped) break;
  if (outstanding >= MAX_OUTSTANDING) {
    dropped++;
    continue;
  }
  pending.push(send(i, due));
}
await Promise.all(pending);
const elapsed = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
console.log(
  "PACED_JSON " + JSON.stringify({
    sent: latencies.length,
    dropped,
    seconds: elapsed,
    requestsPerSecond: latencies.length / elapsed,
    statuses,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    maxMs: latencies[latencies.length - 1] ?? NaN,
  }),
);
