/**
 * The trip-and-recover scenario's independent view of Kafka (scripts/test-circuit-breaker.sh).
 *
 *   verify  reads the topic from the beginning with a fresh consumer group until every event id of
 *           the ledger has been seen (or the timeout passes), then checks per-key order: for each
 *           payment id, the first copy of each event must appear in the order the service
 *           acknowledged them. Duplicates are allowed (at-least-once) and reported.
 *   create  creates the topic when it is missing (the scenario's own topic, before the service's
 *           first publish, so that publish does not pay for topic creation).
 *   delete  deletes the topic (the scenario's own topic, at clean-up).
 *
 * Usage:
 *   deno run --allow-net --allow-env --allow-read scripts/scenario/kafka_topic.ts verify \
 *     --brokers 127.0.0.1:9092 --topic payment-events --ledger ledger.tsv [--timeout-ms 60000]
 *   deno run --allow-net --allow-env scripts/scenario/kafka_topic.ts create|delete \
 *     --brokers .. --topic .. [--partitions 3]
 *
 * The ledger is tab-separated, one acknowledged event a line, in acceptance order:
 * `step <TAB> eventId <TAB> paymentId [<TAB> anything]`.
 *
 * Prints one summary line on stdout. Exit codes: 0 all present and in order, 1 missing or out of
 * order (details on stderr), 2 usage error or Kafka unreachable.
 */
import { createTopic, deleteTopic } from "../../src/kafka/topic_admin.ts";
import { readTopic } from "../../src/kafka/topic_reader.ts";

interface Args {
  command: string;
  brokers: string[];
  topic: string;
  ledger: string;
  timeoutMs: number;
  partitions: number;
}

interface Expected {
  eventId: string;
  paymentId: string;
}

interface Seen {
  eventId: string;
  key: string;
  partition: number;
  offset: bigint;
}

function usage(message: string): never {
  console.error(`kafka_topic.ts: ${message}`);
  console.error(
    "usage: kafka_topic.ts verify --brokers H:P[,H:P] --topic T --ledger FILE [--timeout-ms N]\n" +
      "       kafka_topic.ts create|delete --brokers H:P[,H:P] --topic T [--partitions N]",
  );
  Deno.exit(2);
}

function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command !== "verify" && command !== "create" && command !== "delete") {
    usage(`unknown command ${command ?? "(none)"}`);
  }
  const opts = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    const name = rest[i];
    const value = rest[i + 1];
    if (!name?.startsWith("--") || value === undefined) usage(`bad argument ${name ?? ""}`);
    opts.set(name.slice(2), value);
  }
  const brokers = (opts.get("brokers") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const topic = opts.get("topic") ?? "";
  if (brokers.length === 0) usage("--brokers is required");
  if (topic === "") usage("--topic is required");
  const ledger = opts.get("ledger") ?? "";
  if (command === "verify" && ledger === "") usage("--ledger is required for verify");
  const timeoutMs = Number(opts.get("timeout-ms") ?? "60000");
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1000) usage("--timeout-ms must be >= 1000");
  const partitions = Number(opts.get("partitions") ?? "3");
  if (!Number.isInteger(partitions) || partitions < 1) usage("--partitions must be >= 1");
  return { command, brokers, topic, ledger, timeoutMs, partitions };
}

async function readLedger(path: string): Promise<Expected[]> {
  const out: Expected[] = [];
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    const [, eventId, paymentId] = line.split("\t");
    if (eventId && paymentId) out.push({ eventId: eventId.toLowerCase(), paymentId });
  }
  return out;
}

/** Reads until every wanted id was seen or the deadline passes; returns the wanted records. */
async function consume(args: Args, wanted: Set<string>): Promise<Seen[]> {
  const { records } = await readTopic({
    brokers: args.brokers,
    topic: args.topic,
    untilIds: wanted,
    timeoutMs: args.timeoutMs,
    clientId: "breaker-scenario-reader",
  });
  return records
    .map((r) => ({ ...r, eventId: r.eventId.toLowerCase(), offset: BigInt(r.offset) }))
    .filter((r) => wanted.has(r.eventId));
}

/** Per key: the acknowledged order versus the order of first appearance on the topic. */
function checkOrder(expected: Expected[], seen: Seen[]): string[] {
  const problems: string[] = [];
  const keys = new Set(expected.map((e) => e.paymentId));
  for (const key of keys) {
    const order = expected.filter((e) => e.paymentId === key).map((e) => e.eventId);
    const copies = seen.filter((s) => s.key === key);
    const partitions = new Set(copies.map((s) => s.partition));
    if (partitions.size > 1) {
      problems.push(`key ${key} spread over partitions ${[...partitions].join(",")}`);
      continue;
    }
    copies.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    const firstSeen: string[] = [];
    for (const c of copies) if (!firstSeen.includes(c.eventId)) firstSeen.push(c.eventId);
    const present = order.filter((id) => firstSeen.includes(id));
    if (present.join() !== firstSeen.join()) {
      problems.push(
        `key ${key}: acknowledged ${present.join(" ")} but the topic holds ${firstSeen.join(" ")}`,
      );
    }
  }
  return problems;
}

async function verify(args: Args): Promise<number> {
  const expected = await readLedger(args.ledger);
  const ids = new Set(expected.map((e) => e.eventId));
  if (ids.size === 0) {
    console.error("kafka_topic.ts: the ledger holds no event ids");
    return 1;
  }
  const seen = await consume(args, ids);
  const found = new Set(seen.map((s) => s.eventId));
  const missing = [...ids].filter((id) => !found.has(id));
  const problems = checkOrder(expected, seen);
  const keys = new Set(expected.map((e) => e.paymentId)).size;
  const duplicates = seen.length - found.size;
  console.log(
    `read ${found.size}/${ids.size} acknowledged ids from ${args.topic} (${keys} keys, ` +
      `${duplicates} duplicate copies), ${missing.length} missing, ` +
      `${problems.length} keys out of order`,
  );
  for (const id of missing.slice(0, 20)) {
    const e = expected.find((x) => x.eventId === id);
    console.error(`missing: ${id} (paymentId ${e?.paymentId})`);
  }
  for (const p of problems) console.error(`order: ${p}`);
  return missing.length === 0 && problems.length === 0 ? 0 : 1;
}

/** Creates (`create`) or deletes (`delete`) the topic; either is a no-op when already done. */
async function manageTopic(args: Args): Promise<number> {
  const opts = { partitions: args.partitions, clientId: "breaker-scenario-admin" };
  if (args.command === "create") await createTopic(args.brokers, args.topic, opts);
  else await deleteTopic(args.brokers, args.topic, opts);
  console.log(`topic ${args.topic} ${args.command === "create" ? "present" : "deleted"}`);
  return 0;
}

if (import.meta.main) {
  const args = parseArgs(Deno.args);
  let code: number;
  try {
    code = args.command === "verify" ? await verify(args) : await manageTopic(args);
  } catch (e) {
    console.error(`kafka_topic.ts: ${args.command} failed: ${(e as Error).message}`);
    code = 2;
  }
  // kafkajs may leave sockets and timers behind; the answer is final.
  Deno.exit(code);
}
