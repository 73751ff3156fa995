#!/usr/bin/env bash
# Local Apache Kafka without Docker: one KRaft node (combined broker + controller), or with
# `--brokers 3` a cluster on one machine: three brokers (replication factor 3,
# min.insync.replicas=2, the transaction state log replicated the same way) and a KRaft controller
# of its own, so that brokers going down never takes the metadata quorum with them. The jars come from Maven Central through
# scripts/kafka/pom.xml and are cached under $KAFKA_LOCAL_DIR (default .cache/kafka).
# See `scripts/kafka.sh help`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
dir=${KAFKA_LOCAL_DIR:-$root/.cache/kafka}
port=${KAFKA_PORT:-9092}
controller_port=${KAFKA_CONTROLLER_PORT:-$((port + 1))}
start_timeout=${KAFKA_START_TIMEOUT_S:-90}
heap=${KAFKA_HEAP:-512m}
jars=$dir/jars
data=$dir/data-$port
pidfile=$dir/broker-$port.pid
logfile=$dir/broker-$port.log

die() { echo "kafka.sh: $*" >&2; exit 1; }

# Arguments after the command: --brokers N (1 or 3), --node I (one node of a cluster, 1-based).
cmd=${1:-help}
[ $# -gt 0 ] && shift
brokers=""
only_node=""
while [ $# -gt 0 ]; do
  case "$1" in
  --brokers) brokers=${2:-}; shift 2 || die "--brokers needs a value (1 or 3)" ;;
  --brokers=*) brokers=${1#*=}; shift ;;
  --node) only_node=${2:-}; shift 2 || die "--node needs a value" ;;
  --node=*) only_node=${1#*=}; shift ;;
  *) die "unknown argument \"$1\" (see: scripts/kafka.sh help)" ;;
  esac
done
# A cluster started with --brokers 3 is remembered, so stop/kill/status act on all of its nodes.
layout=$dir/cluster-$port.brokers
if [ -z "$brokers" ]; then brokers=$(cat "$layout" 2>/dev/null || echo 1); fi
case "$brokers" in 1 | 3) ;; *) die "--brokers must be 1 or 3, got \"$brokers\"" ;; esac
if [ -n "$only_node" ] && ! { [ "$only_node" -ge 1 ] 2>/dev/null && [ "$only_node" -le "$brokers" ]; }; then
  die "--node must be a broker between 1 and $brokers, got \"$only_node\""
fi

# Broker i (1-based) serves clients on port + 2(i-1). The controller listens on
# KAFKA_CONTROLLER_PORT: inside the single node, or as node 0 of a cluster (a process of its own).
node_port() { echo $((port + 2 * ($1 - 1))); }
nodes() {
  if [ -n "$only_node" ]; then echo "$only_node"
  elif [ "$brokers" = 1 ]; then echo 1
  else seq 0 "$brokers"; fi
}
use_node() {
  node=$1
  if [ "$node" = 0 ]; then
    nport=$controller_port
    data=$dir/data-controller-$nport
    pidfile=$dir/controller-$nport.pid
    logfile=$dir/controller-$nport.log
  else
    nport=$(node_port "$node")
    data=$dir/data-$nport
    pidfile=$dir/broker-$nport.pid
    logfile=$dir/broker-$nport.log
  fi
}
use_node 1

