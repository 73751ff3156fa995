/**
 * Typed reads of an environment map under the settings tables' reader (src/settings/setting.ts),
 * which the programs' config modules use: each bad value is collected as a problem naming the
 * variable and the value, so one ConfigError can list them all.
 */

import { errorMessage } from "./error_message.ts";

/** An environment as `Deno.env.toObject()` returns it. */
export type Env = Record<string, string | undefined>;

/** Thrown when the environment holds invalid settings; `problems` names each bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/**
 * A program's config from the process environment, or its problems on stderr and exit code 2:
 * the one start-up path of both programs' `main.ts`.
 */
export function loadOrExit<C>(load: (env: Env) => C): C {
  try {
    return load(Deno.env.toObject());
  } catch (e) {
    console.error(e instanceof ConfigError ? e.message : errorMessage(e));
    Deno.exit(2);
  }
}

/** Reads variables from `env`, pushing a message onto `problems` for each bad value. */
export class EnvReader {
  constructor(private env: Env, private problems: string[]) {}

  /** The trimmed value, or `fallback` when unset or blank. */
  str(name: string, fallback: string): string {
    const v = this.env[name];
    return v === undefined || v.trim() === "" ? fallback : v.trim();
  }

  /** A finite number within `range`, or `fallback` (unset, or a problem recorded). */
  num(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const v = this.env[name];
    if (v === undefined || v.trim() === "") return fallback;
    const n = Number(v.trim());
    if (!Number.isFinite(n)) {
      this.problems.push(`${name} must be a number, got "${v}"`);
      return fallback;
    }
    if ((range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) {
      this.problems.push(
        `${name} must be in [${range.min ?? "-inf"}, ${range.max ?? "inf"}], got ${v.trim()}`,
      );
      return fallback;
    }
    return n;
  }

  /** An integer within `range`, or `fallback`. */
  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const n = this.num(name, fallback, range);
    if (!Number.isInteger(n)) {
      this.problems.push(`${name} must be an integer, got "${this.env[name]}"`);
      return fallback;
    }
    return n;
  }

  /** true/false (also 1/0, yes/no, on/off), or `fallback`. */
  bool(name: string, fallback: boolean): boolean {
    const v = this.env[name]?.trim().toLowerCase();
    if (v === undefined || v === "") return fallback;
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    this.problems.push(`${name} must be true or false, got "${this.env[name]}"`);
    return fallback;
  }

  /** One of `allowed` (compared in lower case), or `fallback`. */
  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const v = this.str(name, fallback).toLowerCase();
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.problems.push(`${name} must be one of ${allowed.join(", ")}, got "${v}"`);
    return fallback;
  }

  /**
   * An http:// or https:// base URL without a trailing slash, or null when unset. Credentials,
   * queries and fragments are refused: the URL shows in logs, and paths are appended to it.
   */
  httpUrl(name: string): string | null {
    const v = this.str(name, "");
    if (v === "") return null;
    let url: URL | null = null;
    try {
      url = new URL(v);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      this.problems.push(`${name} must be an http:// or https:// URL, got "${v}"`);
      return null;
    }
    if (url.username !== "" || url.password !== "") {
      // The value is not echoed: it holds a secret.
      const shown = `${url.protocol}//***@${url.host}${url.pathname}`;
      this.problems.push(`${name} must not carry credentials, got "${shown}"`);
      return null;
    }
    if (url.search !== "" || url.hash !== "") {
      this.problems.push(`${name} must be a base URL without query or fragment, got "${v}"`);
      return null;
    }
    return url.href.replace(/\/+$/, "");
  }

  /** A comma-separated list of Kafka brokers (host:port), at least one. */
  brokerList(name: string, fallback: string): string[] {
    const list = this.str(name, fallback).split(",").map((s) => s.trim()).filter((s) => s !== "");
    for (const b of list) {
      if (!/^[A-Za-z0-9.\-_]+:\d{1,5}$/.test(b)) {
        this.problems.push(`${name} must be a comma-separated list of host:port, got "${b}"`);
      }
    }
    if (list.length === 0) this.problems.push(`${name} must name at least one broker`);
    return list;
  }
}
