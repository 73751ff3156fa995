import { assertEquals, assertMatch } from "@std/assert";
import FakeTimers from "@sinonjs/fake-timers";
import { Hono } from "hono";
import { paymentBody, readPaymentEvent } from "./payment_request.ts";
import { HttpProblem, problemBody } from "./problem.ts";
import { paymentEventBody } from "../testing/http_fakes.ts";

const EVENT = paymentEventBody();

function app(maxBytes = 1024, timeoutMs = 50) {
  const a = new Hono();
  a.onError((err, c) =>
    err instanceof HttpProblem
      ? c.json(problemBody(err, c.req.path), err.status as 400)
      : c.text(String(err), 500)
  );
  a.post("/p", paymentBody({ maxBytes, timeoutMs, retryAfter: "2" }), (c) => {
    const event = readPaymentEvent(c);
    return c.json(event);
  });
  return a;
}

/** A body stream that sends `chunks` and then either ends or stalls. */
function stream(chunks: string[], end: boolean): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(ctl) {
      for (const c of chunks) ctl.enqueue(new TextEncoder().encode(c));
      if (end) ctl.close();
    },
  });
}

Deno.test("payment body: a length-delimited body is read once and validated", async () => {
  const text = JSON.stringify(EVENT);
  const res = await app().request("/p", {
    method: "POST",
    headers: { "content-type": "application/json", "content-length": String(text.length) },
    body: text,
  });
  assertEquals(res.status, 200);
  const row = await res.json();
  assertEquals(row.id, EVENT.eventId);
  assertEquals(JSON.parse(row.payload).amount, 100);
});

Deno.test("payment body: a chunked body is read whole; over the limit it is 413", async () => {
  const text = JSON.stringify(EVENT);
  const ok = await app().request("/p", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: stream([text.slice(0, 20), text.slice(20)], true),
    duplex: "half",
  } as RequestInit);
  assertEquals(ok.status, 200);
  await ok.body?.cancel();
  const big = await app(64).request("/p", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: stream(["x".repeat(40), "x".repeat(40)], false),
    duplex: "half",
  } as RequestInit);
  assertEquals(big.status, 413);
  assertMatch((await big.json()).detail, /exceeds 64 bytes/);
});

Deno.test("payment body: a declared length over the limit is 413 without reading", async () => {
  let pulled = false;
  const body = new ReadableStream<Uint8Array>({
    pull() {
      pulled = true;
    },
  }, { highWaterMark: 0 });
  const res = await app(64).request("/p", {
    method: "POST",
    headers: { "content-type": "application/json", "content-length": "65" },
    body,
    duplex: "half",
  } as RequestInit);
  assertEquals(res.status, 413);
  await res.body?.cancel();
  assertEquals(pulled, false);
});

Deno.test("payment body: a body that stalls is 408 after the timeout, length-delimited or chunked", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout"],
  });
  try {
    for (const headers of [{ "content-length": "500" }, {}]) {
      const answer = Promise.resolve(
        app(1024, 50).request("/p", {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: stream(['{"paymentId":'], false),
          duplex: "half",
        } as RequestInit),
      );
      await clock.tickAsync(49);
      let settled = false;
      answer.then(() => (settled = true));
      await clock.tickAsync(0);
      assertEquals(settled, false, "answered before the timeout");
      await clock.tickAsync(1);
      const res = await answer;
      assertEquals(res.status, 408);
      assertMatch((await res.json()).detail, /within 50 ms/);
    }
  } finally {
    clock.uninstall();
  }
});
