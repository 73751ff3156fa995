/**
 * How the breaker reads the error a call threw: ignored, a failure or a success (the config's
 * ignoreError and recordError), and the text of it that events carry.
 */

import type { BreakerConfig } from "./config.ts";

/** What a thrown error counts as; `ignored` keeps the call out of the window altogether. */
export type ErrorKind = "ignored" | "failure" | "success";

const MAX_ERROR_MESSAGE = 1_000;

/** Ignore wins over record; a throwing predicate must not hide a failure, so it means "record". */
export function classifyError(config: BreakerConfig, error: unknown): ErrorKind {
  try {
    if (config.ignoreError?.(error) === true) return "ignored";
  } catch {
    // fall through: treat as not ignored
  }
  try {
    return config.recordError === undefined || config.recordError(error) ? "failure" : "success";
  } catch {
    return "failure";
  }
}

/** The error's message for an event, cut to a bounded length; never throws. */
export function messageOf(error: unknown): string {
  try {
    const text = error instanceof Error ? error.message : String(error);
    return text.length > MAX_ERROR_MESSAGE ? `${text.slice(0, MAX_ERROR_MESSAGE)}...` : text;
  } catch {
    return "(unprintable error)";
  }
}
