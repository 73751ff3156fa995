/**
 * Metric names used by PromQL expressions, and every expression the repository ships (alert
 * rules and Grafana dashboards). Later tests compare these names with what `/metrics` exports.
 *
 * This is a tokeniser, not a parser: it is exact for the expressions dashboards and alerts are
 * made of (selectors, functions, aggregations, binary operators, modifiers) and does not try to
 * reject invalid PromQL — promtool does that.
 */
import { FILES, readRepoText, repoPath } from "./paths.ts";
import { parseYaml } from "./yaml.ts";

/** Keywords and binary operators written as words; never metric names. */
const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "offset",
  "atan2",
]);

/** Aggregation operators; they may be followed by a grouping clause before their `(`. */
const AGGREGATIONS = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "group",
  "stddev",
  "stdvar",
  "count",
  "count_values",
  "bottomk",
  "topk",
  "quantile",
  "limitk",
  "limit_ratio",
]);

/** Literal words that are numbers in PromQL. */
const NUMBER_WORDS = new Set(["inf", "nan"]);

/** Strips string literals (double, single, back-quoted) so their text is never read as names. */
function stripStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
}

/** Removes `# ...` comments (PromQL allows them to the end of a line). */
function stripComments(expr: string): string {
  return expr.replace(/#[^\n]*/g, " ");
}

/**
 * Returns the metric names an expression selects, in order of first appearance, without
 * duplicates. Histogram samples keep their suffix (`x_bucket` stays `x_bucket`).
 */
export function metricNamesFromPromQL(expr: string): string[] {
  let s = stripComments(stripStrings(expr));
  s = s.replace(/\{[^{}]*\}/g, " "); // label matchers
  s = s.replace(/\[[^\[\]]*\]/g, " "); // ranges, subqueries, [$__rate_interval]
  s = s.replace(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, " "); // Grafana variables outside strings
  // Grouping and matching clauses carry label names, not metrics.
  s = s.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)/gi, " ");

  const names: string[] = [];
  const token =
    /(\d+(?:ms|[smhdwy]))+(?![A-Za-z0-9_:])|0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[A-Za-z_:][A-Za-z0-9_:]*|\S/g;
  for (const m of s.matchAll(token)) {
    const word = m[0];
    if (!/^[A-Za-z_:]/.test(word)) continue; // numbers, durations, operators, parentheses
    const lower = word.toLowerCase();
    if (KEYWORDS.has(lower) || NUMBER_WORDS.has(lower)) continue;
    const rest = s.slice((m.index ?? 0) + word.length);
    if (/^\s*\(/.test(rest)) continue; // function call or aggregation
    if (AGGREGATIONS.has(lower)) continue; // aggregation with a grouping clause removed above
    if (!names.includes(word)) names.push(word);
  }
  return names;
}

/** One PromQL expression shipped in the repository, with where it came from. */
export interface ShippedExpression {
  /** Human-readable origin, e.g. `alerts.yml: CircuitBreakerSlowCallRateHigh`. */
  source: string;
  expr: string;
}

interface RuleFile {
  groups?: Array<
    { name?: string; rules?: Array<{ alert?: string; record?: string; expr?: string }> }
  >;
}

interface GrafanaPanel {
  id?: number;
  title?: string;
  targets?: Array<{ expr?: string; refId?: string }>;
  panels?: GrafanaPanel[];
}

interface GrafanaDashboard {
  title?: string;
  panels?: GrafanaPanel[];
  templating?: { list?: Array<{ name?: string; query?: unknown; definition?: string }> };
}

/** Every expression of a Prometheus rule file. */
export function expressionsFromRuleFile(text: string, label: string): ShippedExpression[] {
  const doc = parseYaml(text) as RuleFile;
  const out: ShippedExpression[] = [];
  for (const group of doc.groups ?? []) {
    for (const rule of group.rules ?? []) {
      if (typeof rule.expr === "string") {
        out.push({
          source: `${label}: ${rule.alert ?? rule.record ?? group.name}`,
          expr: rule.expr,
        });
      }
    }
  }
  return out;
}

/** Flattens panels, including those nested in collapsed rows. */
export function allPanels(panels: GrafanaPanel[] | undefined): GrafanaPanel[] {
  return (panels ?? []).flatMap((p) => [p, ...allPanels(p.panels)]);
}

/**
 * Every expression of a Grafana dashboard: panel targets, and the selector inside a
 * `label_values(selector, label)` or `query_result(expr)` template variable.
 */
export function expressionsFromDashboard(
  dashboard: GrafanaDashboard,
  label: string,
): ShippedExpression[] {
  const out: ShippedExpression[] = [];
  for (const panel of allPanels(dashboard.panels)) {
    for (const target of panel.targets ?? []) {
      if (typeof target.expr === "string" && target.expr.trim() !== "") {
        out.push({
          source: `${label}: panel ${panel.id} "${panel.title}" ${target.refId ?? ""}`.trim(),
          expr: target.expr,
        });
      }
    }
  }
  for (const variable of dashboard.templating?.list ?? []) {
    const q = typeof variable.query === "string"
      ? variable.query
      : (variable.query as { query?: string } | undefined)?.query ?? variable.definition ?? "";
    const lv = /^\s*label_values\((.+),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/.exec(q);
    const qr = /^\s*query_result\((.+)\)\s*$/.exec(q);
    const inner = lv?.[1] ?? qr?.[1];
    if (inner) out.push({ source: `${label}: variable ${variable.name}`, expr: inner });
  }
  return out;
}

/** Every PromQL expression of `alerts.yml` and of every dashboard under monitoring/grafana/dashboards. */
export async function collectExpressions(): Promise<ShippedExpression[]> {
  const out = expressionsFromRuleFile(await readRepoText(FILES.alertRules), "alerts.yml");
  const dir = repoPath(FILES.grafanaDashboardsDir);
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".json")) files.push(entry.name);
  }
  for (const name of files.sort()) {
    const dashboard = JSON.parse(await Deno.readTextFile(`${dir}/${name}`)) as GrafanaDashboard;
    out.push(...expressionsFromDashboard(dashboard, name));
  }
  return out;
}

/**
 * Replaces Grafana's variables by concrete values so an expression can be sent to Prometheus
 * (`$__rate_interval` and friends become a duration, dashboard variables a given value).
 */
export function expandGrafanaVariables(
  expr: string,
  values: Record<string, string> = {},
  interval = "1m",
): string {
  return expr.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, a, b) => {
      const name = (a ?? b) as string;
      if (name.startsWith("__")) {
        return ["__rate_interval", "__interval", "__range"].includes(name) ? interval : whole;
      }
      return values[name] ?? whole;
    },
  );
}
