#!/usr/bin/env bash
# The trip-and-recover scenario: proves that the Kafka publish breaker opens when Kafka fails,
# that clients keep getting fast 2xx answers meanwhile, that it closes again by itself once Kafka
# is back, and that no acknowledged event is lost or reordered. `deno task test:breaker` runs it.
#
#   1 health + breaker CLOSED      4 six requests while Kafka is down: all 202 PENDING
#   2 warm-up: 5 x 201 PUBLISHED   5 breaker OPEN/HALF_OPEN; answers do not wait on Kafka
#   3 stop (or --slow: pause) Kafka 6 restart Kafka        7 recovery answers within 2 s
#   8 breaker CLOSED again, no operator action, within a bound derived from its config
#   9 an independent consumer reads back every acknowledged event in per-key order; outbox drained
#
# Each step prints one line; any deviation prints the service and broker log tails and exits 1.
# Usage errors and missing prerequisites exit 2. See CIRCUIT_BREAKER_GUIDE.md, "The
# trip-and-recover scenario", for the knobs; `--help` lists them.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root" || exit 2

usage() {
  cat <<'USAGE'
usage: scripts/test-circuit-breaker.sh [--mode local|compose] [--slow] [--keep] [--sabotage-disabled]

  --mode local     no Docker: uses scripts/kafka.sh and starts its own service (deno task start)
                   with a private database/schema and topic; everything is undone at exit
  --mode compose   Docker: drives the running compose stack (docker compose stop|start|pause kafka,
                   requests from inside the network with docker compose exec payment-ingest)
                   default: compose when a Docker engine answers and payment-ingest is running
  --slow           pause the broker (SIGSTOP) instead of stopping it: the breaker must trip on
                   slow calls, not on connection errors
  --keep           keep the work directory, database, schema and topic (local mode) for inspection
  --sabotage-disabled
                   demonstration only: force the breaker DISABLED after step 1; the run must fail

environment (local mode defaults in brackets; compose mode reads the service's own settings):
  KAFKA_PORT [9092] KAFKA_CONTROLLER_PORT [KAFKA_PORT+1] KAFKA_BROKERS [127.0.0.1:$KAFKA_PORT]
  PORT [8080, or a free port when 8080 is taken]   DATABASE_URL [postgres://postgres@127.0.0.1:5432/postgres]
  DATABASE_SCHEMA [scenario_<id>]  KAFKA_TOPIC [breaker-scenario-<id>]  ADMIN_TOKEN [random]
  SCENARIO_PRIVATE_DB [1: a database of its own, dropped at exit; 0: the URL's database]
  KAFKA_REQUEST_TIMEOUT_MS [2000]  KAFKA_DELIVERY_TIMEOUT_MS [3000]  INLINE_PUBLISH_BUDGET_MS [1000]
  BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS [5000]  BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS [1000]
  BREAKER_MINIMUM_NUMBER_OF_CALLS [5]  BREAKER_MAX_WAIT_DURATION_IN_HALF_OPEN_STATE_MS [10000]
  any other BREAKER_* / KAFKA_* / RELAY_* variable is passed to the service unchanged
  SCENARIO_FAST_MS [min(budget, request timeout)/2]  SCENARIO_RECOVERY_MS [2000]
  SCENARIO_SLACK_MS [15000]  SCENARIO_READ_TIMEOUT_MS [60000]  SCENARIO_START_TIMEOUT_S [90]
  compose: SCENARIO_SERVICE [payment-ingest] SCENARIO_KAFKA_SERVICE [kafka]
           SCENARIO_CONSUMER_BROKERS [the published port of kafka:9092] (the reader runs on the host)
USAGE
}

# ---------------------------------------------------------------------------- arguments
mode=auto
slow=0
keep=0
sabotage=0
while [ $# -gt 0 ]; do
  case $1 in
  --mode) mode=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
  --mode=*) mode=${1#--mode=}; shift ;;
  --slow) slow=1; shift ;;
  --keep) keep=1; shift ;;
  --sabotage-disabled) sabotage=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) echo "test-circuit-breaker.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
case $mode in auto | local | compose) ;; *) echo "--mode must be local or compose" >&2; exit 2 ;; esac

die() { echo "test-circuit-breaker.sh: $*" >&2; exit 2; }
note() { echo "  ... $*" >&2; }

# ---------------------------------------------------------------------------- time
now_ms() {
  local t=${EPOCHREALTIME/[.,]/}
  echo $((t / 1000))
}
secs() { awk -v ms="$1" 'BEGIN { printf "%.1fs", ms / 1000 }'; }
T0=$(now_ms)

# ---------------------------------------------------------------------------- JSON
# jq when present, else `deno eval` (deno is the project's runtime). Paths are jq paths restricted
# to `.a.b` so both readers agree; jfields prints one value a line, `null` for missing.
if command -v jq >/dev/null && [ "${SCENARIO_NO_JQ:-0}" != 1 ]; then
  jfields() {
    local json=$1 expr
    shift
    expr=$(IFS=,; echo "$*")
    jq -r "$expr" <<<"$json" 2>/dev/null || printf 'null\n%.0s' "$@"
  }
  # jcalc JSON 'jq program' 'js expression of v': one computed value.
  jcalc() { jq -r "$2" <<<"$1" 2>/dev/null || echo null; }
