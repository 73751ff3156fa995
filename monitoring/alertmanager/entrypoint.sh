#!/bin/sh
# Alertmanager's entrypoint in docker-compose.yml: adds the receivers configured in the
# environment (.env) to every receiver of alertmanager.yml, writes the result next to the
# data and starts Alertmanager on it. Alertmanager's own config has no variables.
#   ALERT_WEBHOOK_URL        generic webhook (Alertmanager's JSON payload), e.g. a paging bridge
#   ALERT_SLACK_WEBHOOK_URL  Slack incoming-webhook URL; ALERT_SLACK_CHANNEL optional (#channel)
# With neither set, alerts show in Alertmanager's UI and API, and nothing pages anyone.
# RENDER_ONLY=1 prints the rendered config instead of starting (used by the tests).
set -eu
src=${ALERTMANAGER_CONFIG:-/etc/alertmanager/alertmanager.yml}
out=${ALERTMANAGER_RENDERED:-/alertmanager/alertmanager.rendered.yml}

for name in ALERT_WEBHOOK_URL ALERT_SLACK_WEBHOOK_URL ALERT_SLACK_CHANNEL; do
  eval "value=\${$name:-}"
  case "$value" in
    *'"'* | *'\'* | *' '* | *'	'*)
      echo "entrypoint.sh: $name must not contain quotes, backslashes or spaces, got \"$value\"" >&2
      exit 64
      ;;
  esac
done
for name in ALERT_WEBHOOK_URL ALERT_SLACK_WEBHOOK_URL; do
  eval "value=\${$name:-}"
  case "$value" in
    "" | http://* | https://*) ;;
    *) echo "entrypoint.sh: $name must be an http(s) URL, got \"$value\"" >&2 && exit 64 ;;
  esac
done

# Each "  - name: X" line under receivers: gets the configured integrations appended.
render() {
  awk '
    /^receivers:/ { inside = 1; print; next }
    /^[^ #]/ { inside = 0 }
    { print }
    inside && /^  - name: / {
      if (ENVIRON["ALERT_WEBHOOK_URL"] != "") {
        print "    webhook_configs:"
        print "      - url: \"" ENVIRON["ALERT_WEBHOOK_URL"] "\""
        print "        send_resolved: true"
      }
      if (ENVIRON["ALERT_SLACK_WEBHOOK_URL"] != "") {
        print "    slack_configs:"
        print "      - api_url: \"" ENVIRON["ALERT_SLACK_WEBHOOK_URL"] "\""
        if (ENVIRON["ALERT_SLACK_CHANNEL"] != "") print "        channel: \"" ENVIRON["ALERT_SLACK_CHANNEL"] "\""
        print "        send_resolved: true"
        print "        title: \x27{{ .CommonLabels.alertname }} ({{ .Status }})\x27"
        print "        text: \x27{{ range .Alerts }}{{ .Annotations.summary }}\\n{{ end }}\x27"
      }
    }
  ' "$src"
}

if [ "${RENDER_ONLY:-}" = 1 ]; then
  render
  exit 0
fi
render >"$out"
if [ -z "${ALERT_WEBHOOK_URL:-}${ALERT_SLACK_WEBHOOK_URL:-}" ]; then
  echo "entrypoint.sh: no ALERT_WEBHOOK_URL or ALERT_SLACK_WEBHOOK_URL set: alerts will not page anyone" >&2
fi
exec /bin/alertmanager --config.file="$out" "$@"
