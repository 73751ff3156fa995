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

const kafkajs = require("kafkajs") as typeof KafkaJs;

export const Kafka = kafkajs.Kafka;
export type Kafka = KafkaJs.Kafka;
export const logLevel = kafkajs.logLevel;
export type logLevel = KafkaJs.logLevel;
export const Partitioners = kafkajs.Partitioners;