else
  jfields() {
    deno eval -q '
      const [text, ...paths] = Deno.args;
      let doc; try { doc = JSON.parse(text); } catch { doc = undefined; }
      for (const p of paths) {
        let v = doc;
        for (const k of p.split(".").filter(Boolean)) v = v?.[k];
        console.log(v === undefined || v === null ? "null" : typeof v === "object" ? JSON.stringify(v) : String(v));
      }' "$@"
  }
  jcalc() {
    deno eval -q '
      const [text, code] = Deno.args;
      let v; try { v = (0, eval)("(v) => " + code)(JSON.parse(text)); } catch { v = null; }
      console.log(v === undefined || v === null ? "null" : typeof v === "object" ? JSON.stringify(v) : String(v));' "$1" "$3"
  }
fi

# ---------------------------------------------------------------------------- steps
STEP=0
STEP_NAME=""
STEP_EXPECT=""
STEP_T0=$T0
step() {
  STEP=$1 STEP_NAME=$2 STEP_EXPECT=$3 STEP_T0=$(now_ms)
}
line() {
  local t
  t=$(now_ms)
  printf '[%s] step %s/9 %s | expected: %s | observed: %s | %s (total %s)\n' \
    "$1" "$STEP" "$STEP_NAME" "$STEP_EXPECT" "$2" "$(secs $((t - STEP_T0)))" "$(secs $((t - T0)))"
}
pass() { line PASS "$1"; }
fail() {
  line FAIL "$1"
  echo
  echo "=== breaker at failure"
  http GET "/circuit-breaker/$BREAKER" && echo "$H_BODY"
  http GET "/circuit-breaker/$BREAKER/events?type=STATE_TRANSITION&limit=10" && echo "$H_BODY"
  echo "=== service log (last 40 lines)"
  service_log_tail
  echo "=== broker log (last 40 lines)"
  broker_log_tail
  echo "=== scenario FAILED at step $STEP: $STEP_NAME"
  exit 1
}

# ---------------------------------------------------------------------------- mode
COMPOSE=()
svc=${SCENARIO_SERVICE:-payment-ingest}
kafka_svc=${SCENARIO_KAFKA_SERVICE:-kafka}
find_compose() {
  if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null; then COMPOSE=(docker-compose)
  else return 1
  fi
}
docker_engine() { command -v docker >/dev/null && timeout 15 docker info >/dev/null 2>&1; }
dc() { "${COMPOSE[@]}" "$@"; }
service_running() { [ -n "$(dc ps -q --status running "$svc" 2>/dev/null)" ]; }

if [ "$mode" = auto ]; then
  mode=local
  if docker_engine && find_compose && [ -f docker-compose.yml ] && service_running; then
    mode=compose
  fi
elif [ "$mode" = compose ]; then
  docker_engine || die "--mode compose needs a running Docker engine (docker info failed)"
  find_compose || die "--mode compose needs docker compose (plugin) or docker-compose"
  service_running || die "service $svc is not running; deploy the stack first (docker compose up -d)"
fi

BREAKER=kafka-publisher
base=""
run_id=$(tr -dc 'a-z0-9' </dev/urandom 2>/dev/null | head -c 8)
work=$(mktemp -d "${TMPDIR:-/tmp}/breaker-scenario.XXXXXX")
ledger=$work/ledger.tsv
: >"$ledger"

