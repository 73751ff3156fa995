/** One wording for thrown values in logs, problem details and script output. */

/** The message of any thrown value: an `Error`'s message, anything else as a string. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
