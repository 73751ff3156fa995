/** The bounded history kept for the admin API, and fault-isolated, in-order event delivery. */

import type { BreakerState } from "./states.ts";
import {
  type BreakerEvent,
  type BreakerEventBody,
  type BreakerEventListener,
  CALL_TYPES,
  callEvent,
  type CallEventType,
  isCallBody,
  type RecentEventsFilter,
  stamp,
} from "./events.ts";

/**
 * The history of call outcomes as columns, not objects: recording one costs a few array stores
 * and no allocation, and event objects are built only when somebody reads the history.
 */
interface CallLog {
  push(
    type: CallEventType,
    mono: number,
    state: BreakerState,
    seq: number,
    durationMs: number,
    late: boolean,
    slow: boolean,
    errorMessage: string,
    retryAfterMs: number | null,
  ): void;
  /** Oldest first; `wallOffset` turns the stored monotonic times into wall-clock `at`. */
  toArray(breakerName: string, wallOffset: number): BreakerEvent[];
}

function createCallLog(capacity: number): CallLog {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
  }
  const type = new Uint8Array(capacity);
  const flags = new Uint8Array(capacity); // 1 = late, 2 = slow, 4 = retryAfterMs is null
  const mono = new Float64Array(capacity);
  const seq = new Float64Array(capacity);
  const duration = new Float64Array(capacity);
  const retryAfter = new Float64Array(capacity);
  const states: BreakerState[] = new Array(capacity).fill("CLOSED");
  const messages: string[] = new Array(capacity).fill("");
  let next = 0;
  let size = 0;
  return {
    push(t, when, state, n, durationMs, late, slow, errorMessage, retryAfterMs) {
      const i = next;
      type[i] = CALL_TYPES.indexOf(t);
      flags[i] = (late ? 1 : 0) | (slow ? 2 : 0) | (retryAfterMs === null ? 4 : 0);
      mono[i] = when;
      seq[i] = n;
      duration[i] = durationMs;
      retryAfter[i] = retryAfterMs ?? 0;
      states[i] = state;
      messages[i] = errorMessage;
      next = i + 1 === capacity ? 0 : i + 1;
      if (size < capacity) size++;
    },
    toArray(breakerName, wallOffset) {
      const out: BreakerEvent[] = [];
      const first = size < capacity ? 0 : next;
      for (let k = 0; k < size; k++) {
        const i = (first + k) % capacity;
        const f = flags[i]!;
        out.push(callEvent(
          CALL_TYPES[type[i]!]!,
          breakerName,
          Math.round(mono[i]! + wallOffset),
          states[i]!,
          seq[i]!,
          duration[i]!,
          (f & 1) !== 0,
          (f & 2) !== 0,
          messages[i]!,
          (f & 4) !== 0 ? null : retryAfter[i]!,
        ));
      }
      return out;
    },
  };
}

/** A fixed-capacity FIFO that overwrites its oldest entry, so history never grows unbounded. */
export interface RingBuffer<T> {
  push(item: T): void;
  /** Oldest first. */
  toArray(): T[];
  readonly size: number;
}

/** Creates a ring buffer holding at most `capacity` items. */
export function createRingBuffer<T>(capacity: number): RingBuffer<T> {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
  }
  const items: T[] = [];
  let start = 0;
  return {
    push(item) {
      if (items.length < capacity) {
        items.push(item);
      } else {
        items[start] = item;
        start = (start + 1) % capacity;
      }
    },
    toArray: () => [...items.slice(start), ...items.slice(0, start)],
    get size() {
      return items.length;
    },
  };
}

/** Numbers, records and delivers events; one per breaker. */
export interface EventHub {
  /** Registers a listener; the returned function unregisters it (idempotent). */
  subscribe(listener: BreakerEventListener): () => void;
  /** Stamps and numbers the event, keeps it in history and delivers it to every listener. */
  publish(body: BreakerEventBody): BreakerEvent;
  /**
   * The per-call fast path, same effect as publish(): the outcome is numbered and kept in
   * history, and an event object is built only when a listener is subscribed. `mono` is the
   * monotonic reading the caller just took; the event's `at` is its wall-clock equivalent.
   */
  publishCall(
    type: CallEventType,
    mono: number,
    durationMs: number,
    late: boolean,
    slow: boolean,
    errorMessage: string,
    retryAfterMs: number | null,
  ): void;
  /** Recent events, oldest first (newest last). */
  recent(filter?: RecentEventsFilter): BreakerEvent[];
  /**
   * Queues deliveries until the matching release(): the breaker holds while it changes state, so
   * a listener never sees, or acts on, a breaker half-way through its own bookkeeping.
   */
  hold(): void;
  /** Ends a hold(); the outermost release delivers what was queued, in seq order. */
  release(): void;
}

