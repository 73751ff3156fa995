/**
 * Local mode: scripts/kafka.sh's broker and a service started here (scripts/lib/service_process.ts)
 * with a private database (or schema) and topic, everything undone at exit unless --keep.
 */
import postgres from "postgres";
import { isFree } from "../free_port.ts";
import { createTopic, deleteTopic } from "../../src/testing/kafka_admin.ts";
import { broker } from "../lib/kafka_ctl.ts";
import { type ServiceProc, ServiceStartError, spawnService } from "../lib/service_process.ts";
import { run } from "../lib/util.ts";
import { localHttp } from "./http.ts";
import { die, note, type ScenarioOptions } from "./options.ts";
import type { Target } from "./target.ts";

const env = (k: string) => Deno.env.get(k) || undefined;

/** Runs one SQL statement; false (with the error appended to `log`) when it fails. */
async function sql(url: string, statement: string, log: string): Promise<boolean> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client.unsafe(statement);
    return true;
  } catch (e) {
    await Deno.writeTextFile(log, `${statement}: ${(e as Error).message}\n`, { append: true });
    return false;
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** URL pointing at database `db`, query string kept. */
function withDatabase(url: string, db: string): string {
  const q = url.indexOf("?");
  const query = q >= 0 ? url.slice(q) : "";
  const bare = q >= 0 ? url.slice(0, q) : url;
  const scheme = bare.slice(0, bare.indexOf("://"));
  const rest = bare.slice(bare.indexOf("://") + 3);
  return `${scheme}://${rest.split("/")[0]}/${db}${query}`;
}

/** The broker's ports from the environment, refusing a KAFKA_BROKERS that is not the local one. */
function kafkaPorts(): { port: number; controllerPort: number; brokers: string } {
  let port = env("KAFKA_PORT");
  const given = env("KAFKA_BROKERS");
  // The broker this script may stop: derived from KAFKA_BROKERS when only that is given, so a
  // private KAFKA_BROKERS can never make it stop the shared default broker.
  if (port === undefined && given !== undefined) {
    const m = /^(127\.0\.0\.1|localhost):([0-9]+)$/.exec(given);
    if (!m) {
      die(
        `local mode drives the local broker: KAFKA_BROKERS must be 127.0.0.1:PORT (got ${given})`,
      );
    }
    port = m[2]!;
  }
  port ??= "9092";
  const controllerPort = Number(env("KAFKA_CONTROLLER_PORT") ?? Number(port) + 1);
  const brokers = given ?? `127.0.0.1:${port}`;
  if (!new RegExp(`^(127\\.0\\.0\\.1|localhost):${port}$`).test(brokers)) {
    die(`KAFKA_BROKERS (${brokers}) is not the local broker on KAFKA_PORT ${port}`);
  }
  return { port: Number(port), controllerPort, brokers };
}

/** Prepares local mode: broker, database, topic and the service; `work` is the work directory. */
export async function localTarget(
  opts: ScenarioOptions,
  runId: string,
  work: string,
): Promise<Target> {
  const { port, controllerPort, brokers } = kafkaPorts();
  const kafka = broker(port, controllerPort, { allowSharedPorts: true });
  const kafkaOut = `${work}/kafka.out`;
  const sqlOut = `${work}/sql.out`;
  let databaseUrl = env("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const ready = await run("pg_isready", ["-q", "-d", databaseUrl]).catch(() => null);
  if (ready && ready.code !== 0) {
    die(`Postgres is not reachable at ${databaseUrl} (bash scripts/services.sh up)`);
  }
  let adminDbUrl = "";
  let dbCreated = "";
  // The relay's leader lock is a database-wide advisory lock, so another service on the same
  // database (any schema) would lead instead of ours; a database of our own avoids that.
  if ((env("SCENARIO_PRIVATE_DB") ?? "1") === "1") {
    const db = `breaker_scenario_${runId}`;
    if (await sql(databaseUrl, `CREATE DATABASE ${db}`, sqlOut)) {
      adminDbUrl = databaseUrl;
      dbCreated = db;
      databaseUrl = withDatabase(databaseUrl, db);
    } else {
      note(`could not create a private database (see ${sqlOut}); using ${databaseUrl}`);
    }
  }
  const schema = env("DATABASE_SCHEMA") ?? `scenario_${runId}`;
  const schemaGenerated = env("DATABASE_SCHEMA") === undefined;
  const topic = env("KAFKA_TOPIC") ?? `breaker-scenario-${runId}`;
  const topicGenerated = env("KAFKA_TOPIC") === undefined;
  // CI-friendly timing; production keeps the service's (the seed's) defaults.
  const timing = {
    KAFKA_REQUEST_TIMEOUT_MS: env("KAFKA_REQUEST_TIMEOUT_MS") ?? "2000",
    KAFKA_DELIVERY_TIMEOUT_MS: env("KAFKA_DELIVERY_TIMEOUT_MS") ?? "3000",
    BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS: env("BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS") ??
      "5000",
    BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS: env("BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS") ??
      "1000",
    BREAKER_MINIMUM_NUMBER_OF_CALLS: env("BREAKER_MINIMUM_NUMBER_OF_CALLS") ?? "5",
    BREAKER_MAX_WAIT_DURATION_IN_HALF_OPEN_STATE_MS:
      env("BREAKER_MAX_WAIT_DURATION_IN_HALF_OPEN_STATE_MS") ?? "10000",
  };
  const adminToken = env("ADMIN_TOKEN") ?? `scenario-${crypto.randomUUID()}`;

  let kafkaStarted = false; // the script started the broker, so it stops it at exit
  let outage = false; // Kafka is stopped or paused by the script and not yet restarted
  let svc: ServiceProc | null = null;
  const ctl = async (what: () => Promise<void>) => {
    try {
      await what();
    } catch (e) {
      await Deno.writeTextFile(kafkaOut, `${(e as Error).message}\n`, { append: true });
      throw e;
    }
  };
  const tail = async (path: string, n: number) =>
    (await Deno.readTextFile(path).catch(() => "")).trimEnd().split("\n").slice(-n).join("\n");

  const target: Target = {
    mode: "local",
    base: "",
    http: localHttp(""),
    consumerBrokers: brokers,
    topic,
    adminToken,
    requestTimeoutMs: Number(timing.KAFKA_REQUEST_TIMEOUT_MS),
    deliveryTimeoutMs: Number(timing.KAFKA_DELIVERY_TIMEOUT_MS),
    budgetMs: Number(env("INLINE_PUBLISH_BUDGET_MS") ?? 1000),
    async kafkaDown() {
      outage = true;
      await ctl(() => opts.slow ? kafka.pause() : kafka.stop());
    },
    async kafkaUp() {
      await ctl(() => kafka.start()); // resumes a paused broker too; returns once it answers
      outage = false;
    },
    async kafkaState() {
      const state = await kafka.status();
      const want = opts.slow ? "paused" : "stopped";
      return state === want ? { state } : { state, wrong: `scripts/kafka.sh status says ${state}` };
    },
    serviceLogTail: () => Promise.resolve((svc?.lines ?? []).slice(-40).join("\n")),
    async brokerLogTail() {
      return (await kafka.logs().catch(() => "")).split("\n").slice(-40).join("\n");
    },
    async cleanup() {
      // Leave the broker as it was found: running if it was running, stopped if we started it.
      if (outage || kafkaStarted) {
        if ((await kafka.status().catch(() => "")) !== "running") {
          await ctl(() => kafka.start()).catch(() => note("could not restart the broker"));
        }
      }
      if (svc) {
        await svc.stop(15_000);
        if (opts.keep) await Deno.writeTextFile(`${work}/service.log`, svc.lines.join("\n") + "\n");
      }
      if (!opts.keep) {
        if (topicGenerated && (await kafka.status().catch(() => "")) === "running") {
          await deleteTopic([brokers], topic, { clientId: "breaker-scenario-admin" })
            .catch(() => note(`could not delete topic ${topic}`));
        }
        if (dbCreated) {
          const dropped = await sql(
            adminDbUrl,
            `DROP DATABASE IF EXISTS ${dbCreated} WITH (FORCE)`,
            sqlOut,
          );
          if (!dropped) note(`could not drop database ${dbCreated}`);
        } else if (schemaGenerated) {
          const dropped = await sql(
            databaseUrl,
            `DROP SCHEMA IF EXISTS "${schema}" CASCADE`,
            sqlOut,
          );
          if (!dropped) note(`could not drop schema ${schema}`);
        }
      }
      if (kafkaStarted) await ctl(() => kafka.stop()).catch(() => {});
      if (opts.keep) {
        note(
          `kept: work dir ${work}${
            dbCreated ? `, database ${dbCreated}` : ""
          }, schema ${schema}, topic ${topic}`,
        );
      }
    },
  };

  // A failed set-up undoes what it did so far, as the bash version's exit trap did.
  try {
    const was = await kafka.status().catch(() => "stopped");
    if (was === "paused") {
      die(`the broker on port ${port} is paused; resume it first (scripts/kafka.sh resume)`);
    } else if (was !== "running") {
      note(`local Kafka on 127.0.0.1:${port} is not running: starting it (stopped again at exit)`);
      kafkaStarted = true;
      try {
        await ctl(() => kafka.start());
      } catch {
        console.error(await tail(kafkaOut, 20));
        die("scripts/kafka.sh start failed");
      }
    }

    // The service creates a missing topic on its first publish; doing it here keeps that cost out
    // of the warm-up answers, which must be 201 within the inline budget.
    try {
      await createTopic([brokers], topic, {
        partitions: Number(env("KAFKA_TOPIC_PARTITIONS") ?? 3),
        clientId: "breaker-scenario-admin",
      });
    } catch (e) {
      console.error((e as Error).message);
      die(`could not create topic ${topic}`);
    }

    let servicePort = env("PORT");
    if (servicePort !== undefined && servicePort !== "0") {
      if (!isFree(Number(servicePort))) die(`PORT ${servicePort} is already in use`);
    } else if (servicePort === "0" || !isFree(8080)) {
      servicePort = "0"; // the service picks a free port and prints it
    } else {
      servicePort = "8080";
    }
    try {
      svc = await spawnService({
        name: "scenario",
        // The permissions of `deno task start`.
        denoFlags: [
          "--allow-net",
          "--allow-env",
          "--allow-read",
          "--allow-write=./data",
          "--allow-sys",
        ],
        env: {
          ...Deno.env.toObject(),
          ...timing,
          KAFKA_BROKERS: brokers,
          KAFKA_TOPIC: topic,
          DATABASE_URL: databaseUrl,
          DATABASE_SCHEMA: schema,
          ADMIN_TOKEN: adminToken,
          PORT: servicePort,
          HOST: "127.0.0.1",
          LOG_LEVEL: env("LOG_LEVEL") ?? "info",
        },
        startTimeoutMs: Number(env("SCENARIO_START_TIMEOUT_S") ?? 90) * 1000,
        ready: true,
      });
    } catch (e) {
      if (!(e instanceof ServiceStartError)) throw e;
      console.error(e.lines.slice(-40).join("\n"));
      die(
        e.exited
          ? "the service exited during start-up (log tail above)"
          : "the service did not become ready",
      );
    }
  } catch (e) {
    await target.cleanup();
    throw e;
  }
  target.base = svc.base;
  target.http = localHttp(svc.base);
  return target;
}
