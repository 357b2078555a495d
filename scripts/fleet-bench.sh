#!/bin/bash
# A first throughput figure for vigil-fleet into SQLite or PostgreSQL (not a timed test): N summaries of
# one device published with `mosquitto_pub -l` to a private mosquitto on 127.0.0.1, timed until the
# receiver has stored them all. The multi-gateway load generator of issue 11 replaces this.
#   [STORE=postgres] scripts/fleet-bench.sh [BINARY] [N] [BROKER_MAX_INFLIGHT] [PORT]
# STORE=postgres runs a private PostgreSQL (Debian's initdb/pg_ctl, as `postgres` when root) on PORT+1,
# with its default durability (fsync on, synchronous_commit on), like SQLite's synchronous = FULL.
set -euo pipefail
BIN=${1:-.build/release/vigil-fleet}; N=${2:-50000}; INFLIGHT=${3:-20}; PORT=${4:-18977}; STORE=${STORE:-sqlite}
D=$(mktemp -d /tmp/vigil-fleet-bench.XXXXXX)
PG=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- sh -c 'cd "$0" && exec "$@"' "$D" "$@"; else "$@"; fi; }
stop_pg() { [ "$STORE" = postgres ] && as_pg "$PG/pg_ctl" -D "$D/pg" -m immediate stop >/dev/null 2>&1 || true; }
trap 'kill $FP $BP 2>/dev/null || true; stop_pg; rm -rf "$D"' EXIT
if [ "$STORE" = postgres ]; then
  [ "$(id -u)" -eq 0 ] && chown postgres "$D"
  as_pg "$PG/initdb" -D "$D/pg" -U vigil -A trust --locale=C >/dev/null
  as_pg "$PG/pg_ctl" -D "$D/pg" -l "$D/pg.log" -o "-c listen_addresses=127.0.0.1 -c port=$((PORT + 1)) -c unix_socket_directories=$D" -w start >/dev/null
  "$PG/createdb" -h 127.0.0.1 -p $((PORT + 1)) -U vigil fleet
  STORE_ARGS=(--store "postgres://vigil@127.0.0.1:$((PORT + 1))/fleet")
  stored() { "$PG/psql" -h 127.0.0.1 -p $((PORT + 1)) -U vigil -d fleet -XAtqc 'SELECT stored FROM devices' 2>/dev/null || true; }
else
  STORE_ARGS=(--db "$D/fleet.db")
  stored() { sqlite3 "$D/fleet.db" 'SELECT stored FROM devices' 2>/dev/null || true; }
fi
python3 - "$N" > "$D/lines" <<'PY'
import sys
for i in range(1, int(sys.argv[1]) + 1):
    print('{"v":1,"device":"gw-b","seq":%d,"type":"summary","channel":"t","unit":"C","ts":"2026-11-23T11:40:00.123Z","from":"2026-11-23T11:39:00.123Z","count":60,"min":1,"max":2,"mean":1.5,"std":0.1,"anomalies":0,"episodes":0,"dropped":0,"unhealthy":0}' % i)
PY
printf "listener $PORT 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages $INFLIGHT\npersistence false\n" > "$D/mosquitto.conf"
mosquitto -c "$D/mosquitto.conf" > "$D/broker.log" 2>&1 & BP=$!
sleep 0.5
"$BIN" --broker "mqtt://127.0.0.1:$PORT" "${STORE_ARGS[@]}" --client-id bench > "$D/fleet.log" 2>&1 & FP=$!
until grep -q "subscribed to" "$D/fleet.log"; do sleep 0.05; done
start=$(date +%s.%N)
mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t vigil/gw-b/summary/t -l < "$D/lines"
published=$(date +%s.%N)
until [ "$(stored)" = "$N" ]; do sleep 0.05; done
end=$(date +%s.%N)
rss=$(ps -o rss= -p $FP)
echo "$STORE, broker max_inflight_messages=$INFLIGHT: $N messages published in $(echo "$published - $start" | bc) s," \
     "all stored after $(echo "$end - $start" | bc) s: $(echo "$N / ($end - $start)" | bc) msg/s; receiver RSS ${rss} KiB"
