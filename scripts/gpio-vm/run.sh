#!/usr/bin/env bash
# Boots the stock Debian 12 kernel under QEMU (TCG with icount: no usable KVM
# here, and icount makes microsecond timing deterministic), creates a
# simulated gpiochip with gpio-sim, runs a guest scenario script and exits
# with its status.
#
# Usage: run.sh --scenario GUEST.sh [--vigil PATH] [--files DIR] [--timeout S]
#               [--env NAME=VALUE]... [--console-log FILE] [--verbose] [--sound]
#   --scenario     busybox-sh script, run in the guest as `sh /scenario.sh`
#   --vigil        x86_64 vigil binary: /usr/bin/vigil in the guest, with every
#                  library ldd resolves
#   --files        directory copied to /files in the guest
#   --timeout      hard limit for the whole VM in seconds (default 240)
#   --env          exported to the scenario (repeatable)
#   --console-log  keep the raw serial console here
#   --verbose      kernel messages and everything else on the console
#   --sound        also the ALSA loopback card (snd-aloop, loaded by /init: hw:Loopback),
#                  aplay and /usr/share/alsa
# The scenario sees SIM_CHIP (/dev/gpiochipN of the bank labelled vigil-sim,
# lines named line0..line7), SIM_SYSFS (the .../gpio-sim.0/gpiochipN directory
# with sim_gpio0..7/{pull,value}), SIM_CONFIGFS, VIGIL, FILES and its --env.
# In the guest: busybox, pulsegen, gpiodetect/gpioinfo/gpiomon/gpioset/
# gpioget/gpiofind, mosquitto (/etc/mosquitto/mosquitto.conf: 127.0.0.1:1883,
# anonymous, stays root), mosquitto_pub/_sub, vigil.
# Exit status: the scenario's; 1 if the VM did not finish (timeout, panic);
# 125 from the guest means the harness's own guest setup failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "gpio-vm: $*" >&2; exit 2; }

VIGIL="" SCENARIO="" FILES="" TIMEOUT=240 VERBOSE=0 CONSOLE_LOG="" SOUND=0
ENVS=()
while (($#)); do
	case "$1" in
	--vigil) VIGIL="${2:?--vigil needs a path}"; shift 2 ;;
	--scenario) SCENARIO="${2:?--scenario needs a path}"; shift 2 ;;
	--files) FILES="${2:?--files needs a directory}"; shift 2 ;;
	--timeout) TIMEOUT="${2:?--timeout needs seconds}"; shift 2 ;;
	--env) ENVS+=("${2:?--env needs NAME=VALUE}"); shift 2 ;;
	--console-log) CONSOLE_LOG="${2:?--console-log needs a file}"; shift 2 ;;
	--verbose) VERBOSE=1; shift ;;
	--sound) SOUND=1; shift ;;
	-h | --help) usage 0 ;;
	*) echo "gpio-vm: unknown argument: $1" >&2; usage ;;
	esac
done
[[ -n $SCENARIO ]] || { echo "gpio-vm: --scenario is required" >&2; usage; }
[[ -f $SCENARIO ]] || die "no scenario file: $SCENARIO"
[[ -z $VIGIL || -x $VIGIL ]] || die "vigil binary not found or not executable: $VIGIL"
[[ -z $FILES || -d $FILES ]] || die "--files: not a directory: $FILES"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout: seconds, not '$TIMEOUT'"
for e in "${ENVS[@]}"; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env: want NAME=VALUE, not '$e'"
done

