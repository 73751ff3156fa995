/** docs/DESIGN.md names only files that exist, so the drawn path cannot point at a removed hop. */
import { assert, assertEquals } from "@std/assert";
import { readRepoText, repoFileExists } from "./paths.ts";

Deno.test("docs/DESIGN.md: every file it names exists, and the README links it", async () => {
  const design = await readRepoText("docs/DESIGN.md");
  const named = [
    ...new Set([...design.matchAll(/`((?:src|tests|scripts)\/[\w/.-]+\.ts)`/g)]
      .map((m) => m[1]!)),
  ];
  assert(named.length >= 15, `only ${named.length} files named`);
  const missing: string[] = [];
  for (const f of named) if (!await repoFileExists(f)) missing.push(f);
  assertEquals(missing, []);
  assert((await readRepoText("README.md")).includes("(docs/DESIGN.md)"));
});
