#!/bin/bash
# Writes server.properties from KAFKA_* variables the way apache/kafka does (KAFKA_ stripped,
# lower case, "___" -> "-", "__" -> "_", "_" -> "."), formats the KRaft storage with
# CLUSTER_ID once, then runs the broker in the foreground.
set -euo pipefail
conf=/opt/kafka/config/server.properties
: >"$conf"
for var in $(compgen -e); do
  case "$var" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_LOG4J_OPTS | KAFKA_GC_LOG_OPTS | \
      KAFKA_JMX_OPTS | KAFKA_VERSION | KAFKA_HOME) continue ;;
    KAFKA_*) ;;
    *) continue ;;
  esac
  key=${var#KAFKA_}
  key=${key,,}
  key=${key//___/-}
  key=${key//__/@}
  key=${key//_/.}
  key=${key//@/_}
  printf '%s=%s\n' "$key" "${!var}" >>"$conf"
done
if ! grep -q '^process.roles=' "$conf"; then
  echo "run.sh: no KAFKA_* settings given (KAFKA_PROCESS_ROLES, KAFKA_LISTENERS, ...)" >&2
  exit 1
fi
: "${CLUSTER_ID:?run.sh: set CLUSTER_ID (kafka-storage.sh random-uuid)}"
cp="/opt/kafka/libs/*"
log="-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties"
java -cp "$cp" "$log" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$conf" --ignore-formatted
# shellcheck disable=SC2086 # the *_OPTS variables are word lists, as in kafka-run-class.sh
exec java ${KAFKA_HEAP_OPTS:--Xms1g -Xmx1g} \
  ${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true} \
  ${KAFKA_OPTS:-} "$log" -cp "$cp" kafka.Kafka "$conf"
