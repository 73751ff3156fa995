/**
 * Consumer lag arithmetic: how many records of a partition the group has not yet committed,
 * from the partition's watermarks and the group's committed offset (all decimal text, as the
 * Kafka admin API gives them). No I/O: the group consumer fetches, this computes.
 */

/** A partition's watermarks: `low` is the first record still stored, `high` the next offset. */
export interface Watermarks {
  partition: number;
  low: string;
  high: string;
}

/** The group's committed offset of a partition: the next record to read; "-1" when none. */
export interface CommittedOffset {
  partition: number;
  offset: string;
}

/** Where a group without a committed offset starts: the first stored record or the next new one. */
export type ResetPolicy = "earliest" | "latest";

/** One partition's lag. */
export interface PartitionLag {
  partition: number;
  lag: number;
}

/**
 * Records of one partition the group has yet to commit: high watermark minus committed offset.
 * Records deleted by retention are not lag (the group resumes at the low watermark), a group
 * without a commit lags by what it would read first, and the answer is never negative (a
 * committed offset past the high watermark, after a topic was recreated, is 0).
 */
export function partitionLag(
  marks: Pick<Watermarks, "low" | "high">,
  committed: string | null,
  reset: ResetPolicy = "earliest",
): number {
  const low = BigInt(marks.low);
  const high = BigInt(marks.high);
  let next: bigint;
  if (committed === null || BigInt(committed) < 0n) next = reset === "earliest" ? low : high;
  else next = BigInt(committed) < low ? low : BigInt(committed);
  const lag = high - next;
  return lag > 0n ? Number(lag) : 0;
}

/** Lag of every partition in `topic`, sorted by partition; a partition never committed uses `reset`. */
export function groupLag(
  topic: readonly Watermarks[],
  committed: readonly CommittedOffset[],
  reset: ResetPolicy = "earliest",
): PartitionLag[] {
  const byPartition = new Map(committed.map((c) => [c.partition, c.offset]));
  return topic.map((marks) => ({
    partition: marks.partition,
    lag: partitionLag(marks, byPartition.get(marks.partition) ?? null, reset),
  })).sort((a, b) => a.partition - b.partition);
}
