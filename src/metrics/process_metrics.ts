/**
 * The process_* and nodejs_* series of every program (service, consumer, settlement), true under
 * Deno's sandbox. prom-client reads resident and virtual memory, the data segment and the file
 * descriptors from /proc/self, which Deno opens only to --allow-all; under the programs' own
 * flags those series read 0. There, resident memory comes from Deno.memoryUsage() instead, and
 * the series nothing else can read are left out rather than exported as a 0 that looks like a
 * reading. CPU seconds, start time and the V8 heap are prom-client's (process.cpuUsage, uptime,
 * v8) and true either way.
 */
import { collectDefaultMetrics, Gauge, type Registry } from "prom-client";

/** prom-client's series that read /proc/self. */
const FROM_PROC = [
  "process_resident_memory_bytes",
  "process_virtual_memory_bytes",
  "process_heap_bytes",
  "process_open_fds",
  "process_max_fds",
];

/** True when this process may read /proc/self (Deno: only with --allow-all). */
function procReadable(): boolean {
  try {
    Deno.readTextFileSync("/proc/self/stat");
    return true;
  } catch {
    return false;
  }
}

/** Registers the process and runtime series in `registry`. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  if (procReadable()) return;
  for (const name of FROM_PROC) registry.removeSingleMetric(name);
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    registers: [registry],
    collect() {
      this.set(Deno.memoryUsage().rss);
    },
  });
}
