/**
 * Bounded ingest load: a fixed set of payment ids, each owned by exactly one client that sends
 * its events one after the other, so "acceptance order" (the order of 2xx answers per payment
 * id) is well defined. Bounded in events, in rate and in time.
 */
import { sleep } from "./util.ts";
import { errorMessage } from "../../src/error_message.ts";

/** One HTTP attempt. */
export interface Attempt {
  eventId: string;
  paymentId: string;
  /** HTTP status; 0 for a network error (refused, reset, timeout). */
  status: number;
  error: string | null;
  retryAfter: string | null;
  /** Epoch ms. */
  start: number;
  end: number;
  target: string;
  /** 1 for the first try of an event. */
  attempt: number;
}

/** What the clients sent and what was acknowledged. */
export interface LoadResult {
  attempts: Attempt[];
  /** Distinct events sent at least once. */
  sent: number;
  /** Acknowledged (2xx) event ids with their payment id. */
  acked: Map<string, string>;
  /** Per payment id, event ids in the order their 2xx answers came. */
  ackOrder: Map<string, string[]>;
  /** Events never acknowledged: the last outcome of each. */
  unacked: Attempt[];
  durationMs: number;
}

/** Options of `runLoad`. */
export interface LoadOptions {
  /** Current targets (base URLs); asked before every attempt, so a case can drop one. */
  targets: () => string[];
  clients?: number;
  keys?: number;
  eventsPerKey?: number;
  durationMs?: number;
  /** Requests per second per client (attempts, retries included). */
  ratePerClient?: number;
  /** Payment ids are `${keyPrefix}-${n}`. */
  keyPrefix: string;
  /**
   * Whether to try an event again after a 503 or a network error (`tries` so far). Default:
   * retry up to 30 times. Returning false abandons the event and moves to the next one.
   */
  retry?: (eventIndex: number, tries: number, last: Attempt) => boolean;
  /** Longest a single request may take before it is abandoned as a network error. */
  requestTimeoutMs?: number;
  /** Stop retrying this long after the load window closed. */
  retryGraceMs?: number;
  /** Called with every attempt as it completes. */
  onAttempt?: (a: Attempt) => void;
  signal?: AbortSignal;
}

const TYPES = [
  "PAYMENT_CREATED",
  "PAYMENT_AUTHORIZED",
  "PAYMENT_CAPTURED",
  "PAYMENT_SETTLED",
  "PAYMENT_REFUNDED",
];

/** A valid event body: the `index`-th event of `paymentId`, its type cycling through a lifecycle. */
export function eventBody(
  paymentId: string,
  index: number,
  eventId: string,
  opts: { merchantId?: string; metadata?: Record<string, unknown> } = {},
): string {
  return JSON.stringify({
    eventId,
    paymentId,
    merchantId: opts.merchantId ?? "merchant-faults",
    type: TYPES[index % TYPES.length],
    amount: 1000 + index,
    currency: "EUR",
    occurredAt: new Date().toISOString(),
    metadata: opts.metadata ?? { index },
  });
}

/** POSTs one event; a network error or timeout is status 0. */
export async function postEvent(
  target: string,
  body: string,
  timeoutMs: number,
): Promise<{ status: number; error: string | null; retryAfter: string | null }> {
  try {
    const res = await fetch(`${target}/payments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return { status: res.status, error: null, retryAfter: res.headers.get("retry-after") };
  } catch (e) {
    return { status: 0, error: errorMessage(e), retryAfter: null };
  }
}

/** Runs the load and resolves when every client is done. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const clients = opts.clients ?? 4;
  const keys = opts.keys ?? 50;
  const eventsPerKey = opts.eventsPerKey ?? 20;
  const durationMs = opts.durationMs ?? 10_000;
  const rate = opts.ratePerClient ?? 25;
  const timeoutMs = opts.requestTimeoutMs ?? 10_000;
  const retry = opts.retry ?? ((_i, tries) => tries < 30);
  const graceMs = opts.retryGraceMs ?? 20_000;
  const t0 = Date.now();
  const stopAt = t0 + durationMs;
  const attempts: Attempt[] = [];
  const acked = new Map<string, string>();
  const ackOrder = new Map<string, string[]>();
  const unacked: Attempt[] = [];
  let sent = 0;

  async function client(c: number): Promise<void> {
    const mine = Array.from({ length: keys }, (_, k) => k).filter((k) => k % clients === c);
    const next = new Map(mine.map((k) => [k, 0]));
    let n = 0;
    let slot = Date.now();
    const pace = async () => {
      slot += 1000 / rate;
      const wait = slot - Date.now();
      if (wait > 0) await sleep(wait);
      else slot = Date.now();
    };
    while (Date.now() < stopAt && !opts.signal?.aborted) {
      const open = mine.filter((k) => next.get(k)! < eventsPerKey);
      if (open.length === 0) return;
      const k = open[n++ % open.length]!;
      const index = next.get(k)!;
      next.set(k, index + 1);
      const paymentId = `${opts.keyPrefix}-${k}`;
      const eventId = crypto.randomUUID();
      const body = eventBody(paymentId, index, eventId);
      sent++;
      for (let tries = 1;; tries++) {
        await pace();
        const targets = opts.targets();
        if (targets.length === 0) {
          await sleep(100);
          continue;
        }
        const target = targets[(c + tries + n) % targets.length]!;
        const start = Date.now();
        const r = await postEvent(target, body, timeoutMs);
        const a: Attempt = {
          eventId,
          paymentId,
          status: r.status,
          error: r.error,
          retryAfter: r.retryAfter,
          start,
          end: Date.now(),
          target,
          attempt: tries,
        };
        attempts.push(a);
        opts.onAttempt?.(a);
        if (r.status >= 200 && r.status < 300) {
          acked.set(eventId, paymentId);
          const list = ackOrder.get(paymentId);
          if (list) list.push(eventId);
          else ackOrder.set(paymentId, [eventId]);
          break;
        }
        const retriable = r.status === 0 || r.status === 503;
        if (
          !retriable || Date.now() > stopAt + graceMs || opts.signal?.aborted ||
          !retry(index, tries, a)
        ) {
          unacked.push(a);
          break;
        }
        // Retry-After is honoured but capped, so a case does not idle for seconds.
        const hinted = Number(r.retryAfter ?? "0") * 1000;
        await sleep(Math.min(Math.max(hinted, 100), 500));
      }
    }
  }

  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  return { attempts, sent, acked, ackOrder, unacked, durationMs: Date.now() - t0 };
}