T0=$EPOCHREALTIME
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# Builds on first use, prints nothing when cached.
rc=0
OUT="$("$HERE/prepare.sh" --quiet)" || rc=$?
((rc == 0)) || { echo "gpio-vm: prepare.sh failed (exit $rc)" >&2; exit "$rc"; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/gpio-vm.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
R="$TMP/root"
mkdir -p "$R"/{bin,dev,etc/mosquitto,files,lib/modules/gpio-vm,proc,root,run,sys,tmp,usr/bin,usr/sbin,var/lib/mosquitto}
ln -s ../run "$R/var/run"

# ------------------------------------------------------------ binaries + libs
declare -A LIBS=()
add_bin() { # host file, guest path
	local f
	install -D -m 0755 "$1" "$R$2"
	# ldd fails on static binaries ("not a dynamic executable"): nothing to add.
	ldd "$1" >"$TMP/ldd" 2>/dev/null || return 0
	if grep -q 'not found' "$TMP/ldd"; then
		die "$1: libraries not found: $(grep 'not found' "$TMP/ldd" | tr -s ' \t\n' ' ')"
	fi
	# "libx.so => /path (addr)" and the loader as "/lib64/ld-linux-x86-64.so.2 (addr)"
	while read -r f; do LIBS[$f]=1; done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' "$TMP/ldd")
}
command -v busybox >/dev/null || die "busybox not found (prepare.sh installs busybox-static)"
# The applet links are made by /init (busybox --install): ~270 ln forks here
# cost more than the whole guest-side install.
install -m 0755 "$(command -v busybox)" "$R/bin/busybox"
add_bin "$OUT/pulsegen" /usr/bin/pulsegen
add_bin "$OUT/wavgen" /usr/bin/wavgen
for t in gpiodetect gpioinfo gpiomon gpioset gpioget gpiofind mosquitto_pub mosquitto_sub; do
	add_bin "$(command -v "$t")" "/usr/bin/$t"
done
add_bin /usr/sbin/mosquitto /usr/sbin/mosquitto
if [[ $SOUND == 1 ]]; then
	[[ -f $OUT/sound/load.order ]] || die "no sound modules in $OUT/sound (prepare.sh builds them)"
	command -v aplay >/dev/null || die "aplay not found (prepare.sh installs alsa-utils)"
	add_bin "$(command -v aplay)" /usr/bin/aplay
	mkdir -p "$R/usr/share" "$R/lib/modules/sound"
	cp -a /usr/share/alsa "$R/usr/share/"
	cp "$OUT"/sound/*.ko "$OUT/sound/load.order" "$R/lib/modules/sound/"
fi
if [[ -n $VIGIL ]]; then
	add_bin "$VIGIL" /usr/bin/vigil
	# Debug info only costs boot time (the initramfs is read under TCG);
	# the symbol table stays for backtraces.
	strip --strip-debug "$R/usr/bin/vigil" 2>/dev/null || true
fi
for f in "${!LIBS[@]}"; do
	mkdir -p "$R$(dirname "$f")"
	cp -L "$f" "$R$f"
done

cp "$OUT"/modules/*.ko "$OUT/modules/load.order" "$R/lib/modules/gpio-vm/"
install -m 0644 "$SCENARIO" "$R/scenario.sh"
if [[ -n $FILES ]]; then cp -a "$FILES/." "$R/files/"; fi

# ------------------------------------------------------------ /etc
cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
mosquitto:x:100:101:mosquitto:/var/lib/mosquitto:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
mosquitto:x:101:
nogroup:x:65534:
EOF
printf '127.0.0.1 localhost gpio-vm\n::1 localhost\n' >"$R/etc/hosts"
# No DNS in the guest: glibc's default would try it first.
printf 'passwd: files\ngroup: files\nhosts: files\n' >"$R/etc/nsswitch.conf"
cat >"$R/etc/mosquitto/mosquitto.conf" <<'EOF'
# gpio-vm guest broker: loopback only, anonymous; the guest has only root, so
# mosquitto must not drop privileges.
user root
listener 1883 127.0.0.1
allow_anonymous true
persistence false
log_dest file /tmp/mosquitto.log
EOF
{
	for e in "${ENVS[@]}"; do
		v="${e#*=}"
		printf "export %s='%s'\n" "${e%%=*}" "${v//\'/\'\\\'\'}"
	done
} >"$R/etc/gpio-vm.env"

# ------------------------------------------------------------ /init
cat >"$R/init" <<'EOF'
#!/bin/busybox sh
# PID 1 of the gpio-vm guest: mounts, loopback, gpio-sim chip, scenario,
# "GPIO-VM-EXIT <status>", power off.
/bin/busybox --install -s /bin
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run

finish() {
	echo "GPIO-VM-EXIT $1"
	# The tty layer buffers console writes: let the last lines drain.
	sleep 0.2
	poweroff -f
}
fail() { echo "gpio-vm: guest setup failed: $*"; finish 125; }

hostname gpio-vm
ip link set lo up || fail "ip link set lo up"
while read -r m; do
	insmod "/lib/modules/gpio-vm/$m" || fail "insmod $m"
done </lib/modules/gpio-vm/load.order
mount -t configfs configfs /sys/kernel/config || fail "mount configfs"
# --sound: the ALSA loopback card (hw:Loopback, devices 0 and 1, 8 substreams each).
if [ -f /lib/modules/sound/load.order ]; then
	while read -r m; do
		insmod "/lib/modules/sound/$m" || fail "insmod $m"
	done </lib/modules/sound/load.order
	[ -c /dev/snd/controlC0 ] || fail "no /dev/snd/controlC0 after snd-aloop"
fi

# One device, one bank of 8 named lines (gpio-sim.rst in the kernel docs).
D=/sys/kernel/config/gpio-sim/vigil
mkdir "$D" "$D/bank0" || fail "mkdir $D/bank0"
if ! echo 8 >"$D/bank0/num_lines" || ! echo vigil-sim >"$D/bank0/label"; then
	fail "bank0 attributes"
fi
for i in 0 1 2 3 4 5 6 7; do
	if ! mkdir "$D/bank0/line$i" || ! echo "line$i" >"$D/bank0/line$i/name"; then
		fail "line$i"
	fi
done
echo 1 >"$D/live" || fail "live=1"
dev="$(cat "$D/dev_name")" chip="$(cat "$D/bank0/chip_name")"
export SIM_CHIP="/dev/$chip" SIM_SYSFS="/sys/devices/platform/$dev/$chip" SIM_CONFIGFS="$D"
[ -c "$SIM_CHIP" ] || fail "no $SIM_CHIP"
[ -f "$SIM_SYSFS/sim_gpio7/pull" ] || fail "no $SIM_SYSFS/sim_gpio7/pull"
export FILES=/files
if [ -x /usr/bin/vigil ]; then export VIGIL=/usr/bin/vigil; fi
# shellcheck source=/dev/null # written above from --env
. /etc/gpio-vm.env

cd /
sh /scenario.sh </dev/null
finish $?
EOF
chmod 0755 "$R/init"

(cd "$R" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner 0:0 --quiet) >"$TMP/initramfs.cpio"
size_mb="$(du -m "$TMP/initramfs.cpio" | cut -f1)"

# ------------------------------------------------------------ QEMU
KERNEL="$OUT/vmlinux"
[[ -f $KERNEL ]] || KERNEL="$OUT/vmlinuz"
# noapictimer: the LAPIC timer calibration busy-waits ~0.2 s of guest time,
# which costs ~3 s of real time under icount; the HPET then serves as the
# clock event device, with the same microsecond precision for pulsegen.
APPEND="console=ttyS0 panic=-1 rdinit=/init noapictimer"
if [[ $VERBOSE == 1 ]]; then APPEND+=" loglevel=7"; else APPEND+=" quiet loglevel=3"; fi
# For experiments: extra kernel parameters and QEMU arguments.
APPEND+="${GPIO_VM_APPEND:+ $GPIO_VM_APPEND}"
read -r -a QEMU_EXTRA <<<"${GPIO_VM_QEMU_ARGS:-}"
# /dev/kvm here is kvm_pvm, which hangs or aborts QEMU (FACTS.md): always TCG.
# icount: 1 instruction = 1 ns of guest time, deterministic; needs 1 vCPU.
# shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
QEMU=(qemu-system-x86_64 -machine pc -accel tcg -icount shift=0,sleep=off
	-smp 1 -m 512 -nodefaults -nic none -display none -no-reboot
	-chardev stdio,id=con,signal=off -serial chardev:con
	-kernel "$KERNEL" -initrd "$TMP/initramfs.cpio" -append "$APPEND" "${QEMU_EXTRA[@]}")

if [[ $VERBOSE == 1 ]]; then
	FILTER=(sed -u -e 's/\r$//')
else
	# Hide the exit marker and any kernel line that gets through loglevel=3.
	FILTER=(sed -u -e 's/\r$//' -e '/^GPIO-VM-EXIT [0-9]*$/d' -e 's/GPIO-VM-EXIT [0-9]*$//'
		-e '/^\[ *[0-9]*\.[0-9]*\] /d')
fi
T1=$EPOCHREALTIME
set +e
timeout --kill-after=5 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>"$TMP/qemu.err" |
	tee "$TMP/console.raw" | "${FILTER[@]}"
rcs=("${PIPESTATUS[@]}")
set -e
[[ -z $CONSOLE_LOG ]] || cp "$TMP/console.raw" "$CONSOLE_LOG"

status="$(tr -d '\r' <"$TMP/console.raw" | grep -o 'GPIO-VM-EXIT [0-9]*' | tail -n1 | cut -d' ' -f2 || true)"
if [[ -z $status ]]; then
	if [[ ${rcs[0]} == 124 || ${rcs[0]} == 137 ]]; then
		why="timed out after ${TIMEOUT}s"
	elif grep -q 'Kernel panic' "$TMP/console.raw"; then
		why="kernel panic (see the console lines below, or --verbose)"
	else
		why="qemu exited with status ${rcs[0]}"
	fi
	echo "gpio-vm: VM did not finish: $why" >&2
	if [[ -s $TMP/qemu.err ]]; then sed 's/^/gpio-vm: qemu: /' "$TMP/qemu.err" >&2; fi
	if [[ $VERBOSE == 0 ]]; then
		echo "gpio-vm: last console lines:" >&2
		tr -d '\r' <"$TMP/console.raw" | tail -n 20 | sed 's/^/gpio-vm:   /' >&2
	fi
	exit 1
fi
echo "gpio-vm: scenario exit $status; VM $(elapsed "$T1")s, total $(elapsed "$T0")s (initramfs ${size_mb} MB)" >&2
exit "$status"
