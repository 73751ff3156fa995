/**
 * kafkajs, the one way the code loads it: its `read_committed` filter replaced by ours
 * (read_committed_filter.ts explains why) before any of its consumer code is loaded. Import the
 * client's values from here; `import type` from "kafkajs" is fine.
 */
import { createRequire } from "node:module";
import type * as KafkaJs from "kafkajs";
import {
  type AbortedTransaction,
  type FetchedRecord,
  withoutAborted,
} from "./read_committed_filter.ts";

const require = createRequire(import.meta.url);
const filterPath = require.resolve("kafkajs/src/consumer/filterAbortedMessages.js");
const batchPath = require.resolve("kafkajs/src/consumer/batch.js");
if (require.cache[batchPath]) {
  throw new Error(
    "kafkajs was loaded before src/kafka/kafkajs.ts could correct its read_committed filter: " +
      'import Kafka, logLevel and Partitioners from src/kafka/kafkajs.ts, not from "kafkajs"',
  );
}
require(filterPath);
require.cache[filterPath]!.exports = (
  { messages, abortedTransactions }: {
    messages: FetchedRecord[];
    abortedTransactions?: AbortedTransaction[] | null;
  },
) => withoutAborted(messages, abortedTransactions);

// Varints without a temporary array and Buffer per number. kafkajs writes each varint through
// Buffer.from([...bytes]), which under Deno's Node compatibility cost more than the rest of a
// record's encoding (a profile of the relay's drain: 4.7 s of 72 s in Buffer.from alone). The
// bytes written are the same (LEB128, kafkajs_encoder_test.ts compares them).
interface EncoderLike {
  buf: Uint8Array;
  offset: number;
  ensureAvailable(length: number): void;
}
const Encoder = require("kafkajs/src/protocol/encoder.js") as {
  prototype: EncoderLike & { writeUVarInt(value: number): EncoderLike };
};
Encoder.prototype.writeUVarInt = function writeUVarInt(this: EncoderLike, value: number) {
  let size = 1;
  for (let v = value; (v & 0xffffff80) !== 0; v >>>= 7) size++;
  this.ensureAvailable(size);
  const buf = this.buf;
  let at = this.offset;
  let v = value;
  while ((v & 0xffffff80) !== 0) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v & 0x7f;
  this.offset = at;
  return this;
};

// No negative timers. A request queue that is not throttled keeps `throttledUntil = -1`, and
// kafkajs schedules its pending-request check at `throttledUntil - Date.now()` ms, about minus
// 1.7e12, which Node's timers clamp to 1 ms with a TimeoutNegativeWarning on every connection.
// The same schedule, clamped here: at the throttle's end, after 10 ms with requests pending, else
// at once (1 ms).
interface RequestQueueLike {
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  pending: unknown[];
  checkPendingRequests(): void;
}
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;
const RequestQueue = require("kafkajs/src/network/requestQueue/index.js") as {
  prototype: RequestQueueLike & { scheduleCheckPendingRequests(): void };
};
RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueLike) {
  if (this.throttleCheckTimeoutId) return;
  const throttledFor = this.throttledUntil - Date.now();
  const delay = throttledFor > 0
    ? throttledFor
    : this.pending.length > 0
    ? CHECK_PENDING_REQUESTS_INTERVAL_MS
    : 1;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delay);
};

const kafkajs = require("kafkajs") as typeof KafkaJs;

export const Kafka = kafkajs.Kafka;
export type Kafka = KafkaJs.Kafka;
export const logLevel = kafkajs.logLevel;
export type logLevel = KafkaJs.logLevel;
export const Partitioners = kafkajs.Partitioners;
