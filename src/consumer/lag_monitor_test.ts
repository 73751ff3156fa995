import { assertEquals } from "@std/assert";
import { createLogger, silentLogger } from "../log.ts";
import { createConsumerMetrics } from "./consumer_metrics.ts";
import { createLagMonitor } from "./lag_monitor.ts";

/** A timer queue driven by hand: `fire()` runs the pending callback. */
function manualTimers() {
  const pending = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  return {
    pending,
    setTimer: (fn: () => void, ms: number) => {
      pending.set(next, { fn, ms });
      return next++;
    },
    clearTimer: (id: unknown) => void pending.delete(id as number),
    fire() {
      const [id, t] = [...pending.entries()][0]!;
      pending.delete(id);
      t.fn();
    },
  };
}

/** Offsets the fake broker answers: high watermarks move, the commit follows on demand. */
function fakeKafka() {
  const state = { high: ["10", "4"], committed: ["-1", "4"], down: false, calls: 0 };
  return {
    state,
    offsets: () => {
      state.calls++;
      if (state.down) return Promise.reject(new Error("connect ECONNREFUSED"));
      return Promise.resolve({
        watermarks: state.high.map((high, partition) => ({ partition, low: "0", high })),
        committed: state.committed.map((offset, partition) => ({ partition, offset })),
      });
    },
  };
}

async function lagSeries(text: Promise<string>): Promise<string[]> {
  return (await text).split("\n").filter((l) => l.startsWith("payment_consumer_lag{"));
}

Deno.test("lag monitor: sets one series per partition, keeps them through an outage, counts failures", async () => {
  const kafka = fakeKafka();
  const metrics = createConsumerMetrics({ topic: "t", group: "g", defaultMetrics: false });
  const lines: string[] = [];
  let now = 0;
  const monitor = createLagMonitor({
    offsets: kafka.offsets,
    metrics,
    reset: "earliest",
    logger: createLogger("info", (line) => {
      const { level, msg } = JSON.parse(line);
      lines.push(`${level} ${msg}`);
    }),
    warnAfterMs: 60_000,
    now: () => now,
  });
  assertEquals(await monitor.refresh(), [{ partition: 0, lag: 10 }, { partition: 1, lag: 0 }]);
  assertEquals(await lagSeries(metrics.render()), [
    'payment_consumer_lag{topic="t",partition="0",group="g"} 10',
    'payment_consumer_lag{topic="t",partition="1",group="g"} 0',
  ]);

  kafka.state.down = true;
  assertEquals(await monitor.refresh(), null);
  now += 5_000;
  assertEquals(await monitor.refresh(), null);
  assertEquals(lines, ["info lag refresh: failing, retrying"], "an info line, not a warning");
  assertEquals((await lagSeries(metrics.render())).length, 2, "last values kept");
  const text = await metrics.render();
  assertEquals(
    text.includes('payment_consumer_lag_refresh_errors_total{topic="t",group="g"} 2'),
    true,
  );

  kafka.state.down = false;
  kafka.state.committed = ["10", "4"];
  assertEquals((await monitor.refresh())?.map((p) => p.lag), [0, 0]);
  assertEquals(lines.at(-1), "info lag refresh: works again");

  // An outage that lasts a minute is a warning.
  kafka.state.down = true;
  for (let i = 0; i <= 12; i++, now += 5_000) await monitor.refresh();
  assertEquals(lines.filter((l) => l.startsWith("warn")), [
    "warn lag refresh: still failing after 60 s",
  ]);
});

Deno.test("lag monitor: refreshes at start and then once per interval until stopped", async () => {
  const kafka = fakeKafka();
  const timers = manualTimers();
  const monitor = createLagMonitor({
    offsets: kafka.offsets,
    metrics: createConsumerMetrics({ topic: "t", group: "g", defaultMetrics: false }),
    reset: "earliest",
    intervalMs: 250,
    logger: silentLogger,
    setTimer: timers.setTimer,
    clearTimer: timers.clearTimer,
  });
  monitor.start();
  monitor.start(); // a second start is a no-op
  await monitor.refresh(); // joins the refresh in flight
  assertEquals(kafka.state.calls, 1);
  await Promise.resolve();
  assertEquals([...timers.pending.values()].map((t) => t.ms), [250]);
  timers.fire();
  await monitor.refresh();
  assertEquals(kafka.state.calls, 2);
  await Promise.resolve();
  assertEquals(timers.pending.size, 1);
  await monitor.stop();
  assertEquals(timers.pending.size, 0, "stop clears the timer");
});
