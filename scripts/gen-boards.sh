#!/usr/bin/env bash
# Regenerates boards/<id>.txt from the presets compiled into vigil (Sources/VigilCore/Boards/), the one
# place the board data lives. The tests fail when a file here differs from `vigil check --board <id>`.
#   scripts/gen-boards.sh [VIGIL_BINARY]        (default: .build/release/vigil)
set -euo pipefail
cd "$(dirname "$0")/.."
VIGIL=${1:-${VIGIL:-.build/release/vigil}}
"$VIGIL" check --board list | while read -r id _; do
  "$VIGIL" check --board "$id" > "boards/$id.txt"
  echo "boards/$id.txt"
done
