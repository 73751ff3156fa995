/** What the scenario drives: the service, its broker and how to undo everything (one per mode). */
import type { Http } from "./http.ts";

/** A prepared service and broker, local or compose. */
export interface Target {
  mode: "local" | "compose";
  base: string;
  http: Http;
  /** Brokers the independent reader uses (from the host). */
  consumerBrokers: string;
  topic: string;
  adminToken: string;
  requestTimeoutMs: number;
  deliveryTimeoutMs: number;
  budgetMs: number;
  /** Stops (or with --slow pauses) Kafka; rejects with the control tool's output. */
  kafkaDown(): Promise<void>;
  /** Starts (or resumes) Kafka and returns once it answers metadata requests. */
  kafkaUp(): Promise<void>;
  /** Checks the broker is down as wanted after kafkaDown; returns its state (or fails). */
  kafkaState(): Promise<{ state: string; wrong?: string }>;
  serviceLogTail(): Promise<string>;
  brokerLogTail(): Promise<string>;
  /** Undoes the run; `ledger` is the acknowledgement ledger (written to the work dir with --keep). */
  cleanup(): Promise<void>;
}
