/**
 * Which fetched records a `read_committed` consumer may see: the records of aborted transactions
 * are dropped, as the Java client's fetcher does (KIP-98).
 *
 * kafkajs 2.2.4's own filter (`src/consumer/filterAbortedMessages.js`) takes one aborted
 * transaction off the broker's list per record, in the order the list came. When a fetch starts
 * inside two or more aborted transactions of different producers (two instances whose
 * transactions interleave on one partition, one of them fenced), the second producer's aborted
 * records pass: the exactly-once matrix saw the reference consumer receive an aborted copy and
 * then its committed twin. Here every aborted transaction that began at or before a record is
 * taken, in offset order, before the record is judged.
 */

/** A record as kafkajs's fetch hands it to the filter. */
export interface FetchedRecord {
  offset: string;
  key: Uint8Array | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string | number; inTransaction: boolean };
}

/** An aborted transaction overlapping the fetch, as the broker lists it. */
export interface AbortedTransaction {
  producerId: string | number;
  firstOffset: string;
}

/** The ABORT control record's key: version 0, type 0 (COMMIT is type 1). */
function isAbortMarker(r: FetchedRecord): boolean {
  const k = r.key;
  return !!k && k.length === 4 && k[0] === 0 && k[1] === 0 && k[2] === 0 && k[3] === 0;
}

/** The records outside aborted transactions, in their order (control records stay). */
export function withoutAborted<T extends FetchedRecord>(
  messages: T[],
  abortedTransactions?: AbortedTransaction[] | null,
): T[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = abortedTransactions
    .map((t) => ({ producerId: String(t.producerId), firstOffset: BigInt(t.firstOffset) }))
    .sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const aborted = new Set<string>();
  let next = 0;
  return messages.filter((m) => {
    const offset = BigInt(m.offset);
    while (next < pending.length && pending[next]!.firstOffset <= offset) {
      aborted.add(pending[next++]!.producerId);
    }
    const producerId = String(m.batchContext.producerId);
    if (m.isControlRecord) {
      if (isAbortMarker(m)) aborted.delete(producerId);
      return true;
    }
    return !(m.batchContext.inTransaction && aborted.has(producerId));
  });
}
