/** The README's front door: how to get Deno, the two commands, and a code map that matches the tree. */
import { assert, assertEquals } from "@std/assert";
import { readRepoText, repoFileExists, repoPath } from "./paths.ts";

/** The body of the section under `heading` (up to the next `## `). */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  assert(start >= 0, `README has no "${heading}" section`);
  const rest = markdown.slice(start + heading.length + 2);
  const end = rest.search(/\n## /);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The paths a code map names: the first word of every line of its fenced block. */
function codeMapPaths(markdown: string): string[] {
  const body = section(markdown, "## Code map");
  const block = /```[a-z]*\n([\s\S]*?)```/.exec(body);
  if (!block) throw new Error("the code map has no fenced block");
  return block[1]!.split("\n").map((l) => l.trim().split(/\s+/)[0]!).filter((p) => p !== "");
}

/** Folders a newcomer must find in the code map: every folder of src/, scripts/, tests/, monitoring/. */
async function folders(): Promise<string[]> {
  const out: string[] = [];
  for (const top of ["src", "scripts", "tests", "monitoring"]) {
    for await (const e of Deno.readDir(repoPath(top))) {
      if (e.isDirectory) out.push(`${top}/${e.name}/`);
    }
  }
  return out.sort();
}

Deno.test("README: says how to get the pinned Deno before the two commands", async () => {
  const readme = await readRepoText("README.md");
  const pinned = (await readRepoText(".deno-version")).trim();
  const twoCommands = section(readme, "## Two commands");
  const install = twoCommands.indexOf(`npm install -g deno@${pinned}`);
  const start = twoCommands.indexOf("deno task start");
  assert(install >= 0, `the two commands do not say how to install Deno ${pinned}`);
  assert(install < start, "the Deno install line comes after the commands that need it");
});

Deno.test("README: the code map follows the two commands and names only paths that exist", async () => {
  const readme = await readRepoText("README.md");
  const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  assertEquals(headings.indexOf("Code map"), headings.indexOf("Two commands") + 1);
  const missing: string[] = [];
  for (const p of codeMapPaths(readme)) if (!(await repoFileExists(p))) missing.push(p);
  assertEquals(missing, [], "the code map names paths that do not exist");
});

Deno.test("README: the code map has a line for every source folder and every top-level source file", async () => {
  const readme = await readRepoText("README.md");
  const named = new Set(codeMapPaths(readme));
  const want = await folders();
  for await (const e of Deno.readDir(repoPath("src"))) {
    if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
      want.push(`src/${e.name}`);
    }
  }
  assertEquals(want.filter((p) => !named.has(p)), [], "folders or files missing from the code map");
});