# ---------------------------------------------------------------------------- HTTP
# http METHOD PATH [BODY] [TOKEN]: sets H_STATUS (000 when no answer), H_MS and H_BODY.
# compose mode runs the request inside the service container, so the time excludes docker exec.
# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
FETCH_JS='
const [method, url, body, token] = Deno.args;
const headers = {};
if (body) headers["content-type"] = "application/json";
if (token) headers.authorization = `Bearer ${token}`;
const t0 = performance.now();
try {
  const r = await fetch(url, { method, headers, body: body || undefined, signal: AbortSignal.timeout(30000) });
  const text = await r.text();
  console.log(`${text}\n${r.status} ${((performance.now() - t0) / 1000).toFixed(6)}`);
} catch { console.log(`\n000 ${((performance.now() - t0) / 1000).toFixed(6)}`); }'
container_curl=1
http() {
  local method=$1 path=$2 body=${3:-} token=${4:-} out last
  local args=(-sS -X "$method" --max-time 30 -w '\n%{http_code} %{time_total}')
  [ -n "$body" ] && args+=(-H 'content-type: application/json' --data-binary "$body")
  [ -n "$token" ] && args+=(-H "authorization: Bearer $token")
  if [ "$mode" = local ]; then
    out=$(curl "${args[@]}" "$base$path" 2>>"$work/curl.err")
  elif [ "$container_curl" = 1 ]; then
    out=$(dc exec -T "$svc" curl "${args[@]}" "$base$path" 2>>"$work/curl.err")
  else
    out=$(dc exec -T "$svc" deno eval -q --no-lock "$FETCH_JS" "$method" "$base$path" "$body" "$token" \
      2>>"$work/curl.err")
  fi
  last=${out##*$'\n'}
  H_BODY=${out%$'\n'*}
  [ "$H_BODY" = "$out" ] && H_BODY=""
  H_STATUS=${last%% *}
  H_MS=$(awk -v s="${last#* }" 'BEGIN { printf "%d", s * 1000 + 0.5 }')
  [[ $H_STATUS =~ ^[0-9]{3}$ ]] || H_STATUS=000
  [ "$H_STATUS" != 000 ]
}

uuid() {
  if [ -r /proc/sys/kernel/random/uuid ]; then cat /proc/sys/kernel/random/uuid
  else uuidgen | tr '[:upper:]' '[:lower:]'
  fi
}

declare -A key_seq=()
TYPES=(PAYMENT_CREATED PAYMENT_AUTHORIZED PAYMENT_CAPTURED PAYMENT_SETTLED PAYMENT_REFUNDED)
# post STEP KEY: one payment event; sets H_* plus EV_STATUS (the body's status) and EV_ID.
# Every 2xx answer is an acknowledgement and goes to the ledger, in acceptance order.
post() {
  local step=$1 key=$2 n body
  n=${key_seq[$key]:-0}
  key_seq[$key]=$((n + 1))
  EV_ID=$(uuid)
  body=$(printf '{"eventId":"%s","paymentId":"%s","merchantId":"breaker-scenario","type":"%s","amount":%d,"currency":"EUR","occurredAt":"%s","metadata":{"scenarioStep":%d}}' \
    "$EV_ID" "$key" "${TYPES[$((n % ${#TYPES[@]}))]}" $((1000 + n)) \
    "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$step")
  http POST /payments "$body"
  EV_STATUS=null
  if [[ $H_STATUS == 2?? ]]; then
    EV_STATUS=$(jfields "$H_BODY" .status)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$step" "$EV_ID" "$key" "$H_STATUS" "$EV_STATUS" "$H_MS" >>"$ledger"
  fi
}

B_STATE=unknown B_RETRY=null B_NOTPERMITTED=0 B_FRATE=null B_SRATE=null B_SLOW=null B_FAILED=null
B_BUFFERED=null B_OPENINGS=0 B_SLOW_TOTAL=0
breaker_snapshot() {
  if ! http GET "/circuit-breaker/$BREAKER"; then
    B_STATE="unreachable (HTTP $H_STATUS)"
    return 1
  fi
  mapfile -t B < <(jfields "$H_BODY" .state .retryAfterMs .notPermittedCalls .failureRate \
    .slowCallRate .slowCalls .failedCalls .bufferedCalls .consecutiveOpenings \
    .totals.slowFailed .totals.slowSuccessful)
  B_STATE=${B[0]} B_RETRY=${B[1]} B_NOTPERMITTED=${B[2]} B_FRATE=${B[3]} B_SRATE=${B[4]}
  B_SLOW=${B[5]} B_FAILED=${B[6]} B_BUFFERED=${B[7]} B_OPENINGS=${B[8]}
  B_SLOW_TOTAL=$((${B[9]/null/0} + ${B[10]/null/0}))
  [ "$B_STATE" != null ]
}

# ---------------------------------------------------------------------------- local mode
kafka_was=""
kafka_started=0 # local: the script started the broker, so it stops it at exit
outage=0        # Kafka is stopped or paused by the script and not yet restarted
svc_pid=""
db_created=""
schema_generated=0
topic_generated=0
admin_db_url=""

kafka_ctl() { bash "$here/kafka.sh" "$@" >>"$work/kafka.out" 2>&1; }

port_in_use() { ss -ltn "( sport = :$1 )" 2>/dev/null | grep -q LISTEN; }
free_port() { deno eval -q 'const l = Deno.listen({ port: 0, hostname: "127.0.0.1" }); console.log(l.addr.port); l.close();'; }

# sql URL STATEMENT: psql when installed, else the project's postgres client through deno.
sql() {
  if command -v psql >/dev/null; then
    psql "$1" -qAt -v ON_ERROR_STOP=1 -c "$2" >>"$work/sql.out" 2>&1
  else
    deno eval -q 'import postgres from "postgres";
      const sql = postgres(Deno.args[0], { max: 1, onnotice: () => {} });
      try { await sql.unsafe(Deno.args[1]); } finally { await sql.end({ timeout: 5 }); }' \
      "$1" "$2" >>"$work/sql.out" 2>&1
  fi
}

with_database() { # URL DBNAME -> URL pointing at DBNAME, query string kept
  local url=$1 db=$2 rest query=""
  [[ $url == *\?* ]] && query="?${url#*\?}" && url=${url%%\?*}
  rest=${url#*://}
  echo "${url%%://*}://${rest%%/*}/$db$query"
}

local_setup() {
  command -v deno >/dev/null || die "deno is not on PATH"
  command -v curl >/dev/null || die "curl is not installed"
  # The broker this script may stop: derived from KAFKA_BROKERS when only that is given, so a
  # private KAFKA_BROKERS can never make it stop the shared default broker.
  if [ -z "${KAFKA_PORT:-}" ] && [ -n "${KAFKA_BROKERS:-}" ]; then
    [[ $KAFKA_BROKERS =~ ^(127\.0\.0\.1|localhost):([0-9]+)$ ]] ||
      die "local mode drives the local broker: KAFKA_BROKERS must be 127.0.0.1:PORT (got $KAFKA_BROKERS)"
    KAFKA_PORT=${BASH_REMATCH[2]}
  fi
  export KAFKA_PORT=${KAFKA_PORT:-9092}
  export KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT == 9092 ? 9093 : KAFKA_PORT + 1))}
  export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}
  [[ $KAFKA_BROKERS =~ ^(127\.0\.0\.1|localhost):$KAFKA_PORT$ ]] ||
    die "KAFKA_BROKERS ($KAFKA_BROKERS) is not the local broker on KAFKA_PORT $KAFKA_PORT"

  export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
  if command -v pg_isready >/dev/null && ! pg_isready -q -d "$DATABASE_URL"; then
    die "Postgres is not reachable at $DATABASE_URL (bash scripts/services.sh up)"
  fi
  # The relay's leader lock is a database-wide advisory lock, so another service on the same
  # database (any schema) would lead instead of ours; a database of our own avoids that.
  if [ "${SCENARIO_PRIVATE_DB:-1}" = 1 ]; then
    local db="breaker_scenario_$run_id"
    if sql "$DATABASE_URL" "CREATE DATABASE $db"; then
      admin_db_url=$DATABASE_URL
      db_created=$db
      DATABASE_URL=$(with_database "$DATABASE_URL" "$db")
    else
      note "could not create a private database (see $work/sql.out); using $DATABASE_URL"
    fi
  fi
  if [ -z "${DATABASE_SCHEMA:-}" ]; then DATABASE_SCHEMA=scenario_$run_id; schema_generated=1; fi
  if [ -z "${KAFKA_TOPIC:-}" ]; then KAFKA_TOPIC=breaker-scenario-$run_id; topic_generated=1; fi
  export DATABASE_SCHEMA KAFKA_TOPIC
  export ADMIN_TOKEN=${ADMIN_TOKEN:-scenario-$(uuid)}

  # CI-friendly timing; production keeps the service's (the seed's) defaults.
  export KAFKA_REQUEST_TIMEOUT_MS=${KAFKA_REQUEST_TIMEOUT_MS:-2000}
  export KAFKA_DELIVERY_TIMEOUT_MS=${KAFKA_DELIVERY_TIMEOUT_MS:-3000}
  export BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS=${BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS:-5000}
  export BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS=${BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS:-1000}
  export BREAKER_MINIMUM_NUMBER_OF_CALLS=${BREAKER_MINIMUM_NUMBER_OF_CALLS:-5}
  export BREAKER_MAX_WAIT_DURATION_IN_HALF_OPEN_STATE_MS=${BREAKER_MAX_WAIT_DURATION_IN_HALF_OPEN_STATE_MS:-10000}
  request_timeout_ms=$KAFKA_REQUEST_TIMEOUT_MS
  delivery_timeout_ms=$KAFKA_DELIVERY_TIMEOUT_MS
  budget_ms=${INLINE_PUBLISH_BUDGET_MS:-1000}
  consumer_brokers=$KAFKA_BROKERS

  kafka_was=$(bash "$here/kafka.sh" status 2>/dev/null || echo stopped)
  case $kafka_was in
  running) ;;
  paused) die "the broker on port $KAFKA_PORT is paused; resume it first (scripts/kafka.sh resume)" ;;
  *)
    note "local Kafka on 127.0.0.1:$KAFKA_PORT is not running: starting it (stopped again at exit)"
    kafka_started=1
    kafka_ctl start || { tail -n 20 "$work/kafka.out" >&2; die "scripts/kafka.sh start failed"; }
    ;;
  esac

  # The service creates a missing topic on its first publish; doing it here keeps that cost out
  # of the warm-up answers, which must be 201 within the inline budget.
  deno run --allow-net --allow-env "$here/scenario/kafka_topic.ts" create --brokers "$KAFKA_BROKERS" \
    --topic "$KAFKA_TOPIC" --partitions "${KAFKA_TOPIC_PARTITIONS:-3}" >>"$work/kafka.out" 2>&1 ||
    { tail -n 5 "$work/kafka.out" >&2; die "could not create topic $KAFKA_TOPIC"; }

  if [ -n "${PORT:-}" ] && [ "$PORT" != 0 ]; then
    port_in_use "$PORT" && die "PORT $PORT is already in use"
  elif [ "${PORT:-}" = 0 ] || port_in_use 8080; then
    PORT=$(free_port)
  else
    PORT=8080
  fi
  export PORT HOST=127.0.0.1 LOG_LEVEL=${LOG_LEVEL:-info}
  base=http://127.0.0.1:$PORT

  # Its own session, so the whole tree (deno task + deno run) is stopped by process group.
  setsid deno task start >"$work/service.log" 2>&1 </dev/null &
  svc_pid=$!
  local deadline=$(($(now_ms) + ${SCENARIO_START_TIMEOUT_S:-90} * 1000))
  until http GET /health/ready && [ "$H_STATUS" = 200 ]; do
    if ! kill -0 "$svc_pid" 2>/dev/null; then
      tail -n 40 "$work/service.log" >&2
      die "the service exited during start-up (log tail above)"
    fi
    [ "$(now_ms)" -lt "$deadline" ] || { tail -n 40 "$work/service.log" >&2; die "the service did not become ready"; }
    sleep 0.3
  done
}

