/** The seven breaker states and which operator transitions between them are legal. */

/** Every state a breaker can be in; Resilience4j's names plus our FORCED_HALF_OPEN. */
export const BREAKER_STATES = Object.freeze(
  [
    "CLOSED",
    "OPEN",
    "HALF_OPEN",
    "DISABLED",
    "METRICS_ONLY",
    "FORCED_OPEN",
    "FORCED_HALF_OPEN",
  ] as const,
);

/** One of BREAKER_STATES. */
export type BreakerState = typeof BREAKER_STATES[number];

/** States in which every call is refused (CallNotPermittedError); callers may skip the work. */
export const REFUSING_STATES: ReadonlySet<BreakerState> = new Set(["OPEN", "FORCED_OPEN"]);

/**
 * Transitions Resilience4j refuses: HALF_OPEN must be earned through OPEN, and METRICS_ONLY is an
 * observation mode that must be left through CLOSED (or a forced state) first.
 */
const ILLEGAL: ReadonlySet<string> = new Set([
  "CLOSED->HALF_OPEN",
  "METRICS_ONLY->OPEN",
  "METRICS_ONLY->HALF_OPEN",
]);

/** True when `value` names one of the seven states (for input from HTTP or the environment). */
export function isBreakerState(value: unknown): value is BreakerState {
  return typeof value === "string" && (BREAKER_STATES as readonly string[]).includes(value);
}

/** True when an operator may move the breaker from `from` to `to`; a self-transition is legal. */
export function isLegalTransition(from: BreakerState, to: BreakerState): boolean {
  return !ILLEGAL.has(`${from}->${to}`);
}

/** The states an operator may move to from `from`, excluding `from` itself. */
export function allowedTargets(from: BreakerState): BreakerState[] {
  return BREAKER_STATES.filter((to) => to !== from && isLegalTransition(from, to));
}
