import { assert, assertEquals, assertMatch } from "@std/assert";
import { spawnService } from "../../scripts/lib/service_process.ts";
import { paymentEvent, postPayment, REAL_IO } from "./helpers.ts";

Deno.test({
  name:
    "embedded store: a second service on the same folder is refused naming folder and pid; a killed owner's lock does not block the next, and nothing acknowledged is lost",
  ...REAL_IO,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "embedded-owner-" });
    const env = {
      PORT: "0",
      DATA_DIR: `${dir}/data`,
      // No broker here: every event waits in the outbox (202).
      KAFKA_BROKERS: "127.0.0.1:1",
      KAFKA_REQUEST_TIMEOUT_MS: "500",
      KAFKA_DELIVERY_TIMEOUT_MS: "1000",
    };
    const first = await spawnService({ name: "first", env });
    let third: Awaited<ReturnType<typeof spawnService>> | null = null;
    try {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const e = paymentEvent({ paymentId: `owner-${i % 3}` });
        const res = await postPayment(first.base, e);
        assertEquals(res.status, 202, JSON.stringify(res.body));
        ids.push(e.eventId as string);
      }

      const refused = await spawnService({ name: "second", env }).then(
        (svc) => {
          svc.signal("SIGKILL");
          return "started";
        },
        (e: Error) => e.message,
      );
      assertMatch(refused, /exited \(code 1\)/);
      assertMatch(refused, new RegExp(`embedded store in ${dir}/data/outbox is in use`));
      assertMatch(refused, new RegExp(`pid ${first.pid}\\b`));

      // An owner that dies without shutting down leaves its lock file, not its lock.
      first.signal("SIGKILL");
      await first.exited;
      third = await spawnService({ name: "third", env });
      const outbox = await (await fetch(`${third.base}/outbox`)).json();
      assertEquals(outbox.pending, ids.length, JSON.stringify(outbox));
      const replay = await postPayment(third.base, paymentEvent({ eventId: ids[0] }));
      assert(
        replay.status === 200 || replay.status === 409,
        `replay of a stored id: ${replay.status}`,
      );
    } finally {
      first.signal("SIGKILL");
      await first.exited;
      if (third) await third.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
