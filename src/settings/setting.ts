/**
 * One environment setting as data: its variable, type, default, allowed range or values, unit and
 * one-line doc. The programs' tables (service.ts, consumer.ts, settlement.ts) are made of these;
 * SettingsReader parses them, each bad value a problem naming the variable and the value, and
 * docs.ts renders them as the README's configuration tables.
 */
import { type Env, EnvReader } from "../env_reader.ts";

/** What a number counts; shown beside its range in the README. */
export type Unit = "ms" | "hours" | "bytes" | "events" | "ids" | "connections";

interface Base {
  /** The environment variable. */
  readonly env: string;
  /** One line for the README's "meaning" column. */
  readonly doc: string;
  /** The README's default cell when the value alone would mislead (unset, derived). */
  readonly defaultText?: string;
}

/** A whole number; a default of undefined is derived from other settings by the reader's caller. */
export interface IntSetting<D extends number | undefined = number | undefined> extends Base {
  readonly kind: "integer";
  readonly default: D;
  readonly min?: number;
  readonly max?: number;
  readonly unit?: Unit;
}

/** true/false (also 1/0, yes/no, on/off). */
export interface BoolSetting extends Base {
  readonly kind: "boolean";
  readonly default: boolean;
}

/** One of `values`, compared in lower case. */
export interface EnumSetting<T extends string = string> extends Base {
  readonly kind: "enum";
  readonly default: T;
  readonly values: readonly T[];
}

/**
 * A rule a text value must pass. The problem reads `<VARIABLE> must <must>`, then the value
 * (`, got "…"`), only its length (` (got 5)`, for secrets) or nothing (values that may hold one).
 */
export interface TextRule {
  readonly test: (value: string) => boolean;
  readonly must: string;
  readonly show: "value" | "length" | "nothing";
}

/** Trimmed text; `optional`: unset or blank is null. `raw`: not trimmed (a secret is as given). */
export interface TextSetting extends Base {
  readonly kind: "text";
  /** null: the setting is optional (unset or blank reads as null). */
  readonly default: string | null;
  readonly rule?: TextRule;
  /** The README's "allowed" cell. */
  readonly allowed?: string;
  readonly raw?: boolean;
}

/** An http:// or https:// base URL without credentials, query or fragment; unset is null. */
export interface UrlSetting extends Base {
  readonly kind: "http-url";
}

/** A comma-separated list of Kafka brokers (host:port), at least one. */
export interface BrokersSetting extends Base {
  readonly kind: "brokers";
  readonly default: string;
}

/** Text turned into a value by `parse` (null: refused); a null default makes the setting optional. */
export interface ParsedSetting<T> extends Base {
  readonly kind: "parsed";
  readonly default: string | null;
  readonly parse: (value: string) => T | null;
  /** The problem reads `<VARIABLE> must <must>, got "<value>"`. */
  readonly must: string;
  readonly allowed: string;
}

/** Any setting of a table. */
export type Setting =
  | IntSetting
  | BoolSetting
  | EnumSetting
  | TextSetting
  | UrlSetting
  | BrokersSetting
  // deno-lint-ignore no-explicit-any
  | ParsedSetting<any>;

type Doc = { doc: string; defaultText?: string };

/** A whole-number setting; a default of undefined is given by the caller when it reads. */
export function int(
  env: string,
  value: number,
  o: Doc & { min?: number; max?: number; unit?: Unit },
): IntSetting<number>;
export function int(
  env: string,
  value: undefined,
  o: Doc & { min?: number; max?: number; unit?: Unit; defaultText: string },
): IntSetting<undefined>;
export function int(
  env: string,
  value: number | undefined,
  o: Doc & { min?: number; max?: number; unit?: Unit },
): IntSetting {
  return Object.freeze({ kind: "integer", env, default: value, ...o });
}

/** A boolean setting. */
export function bool(env: string, value: boolean, o: Doc): BoolSetting {
  return Object.freeze({ kind: "boolean", env, default: value, ...o });
}

