/** Typed views of alerts.yml and alerts_test.yml shared by the ops tests. */
import { FILES } from "./paths.ts";
import { readRepoYaml } from "./yaml.ts";

/** One alerting rule of alerts.yml. */
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The rule file as Prometheus reads it. */
export interface RuleFile {
  groups: Array<{ name: string; rules: Array<AlertRule | { record: string; expr: string }> }>;
}

/** One `alert_rule_test` entry of a promtool unit test. */
export interface AlertRuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: Array<
    { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }
  >;
}

/** A promtool unit-test file. */
export interface RuleTestFile {
  rule_files: string[];
  evaluation_interval?: string;
  tests: Array<{
    name?: string;
    interval?: string;
    input_series?: Array<{ series: string; values: string }>;
    alert_rule_test?: AlertRuleTest[];
  }>;
}

/** Base URL every runbook_url starts with; the anchor follows `#`. */
export const RUNBOOK_BASE =
  "https://github.com/example/payment-ingest/blob/main/CIRCUIT_BREAKER_GUIDE.md#";

/** Every alerting rule of alerts.yml, in file order. */
export async function loadAlertRules(): Promise<AlertRule[]> {
  const file = await readRepoYaml<RuleFile>(FILES.alertRules);
  return file.groups.flatMap((g) => g.rules).filter((r): r is AlertRule => "alert" in r);
}

/** alerts_test.yml as parsed YAML. */
export function loadAlertTests(): Promise<RuleTestFile> {
  return readRepoYaml<RuleTestFile>(FILES.alertTests);
}

/** How many firing and not-firing cases the test file has per alert name. */
export function alertCaseCounts(
  tests: RuleTestFile,
): Map<string, { firing: number; notFiring: number }> {
  const counts = new Map<string, { firing: number; notFiring: number }>();
  for (const t of tests.tests) {
    for (const c of t.alert_rule_test ?? []) {
      const entry = counts.get(c.alertname) ?? { firing: 0, notFiring: 0 };
      if ((c.exp_alerts ?? []).length > 0) entry.firing++;
      else entry.notFiring++;
      counts.set(c.alertname, entry);
    }
  }
  return counts;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
export function githubSlug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** Anchors of every Markdown heading of a document (duplicates get GitHub's -1, -2 suffixes). */
export function markdownAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence) continue;
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = githubSlug(m[1]!.replace(/`/g, ""));
    const n = seen.get(base) ?? 0;
    anchors.add(n === 0 ? base : `${base}-${n}`);
    seen.set(base, n + 1);
  }
  for (const m of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(m[1]!);
  return anchors;
}
