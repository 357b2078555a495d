#!/bin/sh
# Guest scenario: the real vigil against the simulated gpiochip. pulsegen plays a DHT22 (answering
# start pulses with chosen frames, good and broken) and a sound sensor's comparator output; vigil
# reads them through libgpiod. Prints each step's output between "=== NAME" and "=== end NAME"
# lines; the host test (Tests/VigilIntegrationTests/GPIOVMTests.swift) checks the values.
# Each step is bounded by --count/--duration; the guest clock is virtual (icount).
set -u
: "${SIM_SYSFS:?}" "${VIGIL:?}"
status=0

section() { echo "=== $1"; cat "$2"; echo "=== end $1"; }

# 1. DHT22 through `vigil read`: exact readings and failure counters.
#    Reads (after the 2 s power-up wait) every 2 s: ok, ok with a negative temperature, bad
#    checksum, its retry silent (→ down), cut short, its retry ok (→ up). Three good frames: 6 readings.
cat >/tmp/dht.yaml <<'EOF'
device: vm-gw
board: none
sources:
  - kind: dht
    name: climate
    model: dht22
    chip: vigil-sim
    line: 4
    interval: 2s
    retries: 1
EOF
pulsegen dht --line-dir "$SIM_SYSFS/sim_gpio4" --model dht22 --jitter-us 10 --seed 7 \
    --frames 21.5/45.2,-3.4/60.1,badsum:22.0/50.0,silent,short:22.0/50.0,23.1/50.0 \
    2>/tmp/pulsegen-dht.log &
gen=$!
"$VIGIL" read -c /tmp/dht.yaml --count 6 --duration 60 --log-level info >/tmp/read-dht.out 2>/tmp/read-dht.err || status=1
wait $gen || status=1
section read-dht /tmp/read-dht.out
section read-dht-log /tmp/read-dht.err
section pulsegen-dht /tmp/pulsegen-dht.log

# 2. A sound sensor's digital output and a contact through `vigil read`: edges and duty per window.
#    150 pulses (100 × 2 ms high/2 ms low, then 50 × 1 ms high/3 ms low): 250 ms active in all.
cat >/tmp/sound.yaml <<'EOF'
device: vm-gw
board: none
sources:
  - kind: gpio
    name: noise
    chip: vigil-sim
    window: 1s
    inputs:
      - { line: 5, mode: activity, edges: sound_events, duty: sound_duty }
EOF
echo pull-down >"$SIM_SYSFS/sim_gpio5/pull"
pulsegen edges --line-dir "$SIM_SYSFS/sim_gpio5" --bursts 100x2000/2000,50x1000/3000 --gap-ms 500 \
    --start-delay-ms 1500 2>/tmp/pulsegen-edges.log &
gen=$!
"$VIGIL" read -c /tmp/sound.yaml --duration 5 --log-level info >/tmp/read-sound.out 2>/tmp/read-sound.err || status=1
wait $gen || status=1
section read-sound /tmp/read-sound.out
section read-sound-log /tmp/read-sound.err
section pulsegen-edges /tmp/pulsegen-edges.log

# 2b. A bouncing contact (5 bounces of 0.5 ms, then held 600 ms) with a 20 ms debounce: one press
#     of 605 ms, though the kernel saw 12 edges; then a level input held active for 1.5 s.
cat >/tmp/contact.yaml <<'EOF'
device: vm-gw
board: none
sources:
  - kind: gpio
    name: contacts
    chip: vigil-sim
    window: 500ms
    inputs:
      - { line: 6, mode: activity, edges: presses, duty: pressed, debounce: 20ms }
      - { line: 7, mode: level, channel: door }
EOF
echo pull-down >"$SIM_SYSFS/sim_gpio6/pull"
echo pull-down >"$SIM_SYSFS/sim_gpio7/pull"
( pulsegen edges --line-dir "$SIM_SYSFS/sim_gpio6" --bursts 5x500/500,1x600000/1000 --gap-ms 0 --start-delay-ms 1200 &&
  pulsegen edges --line-dir "$SIM_SYSFS/sim_gpio7" --bursts 1x1500000/1000 --start-delay-ms 500 ) 2>/tmp/pulsegen-contact.log &
gen=$!
# While vigil holds lines 6 and 7, `vigil probe` shows who uses them.
( sleep 1; "$VIGIL" probe >/tmp/probe.out 2>&1 ) &
probe=$!
"$VIGIL" read -c /tmp/contact.yaml --duration 6 --log-level info >/tmp/read-contact.out 2>/tmp/read-contact.err || status=1
wait $probe || status=1
section probe /tmp/probe.out
wait $gen || status=1
section read-contact /tmp/read-contact.out
section read-contact-log /tmp/read-contact.err
section pulsegen-contact /tmp/pulsegen-contact.log

