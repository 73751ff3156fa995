/** The human-readable form of a reconciliation report (the CLI's default output). */
import type { ReconcileReport } from "./reconcile.ts";

/** Renders a report as lines of text; at most `listLimit` items of each list are shown. */
export function formatReport(r: ReconcileReport, listLimit = 20): string {
  const lines: string[] = [];
  const more = (n: number) => (n > listLimit ? [`  ... and ${n - listLimit} more`] : []);
  lines.push(`reconcile topic ${r.topic}: published ${r.since} .. ${r.until}`);
  lines.push(
    `  outbox:  ${r.checked} published events in range, ${r.keys} payment ids` +
      ` (${r.pendingInRange} pending, ${r.deadLetteredInRange} dead-lettered: not compared)`,
  );
  lines.push(
    `  topic:   ${r.recordsRead} records read from ${r.partitions.length} partitions` +
      (r.partitions.length > 0
        ? ` (${r.partitions.map((p) => `${p.partition}:${p.start}-${p.end}`).join(" ")})`
        : ""),
  );
  lines.push(`  found:        ${r.found}`);
  lines.push(`  missing:      ${r.missing.length}`);
  for (const m of r.missing.slice(0, listLimit)) {
    lines.push(`    ${m.eventId} key ${m.key} seq ${m.seq} published ${m.publishedAt}`);
  }
  lines.push(...more(r.missing.length));
  lines.push(
    `  duplicated:   ${r.duplicated.length} events, ${r.duplicateCopies} extra copies` +
      " (allowed: consumers drop copies by eventId)",
  );
  for (const d of r.duplicated.slice(0, listLimit)) {
    lines.push(`    ${d.eventId} key ${d.key} x${d.copies} at ${d.at.join(", ")}`);
  }
  lines.push(...more(r.duplicated.length));
  lines.push(`  out of order: ${r.outOfOrder.length} keys, ${r.orderInversions} inversions`);
  for (const o of r.outOfOrder.slice(0, listLimit)) {
    lines.push(
      `    key ${o.key}: ${o.inversions} inversions${
        o.spansPartitions ? " (key spans partitions)" : ""
      }; accepted ${o.expected.join(",")} but first seen ${o.actual.join(",")}`,
    );
  }
  lines.push(...more(r.outOfOrder.length));
  if (r.wrongKey.length > 0) {
    lines.push(`  wrong key:    ${r.wrongKey.length} events carry another key than their payment`);
  }
  if (r.recordsWithoutEventId > 0) {
    lines.push(`  records without an eventId header: ${r.recordsWithoutEventId}`);
  }
  lines.push(`  other records read (outside the range or another producer): ${r.unmatchedRecords}`);
  lines.push(
    r.clean
      ? `RESULT: clean (${r.durationMs} ms)`
      : `RESULT: NOT CLEAN: ${r.missing.length} missing, ${r.outOfOrder.length} keys out of order (${r.durationMs} ms)`,
  );
  return lines.join("\n");
}
