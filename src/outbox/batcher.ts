/**
 * Natural batching: items submitted while a flush is running are collected and handed over
 * together in the next flush. An idle batcher flushes at once (no added latency at low load);
 * under load batches grow by themselves up to `maxBatch`, which is what turns many small
 * commits or Kafka sends into few large ones. `lingerMs` trades latency for batch size as Kafka's
 * `linger.ms` does: a batch smaller than `maxBatch` waits until its oldest item is that old.
 */

/** Options of a batcher. */
export interface BatcherOptions {
  /** Largest batch handed to the handler. */
  maxBatch: number;
  /** Flushes allowed to run at the same time (1 keeps batches strictly in submission order). */
  concurrency?: number;
  /**
   * Longest a batch smaller than `maxBatch` waits for more items, counted from its oldest
   * item's submission (0: flush as soon as a flush may run).
   */
  lingerMs?: number;
}

/** Submits single items; each promise settles with its own item's result. */
export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
  /** Items waiting plus items in running flushes. */
  readonly size: number;
}

interface Entry<I, O> {
  item: I;
  /** performance.now() at submission (read only when lingering). */
  at: number;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

/**
 * Creates a batcher over `handler`, which must return one result per item, in order. When the
 * handler throws, every item of that batch (and only that batch) rejects with the error.
 */
export function createBatcher<I, O>(
  handler: (items: I[]) => Promise<O[]>,
  opts: BatcherOptions,
): Batcher<I, O> {
  if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) {
    throw new RangeError(`maxBatch must be a positive integer, got ${opts.maxBatch}`);
  }
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const lingerMs = opts.lingerMs ?? 0;
  if (!Number.isFinite(lingerMs) || lingerMs < 0) {
    throw new RangeError(`lingerMs must be a non-negative number, got ${lingerMs}`);
  }
  const queue: Entry<I, O>[] = [];
  let running = 0;
  let inFlight = 0;
  let lingering: ReturnType<typeof setTimeout> | null = null;

  async function flush(batch: Entry<I, O>[]): Promise<void> {
    try {
      const results = await handler(batch.map((e) => e.item));
      if (results.length !== batch.length) {
        throw new Error(
          `batch handler returned ${results.length} results for ${batch.length} items`,
        );
      }
      batch.forEach((e, i) => e.resolve(results[i] as O));
    } catch (err) {
      for (const e of batch) e.reject(err);
    }
  }

  function pump(): void {
    while (running < concurrency && queue.length > 0) {
      if (lingerMs > 0 && queue.length < opts.maxBatch) {
        const wait = queue[0]!.at + lingerMs - performance.now();
        if (wait > 0) {
          lingering ??= setTimeout(() => {
            lingering = null;
            pump();
          }, wait);
          return;
        }
      }
      if (lingering !== null) {
        clearTimeout(lingering);
        lingering = null;
      }
      const batch = queue.splice(0, opts.maxBatch);
      running++;
      inFlight += batch.length;
      flush(batch).finally(() => {
        running--;
        inFlight -= batch.length;
        pump();
      });
    }
  }

  return {
    submit(item: I): Promise<O> {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject, at: lingerMs > 0 ? performance.now() : 0 });
        // A microtask lets submissions of the same tick join one batch.
        if (queue.length === 1 || (lingering !== null && queue.length >= opts.maxBatch)) {
          queueMicrotask(pump);
        }
      });
    },
    get size() {
      return queue.length + inFlight;
    },
  };
}
