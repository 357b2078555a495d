#!/usr/bin/env bash
# `make bench-e2e`: makes the venv for the reference Python agent (pyserial + paho-mqtt from PyPI)
# under .build-bench-e2e/, then runs bench.py in it. Usage: run.sh PATH-TO-VIGIL
# Settings are environment variables (LINES, ROUNDS, …; see bench.py and docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
vigil=${1:?usage: run.sh PATH-TO-VIGIL}
work=${BENCH_E2E_DIR:-.build-bench-e2e}
for tool in mosquitto mosquitto_sub mosquitto_pub socat valgrind objcopy; do
  command -v "$tool" > /dev/null || { echo "bench-e2e: $tool is missing (make deps; apt-get install valgrind)" >&2; exit 1; }
done
mkdir -p "$work"
if [ ! -x "$work/venv/bin/python" ]; then
  ${PYTHON:-python3} -m venv "$work/venv"
fi
"$work/venv/bin/python" -c 'import serial, paho.mqtt' 2> /dev/null ||
  "$work/venv/bin/pip" install --quiet --disable-pip-version-check pyserial==3.5 paho-mqtt==2.1.0
# bench.py stops everything it started (mosquitto, the subscriber, socat, the agents) on exit,
# also on SIGINT/SIGTERM.
exec "$work/venv/bin/python" scripts/bench-e2e/bench.py "$vigil" "$work"
