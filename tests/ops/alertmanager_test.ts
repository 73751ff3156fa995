import { assert, assertEquals } from "@std/assert";
import { loadAlertRules } from "./alerts_model.ts";
import { FILES } from "./paths.ts";
import { assertSucceeded, missingTool, requireTool, run } from "./tools.ts";
import { readRepoYaml } from "./yaml.ts";

interface Route {
  receiver?: string;
  matchers?: string[];
  routes?: Route[];
}

interface AlertmanagerConfig {
  route: Route;
  receivers: Array<{ name: string; webhook_configs?: Array<{ url: string }> }>;
  inhibit_rules?: unknown[];
}

const noAmtool = missingTool("amtool");

/** Receiver each severity must reach. */
const RECEIVER_BY_SEVERITY: Record<string, string> = {
  critical: "oncall-critical",
  warning: "team-default",
  info: "team-default",
};

Deno.test({
  name: "amtool check-config accepts alertmanager.yml",
  ignore: noAmtool,
  async fn() {
    requireTool("amtool", "prometheus-alertmanager");
    const r = await run("amtool", ["check-config", FILES.alertmanagerConfig]);
    assertSucceeded(r, "amtool check-config");
    assert(r.stdout.includes("SUCCESS"), r.stdout);
  },
});

Deno.test({
  name: "amtool routes every alert of alerts.yml to the receiver of its severity",
  ignore: noAmtool,
  async fn() {
    requireTool("amtool", "prometheus-alertmanager");
    const rules = await loadAlertRules();
    for (const rule of rules) {
      const severity = rule.labels?.severity ?? "";
      const labels = Object.entries({ alertname: rule.alert, ...rule.labels }).map(([k, v]) =>
        `${k}=${v}`
      );
      const r = await run("amtool", [
        "config",
        "routes",
        "test",
        `--config.file=${FILES.alertmanagerConfig}`,
        ...labels,
      ]);
      assertSucceeded(r, `amtool config routes test ${labels.join(" ")}`);
      assertEquals(r.stdout.trim(), RECEIVER_BY_SEVERITY[severity], `${rule.alert} (${severity})`);
    }
  },
});

Deno.test("alertmanager.yml: default and critical receivers exist, their integrations come from .env", async () => {
  const cfg = await readRepoYaml<AlertmanagerConfig>(FILES.alertmanagerConfig);
  const names = cfg.receivers.map((r) => r.name);
  assertEquals(cfg.route.receiver, "team-default");
  for (const name of Object.values(RECEIVER_BY_SEVERITY)) {
    assert(names.includes(name), `receiver ${name} is missing`);
  }
  // No placeholder URLs in the file: entrypoint.sh adds ALERT_WEBHOOK_URL / ALERT_SLACK_* to each
  // receiver (compose_images_test.ts renders and checks that).
  for (const receiver of cfg.receivers) {
    assertEquals(Object.keys(receiver), ["name"], `${receiver.name} carries integrations`);
  }
  const critical = (cfg.route.routes ?? []).find((r) =>
    (r.matchers ?? []).some((m) => /severity\s*=\s*"?critical"?/.test(m))
  );
  assertEquals(critical?.receiver, "oncall-critical");
});
