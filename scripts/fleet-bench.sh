#!/bin/bash
# A first throughput figure for vigil-fleet into SQLite (not a timed test): N summaries of one device
# published with `mosquitto_pub -l` to a private mosquitto on 127.0.0.1, timed until the receiver has
# stored them all. The multi-gateway load generator of issue 11 replaces this.
#   scripts/fleet-bench.sh [BINARY] [N] [BROKER_MAX_INFLIGHT] [PORT]
set -euo pipefail
BIN=${1:-.build/release/vigil-fleet}; N=${2:-50000}; INFLIGHT=${3:-20}; PORT=${4:-18977}
D=$(mktemp -d /tmp/vigil-fleet-bench.XXXXXX)
trap 'kill $FP $BP 2>/dev/null || true; rm -rf "$D"' EXIT
python3 - "$N" > "$D/lines" <<'PY'
import sys
for i in range(1, int(sys.argv[1]) + 1):
    print('{"v":1,"device":"gw-b","seq":%d,"type":"summary","channel":"t","unit":"C","ts":"2026-11-23T11:40:00.123Z","from":"2026-11-23T11:39:00.123Z","count":60,"min":1,"max":2,"mean":1.5,"std":0.1,"anomalies":0,"episodes":0,"dropped":0,"unhealthy":0}' % i)
PY
printf "listener $PORT 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages $INFLIGHT\npersistence false\n" > "$D/mosquitto.conf"
mosquitto -c "$D/mosquitto.conf" > "$D/broker.log" 2>&1 & BP=$!
sleep 0.5
"$BIN" --broker "mqtt://127.0.0.1:$PORT" --db "$D/fleet.db" --client-id bench > "$D/fleet.log" 2>&1 & FP=$!
until grep -q "subscribed to" "$D/fleet.log"; do sleep 0.05; done
start=$(date +%s.%N)
mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t vigil/gw-b/summary/t -l < "$D/lines"
published=$(date +%s.%N)
until [ "$(sqlite3 "$D/fleet.db" 'SELECT stored FROM devices' 2>/dev/null)" = "$N" ]; do sleep 0.05; done
end=$(date +%s.%N)
rss=$(ps -o rss= -p $FP)
echo "broker max_inflight_messages=$INFLIGHT: $N messages published in $(echo "$published - $start" | bc) s," \
     "all stored after $(echo "$end - $start" | bc) s: $(echo "$N / ($end - $start)" | bc) msg/s; receiver RSS ${rss} KiB"
