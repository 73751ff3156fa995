/**
 * Exits 0 when the Kafka broker at the given address answers a metadata request within 3 s.
 * Used by scripts/kafka.sh to decide that a freshly started broker is ready.
 */
import { Kafka, logLevel } from "kafkajs";

const broker = Deno.args[0] ?? "127.0.0.1:9092";
const kafka = new Kafka({
  clientId: "kafka-probe",
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  requestTimeout: 2000,
  retry: { retries: 0 },
});
const admin = kafka.admin();
const deadline = setTimeout(() => Deno.exit(1), 3000);
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length === 0) Deno.exit(1);
  await admin.disconnect();
  clearTimeout(deadline);
  Deno.exit(0);
} catch {
  Deno.exit(1);
}
