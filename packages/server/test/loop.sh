#!/usr/bin/env bash
# Runs the whole suite N times in a row (default 10) and stops at the first failure.
# Usage, from anywhere: packages/server/test/loop.sh [N] [vitest arguments...]
# The environment is passed on as it is (TEST_DATABASE_URL, TEST_REDIS_URL).
set -uo pipefail

runs="${1:-10}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
logs="$(mktemp -d "${TMPDIR:-/tmp}/tenantry-test-loop-XXXXXX")"
cd "$root" || exit 1

echo "suite x${runs}; engines: pglite${TEST_DATABASE_URL:+ + postgres}; logs in ${logs}"
for ((i = 1; i <= runs; i++)); do
  log="${logs}/run-${i}.log"
  started=$(date +%s)
  # Also the CPU the run used (user + system of vitest and every process it waited for): on a
  # loaded machine the wall time says little, the CPU seconds compare runs.
  TIMEFORMAT='%U %S'
  { time npx vitest run "$@" >"$log" 2>&1; } 2>"${logs}/run-${i}.cpu"
  status=$?
  took=$(($(date +%s) - started))
  cpu=$(awk '{ printf "%.0f", $1 + $2 }' "${logs}/run-${i}.cpu")
  summary=$(sed -E 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^\s*(Test Files|Tests|Duration) ' | sed -E 's/^ +//' | tr '\n' ' ')
  echo "run ${i}/${runs}: $([ $status -eq 0 ] && echo passed || echo FAILED) in ${took}s, ${cpu} CPU-s, load $(cut -d' ' -f1-3 /proc/loadavg); ${summary}"
  if [ $status -ne 0 ]; then
    echo "run ${i} failed; its output: ${log}"
    grep -E 'FAIL|×|AssertionError|Error:' "$log" | sed -E 's/\x1b\[[0-9;]*m//g' | head -40
    exit 1
  fi
done
echo "all ${runs} runs passed"
