/**
 * Used by the Dockerfile: keeps test-only packages out of the image while keeping deno.lock's
 * integrity promise.
 *
 *   deno run -A docker/production_deps.ts prune    # drops TEST_ONLY from deno.json's imports
 *   deno cache src/main.ts ...                     # Deno prunes deno.lock to what is reached
 *   deno run -A docker/production_deps.ts verify deno.lock.full
 *
 * `verify` fails when the pruned lockfile holds a package or module that the full lockfile does
 * not hold with the same version and integrity, i.e. when the image would run anything the
 * repository's lockfile did not pin.
 */

/** Imports only tests, benchmarks and the e2e suite use. */
export const TEST_ONLY = [
  "playwright-core",
  "fast-check",
  "opossum",
  "cockatiel",
  "@sinonjs/fake-timers",
];

type Lock = Record<string, unknown>;

/** Entries of `pruned` that `full` lacks or pins differently ("section key" each). */
export function unpinned(pruned: Lock, full: Lock): string[] {
  const out: string[] = [];
  for (const section of ["specifiers", "npm", "jsr", "remote"]) {
    const p = (pruned[section] ?? {}) as Record<string, unknown>;
    const f = (full[section] ?? {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(p)) {
      if (JSON.stringify(value) !== JSON.stringify(f[key])) out.push(`${section} ${key}`);
    }
  }
  return out;
}

/** deno.json with the test-only imports removed. */
export function pruneConfig(config: { imports?: Record<string, string> }) {
  const imports = Object.fromEntries(
    Object.entries(config.imports ?? {}).filter(([name]) => !TEST_ONLY.includes(name)),
  );
  return { ...config, imports };
}

if (import.meta.main) {
  const [mode, fullPath] = Deno.args;
  if (mode === "prune") {
    const config = JSON.parse(await Deno.readTextFile("deno.json"));
    await Deno.writeTextFile("deno.json", JSON.stringify(pruneConfig(config), null, 2));
  } else if (mode === "verify" && fullPath) {
    const pruned = JSON.parse(await Deno.readTextFile("deno.lock"));
    const full = JSON.parse(await Deno.readTextFile(fullPath));
    const bad = unpinned(pruned, full);
    if (bad.length) {
      console.error(
        `production_deps: not pinned by the repository's deno.lock:\n  ${bad.join("\n  ")}`,
      );
      Deno.exit(1);
    }
  } else {
    console.error("usage: production_deps.ts prune | verify <full deno.lock>");
    Deno.exit(2);
  }
}
