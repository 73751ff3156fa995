/** The benchmark's figures: their shape, and the markdown table printed at the end of a run. */
import type { CpuSample } from "./cpu.ts";
import type { SettlementBenchResult } from "./settlement_bench.ts";

/** CPU µs per request of each process during a phase: the headline figures. */
export interface CpuPerRequest extends CpuSample {
  wrk: number;
}

export interface PhaseResult {
  phase: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  errors: number;
  statuses: Record<string, number>;
  peakRssMb: number;
  cpuUsPerRequest: CpuPerRequest;
}

/** Everything one run measured, as written to the JSON file. */
export interface BenchReport {
  settings: { durationS: number; connections: number; threads: number };
  machine: { cpus: number; os: string; deno: string; memoryGb: number };
  phases: PhaseResult[];
  drain: Record<string, number>;
  breakerOverheadNs: Record<string, number>;
  ratios: {
    healthyOverNaive: number;
    exactlyOnceOverAtLeastOnceRequestsPerSecond: number;
    exactlyOnceOverAtLeastOnceServiceCpu: number;
    kafkaDownOverNaive: number;
    oursOverOpossum: number;
    oursOverCockatiel: number;
  };
  verification: Record<string, unknown>;
  /** The settlement phase (scripts/bench/settlement_bench.ts); null when it did not run. */
  settlement?: SettlementBenchResult | null;
}

/** The run as markdown tables: CPU per request by process first, then the rest. */
export function renderReport(report: BenchReport): string {
  const { phases: results, drain, breakerOverheadNs: overhead, ratios, verification, machine } =
    report;
  const { threads: THREADS, connections: CONNECTIONS, durationS: DURATION } = report.settings;
  const f = (n: number, d = 0) => Number.isFinite(n) ? n.toFixed(d) : "n/a";
  return [
    "CPU µs per request (per event in the drain row), by process:",
    "",
    "| phase | service µs | Postgres µs | Kafka µs | wrk µs | requests/s | p50 ms | p99 ms | p99.9 ms | errors | answers | peak RSS MB |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ...results.map((r) => {
      const us = r.cpuUsPerRequest;
      const brokers = (us.kafkaBrokers ?? []).length > 1
        ? ` (${us.kafkaBrokers.map((b) => f(b)).join(" / ")})`
        : "";
      return `| ${r.phase} | ${f(us.service)} | ${f(us.postgres)} | ${f(us.kafka)}${brokers} | ${
        f(us.wrk)
      } | ${f(r.requestsPerSecond)} | ${f(r.p50Ms, 1)} | ${f(r.p99Ms, 1)} | ${
        f(r.p999Ms, 1)
      } | ${r.errors} | ${Object.entries(r.statuses).map(([s, n]) => `${n}×${s}`).join(", ")} | ${
        f(r.peakRssMb)
      } |`;
    }),
    `| drain (Kafka back) | ${f(drain.cpuUsPerEventService ?? NaN)} | ${
      f(drain.cpuUsPerEventPostgres ?? NaN)
    } | ${f(drain.cpuUsPerEventKafka ?? NaN)} | | ${
      f(drain.eventsPerSecond ?? NaN)
    } events/s | | | | | ${drain.backlog ?? 0} events in ${f(drain.seconds ?? NaN, 2)} s | ${
      f(drain.peakRssMb ?? NaN)
    } |`,
    ...(report.settlement ? settlementRows(report.settlement, f) : []),
    "",
    "| breaker overhead | ns per call |",
    "|---|---:|",
    ...Object.entries(overhead).map(([k, v]) => `| ${k} | ${f(v)} |`),
    "",
    "| ratio | value |",
    "|---|---:|",
    `| healthy / naive | ${f(ratios.healthyOverNaive, 2)}x |`,
    `| exactly-once / at-least-once, healthy requests/s | ${
      f(ratios.exactlyOnceOverAtLeastOnceRequestsPerSecond, 2)
    }x |`,
    `| exactly-once / at-least-once, healthy service CPU per event | ${
      f(ratios.exactlyOnceOverAtLeastOnceServiceCpu, 2)
    }x |`,
    `| Kafka down / naive | ${f(ratios.kafkaDownOverNaive, 2)}x |`,
    `| ours / opossum (time per call) | ${f(ratios.oursOverOpossum, 2)} |`,
    `| ours / cockatiel (time per call) | ${f(ratios.oursOverCockatiel, 2)} |`,
    "",
    `No loss: ${verification.foundInTopic} of ${verification.storedEvents} stored events found in the topic (lost: ${verification.lost}); exactly-once: ${verification.exactlyOnceFound} of ${verification.exactlyOnceStored} found, ${verification.exactlyOnceDuplicates} duplicates.`,
    `Machine: ${machine.cpus} CPUs, ${machine.memoryGb} GiB, ${machine.os}, Deno ${machine.deno}; wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}s; load generator, Postgres, Kafka and service on the same machine.`,
  ].join("\n");
}

/** The settlement phase's table. */
function settlementRows(
  s: SettlementBenchResult,
  f: (n: number, d?: number) => string,
): string[] {
  return [
    "",
    "| settlement | settlement µs/event | Postgres µs/event | events/s | close (reconcile + statements) | peak RSS MB |",
    "|---|---:|---:|---:|---|---:|",
    `| ${s.events} events applied, day closed | ${f(s.cpuUsPerEvent.settlement)} | ${
      f(s.cpuUsPerEvent.postgres)
    } | ${f(s.eventsPerSecond)} | ${f(s.closeSeconds, 1)} s (${
      f(s.closeTimings.reconcileMs / 1000, 1)
    } + ${
      f(s.closeTimings.freezeMs / 1000, 1)
    } s), ${s.statements} statements, reconciled ${s.reconciled} | ${f(s.peakRssMb)} |`,
  ];
}
