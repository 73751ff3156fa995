/**
 * A private, throw-away Postgres cluster for the "Postgres restarted" case: the shared server on
 * 5432 is never restarted. Uses Debian's server binaries; as root, initdb and pg_ctl run as the
 * `postgres` OS user (initdb refuses root).
 */
import { run } from "../../../scripts/lib/util.ts";

/** A running private cluster. */
export interface PrivatePostgres {
  url: string;
  port: number;
  dir: string;
  /** Fast shutdown (connections terminated), as a crash of the database server looks to clients. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes its files. */
  destroy(): Promise<void>;
}

/** Finds the newest installed server binaries (PG_BIN overrides). */
async function binDir(): Promise<string> {
  const env = Deno.env.get("PG_BIN");
  if (env) return env;
  const versions: number[] = [];
  try {
    for await (const e of Deno.readDir("/usr/lib/postgresql")) {
      if (e.isDirectory && /^\d+$/.test(e.name)) versions.push(Number(e.name));
    }
  } catch { /* none installed */ }
  versions.sort((a, b) => b - a);
  for (const v of versions) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    try {
      await Deno.stat(`${dir}/initdb`);
      return dir;
    } catch { /* try the next one */ }
  }
  throw new Error(
    "no Postgres server binaries (initdb) found under /usr/lib/postgresql; apt-get install postgresql, or set PG_BIN",
  );
}

/** Creates and starts a private cluster on 127.0.0.1:`port` (trust auth, user postgres). */
export async function startPrivatePostgres(port: number): Promise<PrivatePostgres> {
  const bin = await binDir();
  const root = Deno.uid() === 0;
  const dir = await Deno.makeTempDir({ prefix: "faults-pg-" });
  if (root) {
    const who = await run("id", ["-u", "postgres"]);
    if (who.code !== 0) throw new Error("running as root but there is no `postgres` OS user");
    await Deno.chown(dir, Number(who.out.trim()), null);
  }
  const as = (cmd: string, args: string[]) =>
    root ? run("runuser", ["-u", "postgres", "--", cmd, ...args]) : run(cmd, args);
  const data = `${dir}/data`;
  const init = await as(`${bin}/initdb`, [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "--no-sync",
  ]);
  if (init.code !== 0) throw new Error(`initdb failed: ${init.out}`);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=50`;
  const ctl = async (...args: string[]) => {
    const r = await as(`${bin}/pg_ctl`, ["-D", data, "-l", `${dir}/log`, ...args]);
    if (r.code !== 0) throw new Error(`pg_ctl ${args.join(" ")} failed: ${r.out}`);
  };
  const start = () => ctl("-o", opts, "-w", "-t", "30", "start");
  const stop = () => ctl("-m", "fast", "-w", "-t", "30", "stop");
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    stop,
    start,
    async destroy() {
      await stop().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
