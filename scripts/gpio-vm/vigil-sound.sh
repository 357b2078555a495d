#!/bin/sh
# Guest scenario (run.sh --sound): the real vigil captures the ALSA loopback card while aplay plays
# generated tones into its other side. The kernel's snd-aloop copies what is played on
# hw:Loopback,0,0 to the capture of hw:Loopback,1,0, sample for sample, on its own timer.
# Prints each step's output between "=== NAME" and "=== end NAME" lines; the host test
# (Tests/VigilIntegrationTests/SoundVMTests.swift) checks the levels.
set -u
: "${VIGIL:?}"
status=0

section() { echo "=== $1"; cat "$2"; echo "=== end $1"; }

# 1 kHz at −20 dBFS for 1.5 s, the same tone 12 dB louder (−8 dBFS) for 1.5 s, then 1.5 s of
# digital silence: at 1 kHz A-weighting is 0 dB, so level_db and peak_db both read the tone's dBFS.
# Short, because TCG runs the agent's per-sample work slowly: each second of audio costs seconds.
wavgen /tmp/steps.wav 16000 1000@-20:1.5 1000@-8:1.5 silence:1.5 || status=1
cat >/tmp/mic.yaml <<'YAML'
device: vm-gw
board: none
sources:
  - kind: microphone
    name: mic
    device: hw:Loopback,1,0
    rate: 16000
    period: 100ms
    window: 500ms
YAML
# The capture starts first (it reads silence until the playback starts), so every segment of the
# file holds at least two whole windows of its own (1.5 s segments, 0.5 s windows).
"$VIGIL" read -c /tmp/mic.yaml --duration 7 --log-level info >/tmp/read-mic.out 2>/tmp/read-mic.err &
reader=$!
# Play once the capture runs (vigil logs "capturing"); bounded: 600 × 0.1 s of guest time.
i=0
while ! grep -q 'capturing hw:Loopback' /tmp/read-mic.err 2>/dev/null && [ $i -lt 600 ]; do
    sleep 0.1
    i=$((i + 1))
done
aplay -q -D hw:Loopback,0,0 /tmp/steps.wav >/tmp/aplay.out 2>&1 || status=1
wait $reader || status=1
section read-mic /tmp/read-mic.out
section read-mic-log /tmp/read-mic.err
section aplay /tmp/aplay.out
exit $status
