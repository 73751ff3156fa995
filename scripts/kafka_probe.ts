/**
 * Exits 0 when the Kafka broker at the given address answers a metadata request within 3 s and
 * reports at least the given number of brokers (default 1). Used by scripts/kafka.sh to decide
 * that a freshly started broker (or every node of a cluster) is ready.
 */
import { brokerAnswers } from "../src/testing/kafka_admin.ts";

const broker = Deno.args[0] ?? "127.0.0.1:9092";
// kafkajs may leave sockets and timers behind; the answer is final.
const minBrokers = Number(Deno.args[1] ?? 1);
Deno.exit((await brokerAnswers(broker, 3000, minBrokers)) ? 0 : 1);
