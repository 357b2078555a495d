# Guest scenario: vigil's own DHT22 source against pulsegen on the simulated
# chip. This is an example for integration tests: five start pulses from
# `vigil read` are answered with two valid frames, a bad checksum, no answer
# (timeout) and one more valid frame. The readings and counters must match.
# Run: scripts/gpio-vm/run.sh --vigil PATH/TO/vigil --scenario scripts/gpio-vm/vigil-dht.sh
# shellcheck shell=sh

[ -n "${VIGIL:-}" ] || { echo "vigil-dht: needs --vigil"; exit 2; }
cat >/tmp/vigil.yaml <<EOF
device: gpio-vm
sources:
  - kind: dht
    name: climate
    model: dht22
    chip: vigil-sim
    line: 4
    interval: 2s
EOF
"$VIGIL" check --config /tmp/vigil.yaml || exit 1
echo "vigil-dht: guest uptime at start: $(cut -d' ' -f1 /proc/uptime) s"
pulsegen dht --line-dir "$SIM_SYSFS/sim_gpio4" --model dht22 \
	--frames 21.5/45.2,-3.2/80.1,badsum:1/1,silent,23.0/40.0 --wait-s 60 &
pg=$!
"$VIGIL" read --config /tmp/vigil.yaml --count 6 --duration 120 >/tmp/read.out
rc=$?
wait "$pg" || echo "vigil-dht: pulsegen exit $?"
cat /tmp/read.out
echo "vigil-dht: guest uptime at end: $(cut -d' ' -f1 /proc/uptime) s"

failed=0
expect() { # pattern: a line of `vigil read` output that must be there
	if grep -q -- "$1" /tmp/read.out; then echo "vigil-dht: PASS $1"; else echo "vigil-dht: FAIL $1"; failed=1; fi
}
[ "$rc" = 0 ] || { echo "vigil-dht: FAIL vigil read exit $rc"; failed=1; }
expect 'climate temperature 21.5 '
expect 'climate humidity 45.2 '
expect 'climate temperature -3.2 '
expect 'climate humidity 80.1 '
expect 'climate temperature 23.0 '
expect 'climate humidity 40.0 '
expect 'dht_good=3 '
expect 'dht_timeout=1 '
expect 'dht_checksum=1 '
exit "$failed"