# 2c. DHT22 frames with ±20 µs of seeded jitter on every pulse, and a DHT11 (18 ms start pulse, its
#     own byte layout): every frame decodes to its exact values.
cat >/tmp/jitter.yaml <<'EOF'
device: vm-gw
board: none
sources:
  - kind: dht
    name: jittery
    model: dht22
    chip: vigil-sim
    line: 3
    interval: 2s
    retries: 0
  - kind: dht
    name: old
    model: dht11
    chip: vigil-sim
    line: 2
    interval: 2s
    retries: 0
    channels: { temperature: t11, humidity: h11 }
EOF
pulsegen dht --line-dir "$SIM_SYSFS/sim_gpio3" --model dht22 --jitter-us 20 --seed 11 \
    --frames 18.3/55.5,18.4/55.0,-12.7/99.9,0.1/0.1,30.0/20.0 2>/tmp/pulsegen-jitter.log &
gen=$!
pulsegen dht --line-dir "$SIM_SYSFS/sim_gpio2" --model dht11 --jitter-us 10 --seed 12 \
    --frames 24.1/38.0,25.0/40.0,26.2/41.0 2>/tmp/pulsegen-dht11.log &
gen11=$!
"$VIGIL" read -c /tmp/jitter.yaml --count 16 --duration 60 --log-level info >/tmp/read-jitter.out 2>/tmp/read-jitter.err || status=1
wait $gen || status=1
wait $gen11 || status=1
section read-jitter /tmp/read-jitter.out
section read-jitter-log /tmp/read-jitter.err
section pulsegen-jitter /tmp/pulsegen-jitter.log
section pulsegen-dht11 /tmp/pulsegen-dht11.log

# 2d. A line another process holds: vigil names the chip, the line, the call and the holder, counts
#     the failure and keeps retrying (source_down once, not once per attempt).
cat >/tmp/busy.yaml <<'EOF'
device: vm-gw
board: none
sources:
  - kind: gpio
    name: held
    chip: vigil-sim
    inputs:
      - { line: 1, mode: level, channel: held_level }
EOF
gpiomon "$SIM_CHIP" 1 >/dev/null 2>&1 &
holder=$!
sleep 1
"$VIGIL" read -c /tmp/busy.yaml --duration 4 --log-level info >/tmp/read-busy.out 2>/tmp/read-busy.err || status=1
kill $holder 2>/dev/null
wait $holder 2>/dev/null
section read-busy /tmp/read-busy.out
section read-busy-log /tmp/read-busy.err

# 3. The agent end to end: DHT22 → detectors → MQTT (mosquitto in the guest on 127.0.0.1).
#    Summaries carry the DHT counters; a silent sensor gives source_down, its return source_up.
#    Reads at 2, 4, 6, 8 and 10 s of the agent's 11.
cat >/tmp/run.yaml <<'EOF'
device: vm-gw
board: none
mqtt:
  broker: mqtt://127.0.0.1:1883
summary:
  interval: 5s
sources:
  - kind: dht
    name: climate
    model: dht22
    chip: vigil-sim
    line: 4
    interval: 2s
    retries: 0
EOF
mosquitto -d -c /etc/mosquitto/mosquitto.conf
sleep 1
mosquitto_sub -h 127.0.0.1 -p 1883 -v -t 'vigil/#' >/tmp/mqtt.out 2>/tmp/mqtt.err &
sub=$!
sleep 1
pulsegen dht --line-dir "$SIM_SYSFS/sim_gpio4" --model dht22 --seed 9 \
    --frames 20.0/40.0,20.2/40.5,silent,20.4/41.0,20.6/41.5 2>/tmp/pulsegen-run.log &
gen=$!
# Resident memory of the running agent (reported, not asserted: memory is measured, not tested).
( sleep 8; for p in $(pidof vigil); do grep -E 'VmRSS|VmHWM' "/proc/$p/status"; done ) >/tmp/rss.out 2>&1 &
STATE_DIRECTORY=/tmp/vigil-state "$VIGIL" run -c /tmp/run.yaml --duration 11 >/tmp/run.out 2>&1 || status=1
wait $gen || status=1
sleep 1
kill $sub 2>/dev/null
section run-log /tmp/run.out
section rss /tmp/rss.out
section mqtt /tmp/mqtt.out
section pulsegen-run /tmp/pulsegen-run.log

exit $status
