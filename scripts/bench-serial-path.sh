#!/usr/bin/env bash
# Throughput of the whole serial path: virtual ESP8266 (pty) → vigil (serial source, detectors)
# → mosquitto on a free loopback port. Bounded: RATE lines/s for SECONDS seconds.
# Prints readings/s the agent took in, and what reached the broker.
set -euo pipefail
cd "$(dirname "$0")/.."
VIGIL=${VIGIL:-.build/release/vigil}
RATE=${RATE:-5000}
SECONDS_=${SECONDS_:-10}
work=$(mktemp -d /tmp/vigil-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=18930; while ! port_free "$port"; do port=$((port + 1)); done
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$work/m.conf"
mosquitto -c "$work/m.conf" > /dev/null 2>&1 & pids+=($!)
for _ in $(seq 50); do port_free "$port" || break; sleep 0.1; done
cat > "$work/vigil.yaml" <<YAML
device: bench
mqtt: { broker: "mqtt://127.0.0.1:$port" }
summary: { interval: 1s }
log_level: warning
sources:
  - kind: serial
    name: esp
    path: $work/tty
    format: kv
    fields:
      - { field: temperature, channel: temperature }
      - { field: humidity, channel: humidity }
      - { field: sound, channel: sound }
YAML
"$VIGIL" simulate --serial --format kv --rate "$RATE" --link "$work/tty" --duration $((SECONDS_ + 3)) > /dev/null 2>&1 & pids+=($!)
for _ in $(seq 50); do [ -e "$work/tty" ] && break; sleep 0.1; done
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'vigil/#' -q 1 > "$work/received" 2>/dev/null & pids+=($!)
sleep 0.3
"$VIGIL" run --config "$work/vigil.yaml" --log-level info --duration "$SECONDS_" 2> "$work/agent.log"
readings=$(grep -o 'readings=[0-9]*' "$work/agent.log" | tail -1 | cut -d= -f2)
sleep 0.5
echo "offered: $RATE lines/s × 3 channels for ${SECONDS_}s"
echo "agent took in: $readings readings = $((readings / SECONDS_)) readings/s"
echo "messages at the broker: $(wc -l < "$work/received")"
