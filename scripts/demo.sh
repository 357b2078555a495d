#!/usr/bin/env bash
# make demo: a local mosquitto on a free loopback port, a subscriber printing what arrives, a
# virtual ESP8266 (`vigil simulate --serial`: simulated sensors with injected faults, printed as
# serial lines on a pseudo-terminal) and the agent reading that pty — the same path a real
# NodeMCU on /dev/ttyUSB0 takes — for DURATION seconds. Stops all it started.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30}
CONFIG=${CONFIG:-examples/simulator.yaml}
VIGIL=${VIGIL:-.build/release/vigil}
work=$(mktemp -d /tmp/vigil-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=18830
while ! port_free "$port"; do port=$((port + 1)); done

printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do port_free "$port" || break; sleep 0.1; done
port_free "$port" && { echo "mosquitto did not start:"; cat "$work/mosquitto.log"; exit 1; }

# The virtual ESP8266 takes channels, rate, seed and faults from the simulator config.
"$VIGIL" simulate --serial --format kv --link "$work/ttyESP0" --config "$CONFIG" --duration $((DURATION + 2)) \
  > /dev/null 2> "$work/esp.log" & pids+=($!)
for _ in $(seq 50); do [ -e "$work/ttyESP0" ] && break; sleep 0.1; done
[ -e "$work/ttyESP0" ] || { echo "virtual ESP8266 did not start:"; cat "$work/esp.log"; exit 1; }
# The agent's config: examples/serial.yaml's source on the pty, with thresholds and health checks
# short enough for a 30-second demo.
cat > "$work/vigil.yaml" <<YAML
device: demo-gw-1
detector:
  window: 60
  warmup: 20
  z_on: 4.0
  z_off: 2.5
  end_after: 5
  health: { stuck_after: 2s, dropout_after: 1s }
channels:
  temperature: { std_floor: 0.05, health: { resolution: 0.01, min: -40, max: 80 } }
  humidity:    { std_floor: 0.2,  health: { resolution: 0.1, min: 0, max: 100 } }
  sound:       { std_floor: 0.5, z_on: 4.5, health: { resolution: 0.1 } }
summary:
  interval: 10s
sources:
  - kind: serial
    name: esp8266
    path: $work/ttyESP0
    format: kv
    fields:
      - { field: temperature, channel: temperature, unit: "°C" }
      - { field: humidity,    channel: humidity,    unit: "%RH" }
      - { field: sound,       channel: sound,       unit: "dB" }
YAML

echo "== broker: mosquitto on 127.0.0.1:$port (pid ${pids[0]})"
echo "== virtual ESP8266: $VIGIL simulate --serial on $work/ttyESP0 (faults at 8s, 12s, 17s, 21s, 24s, 26s)"
echo "== agent: $VIGIL run --config $work/vigil.yaml (a kind: serial source on that pty) for ${DURATION}s"
echo "   (stuck and dropout are caught by the health checks: vigil/<device>/health/<channel>)"
echo "== messages arriving at the broker (topic  payload):"
: > "$work/received.txt"
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'vigil/#' -v -q 1 >> "$work/received.txt" 2>&1 & pids+=($!)
tail -n +1 -f "$work/received.txt" & pids+=($!)
sleep 0.3

STATE_DIRECTORY="$work" "$VIGIL" run --config "$work/vigil.yaml" --broker "mqtt://127.0.0.1:$port" --duration "$DURATION" 2> "$work/agent.log" || {
  echo "agent failed:"; cat "$work/agent.log"; exit 1; }
sleep 0.5
echo
echo "== virtual ESP8266 (ground truth):"
cat "$work/esp.log"
echo
echo "== agent log (stderr):"
cat "$work/agent.log"
echo
echo "== received: $(grep -c '/anomaly/' "$work/received.txt" || true) anomaly events," \
     "$(grep -c '/health' "$work/received.txt" || true) health events," \
     "$(grep -c '/summary/' "$work/received.txt" || true) summaries," \
     "status: $(grep '/status ' "$work/received.txt" | grep -o '"state":"[a-z]*"' | cut -d'"' -f4 | paste -sd' ' -)"
