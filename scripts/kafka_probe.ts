/**
 * Exits 0 when the Kafka broker at the given address answers a metadata request within 3 s.
 * Used by scripts/kafka.sh to decide that a freshly started broker is ready.
 */
import { brokerAnswers } from "../src/kafka/topic_admin.ts";

const broker = Deno.args[0] ?? "127.0.0.1:9092";
// kafkajs may leave sockets and timers behind; the answer is final.
Deno.exit((await brokerAnswers(broker, 3000)) ? 0 : 1);
