/** Breaker events, the bounded history kept for the admin API, and fault-isolated delivery. */

import type { BreakerState } from "./states.ts";

/** Every event type, in the order the admin API documents them. */
export const BREAKER_EVENT_TYPES = Object.freeze(
  [
    "STATE_TRANSITION",
    "SUCCESS",
    "ERROR",
    "IGNORED_ERROR",
    "NOT_PERMITTED",
    "FAILURE_RATE_EXCEEDED",
    "SLOW_CALL_RATE_EXCEEDED",
    "RESET",
  ] as const,
);

/** One of BREAKER_EVENT_TYPES. */
export type BreakerEventType = typeof BREAKER_EVENT_TYPES[number];

interface EventBase<T extends BreakerEventType> {
  readonly type: T;
  readonly breakerName: string;
  /** clock.now() when emitted, epoch ms. */
  readonly at: number;
  /** The breaker's state when emitted (the new state for STATE_TRANSITION). */
  readonly state: BreakerState;
  /** Strictly increasing per breaker, so consumers can order and de-duplicate. */
  readonly seq: number;
}

/** Outcome fields; `late` marks a call that finished after the state it started in had ended. */
interface OutcomeFields {
  readonly durationMs: number;
  readonly late: boolean;
}

/** Everything a breaker reports to subscribers, discriminated by `type`. */
export type BreakerEvent =
  | EventBase<"STATE_TRANSITION"> & {
    readonly from: BreakerState;
    readonly to: BreakerState;
    readonly reason: string | null;
    /** True when an operator asked for it; false for thresholds, timers and TTL expiry. */
    readonly operator: boolean;
  }
  | EventBase<"SUCCESS"> & OutcomeFields & { readonly slow: boolean }
  | EventBase<"ERROR"> & OutcomeFields & { readonly slow: boolean; readonly errorMessage: string }
  | EventBase<"IGNORED_ERROR"> & OutcomeFields & { readonly errorMessage: string }
  | EventBase<"NOT_PERMITTED"> & { readonly retryAfterMs: number | null }
  | EventBase<"FAILURE_RATE_EXCEEDED"> & { readonly rate: number }
  | EventBase<"SLOW_CALL_RATE_EXCEEDED"> & { readonly rate: number }
  | EventBase<"RESET">;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What the breaker supplies for an event; the hub adds breakerName, at, state and seq. */
export type BreakerEventBody = DistributiveOmit<
  BreakerEvent,
  "seq" | "breakerName" | "at" | "state"
>;

/** Call outcomes (thousands per second) as opposed to state changes. */
function isCallEvent(e: BreakerEvent): boolean {
  return e.type === "SUCCESS" || e.type === "ERROR" || e.type === "IGNORED_ERROR" ||
    e.type === "NOT_PERMITTED";
}

/**
 * The stamped, frozen event. Call outcomes are spelled out field by field: they are built on
 * every call, and a literal of known shape costs a fraction of a generic property copy.
 */
function stamp(
  body: BreakerEventBody,
  breakerName: string,
  at: number,
  state: BreakerState,
  seq: number,
): BreakerEvent {
  switch (body.type) {
    case "SUCCESS":
      return Object.freeze({
        type: body.type,
        breakerName,
        at,
        state,
        seq,
        durationMs: body.durationMs,
        late: body.late,
        slow: body.slow,
      });
    case "ERROR":
      return Object.freeze({
        type: body.type,
        breakerName,
        at,
        state,
        seq,
        durationMs: body.durationMs,
        late: body.late,
        slow: body.slow,
        errorMessage: body.errorMessage,
      });
    default:
      // type first so serialised events read naturally; body never carries the stamped fields.
      return Object.freeze(
        Object.assign({ type: body.type, breakerName, at, state, seq }, body),
      ) as BreakerEvent;
  }
}

/** Receives events synchronously; exceptions are contained by the hub. */
export type BreakerEventListener = (event: BreakerEvent) => void;

/** Selects from the recent-event history. */
export interface RecentEventsFilter {
  /** Only events of this type (an unknown type simply matches nothing). */
  type?: string;
  /** At most this many of the newest matching events. */
  limit?: number;
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
  /**
   * Stamps and numbers the event, keeps it in history and delivers it to every listener; `at`
   * defaults to now (callers that just read the clock pass it to save a read).
   */
  publish(body: BreakerEventBody, at?: number): BreakerEvent;
  /** Recent events, oldest first (newest last). */
  recent(filter?: RecentEventsFilter): BreakerEvent[];
}

/** Options of createEventHub. */
export interface EventHubOptions {
  breakerName: string;
  bufferSize: number;
  now: () => number;
  /** Read at publish time so each event records the state it was emitted in. */
  state: () => BreakerState;
  /** Told about a listener that threw; its own exceptions are swallowed too. */
  onListenerError?: (error: unknown, event: BreakerEvent) => void;
}

/**
 * Creates an event hub. A listener that throws is reported and skipped, never propagated: the
 * breaker's bookkeeping must not depend on a metrics exporter. Events published from inside a
 * listener are queued, so every listener sees every event in `seq` order.
 */
export function createEventHub(options: EventHubOptions): EventHub {
  // Call outcomes arrive thousands per second; kept apart, they cannot push the rare state
  // changes (transitions, rate exceeded, reset) out of the history operators read.
  const calls = createRingBuffer<BreakerEvent>(options.bufferSize);
  const changes = createRingBuffer<BreakerEvent>(options.bufferSize);
  let listeners: { fn: BreakerEventListener }[] = [];
  const queue: BreakerEvent[] = [];
  let delivering = false;
  let seq = 0;

  const deliver = (event: BreakerEvent) => {
    for (const entry of listeners) {
      try {
        entry.fn(event);
      } catch (error) {
        try {
          options.onListenerError?.(error, event);
        } catch {
          // The error reporter is a listener too; it cannot break the breaker either.
        }
      }
    }
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
    publish(body, at) {
      const event = stamp(body, options.breakerName, at ?? options.now(), options.state(), ++seq);
      (isCallEvent(event) ? calls : changes).push(event);
      if (delivering) {
        // Published from inside a listener: delivered after the current event, in seq order.
        queue.push(event);
        return event;
      }
      delivering = true;
      try {
        deliver(event);
        while (queue.length > 0) deliver(queue.shift()!);
      } finally {
        delivering = false;
      }
      return event;
    },
    recent(filter = {}) {
      const { type, limit } = filter;
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
        throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
      }
      const all = [...calls.toArray(), ...changes.toArray()].sort((a, b) => a.seq - b.seq);
      const matching = type === undefined ? all : all.filter((e) => e.type === type);
      return limit === undefined ? matching : matching.slice(Math.max(0, matching.length - limit));
    },
  };
}
