import { assert, assertEquals, assertMatch } from "@std/assert";
import { paymentEvent, postPayment, readTopic, REAL_IO, uniqueName, waitFor } from "./helpers.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
/**
 * A broker port of this test's own: the test starts the broker only after the service. Below
 * Linux's ephemeral range (32768+): the service retries the absent broker meanwhile, and a retry
 * can get the port itself as its local port, connect to itself and keep the broker from binding.
 */
const PORT = Deno.env.get("ZERO_SETUP_KAFKA_PORT") ?? "19092";
const CONTROLLER_PORT = String(Number(PORT) + 1);

async function kafka(cmd: string): Promise<void> {
  const out = await new Deno.Command("bash", {
    args: [`${ROOT}scripts/kafka.sh`, cmd],
    env: { KAFKA_PORT: PORT, KAFKA_CONTROLLER_PORT: CONTROLLER_PORT },
  }).output();
  if (!out.success) throw new Error(`kafka.sh ${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test({
  name:
    "zero setup: no DATABASE_URL and no broker -> embedded outbox, 202s, breaker OPEN; a broker appears -> backlog published, breaker CLOSED",
  ...REAL_IO,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zero-setup-" });
    const topic = uniqueName("zero");
    const env = { ...Deno.env.toObject() };
    delete env.DATABASE_URL;
    const child = new Deno.Command("deno", {
      args: [
        "run",
        "--config",
        `${ROOT}deno.json`,
        "--allow-net",
        "--allow-env",
        "--allow-read",
        `--allow-write=${dir}`,
        "--allow-sys",
        `${ROOT}src/main.ts`,
      ],
      cwd: dir,
      clearEnv: true,
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
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines: string[] = [];
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let base = "";
    try {
      while (!base) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`service exited: ${lines.join("")}`);
        lines.push(value);
        const m = /payment-ingest on (http:\/\/127\.0\.0\.1:\d+)/.exec(lines.join(""));
        if (m) base = m[1]!;
      }
      (async () => {
        for (;;) {
          const { done } = await reader.read();
          if (done) break;
        }
      })();
      const startLine = lines.join("");
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

      await kafka("start");
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
      child.kill("SIGTERM");
      await child.status;
      await child.stderr.cancel().catch(() => {});
      await kafka("reset").catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
