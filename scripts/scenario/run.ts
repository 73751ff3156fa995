/**
 * One scenario run: the step lines (`[PASS] step 3/9 ...`), the failure report, the payment
 * events it posts (every 2xx answer goes to the ledger, in acceptance order) and the breaker
 * snapshots its checks read.
 */
import { eventBody } from "../lib/load.ts";
import { type Answer, answered } from "./http.ts";
import { field, nowMs, ScenarioExit, secs, text } from "./options.ts";
import type { Target } from "./target.ts";

import { PUBLISH_BREAKER } from "../../src/kafka/publisher.ts";

/** The breaker under test: the service's publish breaker. */
export const BREAKER = PUBLISH_BREAKER;

/** The breaker's figures as last read; strings as the service printed them (`null` when absent). */
export interface Snapshot {
  state: string;
  retry: string;
  notPermitted: string;
  failureRate: string;
  slowRate: string;
  slow: string;
  failed: string;
  buffered: string;
  openings: string;
  slowTotal: number;
}

/** One posted event's answer: `status/EV_STATUS/NNms` is its observation. */
export interface Posted extends Answer {
  eventId: string;
  evStatus: string;
  obs: string;
}

/** A ledger line: an acknowledged event. */
export interface LedgerEntry {
  step: number;
  eventId: string;
  paymentId: string;
  status: string;
  evStatus: string;
  ms: number;
}

/** The state one run carries from step to step. */
export class Run {
  step = 0;
  stepName = "";
  stepExpect = "";
  stepT0: number;
  readonly ledger: LedgerEntry[] = [];
  b: Snapshot = {
    state: "unknown",
    retry: "null",
    notPermitted: "0",
    failureRate: "null",
    slowRate: "null",
    slow: "null",
    failed: "null",
    buffered: "null",
    openings: "0",
    slowTotal: 0,
  };
  readonly #keySeq = new Map<string, number>();

  /** `t0`: when the script started (the lines' totals count from it, set-up included). */
  constructor(readonly target: Target, readonly ledgerPath: string, readonly t0: number) {
    this.stepT0 = t0;
  }

  /** Starts step `n`. */
  begin(n: number, name: string, expect: string): void {
    this.step = n;
    this.stepName = name;
    this.stepExpect = expect;
    this.stepT0 = nowMs();
  }

  #line(verdict: string, observed: string): void {
    const t = nowMs();
    console.log(
      `[${verdict}] step ${this.step}/9 ${this.stepName} | expected: ${this.stepExpect} | observed: ${observed} | ${
        secs(t - this.stepT0)
      } (total ${secs(t - this.t0)})`,
    );
  }

  /** Prints the step's PASS line. */
  pass(observed: string): void {
    this.#line("PASS", observed);
  }

  /** Prints the FAIL line and what an operator needs to see; returns the exit (1) to throw. */
  async fail(observed: string): Promise<ScenarioExit> {
    this.#line("FAIL", observed);
    console.log("");
    console.log("=== breaker at failure");
    const http = this.target.http;
    const snap = await http("GET", `/circuit-breaker/${BREAKER}`);
    if (answered(snap)) console.log(snap.body);
    const events = await http(
      "GET",
      `/circuit-breaker/${BREAKER}/events?type=STATE_TRANSITION&limit=10`,
    );
    if (answered(events)) console.log(events.body);
    console.log("=== service log (last 40 lines)");
    console.log(await this.target.serviceLogTail());
    console.log("=== broker log (last 40 lines)");
    console.log(await this.target.brokerLogTail());
    console.log(`=== scenario FAILED at step ${this.step}: ${this.stepName}`);
    return new ScenarioExit(1);
  }

  /** Posts one payment event for `key`; a 2xx answer is an acknowledgement and goes to the ledger. */
  async post(step: number, key: string): Promise<Posted> {
    const n = this.#keySeq.get(key) ?? 0;
    this.#keySeq.set(key, n + 1);
    const eventId = crypto.randomUUID();
    const body = eventBody(key, n, eventId, {
      merchantId: "breaker-scenario",
      metadata: { scenarioStep: step },
    });
    const a = await this.target.http("POST", "/payments", body);
    let evStatus = "null";
    if (/^2..$/.test(a.status)) {
      evStatus = text(field(a.body, "status"));
      const entry = { step, eventId, paymentId: key, status: a.status, evStatus, ms: a.ms };
      this.ledger.push(entry);
      await Deno.writeTextFile(
        this.ledgerPath,
        `${[step, eventId, key, a.status, evStatus, a.ms].join("\t")}\n`,
        { append: true },
      );
    }
    return { ...a, eventId, evStatus, obs: `${a.status}/${evStatus}/${a.ms}ms` };
  }

  /** Reads the breaker; false when it did not answer (state then says so) or has no state. */
  async snapshot(): Promise<boolean> {
    const a = await this.target.http("GET", `/circuit-breaker/${BREAKER}`);
    if (!answered(a)) {
      this.b.state = `unreachable (HTTP ${a.status})`;
      return false;
    }
    const f = (p: string) => text(field(a.body, p));
    const n = (p: string) => Number(field(a.body, p) ?? 0) || 0;
    this.b = {
      state: f("state"),
      retry: f("retryAfterMs"),
      notPermitted: f("notPermittedCalls"),
      failureRate: f("failureRate"),
      slowRate: f("slowCallRate"),
      slow: f("slowCalls"),
      failed: f("failedCalls"),
      buffered: f("bufferedCalls"),
      openings: f("consecutiveOpenings"),
      slowTotal: n("totals.slowFailed") + n("totals.slowSuccessful"),
    };
    return this.b.state !== "null";
  }
}
