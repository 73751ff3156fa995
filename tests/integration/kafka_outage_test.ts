import { assert, assertEquals } from "@std/assert";
import {
  getJson,
  kafkaCtl,
  paymentEvent,
  postPayment,
  readTopic,
  REAL_IO,
  startTestService,
  waitFor,
} from "./helpers.ts";

Deno.test({
  name:
    "Kafka killed: 202 PENDING, breaker opens and answers fast; Kafka back: everything published in per-key order",
  ...REAL_IO,
  async fn() {
    const t = await startTestService({
      BREAKER_MINIMUM_NUMBER_OF_CALLS: "3",
      BREAKER_SLIDING_WINDOW_SIZE: "5",
      BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS: "2000",
      BREAKER_PERMITTED_NUMBER_OF_CALLS_IN_HALF_OPEN_STATE: "1",
      KAFKA_REQUEST_TIMEOUT_MS: "1000",
      KAFKA_DELIVERY_TIMEOUT_MS: "2000",
    });
    const accepted: { eventId: string; paymentId: string }[] = [];
    const send = async (paymentId: string) => {
      const event = paymentEvent({ paymentId });
      const res = await postPayment(t.base, event);
      assert(res.status === 201 || res.status === 202, `answer ${res.status}`);
      accepted.push({ eventId: event.eventId as string, paymentId });
      return res;
    };
    try {
      for (let i = 0; i < 3; i++) assertEquals((await send(`p${i}`)).status, 201);
      await kafkaCtl("kill");
      try {
        // Until the breaker opens, each answer waits at most the inline budget.
        for (let i = 0; i < 3; i++) {
          const r = await send(`p${i}`);
          assertEquals(r.status, 202);
          assertEquals(r.body.status, "PENDING");
        }
        const opened = await waitFor(async () => {
          const s = await getJson(t.base, "/circuit-breaker/kafka-publisher");
          return s.state === "OPEN" ? s : null;
        }, 10_000);
        assert(opened, "the breaker did not open");
        const fast: number[] = [];
        for (let round = 0; round < 3; round++) {
          for (let i = 0; i < 4; i++) {
            const r = await send(`p${i}`);
            assertEquals(r.status, 202);
            fast.push(r.ms);
          }
        }
        const state = (await getJson(t.base, "/circuit-breaker/kafka-publisher")).state;
        if (state === "OPEN") {
          // Answers while OPEN never wait on Kafka: far below the 1 s request timeout.
          assert(Math.max(...fast) < 500, `answers while OPEN took ${Math.max(...fast)} ms`);
        }
        const outbox = await getJson(t.base, "/outbox");
        assert((outbox.pending as number) >= 12, `pending ${outbox.pending}`);
      } finally {
        await kafkaCtl("start");
      }
      const drained = await waitFor(
        async () => {
          const s = await getJson(t.base, "/circuit-breaker/kafka-publisher");
          const o = await getJson(t.base, "/outbox");
          return s.state === "CLOSED" && o.pending === 0;
        },
        60_000,
        250,
      );
      assert(drained, "the breaker did not close or the outbox did not drain");
      for (let i = 0; i < 4; i++) await send(`p${i}`);

      const messages = await readTopic(t.topic, accepted.map((a) => a.eventId), 60_000);
      const firstSeen = new Map<string, number>();
      messages.forEach((m, i) => firstSeen.has(m.eventId) || firstSeen.set(m.eventId, i));
      const missing = accepted.filter((a) => !firstSeen.has(a.eventId));
      assertEquals(missing, [], "accepted events missing from the topic");
      for (const key of new Set(accepted.map((a) => a.paymentId))) {
        const order = accepted.filter((a) => a.paymentId === key).map((a) => a.eventId);
        const seen = [...order].sort((a, b) => firstSeen.get(a)! - firstSeen.get(b)!);
        assertEquals(seen, order, `events of ${key} out of acceptance order`);
      }
    } finally {
      await t.stop();
    }
  },
});
