#!/usr/bin/env bash
# The microphone source's DSP cost at 16 kHz (A-weighting, and 0, 3 or 6 octave bands): instructions
# per second of audio under callgrind, the difference between a run over SECONDS of audio and one
# over none (start-up left out); and the wall time per second of audio on this machine.
# Usage: scripts/sound-cost.sh [SECONDS] (default 60). Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
swiftc -O -module-name SoundCost -o "$out/sound-cost" \
  Sources/VigilSources/Microphone/SoundLevel.swift Sources/VigilSources/Microphone/OctaveBand.swift \
  scripts/sound-cost/main.swift
seconds=${1:-60}
instructions() {
  SECONDS_OF_AUDIO=$1 BANDS=$2 valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$out/sound-cost" >/dev/null 2>&1
  callgrind_annotate "$out/cg" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}
for bands in 0 3 6; do
  ir=$(( $(instructions "$seconds" $bands) - $(instructions 0 $bands) ))
  echo "bands=$bands: $((ir / seconds)) instructions per second of audio; $(SECONDS_OF_AUDIO=$seconds BANDS=$bands "$out/sound-cost")"
done
