/** Locations of the files the ops tests check, resolved from this file so any cwd works. */

/** Absolute path of the repository root (two levels above this file). */
export const ROOT: string = decodeURIComponent(new URL("../../", import.meta.url).pathname)
  .replace(/\/$/, "");

/** Absolute path of a file given relative to the repository root. */
export function repoPath(relative: string): string {
  return `${ROOT}/${relative.replace(/^\.?\//, "")}`;
}

/** Reads a repository file as text. */
export function readRepoText(relative: string): Promise<string> {
  return Deno.readTextFile(repoPath(relative));
}

/** True when the repository file exists (file or directory). */
export async function repoFileExists(relative: string): Promise<boolean> {
  try {
    await Deno.stat(repoPath(relative));
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Well-known files, so a rename is a one-line change. */
export const FILES = {
  prometheusConfig: "monitoring/prometheus/prometheus.yml",
  alertRules: "monitoring/prometheus/alerts.yml",
  alertTests: "monitoring/prometheus/alerts_test.yml",
  alertmanagerConfig: "monitoring/alertmanager/alertmanager.yml",
  grafanaDatasources: "monitoring/grafana/provisioning/datasources/prometheus.yml",
  grafanaDashboardProviders: "monitoring/grafana/provisioning/dashboards/dashboards.yml",
  grafanaDashboardsDir: "monitoring/grafana/dashboards",
  overviewDashboard: "monitoring/grafana/dashboards/payment-overview.json",
  compose: "docker-compose.yml",
  envExample: ".env.example",
  dockerfile: "Dockerfile",
  dockerignore: ".dockerignore",
  jenkinsfile: "Jenkinsfile",
  guide: "CIRCUIT_BREAKER_GUIDE.md",
  changelog: "CHANGELOG.md",
} as const;
