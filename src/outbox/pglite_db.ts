/**
 * The embedded store: Postgres compiled to WebAssembly (PGlite), persisted in a local folder. It
 * runs the outbox's SQL unchanged, so a fresh machine needs nothing but Deno.
 */
import { PGlite } from "@electric-sql/pglite";
import { dirname } from "node:path";
import type { Db, Leadership, Queryable } from "./db.ts";
import { lockDataDir, type StoreLock } from "./store_lock.ts";

/** Thrown when Deno's permissions keep this process from writing the store's folder. */
export class StoreNotWritableError extends Error {
  override readonly name = "StoreNotWritableError";

  constructor(readonly dataDir: string, readonly grant: string) {
    super(
      `the embedded store in ${dataDir} is not writable by this process: add --allow-write=${grant} ` +
        "to its deno run flags (deno task start and deno task settlement grant any folder)",
    );
  }
}

/**
 * Fails at once, in one line naming the flag, when the folder or its lock file (beside the
 * folder) may not be written: PGlite would otherwise fail later with a bare permission error.
 */
async function assertWritable(dataDir: string): Promise<void> {
  const parent = dirname(dataDir.replace(/(.)\/+$/, "$1"));
  const { state } = await Deno.permissions.query({ name: "write", path: parent });
  if (state !== "granted") throw new StoreNotWritableError(dataDir, parent);
}

/**
 * Opens (creating on first use) an embedded database in `dataDir`, or in memory when null. A
 * folder has one owner: a second process gets StoreInUseError before anything is opened.
 */
export async function createPgliteDb(dataDir: string | null): Promise<Db> {
  let lock: StoreLock | null = null;
  let pg: PGlite;
  try {
    if (dataDir) {
      await assertWritable(dataDir);
      lock = await lockDataDir(dataDir);
      await Deno.mkdir(dataDir, { recursive: true });
    }
    pg = dataDir ? new PGlite(dataDir) : new PGlite();
    await pg.waitReady;
  } catch (e) {
    lock?.release();
    throw e;
  }
  const wrap = (q: Pick<PGlite, "query" | "exec">): Queryable => ({
    async query<T>(text: string, params?: unknown[]): Promise<T[]> {
      // Parameterless text may hold several statements (migrations): the simple protocol runs it.
      if (!params || params.length === 0) {
        const results = await q.exec(text);
        return (results.at(-1)?.rows ?? []) as T[];
      }
      return (await q.query<T>(text, params)).rows;
    },
  });
  const direct = wrap(pg);
  let closed = false;
  return {
    kind: "embedded",
    schema: "public",
    location: dataDir
      ? `embedded Postgres (PGlite) in ${dataDir}`
      : "embedded Postgres (in memory)",
    query: direct.query,
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return pg.transaction((tx) => fn(wrap(tx)));
    },
    // One process owns the data folder, so it is always the leader.
    tryLeadership(): Promise<Leadership | null> {
      return Promise.resolve({
        lost: new Promise<void>(() => {}),
        release: () => Promise.resolve(),
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        await pg.close();
      } finally {
        lock?.release();
      }
    },
  };
}
