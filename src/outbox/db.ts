/**
 * The thin database adapter: the outbox's SQL runs unchanged on whatever implements `Db`.
 * `createPostgresDb` serves a Postgres server through postgres.js.
 */
import postgres from "postgres";
import { withDeadline } from "../deadline.ts";

/** Runs parameterised SQL text ($1, $2, ...) and returns the rows. */
export interface Queryable {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

/** A held leadership lock; `lost` resolves if the session holding it dies. */
export interface Leadership {
  lost: Promise<void>;
  release(): Promise<void>;
}

/** A database the outbox can live in. */
export interface Db extends Queryable {
  /** "server" (a Postgres server) or "embedded" (in-process). */
  readonly kind: "server" | "embedded";
  /** A human-readable location without credentials, for logs. */
  readonly location: string;
  /** The schema holding the outbox; leadership locks are per schema. */
  readonly schema: string;
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Tries to become the single leader for `key` (a session advisory lock); null when taken. */
  tryLeadership(key: string): Promise<Leadership | null>;
  /** Closes every connection, waiting at most `timeoutMs` for running queries. */
  close(timeoutMs?: number): Promise<void>;
}

/** Options of the Postgres server adapter. */
export interface PostgresDbOptions {
  schema?: string;
  poolSize?: number;
  /** Seconds to wait for a connection before a query fails (fast 503s when Postgres is down). */
  connectTimeoutS?: number;
  statementTimeoutMs?: number;
  /** Told when a driver fault was contained and the pool replaced (default: a warn log line). */
  onDriverFault?: (error: Error) => void;
}

/**
 * postgres.js 3.4.9 writes to a connection's socket from a setImmediate callback; when the
 * server closed that connection first (a Postgres restart, a killed backend), the callback throws
 * `TypeError: Cannot read properties of null (reading 'write')` (porsager/postgres#1066, #1154,
 * #1208). The throw escapes every caller's await, so it is fatal for the process, and it leaves
 * the connection object unable to write again. This recognises exactly that throw.
 */
export function isDriverWriteFault(e: unknown): e is TypeError {
  return e instanceof TypeError && /reading 'write'/.test(e.message) &&
    /\bnextWrite\b/.test(e.stack ?? "") && /[\\/]postgres[\\/@]/.test(e.stack ?? "");
}

/** Connects to a Postgres server; the schema is created when missing and set as search_path. */
export function createPostgresDb(url: string, opts: PostgresDbOptions = {}): Db {
  const schema = opts.schema ?? "public";
  const pool = () =>
    postgres(url, {
      max: opts.poolSize ?? 10,
      connect_timeout: opts.connectTimeoutS ?? 3,
      idle_timeout: 60,
      max_lifetime: 30 * 60,
      // Seconds before a closed connection reconnects. The driver's default grows to 20 s over
      // the failures of the whole pool, and queries queued for a connection wait that long:
      // requests hung 10-20 s during a Postgres restart instead of getting a fast 503.
      backoff: (retries: number) => Math.min(0.1 * 2 ** Math.max(0, retries - 1), 1),
      prepare: true,
      onnotice: () => {},
      connection: {
        application_name: "payment-ingest",
        search_path: `${schema},public`,
        statement_timeout: opts.statementTimeoutMs ?? 10_000,
      },
    });
  let sql = pool();
  const parsed = new URL(url);
  const location = `postgres://${parsed.host}${parsed.pathname} (schema ${schema})`;
  let schemaReady: Promise<void> | null = null;
  const ensureSchema = () => {
    schemaReady ??= sql.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`).then(() => {}, (e) => {
      schemaReady = null;
      throw e;
    });
    return schemaReady;
  };
  // Leadership locks live in a session of their own one-connection client, never in a
  // `sql.reserve()`d connection: postgres.js 3.4.9 throws an uncatchable TypeError (nextWrite on
  // a null socket, porsager/postgres#1208) when a query is sent on a reserved connection that the
  // server closed, so a Postgres restart killed the process at the next heartbeat.
  let lockClient: postgres.Sql | null = null;
  const newLockClient = () =>
    postgres(url, {
      max: 1,
      connect_timeout: opts.connectTimeoutS ?? 3,
      idle_timeout: 0,
      max_lifetime: 0,
      prepare: false,
      onnotice: () => {},
      connection: { application_name: "payment-ingest-leader" },
    });
  // Contain the driver fault (see isDriverWriteFault) instead of dying, and swap in a fresh pool:
  // queries on the old one fail (503, retried by clients) and its poisoned connections go away.
  const onError = (event: ErrorEvent) => {
    if (!isDriverWriteFault(event.error)) return;
    event.preventDefault();
    const old = sql;
    sql = pool();
    old.end({ timeout: 0 }).catch(() => {});
    lockClient?.end({ timeout: 0 }).catch(() => {});
    (opts.onDriverFault ?? logDriverFault)(event.error);
  };
  globalThis.addEventListener("error", onError);
  const run = <T>(q: postgres.Sql | postgres.TransactionSql, text: string, params?: unknown[]) =>
    q.unsafe(text, (params ?? []) as postgres.ParameterOrJSON<never>[], {
      // Named statements, prepared once per connection: postgres.js prepares nothing sent through
      // unsafe() unless asked, and then describes every parameterised statement first, a second
      // round trip per statement (measured: 35 µs of socket writes per accepted event).
      prepare: true,
    }) as unknown as Promise<T[]>;

  return {
    kind: "server",
    location,
    schema,
    async query<T>(text: string, params?: unknown[]): Promise<T[]> {
      if (schema !== "public") await ensureSchema();
      return [...await run<T>(sql, text, params)];
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      if (schema !== "public") await ensureSchema();
      return await sql.begin((tx) =>
        fn({ query: async <R>(t: string, p?: unknown[]) => [...await run<R>(tx, t, p)] })
      ) as T;
    },
    async tryLeadership(key: string): Promise<Leadership | null> {
      const lock = lockClient ??= newLockClient();
      const end = () => {
        if (lockClient === lock) lockClient = null;
        return lock.end({ timeout: 1 }).catch(() => {});
      };
      let pid: number;
      try {
        const [row] = await lock.unsafe(
          "SELECT pg_try_advisory_lock(hashtext($1)) AS ok, pg_backend_pid() AS pid",
          [key],
        );
        if (!row?.ok) return null;
        pid = Number(row.pid);
      } catch (e) {
        await end();
        throw e;
      }
      let released = false;
      let onLost: () => void = () => {};
      const lost = new Promise<void>((resolve) => (onLost = resolve));
      // A dead session drops the advisory lock. The client reconnects by itself, so a new
      // backend pid also means that the session holding the lock is gone.
      // An answer that never comes (a connection the driver can no longer write to) counts too.
      const heartbeat = setInterval(() => {
        withDeadline(lock.unsafe("SELECT pg_backend_pid() AS pid"), 5000, () => {
          throw new Error("leadership heartbeat unanswered");
        }).then(([row]) => Number(row?.pid) !== pid && drop(), drop);
      }, 2000);
      Deno.unrefTimer(heartbeat);
      function drop() {
        clearInterval(heartbeat);
        if (released) return;
        released = true;
        end();
        onLost();
      }
      return {
        lost,
        async release() {
          clearInterval(heartbeat);
          if (released) return;
          released = true;
          await lock.unsafe("SELECT pg_advisory_unlock(hashtext($1))", [key]).catch(() => {});
          await end();
        },
      };
    },
    async close(timeoutMs = 5000): Promise<void> {
      globalThis.removeEventListener("error", onError);
      await lockClient?.end({ timeout: 1 }).catch(() => {});
      await sql.end({ timeout: timeoutMs / 1000 });
    },
  };
}

function logDriverFault(error: Error): void {
  console.error(JSON.stringify({
    ts: new Date().toISOString(),
    level: "warn",
    msg: "postgres driver fault contained; connection pool replaced",
    error: error.message,
  }));
}
