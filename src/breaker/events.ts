/** Breaker events: their types and the constructors that stamp them. */

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
  /** Wall-clock epoch ms when emitted, for people; durations never come from it. */
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
export type CallEventType = "SUCCESS" | "ERROR" | "IGNORED_ERROR" | "NOT_PERMITTED";

/** The call outcome types, in the order the history stores their index. */
export const CALL_TYPES: readonly CallEventType[] = [
  "SUCCESS",
  "ERROR",
  "IGNORED_ERROR",
  "NOT_PERMITTED",
];

/** True for the per-call events (as opposed to state changes). */
export function isCallBody(
  b: BreakerEventBody,
): b is Extract<BreakerEventBody, { type: CallEventType }> {
  return b.type === "SUCCESS" || b.type === "ERROR" || b.type === "IGNORED_ERROR" ||
    b.type === "NOT_PERMITTED";
}

/**
 * The stamped, frozen event of a call. Spelled out field by field per type: a literal of known
 * shape costs a fraction of a generic property copy. Unused fields are ignored per type.
 */
export function callEvent(
  type: CallEventType,
  breakerName: string,
  at: number,
  state: BreakerState,
  seq: number,
  durationMs: number,
  late: boolean,
  slow: boolean,
  errorMessage: string,
  retryAfterMs: number | null,
): BreakerEvent {
  switch (type) {
    case "SUCCESS":
      return Object.freeze({ type, breakerName, at, state, seq, durationMs, late, slow });
    case "ERROR":
      return Object.freeze({
        type,
        breakerName,
        at,
        state,
        seq,
        durationMs,
        late,
        slow,
        errorMessage,
      });
    case "IGNORED_ERROR":
      return Object.freeze({ type, breakerName, at, state, seq, durationMs, late, errorMessage });
    case "NOT_PERMITTED":
      return Object.freeze({ type, breakerName, at, state, seq, retryAfterMs });
  }
}

/** The stamped, frozen event of a state change (call outcomes are built by callEvent). */
export function stamp(
  body: Exclude<BreakerEventBody, { type: CallEventType }>,
  breakerName: string,
  at: number,
  state: BreakerState,
  seq: number,
): BreakerEvent {
  // type first so serialised events read naturally; body never carries the stamped fields.
  return Object.freeze(
    Object.assign({ type: body.type, breakerName, at, state, seq }, body),
  ) as BreakerEvent;
}

/**
 * Receives events synchronously, once the breaker has settled; a throw or a rejected promise is
 * contained by the hub.
 */
export type BreakerEventListener = (event: BreakerEvent) => unknown;

/** Selects from the recent-event history. */
export interface RecentEventsFilter {
  /** Only events of this type (an unknown type simply matches nothing). */
  type?: string;
  /** At most this many of the newest matching events. */
  limit?: number;
}