/** Options of createEventHub. */
export interface EventHubOptions {
  breakerName: string;
  bufferSize: number;
  /** The monotonic reading publishCall's `mono` comes from. */
  now: () => number;
  /** Wall-clock epoch ms for `at`; defaults to `now` (one timeline). */
  wallNow?: () => number;
  /** Read at publish time so each event records the state it was emitted in. */
  state: () => BreakerState;
  /** Told about a listener that threw or rejected; its own exceptions are swallowed too. */
  onListenerError?: (error: unknown, event: BreakerEvent) => void;
}

/**
 * Creates an event hub. A listener that throws or rejects is reported and skipped, never
 * propagated: the breaker's bookkeeping must not depend on a metrics exporter. Events published
 * from inside a listener or during a hold are queued, so every listener sees every event in `seq`
 * order, and only once the breaker has settled.
 */
export function createEventHub(options: EventHubOptions): EventHub {
  // Call outcomes arrive thousands per second; kept apart, they cannot push the rare state
  // changes (transitions, rate exceeded, reset) out of the history operators read.
  const calls = createCallLog(options.bufferSize);
  const changes = createRingBuffer<BreakerEvent>(options.bufferSize);
  let listeners: { fn: BreakerEventListener }[] = [];
  const queue: BreakerEvent[] = [];
  let delivering = false;
  let held = 0;
  let seq = 0;
  const now = options.now;
  const wallNow = options.wallNow;
  /**
   * Wall time of a monotonic reading, in whole epoch ms: the offset between the clocks is read
   * now (both tick at the same pace; only a wall-clock step moves it).
   */
  const wallOffset = wallNow === undefined ? () => 0 : () => wallNow() - now();
  const wallOf = (mono: number) => Math.round(mono + wallOffset());

  const report = (error: unknown, event: BreakerEvent) => {
    try {
      options.onListenerError?.(error, event);
    } catch {
      // The error reporter is a listener too; it cannot break the breaker either.
    }
  };

  const deliver = (event: BreakerEvent) => {
    for (const entry of listeners) {
      try {
        const result = entry.fn(event);
        // An async listener's rejection would otherwise be unhandled: fatal in Deno.
        if (result instanceof Promise) result.catch((error) => report(error, event));
      } catch (error) {
        report(error, event);
      }
    }
  };

  const drain = () => {
    delivering = true;
    try {
      while (queue.length > 0) deliver(queue.shift()!);
    } finally {
      delivering = false;
    }
  };

  const dispatch = (event: BreakerEvent) => {
    queue.push(event);
    // Inside a listener or a hold: delivered later, after what is queued, in seq order.
    if (!delivering && held === 0) drain();
  };

  /** Numbers and keeps a call outcome; builds and delivers its event when asked or listened to. */
  const recordCall = (
    type: CallEventType,
    mono: number,
    durationMs: number,
    late: boolean,
    slow: boolean,
    errorMessage: string,
    retryAfterMs: number | null,
    build: boolean,
  ): BreakerEvent | null => {
    const state = options.state();
    const n = ++seq;
    calls.push(type, mono, state, n, durationMs, late, slow, errorMessage, retryAfterMs);
    if (!build && listeners.length === 0) return null;
    const name = options.breakerName;
    const event = callEvent(
      type,
      name,
      wallOf(mono),
      state,
      n,
      durationMs,
      late,
      slow,
      errorMessage,
      retryAfterMs,
    );
    dispatch(event);
    return event;
  };

  return {
    subscribe(listener) {
      if (typeof listener !== "function") {
        throw new TypeError(`listener must be a function, got ${typeof listener}`);
      }
      const entry = { fn: listener };
      // Copy-on-write so (un)subscribing during delivery does not disturb the loop in progress.
      listeners = [...listeners, entry];
      return () => {
        listeners = listeners.filter((e) => e !== entry);
      };
    },
    publish(body) {
      if (isCallBody(body)) {
        return recordCall(
          body.type,
          now(),
          "durationMs" in body ? body.durationMs : 0,
          "late" in body ? body.late : false,
          "slow" in body ? body.slow : false,
          "errorMessage" in body ? body.errorMessage : "",
          "retryAfterMs" in body ? body.retryAfterMs : null,
          true,
        )!;
      }
      const at = Math.round((wallNow ?? now)());
      const event = stamp(body, options.breakerName, at, options.state(), ++seq);
      changes.push(event);
      dispatch(event);
      return event;
    },
    publishCall(type, mono, durationMs, late, slow, errorMessage, retryAfterMs) {
      recordCall(type, mono, durationMs, late, slow, errorMessage, retryAfterMs, false);
    },
    hold() {
      held++;
    },
    release() {
      if (--held === 0 && !delivering && queue.length > 0) drain();
    },
    recent(filter = {}) {
      const { type, limit } = filter;
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
        throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
      }
      const offset = wallOffset();
      const all = [...calls.toArray(options.breakerName, offset), ...changes.toArray()]
        .sort((a, b) => a.seq - b.seq);
      const matching = type === undefined ? all : all.filter((e) => e.type === type);
      return limit === undefined ? matching : matching.slice(Math.max(0, matching.length - limit));
    },
  };
}
