/** The bench's no-loss check: every event a service stored is in its topic, and how many twice. */
import { readTopic } from "../../src/kafka/topic_reader.ts";
import type { Queryable } from "../../src/outbox/db.ts";

/** What the topic holds of the events stored in one outbox table. */
export interface TopicCheck {
  stored: number;
  found: number;
  lost: number;
  /** Records read (duplicates included). */
  messages: number;
  duplicates: number;
}

/** Reads `topic` to its end and compares it with the ids in `table` (schema-qualified). */
export async function storedInTopic(
  db: Queryable,
  table: string,
  opts: { brokers: string[]; topic: string; timeoutMs: number },
): Promise<TopicCheck> {
  const rows = await db.query<{ id: string }>(`SELECT id::text AS id FROM ${table}`);
  const expected = new Set(rows.map((r) => r.id));
  const { records } = await readTopic({ ...opts, clientId: "bench-verify" });
  const read = new Set(records.map((r) => r.eventId));
  const found = [...expected].filter((id) => read.has(id)).length;
  return {
    stored: expected.size,
    found,
    lost: expected.size - found,
    messages: records.length,
    duplicates: records.length - read.size,
  };
}
