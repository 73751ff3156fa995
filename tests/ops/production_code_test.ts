/**
 * Production and testing apart: the programs reach no test code (src/testing/, *_test.ts,
 * tests/, scripts/), and the image's build context leaves it out.
 */
import { assert, assertEquals } from "@std/assert";
import { readRepoText, ROOT } from "./paths.ts";

/** Each program's entry point, read from the deno task that runs it. */
async function entryPoints(): Promise<string[]> {
  const { tasks } = JSON.parse(await readRepoText("deno.json")) as {
    tasks: Record<string, string>;
  };
  return ["start", "consumer", "settlement", "settle"].map((t) => {
    const entry = tasks[t]?.split(" ").find((w) => w.startsWith("src/") && w.endsWith(".ts"));
    assert(entry, `deno task ${t} runs no src/ program`);
    return entry as string;
  });
}

/** The repository files `entry` imports, directly or not, relative to the root. */
async function localModules(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const { modules } = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const root = `file://${ROOT}/`;
  return modules.map((m) => m.specifier).filter((s) => s.startsWith(root)).map((s) =>
    s.slice(root.length)
  );
}

/** Test code by its path. */
const isTestCode = (path: string) =>
  /^(src\/testing|tests|scripts)\//.test(path) || path.endsWith("_test.ts");

Deno.test("production code imports no test code: src/testing/, *_test.ts, tests/, scripts/", async () => {
  for (const entry of await entryPoints()) {
    const modules = await localModules(entry);
    assert(modules.includes(entry) && modules.length > 5, `${entry}: ${modules.length} modules`);
    assertEquals(modules.filter(isTestCode), [], `${entry} reaches test code`);
  }
});

Deno.test("the image's build context leaves test code out (.dockerignore)", async () => {
  const ignored = (await readRepoText(".dockerignore")).split("\n").map((l) => l.trim());
  for (const pattern of ["src/testing/", "src/**/*_test.ts", "tests/", "scripts/"]) {
    assert(ignored.includes(pattern), `.dockerignore lacks ${pattern}`);
  }
});
