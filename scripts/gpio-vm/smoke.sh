# Guest scenario (busybox sh) that proves the harness works without vigil:
#   1. DHT22 frame: gpioset sends a 1 ms start pulse on line 4, pulsegen answers,
#      gpiomon records the edges; the 40 bits decoded from the timestamps must
#      equal the bytes pulsegen reports.
#   2. Edges: pulsegen bursts on line 5; gpiomon's rising-edge count must equal
#      pulsegen's.
#   3. MQTT: mosquitto on 127.0.0.1:1883, mosquitto_pub -> mosquitto_sub.
# Run: scripts/gpio-vm/run.sh --scenario scripts/gpio-vm/smoke.sh [--vigil PATH]
# Uses SIM_CHIP and SIM_SYSFS from the harness.
# shellcheck shell=sh disable=SC2317 # helpers are called through wait_for

failed=0
pass() { echo "smoke: PASS $*"; }
fail() { echo "smoke: FAIL $*"; failed=$((failed + 1)); }
# Waits up to $1 polls of 10 ms for the command after it to succeed.
wait_for() {
	n=$1
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		usleep 10000
	done
}
line_is() { [ "$(cat "$1/value")" = "$2" ]; }
used_by_gpiomon() { gpioinfo "$SIM_CHIP" | grep -q "\"line$1\" *\"gpiomon\""; }

echo "smoke: chip $SIM_CHIP ($SIM_SYSFS)"
gpiodetect
if [ ! -c "$SIM_CHIP" ] || [ ! -d "$SIM_SYSFS/sim_gpio7" ]; then fail "SIM_CHIP/SIM_SYSFS not usable"; fi
gpiofind line4 | grep -q "${SIM_CHIP#/dev/} 4" || fail "gpiofind line4 does not name ${SIM_CHIP#/dev/} 4"

# ---------------------------------------------------------------- 1. DHT22
L4="$SIM_SYSFS/sim_gpio4"
# --response-us 20000: v1 lines are exclusive, so gpiomon can only request
# line 4 after gpioset has released it, and it needs a few ms to start.
pulsegen dht --line-dir "$L4" --model dht22 --frames 21.5/45.2 \
	--response-us 20000 --wait-s 10 2>/tmp/dht.log &
pg=$!
# pulsegen has set the pull-up (idle high) once value reads 1.
wait_for 100 line_is "$L4" 1 || fail "dht: line 4 never went high"
gpioset --mode=time --usec=1000 "$SIM_CHIP" 4=0
gpiomon --num-events=84 --format='%e %s %n' "$SIM_CHIP" 4 >/tmp/dht.ev &
mon=$!
wait "$pg"
pg_rc=$?
usleep 200000
kill "$mon" 2>/dev/null
cat /tmp/dht.log
echo "smoke: dht: gpiomon captured $(wc -l </tmp/dht.ev) events (edge sec nsec):"
cat /tmp/dht.ev
# High time between a rising and the next falling edge: > 48 us is a 1 bit.
# The last 40 complete highs are the data bits (the first may be the preamble).
got="$(awk '{ t = $2 * 1e9 + $3 }
	$1 == 1 { rise = t; next }
	$1 == 0 && rise { h[n++] = t - rise; rise = 0 }
	END {
		if (n < 40) { print "only " n " bits"; exit }
		for (i = 0; i < 5; i++) {
			b = 0
			for (j = 0; j < 8; j++) b = b * 2 + (h[n - 40 + i * 8 + j] > 48000)
			printf "%s%02x", (i ? " " : ""), b
		}
	}' /tmp/dht.ev)"
want="$(sed -n 's/^pulsegen: frame 1 valid sent \(.. .. .. .. ..\) .*/\1/p' /tmp/dht.log)"
if [ "$pg_rc" = 0 ] && [ -n "$want" ] && [ "$got" = "$want" ]; then
	pass "dht: decoded $got = pulsegen's bytes"
else
	fail "dht: pulsegen exit $pg_rc, decoded '$got', pulsegen sent '$want'"
fi

# ---------------------------------------------------------------- 2. edges
L5="$SIM_SYSFS/sim_gpio5"
gpiomon --num-events=30 --rising-edge --format='%e %s %n' "$SIM_CHIP" 5 >/tmp/edges.ev &
mon=$!
wait_for 100 used_by_gpiomon 5 || fail "edges: gpiomon never requested line 5"
pulsegen edges --line-dir "$L5" --bursts 20x2000/2000,10x1000/3000 --gap-ms 100 2>/tmp/edges.log
pg_rc=$?
usleep 200000
kill "$mon" 2>/dev/null
cat /tmp/edges.log
want="$(sed -n 's/^pulsegen: edges rising=\([0-9]*\) .*/\1/p' /tmp/edges.log)"
got="$(wc -l </tmp/edges.ev)"
if [ "$pg_rc" = 0 ] && [ -n "$want" ] && [ "$got" = "$want" ]; then
	pass "edges: gpiomon counted $got rising edges = pulsegen's"
else
	fail "edges: pulsegen exit $pg_rc reported rising=$want, gpiomon counted $got"
fi

# ---------------------------------------------------------------- 3. MQTT
# stderr: its "should not be run as root" warning is expected here.
mosquitto -c /etc/mosquitto/mosquitto.conf -d 2>/tmp/mosquitto.err
wait_for 200 mosquitto_pub -h 127.0.0.1 -p 1883 -t smoke/ping -m ping ||
	fail "mqtt: broker not reachable on 127.0.0.1:1883"
msg="hello from gpio-vm $$"
# Retained, so the subscriber gets it whenever it connects: no start race.
mosquitto_pub -h 127.0.0.1 -p 1883 -q 1 -r -t smoke/roundtrip -m "$msg"
got="$(mosquitto_sub -h 127.0.0.1 -p 1883 -t smoke/roundtrip -C 1 -W 10)"
if [ "$got" = "$msg" ]; then
	pass "mqtt: round trip '$got'"
else
	fail "mqtt: sent '$msg', received '$got'"
	cat /tmp/mosquitto.log
fi

if [ -n "${VIGIL:-}" ]; then
	echo "smoke: vigil present: $("$VIGIL" --version 2>&1 | head -n 1)"
fi

if [ "$failed" = 0 ]; then
	echo "smoke: OK (dht, edges, mqtt)"
	exit 0
fi
echo "smoke: $failed check(s) FAILED"
exit 1
