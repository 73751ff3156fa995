/** A webhook receiver for Alertmanager: records every notification it is sent. */

/** One alert of an Alertmanager notification. */
export interface ReceivedAlert {
  status: string;
  labels: Record<string, string>;
  receivedAt: number;
}

/** A running listener and the alerts it has received so far. */
export interface WebhookListener {
  url: string;
  alerts: ReceivedAlert[];
  /** Resolves with the first alert matching `pred`, or null after `timeoutMs`. */
  waitFor(pred: (a: ReceivedAlert) => boolean, timeoutMs: number): Promise<ReceivedAlert | null>;
  close(): Promise<void>;
}

/** Listens on `hostname:port` for POSTs of Alertmanager's webhook JSON. */
export function startWebhook(hostname: string, port: number): WebhookListener {
  const alerts: ReceivedAlert[] = [];
  const waiters: Array<() => void> = [];
  const server = Deno.serve({ hostname, port, onListen: () => {} }, async (req) => {
    if (req.method !== "POST") return new Response("POST only", { status: 405 });
    const body = await req.json().catch(() => null) as
      | { alerts?: { status?: string; labels?: Record<string, string> }[] }
      | null;
    for (const a of body?.alerts ?? []) {
      alerts.push({ status: a.status ?? "", labels: a.labels ?? {}, receivedAt: Date.now() });
    }
    waiters.splice(0).forEach((w) => w());
    return new Response(null, { status: 200 });
  });
  return {
    url: `http://${hostname}:${port}/alerts`,
    alerts,
    waitFor(pred, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      return new Promise((resolve) => {
        const look = () => {
          const hit = alerts.find(pred);
          if (hit || Date.now() >= deadline) {
            clearTimeout(timer);
            resolve(hit ?? null);
          } else waiters.push(look);
        };
        const timer = setTimeout(() => resolve(alerts.find(pred) ?? null), timeoutMs);
        look();
      });
    },
    close: () => server.shutdown(),
  };
}