/** A setting that is one of `values`. */
export function oneOf<T extends string>(
  env: string,
  value: NoInfer<T>,
  values: readonly T[],
  o: Doc,
): EnumSetting<T> {
  return Object.freeze({ kind: "enum", env, default: value, values, ...o });
}

/** A text setting with a default (never null when read). */
export type RequiredTextSetting = TextSetting & { readonly default: string };

type TextOptions = Doc & { rule?: TextRule; allowed?: string; raw?: boolean };

/** A text setting; a null default makes it optional. */
export function text(env: string, value: string, o: TextOptions): RequiredTextSetting;
export function text(env: string, value: null, o: TextOptions): TextSetting;
export function text(env: string, value: string | null, o: TextOptions): TextSetting {
  return Object.freeze({ kind: "text", env, default: value, ...o });
}

/** An optional http(s) base URL. */
export function httpUrl(env: string, o: Doc): UrlSetting {
  return Object.freeze({ kind: "http-url", env, ...o });
}

/** A broker list. */
export function brokers(env: string, value: string, o: Doc): BrokersSetting {
  return Object.freeze({ kind: "brokers", env, default: value, ...o });
}

/** A setting parsed from text; a null default makes it optional. */
export function parsed<T>(
  env: string,
  value: string | null,
  o: Doc & { parse: (v: string) => T | null; must: string; allowed: string },
): ParsedSetting<T> {
  return Object.freeze({ kind: "parsed", env, default: value, ...o });
}

/** A shared setting as one program has it: another default, doc or variable name. */
export function variant<S extends Setting>(setting: S, change: Partial<S>): S {
  const changed: S = { ...setting, ...change };
  return Object.freeze(changed);
}

/** Reads settings from `env`, pushing a message onto `problems` for each bad value. */
export class SettingsReader {
  readonly #read: EnvReader;

  constructor(private env: Env, private problems: string[]) {
    this.#read = new EnvReader(env, problems);
  }

  /** An integer within the setting's range; `fallback` stands in for a derived default. */
  int(s: IntSetting<number>, fallback?: number): number;
  int(s: IntSetting<undefined>, fallback: number): number;
  int(s: IntSetting, fallback?: number): number {
    const value = fallback ?? s.default;
    if (value === undefined) throw new TypeError(`${s.env} has no default; pass one`);
    return this.#read.int(s.env, value, { min: s.min, max: s.max });
  }

  /** The boolean, or the default. */
  bool(s: BoolSetting): boolean {
    return this.#read.bool(s.env, s.default);
  }

  /** One of the setting's values, or the default. */
  oneOf<T extends string>(s: EnumSetting<T>): T {
    return this.#read.oneOf(s.env, s.default, s.values);
  }

  /** The text (null when optional and unset), checked against the setting's rule. */
  text(s: RequiredTextSetting): string;
  text(s: TextSetting): string | null;
  text(s: TextSetting): string | null {
    const value = s.raw ? this.env[s.env] ?? "" : this.#read.str(s.env, s.default ?? "");
    if (s.default === null && value === "") return null;
    if (s.rule && !s.rule.test(value)) this.problems.push(ruleProblem(s.env, s.rule, value));
    return value;
  }

  /** The URL without its trailing slash, or null when unset. */
  url(s: UrlSetting): string | null {
    return this.#read.httpUrl(s.env);
  }

  /** The brokers, at least one. */
  brokers(s: BrokersSetting): string[] {
    return this.#read.brokerList(s.env, s.default);
  }

  /** The parsed value; null when optional and unset, or refused (a problem recorded). */
  parsed<T>(s: ParsedSetting<T>): T | null {
    const value = this.#read.str(s.env, s.default ?? "");
    if (value === "") return null;
    const out = s.parse(value);
    if (out === null) this.problems.push(`${s.env} must ${s.must}, got "${value}"`);
    return out;
  }
}

function ruleProblem(env: string, rule: TextRule, value: string): string {
  const shown = rule.show === "value"
    ? `, got "${value}"`
    : rule.show === "length"
    ? ` (got ${value.length})`
    : "";
  return `${env} must ${rule.must}${shown}`;
}
