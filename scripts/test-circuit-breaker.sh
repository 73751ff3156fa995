#!/usr/bin/env bash
# The trip-and-recover scenario (`deno task test:breaker`): the breaker opens when Kafka fails,
# clients keep getting fast 2xx answers, it closes by itself once Kafka is back, and no
# acknowledged event is lost or reordered. The logic lives in scripts/scenario/ (TypeScript);
# `--help` lists the options and knobs. Exit codes: 0 passed, 1 a step failed, 2 usage error or
# missing prerequisite.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/.." || exit 2
exec deno run -A scripts/scenario/breaker_scenario.ts "$@"
