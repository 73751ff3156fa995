/** YAML reading for the ops tests (deno std's YAML module, mapped as `@std/yaml`). */
import { parse, stringify } from "@std/yaml";
import { readRepoText } from "./paths.ts";

/** Parses one YAML document. */
export function parseYaml(text: string): unknown {
  return parse(text) as unknown;
}

/** Reads and parses a YAML file given relative to the repository root. */
export async function readRepoYaml<T = unknown>(relative: string): Promise<T> {
  return parseYaml(await readRepoText(relative)) as T;
}

/** Serialises a value as YAML (used to write mutated copies of config files). */
export function stringifyYaml(value: unknown): string {
  return stringify(value) as string;
}
