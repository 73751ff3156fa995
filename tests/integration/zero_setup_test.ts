import { broker } from "../../scripts/lib/kafka_ctl.ts";
import { type ServiceProc, spawnService } from "../../scripts/lib/service_process.ts";
import { assert, assertEquals, assertMatch } from "@std/assert";
import { paymentEvent, postPayment, readTopic, REAL_IO, uniqueName, waitFor } from "./helpers.ts";

/**
 * A broker port of this test's own: the test starts the broker only after the service. Below
 * Linux's ephemeral range (32768+): the service retries the absent broker meanwhile, and a retry
 * can get the port itself as its local port, connect to itself and keep the broker from binding.
 */
const PORT = Deno.env.get("ZERO_SETUP_KAFKA_PORT") ?? "19092";

Deno.test({
  name:
    "zero setup: no DATABASE_URL and no broker -> embedded outbox, 202s, breaker OPEN; a broker appears -> backlog published, breaker CLOSED",
  ...REAL_IO,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zero-setup-" });
    const topic = uniqueName("zero");
    const env = { ...Deno.env.toObject() };
    delete env.DATABASE_URL;
    const kafka = broker(Number(PORT), Number(PORT) + 1);
    let svc: ServiceProc | null = null;
    try {
      svc = await spawnService({
        name: "zero-setup",
        denoFlags: [
          "--allow-net",
          "--allow-env",
          "--allow-read",
          `--allow-write=${dir}`,
          "--allow-sys",
        ],
        cwd: dir,
        env: {
          ...env,
          PORT: "0",
          HOST: "127.0.0.1",
          KAFKA_BROKERS: `127.0.0.1:${PORT}`,
          KAFKA_TOPIC: topic,
          KAFKA_REQUEST_TIMEOUT_MS: "1000",
          KAFKA_DELIVERY_TIMEOUT_MS: "2000",
          BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS: "2000",
          RELAY_POLL_INTERVAL_MS: "100",
        },
      });
      const base = svc.base;
      const startLine = svc.lines.find((l) => l.includes("payment-ingest on")) ?? "";
      assertMatch(startLine, /embedded Postgres \(PGlite\)/);
      assertMatch(startLine, /operator page/);

      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const e = paymentEvent({ paymentId: `zero-${i % 2}` });
        const res = await postPayment(base, e);
        assertEquals(res.status, 202, JSON.stringify(res.body));
        ids.push(e.eventId as string);
      }
      const opened = await waitFor(async () => {
        const s = await (await fetch(`${base}/circuit-breaker/kafka-publisher`)).json();
        return s.state === "OPEN";
      }, 15_000);
      assert(opened, "the breaker did not open without a broker");
      await Deno.stat(`${dir}/data/outbox`);

      await kafka.start();
      const recovered = await waitFor(
        async () => {
          const s = await (await fetch(`${base}/circuit-breaker/kafka-publisher`)).json();
          const o = await (await fetch(`${base}/outbox`)).json();
          return s.state === "CLOSED" && o.pending === 0;
        },
        60_000,
        250,
      );
      assert(recovered, "the backlog was not published or the breaker did not close");
      const messages = await readTopic(topic, ids, 30_000, `127.0.0.1:${PORT}`);
      assertEquals(ids.filter((id) => !messages.some((m) => m.eventId === id)), []);
    } finally {
      await svc?.stop();
      await kafka.reset().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