usage() {
  cat <<USAGE
usage: scripts/kafka.sh <command>

  fetch    download the broker jars from Maven Central (done by start when missing)
  start    start the broker; returns when it answers metadata requests
  stop     stop the broker (SIGTERM, SIGKILL after 30 s)
  kill     SIGKILL the broker (a crash)
  pause    SIGSTOP the broker (a stalled broker: connections open, no answers)
  resume   SIGCONT a paused broker
  status   print running / paused / stopped (one line per node of a cluster)
  logs     print the last 50 lines of the broker log
  reset    stop the broker and delete its data

options:   --brokers 3   a three-node cluster: clients on KAFKA_PORT, +2 and +4 (9092, 9094,
                         9096), controllers on the port after each; replication factor 3,
                         min.insync.replicas=2; stop/kill/status then act on every node
           --node I      only node I of the cluster (kill, pause, resume, start, stop, status)

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
  local rf=$brokers isr=1 roles listeners advertised="" quorum
  [ "$brokers" = 3 ] && isr=2
  if [ "$brokers" = 1 ]; then
    roles=broker,controller
    quorum="controller.quorum.bootstrap.servers=127.0.0.1:$controller_port"
    listeners="PLAINTEXT://127.0.0.1:$nport,CONTROLLER://127.0.0.1:$controller_port"
    advertised="advertised.listeners=PLAINTEXT://127.0.0.1:$nport"
  elif [ "$node" = 0 ]; then
    roles=controller
    quorum="controller.quorum.voters=0@127.0.0.1:$controller_port"
    listeners="CONTROLLER://127.0.0.1:$controller_port"
  else
    roles=broker
    quorum="controller.quorum.voters=0@127.0.0.1:$controller_port"
    listeners="PLAINTEXT://127.0.0.1:$nport"
    advertised="advertised.listeners=PLAINTEXT://127.0.0.1:$nport"
  fi
  cat >"$dir/server-$nport.properties" <<PROPS
process.roles=$roles
node.id=$node
$quorum
listeners=$listeners
$advertised
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$isr
auto.create.topics.enable=true
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
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

cluster_id() {
  # Every node of a cluster is formatted with the same id (kept beside the layout file).
  local f=$dir/cluster-$port.id
  [ -s "$f" ] || java -cp "$jars/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1 >"$f"
  cat "$f"
}

format_storage() {
  [ -f "$data/meta.properties" ] && return 0
  local mode=--standalone
  [ "$brokers" = 1 ] || mode=""
  java -cp "$jars/*" -Dlog4j2.configurationFile="$dir/log4j2.properties" kafka.tools.StorageTool format \
    -t "$(cluster_id)" -c "$dir/server-$nport.properties" $mode >/dev/null 2>>"$logfile" ||
    die "formatting the KRaft storage failed; see $logfile"
}

wait_ready() {
  local deadline=$((SECONDS + start_timeout))
  while [ $SECONDS -lt $deadline ]; do
    alive || { tail -n 40 "$logfile" >&2; die "the broker exited during start-up (log tail above)"; }
    # The controller serves no clients; the brokers' answers tell it is there.
    [ "$node" = 0 ] && return 0
    if deno run --allow-net --allow-env --allow-read "$here/kafka_probe.ts" "127.0.0.1:$nport" "$brokers" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  tail -n 40 "$logfile" >&2
  die "the broker did not answer metadata requests on 127.0.0.1:$nport (with $brokers brokers) within ${start_timeout}s (log tail above)"
}

start_node() {
  write_config
  if alive; then
    # A paused broker is resumed: `start` means "make it answer".
    kill -CONT "$(pid)" 2>/dev/null || true
    return 0
  fi
  if ss -ltn "( sport = :$nport )" 2>/dev/null | grep -q LISTEN; then
    die "port $nport is already taken by another process; set KAFKA_PORT"
  fi
  format_storage
  : >"$logfile"
  setsid nohup java -Xms128m -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$jars/*" \
    kafka.Kafka "$dir/server-$nport.properties" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

start() {
  fetch
  mkdir -p "$dir"
  local old
  old=$(cat "$layout" 2>/dev/null || echo "")
  if [ -n "$old" ] && [ "$old" != "$brokers" ] && [ -z "$only_node" ]; then
    for n in $(seq 1 "$old"); do use_node "$n"; alive && die "a $old-node cluster runs on $port; stop it first (scripts/kafka.sh stop)"; done
  fi
  echo "$brokers" >"$layout"
  local n
  for n in $(nodes); do use_node "$n"; start_node; done
  # A cluster answers once its controllers have a quorum: wait for every node after starting all.
  for n in $(nodes); do use_node "$n"; wait_ready; done
  local list=""
  for n in $(nodes); do [ "$n" = 0 ] || list="$list${list:+,}127.0.0.1:$(node_port "$n")"; done
  echo "kafka.sh: $brokers-broker Kafka ready on $list"
}

stop_node() {
  alive || { rm -f "$pidfile"; return 0; }
  local p
  p=$(pid)
  kill -CONT "$p" 2>/dev/null || true
  kill -TERM "$p"
  for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  rm -f "$pidfile"
}

stop() {
  local n
  # Stopped in reverse, so the last controllers standing still have a quorum for the others.
  for n in $(nodes | sort -rn); do use_node "$n"; stop_node; done
  echo "kafka.sh: broker stopped"
}

signal() {
  local n any=""
  for n in $(nodes); do
    use_node "$n"
    alive || continue
    any=1
    kill "-$1" "$(pid)"
    if [ "$1" = KILL ]; then
      for _ in $(seq 1 50); do alive || break; sleep 0.1; done
      rm -f "$pidfile"
    fi
  done
  [ -n "$any" ] || die "the broker is not running"
  echo "kafka.sh: sent SIG$1 to the broker"
}

status_node() {
  if ! alive; then echo stopped; return 0; fi
  local st
  st=$(awk '{print $3}' "/proc/$(pid)/stat" 2>/dev/null || echo "?")
  if [ "$st" = T ]; then echo paused; else echo running; fi
}

status() {
  local n
  if [ "$brokers" = 1 ]; then status_node; return 0; fi
  for n in $(nodes); do
    use_node "$n"
    if [ "$n" = 0 ]; then echo "controller 127.0.0.1:$nport $(status_node) pid $(pid)"
    else echo "broker $n 127.0.0.1:$nport $(status_node) pid $(pid)"; fi
  done
}

reset() {
  stop
  local n
  for n in $(nodes); do use_node "$n"; rm -rf "$data"; done
  [ -n "$only_node" ] || rm -f "$layout" "$dir/cluster-$port.id"
  echo "kafka.sh: data deleted"
}

case "$cmd" in
fetch) fetch ;;
start) start ;;
stop) stop ;;
kill) signal KILL ;;
pause) signal STOP ;;
resume) signal CONT ;;
status) status ;;
logs) for n in $(nodes); do use_node "$n"; tail -n 50 "$logfile" 2>/dev/null || true; done ;;
reset) reset ;;
help | -h | --help) usage ;;
*) usage >&2; exit 2 ;;
esac
