/**
 * YAML reading for the ops tests. The parser is deno-std's YAML module from the npm package that
 * deno.json already locks for `@std/assert`; once deno.json maps `@std/yaml`, import that instead.
 */
// deno-lint-ignore no-import-prefix
import { parse } from "npm:deno-std@1.4.0/yaml/parse.js";
import { readRepoText } from "./paths.ts";

/** Parses one YAML document. */
export function parseYaml(text: string): unknown {
  return parse(text) as unknown;
}

/** Reads and parses a YAML file given relative to the repository root. */
export async function readRepoYaml<T = unknown>(relative: string): Promise<T> {
  return parseYaml(await readRepoText(relative)) as T;
}
