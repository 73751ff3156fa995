import { assertEquals } from "@std/assert";
import { createRequire } from "node:module";
import { type FetchedRecord, withoutAborted } from "./read_committed_filter.ts";
import { Kafka } from "./kafkajs.ts";

const ABORT = new Uint8Array([0, 0, 0, 0]);
const COMMIT = new Uint8Array([0, 0, 0, 1]);
const rec = (offset: number, producerId: string): FetchedRecord => ({
  offset: String(offset),
  key: new TextEncoder().encode(`k${offset}`),
  batchContext: { producerId, inTransaction: true },
});
const marker = (offset: number, producerId: string, key: Uint8Array): FetchedRecord => ({
  offset: String(offset),
  key,
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});
const offsets = (rs: FetchedRecord[]) => rs.filter((r) => !r.isControlRecord).map((r) => r.offset);

// A fetch that starts inside two aborted transactions of producers A and B (their first records
// came in an earlier fetch), then A's committed transaction.
const interleaved = [
  rec(105, "B"),
  rec(106, "A"),
  marker(107, "A", ABORT),
  marker(108, "B", ABORT),
  rec(109, "A"),
  marker(110, "A", COMMIT),
];
const abortedList = [{ producerId: "A", firstOffset: "99" }, {
  producerId: "B",
  firstOffset: "100",
}];

Deno.test("read_committed: records of every aborted transaction open at the fetch's start are dropped", () => {
  assertEquals(offsets(withoutAborted(interleaved, abortedList)), ["109"]);
  // The broker's list in another order changes nothing.
  assertEquals(offsets(withoutAborted(interleaved, [...abortedList].reverse())), ["109"]);
});

Deno.test("read_committed: a producer's later transaction after its abort marker is kept", () => {
  const rs = [rec(1, "A"), marker(2, "A", ABORT), rec(3, "A"), marker(4, "A", COMMIT), rec(5, "B")];
  assertEquals(offsets(withoutAborted(rs, [{ producerId: "A", firstOffset: "1" }])), ["3", "5"]);
  assertEquals(offsets(withoutAborted(rs, [])), ["1", "3", "5"]);
  // Records outside any transaction are never dropped.
  const plain = { ...rec(6, "A"), batchContext: { producerId: "A", inTransaction: false } };
  assertEquals(
    offsets(withoutAborted([rec(1, "A"), plain], [{ producerId: "A", firstOffset: "1" }])),
    [
      "6",
    ],
  );
});

Deno.test("read_committed: kafkajs loads with our filter; its own lets the aborted record through", () => {
  const require = createRequire(import.meta.url);
  const Batch = require("kafkajs/src/consumer/batch.js");
  assertEquals(typeof Kafka, "function");
  // What kafkajs 2.2.4's consumer hands out for the interleaved fetch: ours, A's committed 109 only.
  const batch = new Batch("payments", "105", {
    partition: 0,
    highWatermark: "111",
    abortedTransactions: abortedList,
    messages: interleaved,
  });
  assertEquals(batch.messages.map((m: FetchedRecord) => m.offset), ["109"]);
  // kafkajs's own filter, evaluated from its file, lets B's aborted 105 through: the defect this
  // replacement exists for (when an upgrade fixes it, this fails and the patch can go).
  const path = require.resolve("kafkajs/src/consumer/filterAbortedMessages.js");
  type Filter = (a: { messages: FetchedRecord[]; abortedTransactions: unknown }) => FetchedRecord[];
  const mod: { exports: Filter | null } = { exports: null };
  new Function("require", "module", Deno.readTextFileSync(path))(createRequire(path), mod);
  assertEquals(offsets(mod.exports!({ messages: interleaved, abortedTransactions: abortedList })), [
    "105",
    "109",
  ]);
});

Deno.test("read_committed: no module loads kafkajs's values around src/kafka/kafkajs.ts", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const direct: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(root + dir)) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(rel);
      else if (e.name.endsWith(".ts") && rel !== "src/kafka/kafkajs.ts") {
        const text = await Deno.readTextFile(root + rel);
        // Only `import type { ... } from "kafkajs"` may name the package itself.
        for (
          const m of text.matchAll(/import\s+(type\s+)?[^;]*?from\s+"(npm:)?kafkajs(@[^"]*)?"/g)
        ) {
          if (!m[1]) direct.push(rel);
        }
        if (/import\(\s*"(npm:)?kafkajs/.test(text)) direct.push(rel);
      }
    }
  };
  for (const dir of ["src", "scripts", "tests"]) await walk(dir);
  assertEquals(direct, []);
});