stop_service() {
  [ -n "$svc_pid" ] || return 0
  kill -TERM -- "-$svc_pid" 2>/dev/null || kill -TERM "$svc_pid" 2>/dev/null
  for _ in $(seq 1 150); do kill -0 -- "-$svc_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$svc_pid" 2>/dev/null || true
  wait "$svc_pid" 2>/dev/null
  svc_pid=""
}

# ---------------------------------------------------------------------------- compose mode
# v NAME: a variable of the service container's environment (empty when unset).
v() { dc exec -T "$svc" printenv "$1" 2>/dev/null | tr -d '\r'; }
compose_setup() {
  dc exec -T "$svc" sh -c 'command -v curl' >/dev/null 2>&1 || container_curl=0
  base=http://127.0.0.1:$(v PORT || true)
  [ "$base" = http://127.0.0.1: ] && base=http://127.0.0.1:8080
  request_timeout_ms=$(v KAFKA_REQUEST_TIMEOUT_MS); request_timeout_ms=${request_timeout_ms:-10000}
  delivery_timeout_ms=$(v KAFKA_DELIVERY_TIMEOUT_MS); delivery_timeout_ms=${delivery_timeout_ms:-15000}
  budget_ms=$(v INLINE_PUBLISH_BUDGET_MS); budget_ms=${budget_ms:-1000}
  KAFKA_TOPIC=$(v KAFKA_TOPIC); KAFKA_TOPIC=${KAFKA_TOPIC:-payment-events}
  [ -n "${ADMIN_TOKEN:-}" ] || ADMIN_TOKEN=$(v ADMIN_TOKEN)
  # The reader runs on the host: the broker's published EXTERNAL listener.
  local published
  published=$(dc port "$kafka_svc" 9092 2>/dev/null | head -n 1)
  published=${published/0.0.0.0/127.0.0.1}
  consumer_brokers=${SCENARIO_CONSUMER_BROKERS:-${published:-127.0.0.1:9092}}
}

# ---------------------------------------------------------------------------- outage control
kafka_down() {
  outage=1
  if [ "$mode" = local ]; then
    if [ "$slow" = 1 ]; then kafka_ctl pause; else kafka_ctl stop; fi
  else
    if [ "$slow" = 1 ]; then dc pause "$kafka_svc"; else dc stop "$kafka_svc"; fi >>"$work/kafka.out" 2>&1
  fi
}
kafka_up() {
  if [ "$mode" = local ]; then
    kafka_ctl start || return 1 # resumes a paused broker too; returns once it answers metadata
  else
    if [ "$slow" = 1 ]; then dc unpause "$kafka_svc"; else dc start "$kafka_svc"; fi >>"$work/kafka.out" 2>&1 || return 1
    local deadline=$(($(now_ms) + ${SCENARIO_START_TIMEOUT_S:-90} * 1000))
    until deno run --allow-net --allow-env --allow-read "$here/kafka_probe.ts" "${consumer_brokers%%,*}" 2>/dev/null; do
      [ "$(now_ms)" -lt "$deadline" ] || return 1
      sleep 1
    done
  fi
  outage=0
}

service_log_tail() {
  if [ "$mode" = local ]; then tail -n 40 "$work/service.log" 2>/dev/null
  else dc logs --no-color --tail 40 "$svc" 2>&1
  fi
}
broker_log_tail() {
  if [ "$mode" = local ]; then bash "$here/kafka.sh" logs 2>/dev/null | tail -n 40
  else dc logs --no-color --tail 40 "$kafka_svc" 2>&1
  fi
}

# ---------------------------------------------------------------------------- clean-up
cleanup() {
  local code=$?
  trap - EXIT INT TERM
  if [ "$mode" = local ]; then
    # Leave the broker as it was found: running if it was running, stopped if we started it.
    if [ "$outage" = 1 ] || [ "$kafka_started" = 1 ]; then
      [ "$(bash "$here/kafka.sh" status 2>/dev/null)" = running ] || kafka_ctl start || note "could not restart the broker"
    fi
    stop_service
    if [ "$keep" = 0 ]; then
      if [ "$topic_generated" = 1 ] && [ "$(bash "$here/kafka.sh" status 2>/dev/null)" = running ]; then
        deno run --allow-net --allow-env "$here/scenario/kafka_topic.ts" delete \
          --brokers "$KAFKA_BROKERS" --topic "$KAFKA_TOPIC" >>"$work/kafka.out" 2>&1 ||
          note "could not delete topic $KAFKA_TOPIC"
      fi
      if [ -n "$db_created" ]; then
        sql "$admin_db_url" "DROP DATABASE IF EXISTS $db_created WITH (FORCE)" ||
          note "could not drop database $db_created"
      elif [ "$schema_generated" = 1 ]; then
        sql "$DATABASE_URL" "DROP SCHEMA IF EXISTS \"$DATABASE_SCHEMA\" CASCADE" ||
          note "could not drop schema $DATABASE_SCHEMA"
      fi
    fi
    if [ "$kafka_started" = 1 ]; then kafka_ctl stop; fi
  else
    # Never leave the stack's Kafka stopped or paused, nor its breaker sabotaged.
    if [ "$outage" = 1 ]; then
      if [ "$slow" = 1 ]; then dc unpause "$kafka_svc"; else dc start "$kafka_svc"; fi >/dev/null 2>&1
    fi
    if [ "$sabotage" = 1 ]; then
      http POST "/circuit-breaker/$BREAKER/state" '{"state":"CLOSED","reason":"end of --sabotage-disabled"}' \
        "$ADMIN_TOKEN" || note "could not return the breaker to CLOSED"
    fi
  fi
  if [ "$keep" = 1 ]; then
    note "kept: work dir $work${db_created:+, database $db_created}, schema ${DATABASE_SCHEMA:-}, topic ${KAFKA_TOPIC:-}"
  else
    rm -rf "$work"
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------- set-up
if [ "$mode" = local ]; then local_setup; else compose_setup; fi
fast_ms=${SCENARIO_FAST_MS:-$(((budget_ms < request_timeout_ms ? budget_ms : request_timeout_ms) / 2))}
recovery_ms=${SCENARIO_RECOVERY_MS:-2000}
slack_ms=${SCENARIO_SLACK_MS:-15000}
variant=stop
[ "$slow" = 1 ] && variant=pause

http GET "/circuit-breaker/$BREAKER" || die "the service does not answer at $base"
mapfile -t C < <(jfields "$H_BODY" .config.waitDurationInOpenState \
  .config.maxWaitDurationInHalfOpenState .config.slowCallDurationThreshold \
  .config.slowCallRateThreshold .config.failureRateThreshold .config.minimumNumberOfCalls \
  .config.openWaitBackoff.maxWaitMs)
wait_open_ms=${C[0]} max_half_open_ms=${C[1]} slow_threshold_ms=${C[2]} slow_rate_threshold=${C[3]}
[ "${C[6]}" != null ] && wait_open_ms=${C[6]} # with backoff, a re-opening may wait up to the cap
if [ "$slow" = 1 ] && [ "$slow_threshold_ms" -ge "$delivery_timeout_ms" ]; then
  die "--slow needs BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS ($slow_threshold_ms) below KAFKA_DELIVERY_TIMEOUT_MS ($delivery_timeout_ms), or timed-out publishes are not slow calls"
fi
echo "breaker scenario: mode $mode, outage = $variant Kafka, service $base, brokers ${consumer_brokers}, topic $KAFKA_TOPIC"
echo "  breaker: open wait ${wait_open_ms} ms, half-open max ${max_half_open_ms} ms, slow > ${slow_threshold_ms} ms, failure rate >= ${C[4]}%, slow rate >= ${slow_rate_threshold}%, min calls ${C[5]}"
echo "  kafka: request timeout ${request_timeout_ms} ms, delivery timeout ${delivery_timeout_ms} ms; inline budget ${budget_ms} ms; fast answer < ${fast_ms} ms"

P=("$run_id-P1" "$run_id-P2" "$run_id-P3" "$run_id-P4" "$run_id-P5" "$run_id-P6")
Q=("$run_id-Q1" "$run_id-Q2" "$run_id-Q3")

# ---------------------------------------------------------------------------- 1
step 1 "health" "ready UP (postgres, migrations), breaker CLOSED, outbox relay leading; a priming event gets PUBLISHED"
deadline=$(($(now_ms) + 30000))
while :; do
  http GET /health/ready
  ready=$H_STATUS
  ready_status=$(jfields "$H_BODY" .status)
  breaker_snapshot
  http GET /outbox
  leader=$(jfields "$H_BODY" .relay.leader)
  if [ "$ready" = 200 ] && [ "$ready_status" = UP ] && [ "$B_STATE" = CLOSED ] && [ "$leader" = true ]; then
    break
  fi
  [ "$(now_ms)" -lt "$deadline" ] || fail "ready $ready $ready_status, breaker ${B_STATE:-?}, relay leader ${leader:-?} (another service on this database may hold the relay's leader lock)"
  sleep 0.5
done
# The service connects its producer on the first publish; one priming event (in the ledger like
# every other) keeps that one-off cost out of the warm-up, whose answers must all be 201.
post 1 "$run_id-P0"
prime="$H_STATUS/$EV_STATUS/${H_MS}ms"
[[ $H_STATUS == 2?? ]] || fail "ready $ready $ready_status, breaker $B_STATE, relay leader $leader; priming event $prime"
prime_id=$EV_ID
deadline=$(($(now_ms) + 10000 + delivery_timeout_ms))
until [ "$EV_STATUS" = PUBLISHED ]; do
  [ "$(now_ms)" -lt "$deadline" ] || fail "priming event $prime, still $EV_STATUS"
  sleep 0.2
  http GET "/payments/$prime_id" && EV_STATUS=$(jfields "$H_BODY" .status)
done
pass "ready $ready $ready_status, breaker $B_STATE, relay leader $leader; priming event $prime, PUBLISHED"
scenario_start_epoch_ms=$(now_ms)

if [ "$sabotage" = 1 ]; then
  http POST "/circuit-breaker/$BREAKER/state" \
    '{"state":"DISABLED","reason":"test-circuit-breaker.sh --sabotage-disabled"}' "$ADMIN_TOKEN"
  echo "[SABOTAGE] breaker forced DISABLED via POST /circuit-breaker/$BREAKER/state -> HTTP $H_STATUS, state $(jfields "$H_BODY" .state) (demonstration: the scenario must fail)"
fi

# ---------------------------------------------------------------------------- 2
step 2 "warm-up" "5 requests, each 201 PUBLISHED"
obs=()
for k in "${P[@]:0:5}"; do
  post 2 "$k"
  obs+=("$H_STATUS/$EV_STATUS/${H_MS}ms")
  if [ "$H_STATUS" != 201 ] || [ "$EV_STATUS" != PUBLISHED ]; then fail "${obs[*]}"; fi
done
pass "${obs[*]}"

# ---------------------------------------------------------------------------- 3
if [ "$slow" = 1 ]; then
  step 3 "pause Kafka" "broker paused (SIGSTOP: connections stay open, no answers)"
else
  step 3 "stop Kafka" "broker stopped"
fi
kafka_down_ms=$(now_ms)
kafka_down || fail "could not ${variant} Kafka: $(tail -n 5 "$work/kafka.out" | tr '\n' ' ')"
if [ "$mode" = local ]; then
  st=$(bash "$here/kafka.sh" status)
  want=stopped
  [ "$slow" = 1 ] && want=paused
  [ "$st" = "$want" ] || fail "scripts/kafka.sh status says $st"
else
  st=$(dc ps --format '{{.State}}' "$kafka_svc" 2>/dev/null | head -n 1)
  st=${st:-stopped}
fi
pass "broker $st"

# ---------------------------------------------------------------------------- 4
step 4 "requests while Kafka is down" "6 requests, each 202 PENDING within the inline budget (${budget_ms} ms + 2 s), none refused"
obs=()
for k in "${P[@]}"; do
  post 4 "$k"
  obs+=("$H_STATUS/$EV_STATUS/${H_MS}ms")
  if [ "$H_STATUS" != 202 ] || [ "$EV_STATUS" != PENDING ]; then fail "${obs[*]}"; fi
  [ "$H_MS" -le $((budget_ms + 2000)) ] || fail "${obs[*]} (answer slower than the inline budget allows)"
done
pass "${obs[*]}"

# ---------------------------------------------------------------------------- 5
expect5="breaker OPEN or HALF_OPEN within $(secs $((2 * delivery_timeout_ms + 5000))); while OPEN 3 new-key requests 202 PENDING in < ${fast_ms} ms each, refused by the breaker (not-permitted +3)"
[ "$slow" = 1 ] && expect5="$expect5; tripped on slow calls (slow calls > 0, slow-call rate >= ${slow_rate_threshold}%)"
step 5 "breaker trips" "$expect5"
trip_deadline=$(($(now_ms) + 2 * delivery_timeout_ms + 5000))
while breaker_snapshot; [ "$B_STATE" != OPEN ] && [ "$B_STATE" != HALF_OPEN ]; do
  [ "$(now_ms)" -lt "$trip_deadline" ] || fail "breaker still ${B_STATE:-unknown} after $(secs $((2 * delivery_timeout_ms + 5000))) (failure rate $B_FRATE, slow-call rate $B_SRATE, buffered $B_BUFFERED, not-permitted $B_NOTPERMITTED)"
  sleep 0.2
done
first_state=$B_STATE
tripped_after="$(secs $(($(now_ms) - kafka_down_ms))) after Kafka went down"
# Each measured request is sent inside an OPEN period with time to spare, so none of them can
# become a half-open trial call (compose mode adds a docker exec per request).
exec_ms=0
[ "$mode" = compose ] && exec_ms=1500
open_deadline=$(($(now_ms) + 2 * (wait_open_ms + max_half_open_ms) + delivery_timeout_ms + slack_ms))
await_open_period() {
  until [ "$B_STATE" = OPEN ] && [ "$B_RETRY" != null ] && [ "$B_RETRY" -ge $((fast_ms + exec_ms + 500)) ]; do
    [ "$(now_ms)" -lt "$open_deadline" ] ||
      fail "first $first_state $tripped_after, then no OPEN period long enough to measure (state $B_STATE, retryAfterMs $B_RETRY)"
    sleep 0.1
    breaker_snapshot
  done
}
await_open_period
# While OPEN the snapshot shows the window that opened it; after a re-opening (consecutiveOpenings
# > 1) that is the half-open trial window, so the all-time slow-call count is the evidence then.
open_slow=$B_SLOW open_srate=$B_SRATE open_frate=$B_FRATE open_failed=$B_FAILED
open_buffered=$B_BUFFERED open_openings=$B_OPENINGS open_slow_total=$B_SLOW_TOTAL
np_before=$B_NOTPERMITTED
obs=()
max_ms=0
for k in "${Q[@]}"; do
  await_open_period
  post 5 "$k"
  obs+=("$H_STATUS/$EV_STATUS/${H_MS}ms")
  if [ "$H_STATUS" != 202 ] || [ "$EV_STATUS" != PENDING ]; then fail "state OPEN; answers ${obs[*]}"; fi
  [ "$H_MS" -gt "$max_ms" ] && max_ms=$H_MS
  breaker_snapshot
done
np_delta=$((B_NOTPERMITTED - np_before))
reason=$(http GET "/circuit-breaker/$BREAKER/events?type=STATE_TRANSITION&limit=100" &&
  jcalc "$H_BODY" \
    "[.events[] | select(.from == \"CLOSED\" and .to == \"OPEN\" and .at >= $scenario_start_epoch_ms)] | first | .reason // \"\"" \
    "(v.events.find((e) => e.from === \"CLOSED\" && e.to === \"OPEN\" && e.at >= $scenario_start_epoch_ms) ?? {}).reason ?? \"\"")
if [ "$open_openings" = 1 ]; then
  window="window: $open_buffered calls, $open_failed failed, $open_slow slow, failure rate $open_frate%, slow-call rate $open_srate%"
else
  window="opening #$open_openings, all-time slow calls $open_slow_total"
fi
obs5="$first_state $tripped_after (trip: ${reason:-?}; $window); OPEN answers ${obs[*]}; not-permitted +$np_delta"
[ "$max_ms" -lt "$fast_ms" ] || fail "$obs5 (an answer took ${max_ms} ms: it waited on Kafka)"
[ "$np_delta" -ge 3 ] || fail "$obs5 (the requests were not refused by the breaker)"
if [ "$slow" = 1 ]; then
  if [ -n "$reason" ] && [[ $reason != *"slow call rate"* ]]; then
    fail "$obs5 (the slow-call rate did not reach its threshold: it tripped on errors only)"
  fi
  if [ "$open_openings" = 1 ]; then
    if [ "$open_slow" = null ] || [ "$open_slow" -le 0 ]; then
      fail "$obs5 (no slow calls in the window: the breaker did not trip on slowness)"
    fi
    awk -v r="$open_srate" -v t="$slow_rate_threshold" 'BEGIN { exit !(r != "null" && r + 0 >= t + 0) }' ||
      fail "$obs5 (slow-call rate below its threshold: it tripped on errors only)"
  elif [ "$open_slow_total" -le 0 ]; then
    fail "$obs5 (no slow calls at all: the breaker did not trip on slowness)"
  fi
fi
pass "$obs5"

# ---------------------------------------------------------------------------- 6
step 6 "restart Kafka" "broker answers metadata requests again"
if [ "$slow" = 1 ]; then what=resumed; else what=started; fi
kafka_up || fail "Kafka was not back: $(tail -n 5 "$work/kafka.out" | tr '\n' ' ')"
kafka_back_ms=$(now_ms)
breaker_snapshot
pass "broker $what and ready; breaker $B_STATE"

# ---------------------------------------------------------------------------- 7
step 7 "recovery requests" "6 requests, each 2xx within ${recovery_ms} ms"
obs=()
for k in "${P[@]:0:3}" "${Q[@]}"; do
  post 7 "$k"
  obs+=("$H_STATUS/$EV_STATUS/${H_MS}ms")
  if [[ $H_STATUS != 2?? ]] || [ "$EV_STATUS" = DEAD_LETTERED ]; then fail "${obs[*]}"; fi
  [ "$H_MS" -le "$recovery_ms" ] || fail "${obs[*]} (slower than ${recovery_ms} ms)"
done
breaker_snapshot
pass "${obs[*]}; breaker $B_STATE"

# ---------------------------------------------------------------------------- 8
bound_ms=$((wait_open_ms + max_half_open_ms + slack_ms))
step 8 "breaker recovers" "CLOSED again within $(secs "$bound_ms") of Kafka's return (open wait + half-open max + slack), no operator transition"
deadline=$((kafka_back_ms + bound_ms))
while breaker_snapshot; [ "$B_STATE" != CLOSED ]; do
  [ "$(now_ms)" -lt "$deadline" ] || fail "breaker still ${B_STATE:-unknown} $(secs $(($(now_ms) - kafka_back_ms))) after Kafka's return"
  sleep 0.25
done
closed_after=$(secs $(($(now_ms) - kafka_back_ms)))
http GET "/circuit-breaker/$BREAKER/events?type=STATE_TRANSITION&limit=100"
events_json=$H_BODY
path=$(jcalc "$events_json" \
  "[.events[] | select(.at >= $scenario_start_epoch_ms) | .to] | join(\" > \")" \
  "v.events.filter((e) => e.at >= $scenario_start_epoch_ms).map((e) => e.to).join(\" > \")")
operator=$(jcalc "$events_json" \
  "[.events[] | select(.at >= $scenario_start_epoch_ms and .operator == true)] | length" \
  "v.events.filter((e) => e.at >= $scenario_start_epoch_ms && e.operator === true).length")
obs8="CLOSED ${closed_after} after Kafka's return (transitions: ${path:-?}); operator transitions: $operator"
[ "$operator" = 0 ] || fail "$obs8"
pass "$obs8"

# ---------------------------------------------------------------------------- 9
acked=$(wc -l <"$ledger")
keys=$(cut -f3 "$ledger" | sort -u | wc -l)
step 9 "no loss" "outbox drains to 0 pending; an independent consumer reads all $acked acknowledged ids ($keys keys) in per-key order"
deadline=$(($(now_ms) + slack_ms + 2 * delivery_timeout_ms))
while :; do
  http GET /outbox
  mapfile -t O < <(jfields "$H_BODY" .pending .deadLettered)
  [ "${O[0]}" = 0 ] && break
  [ "$(now_ms)" -lt "$deadline" ] || fail "outbox still has ${O[0]} pending (dead-lettered ${O[1]})"
  sleep 0.25
done
if [ "$mode" = local ] && [ "${O[1]}" != 0 ]; then fail "outbox pending 0 but ${O[1]} dead-lettered"; fi
read_out=$(deno run --allow-net --allow-env --allow-read "$here/scenario/kafka_topic.ts" verify \
  --brokers "$consumer_brokers" --topic "$KAFKA_TOPIC" --ledger "$ledger" \
  --timeout-ms "${SCENARIO_READ_TIMEOUT_MS:-60000}" 2>"$work/reader.err")
read_code=$?
obs9="outbox pending ${O[0]}, dead-lettered ${O[1]}; ${read_out:-reader printed nothing}"
if [ "$read_code" != 0 ]; then
  fail "$obs9; $(head -n 10 "$work/reader.err" | tr '\n' ';')"
fi
pass "$obs9"

echo "breaker scenario PASSED (mode $mode, $variant variant) in $(secs $(($(now_ms) - T0)))"
