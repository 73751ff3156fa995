/** Finding loopback ports nothing listens on, for brokers and services the scripts start. */

/** True when nothing listens on 127.0.0.1:`port`. */
export function isFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** The first pair (port, port + 1) from `from` upwards, within `span`, where both are free. */
export function freePortPair(from: number, span = 100): number {
  for (let port = from; port < from + span; port += 2) {
    if (isFree(port) && isFree(port + 1)) return port;
  }
  throw new Error(`no free port pair between ${from} and ${from + span}`);
}
