#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker + controller) without Docker.
# The broker jars come from Maven Central through scripts/kafka/pom.xml and are cached under
# $KAFKA_LOCAL_DIR (default .cache/kafka). See `scripts/kafka.sh help`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
dir=${KAFKA_LOCAL_DIR:-$root/.cache/kafka}
port=${KAFKA_PORT:-9092}
controller_port=${KAFKA_CONTROLLER_PORT:-9093}
start_timeout=${KAFKA_START_TIMEOUT_S:-90}
heap=${KAFKA_HEAP:-512m}
jars=$dir/jars
data=$dir/data-$port
pidfile=$dir/broker-$port.pid
logfile=$dir/broker-$port.log

die() { echo "kafka.sh: $*" >&2; exit 1; }

usage() {
  cat <<USAGE
usage: scripts/kafka.sh <command>

  fetch    download the broker jars from Maven Central (done by start when missing)
  start    start the broker; returns when it answers metadata requests
  stop     stop the broker (SIGTERM, SIGKILL after 30 s)
  kill     SIGKILL the broker (a crash)
  pause    SIGSTOP the broker (a stalled broker: connections open, no answers)
  resume   SIGCONT a paused broker
  status   print running / paused / stopped
  logs     print the last 50 lines of the broker log
  reset    stop the broker and delete its data

environment: KAFKA_PORT=$port KAFKA_CONTROLLER_PORT=$controller_port KAFKA_LOCAL_DIR=$dir
             KAFKA_START_TIMEOUT_S=$start_timeout KAFKA_HEAP=$heap
USAGE
}

pid() { [ -f "$pidfile" ] && cat "$pidfile" || true; }
alive() { local p; p=$(pid); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

fetch() {
  local stamp want
  want=$(sha256sum "$here/kafka/pom.xml" | cut -d' ' -f1)
  stamp=$jars/.pom-sha256
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  command -v mvn >/dev/null || die "mvn is not installed (apt-get install maven); it fetches the Kafka jars"
  command -v java >/dev/null || die "java is not installed (apt-get install openjdk-17-jre-headless)"
  echo "kafka.sh: fetching Kafka jars from Maven Central into $jars" >&2
  rm -rf "$jars"
  mkdir -p "$jars"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$jars" -DincludeScope=runtime >&2 || die "mvn could not fetch the Kafka jars"
  echo "$want" >"$stamp"
}

write_config() {
  mkdir -p "$dir"
  cat >"$dir/server-$port.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  cat >"$dir/log4j2.properties" <<'LOG'
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = warn
logger.kafka_request.name = kafka.request.logger
logger.kafka_request.level = warn
LOG
}

format_storage() {
  [ -f "$data/meta.properties" ] && return 0
  java -cp "$jars/*" -Dlog4j2.configurationFile="$dir/log4j2.properties" kafka.tools.StorageTool format \
    -t "$(java -cp "$jars/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)" \
    -c "$dir/server-$port.properties" --standalone >/dev/null 2>>"$logfile" ||
    die "formatting the KRaft storage failed; see $logfile"
}

wait_ready() {
  local deadline=$((SECONDS + start_timeout))
  while [ $SECONDS -lt $deadline ]; do
    alive || { tail -n 40 "$logfile" >&2; die "the broker exited during start-up (log tail above)"; }
    if deno run --allow-net --allow-env --allow-read "$here/kafka_probe.ts" "127.0.0.1:$port" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  tail -n 40 "$logfile" >&2
  die "the broker did not answer metadata requests on 127.0.0.1:$port within ${start_timeout}s (log tail above)"
}

start() {
  fetch
  write_config
  if alive; then
    # A paused broker is resumed: `start` means "make it answer".
    kill -CONT "$(pid)" 2>/dev/null || true
    wait_ready
    echo "kafka.sh: broker already running on 127.0.0.1:$port (pid $(pid))"
    return 0
  fi
  if ss -ltn "( sport = :$port )" 2>/dev/null | grep -q LISTEN; then
    die "port $port is already taken by another process; set KAFKA_PORT"
  fi
  format_storage
  : >"$logfile"
  setsid nohup java -Xms128m -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$jars/*" \
    kafka.Kafka "$dir/server-$port.properties" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  wait_ready
  echo "kafka.sh: broker ready on 127.0.0.1:$port (pid $(pid), log $logfile)"
}

stop() {
  alive || { rm -f "$pidfile"; echo "kafka.sh: broker not running"; return 0; }
  local p
  p=$(pid)
  kill -CONT "$p" 2>/dev/null || true
  kill -TERM "$p"
  for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  rm -f "$pidfile"
  echo "kafka.sh: broker stopped"
}

signal() {
  alive || die "the broker is not running"
  kill "-$1" "$(pid)"
  if [ "$1" = KILL ]; then
    for _ in $(seq 1 50); do alive || break; sleep 0.1; done
    rm -f "$pidfile"
  fi
  echo "kafka.sh: sent SIG$1 to the broker"
}

status() {
  if ! alive; then echo stopped; return 0; fi
  local st
  st=$(awk '{print $3}' "/proc/$(pid)/stat" 2>/dev/null || echo "?")
  if [ "$st" = T ]; then echo paused; else echo running; fi
}

case "${1:-help}" in
fetch) fetch ;;
start) start ;;
stop) stop ;;
kill) signal KILL ;;
pause) signal STOP ;;
resume) signal CONT ;;
status) status ;;
logs) tail -n 50 "$logfile" 2>/dev/null || true ;;
reset) stop; rm -rf "$data"; echo "kafka.sh: data deleted" ;;
help | -h | --help) usage ;;
*) usage >&2; exit 2 ;;
esac
