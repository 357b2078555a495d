#!/usr/bin/env bash
# Prepares everything scripts/gpio-vm/run.sh needs, and caches it in
# .build-gpio-vm/<kernel-abi>/ at the project root:
#   vmlinux (or vmlinuz)  the stock Debian 12 kernel; vmlinux is the ELF taken
#                         out of the bzImage (PVH entry: skips ~2.5 s of xz
#                         decompression under TCG)
#   modules/*.ko          gpio-sim.ko (built here) and configfs.ko plus their deps
#   modules/load.order    insmod order, dependencies first
#   pulsegen              static pulse generator (pulsegen.c)
#   wavgen                static WAV tone generator (wavgen.c)
#   sound/*.ko            snd-aloop.ko and its deps, sound/load.order
#
# Why build gpio-sim.ko: no Debian kernel ships a usable one (bookworm 6.1 has
# CONFIG_GPIO_SIM and CONFIG_IRQ_SIM unset). It is built from linux-source at
# exactly the image's version, against the matching headers, with a private
# copy of kernel/irq/irq_sim.c (IRQ_SIM is bool-only upstream).
#
# Usage: prepare.sh [--quiet] [--check]
#   --quiet  print nothing when everything is cached (run.sh uses this)
#   --check  exit 0 if this machine can run the VM, else say why and exit 2
# On success the cache directory is the only line on stdout; steps go to stderr.
# GPIO_VM_ABI=6.1.0-NN-amd64 pins the kernel ABI instead of asking apt.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE_ROOT="${GPIO_VM_CACHE:-$ROOT/.build-gpio-vm}"
# Bump when the module recipe below changes, so old caches rebuild.
RECIPE=1
QUIET=0
CHECK=0
for arg in "$@"; do
	case "$arg" in
	--quiet) QUIET=1 ;;
	--check) CHECK=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "prepare.sh: unknown argument: $arg" >&2; exit 2 ;;
	esac
done

T0=$EPOCHREALTIME
step_t=$T0
log() { echo "gpio-vm: $*" >&2; }
fail() { echo "gpio-vm: prepare failed: $*" >&2; exit 1; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
# One line per finished step, with its own and the total time.
done_step() {
	log "$(printf '%-52s %5ss  (total %ss)' "$1" "$(elapsed "$step_t")" "$(elapsed "$T0")")"
	step_t=$EPOCHREALTIME
}

# ------------------------------------------------------------------ --check
check_env() {
	local why=()
	[[ $(id -u) == 0 ]] || why+=("not root (prepare.sh installs packages with apt-get and runs as root in CI)")
	[[ $(uname -m) == x86_64 ]] || why+=("not x86_64 (uname -m: $(uname -m))")
	local codename=""
	if [[ -r /etc/os-release ]]; then
		# shellcheck source=/dev/null
		codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
	fi
	[[ $codename == bookworm ]] || why+=("not Debian 12 bookworm (VERSION_CODENAME='$codename')")
	command -v apt-get >/dev/null || why+=("apt-get not found")
	if ((${#why[@]})); then
		printf 'gpio-vm: cannot run here: %s\n' "${why[@]}" >&2
		return 2
	fi
	return 0
}
if [[ $CHECK == 1 ]]; then
	check_env && { echo "gpio-vm: ok: root, x86_64, Debian bookworm with apt" >&2; exit 0; }
	exit 2
fi
check_env || exit 2

mkdir -p "$CACHE_ROOT"
# Concurrent runs (parallel tests) must not build into the same directory.
exec 9>"$CACHE_ROOT/.lock"
flock 9

# ------------------------------------------------------------------ packages
# Runtime tools for run.sh; build tools for the module and pulsegen.
HOST_PKGS=(qemu-system-x86 busybox-static cpio kmod gcc make libc6-dev binutils
	xz-utils gpiod libgpiod2 libgpiod-dev mosquitto mosquitto-clients alsa-utils libasound2)
APT_UPDATED=0
apt_update() {
	if [[ $APT_UPDATED == 0 ]]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || fail "apt-get update failed"
		APT_UPDATED=1
	fi
}
apt_install() {
	apt_update
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Use-Pty=0 "$@" >&2 || fail "apt-get install $* failed"
}
missing_pkgs() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
	done
}

mapfile -t missing < <(missing_pkgs "${HOST_PKGS[@]}")
if ((${#missing[@]})); then
	apt_install "${missing[@]}"
	done_step "apt-get install ${missing[*]}"
fi
# ldd fails on a static binary; the guest has no libraries for busybox.
if [[ ! -x /bin/busybox ]] || ldd /bin/busybox >/dev/null 2>&1; then
	fail "/bin/busybox is not the static one (install busybox-static)"
fi

# ------------------------------------------------------------------ kernel ABI
# A complete cache is reused without asking apt: it is self-consistent
# (module built for that image), whatever the mirror offers today.
is_complete() { [[ -f $1/stamp && $(cat "$1/stamp") == "recipe=$RECIPE" ]]; }
ABI="${GPIO_VM_ABI:-}"
if [[ -z $ABI ]]; then
	# Newest complete cache first.
	while IFS= read -r d; do
		if is_complete "$d"; then ABI="$(basename "$d")"; break; fi
	done < <(find "$CACHE_ROOT" -mindepth 1 -maxdepth 1 -type d -name '*-amd64' -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2-)
fi
if [[ -z $ABI ]]; then
	apt_update
	# linux-image-amd64 is the metapackage of the current ABI.
	ABI="$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -n1)"
	[[ -n $ABI ]] || fail "apt offers no linux-image-amd64 (is bookworm in sources.list?)"
fi
OUT="$CACHE_ROOT/$ABI"
mkdir -p "$OUT"

if ! is_complete "$OUT"; then
	log "building for kernel $ABI in ${OUT#"$ROOT"/}"
	rm -rf "$OUT/work" "$OUT/modules" "$OUT/stamp" "$OUT/vmlinux" "$OUT/vmlinuz"
	mkdir -p "$OUT/work" "$OUT/modules"
	W="$OUT/work"
	apt_update
	VER="$(apt-cache policy "linux-image-$ABI" | sed -n 's/^ *Candidate: //p')"
	[[ -n $VER && $VER != "(none)" ]] || fail "apt has no linux-image-$ABI"
	# Headers, image and source must be the same Debian version, or vermagic
	# (and the structs the module sees) would not match the kernel.
	mapfile -t missing < <(missing_pkgs "linux-headers-$ABI")
	if ((${#missing[@]})) || [[ $(dpkg-query -W -f='${Version}' "linux-headers-$ABI") != "$VER" ]]; then
		apt_install "linux-headers-$ABI=$VER"
		done_step "apt-get install linux-headers-$ABI"
	fi
	# The image and the source are only unpacked, not installed: installing a
	# kernel would run initramfs/bootloader hooks on this host for nothing.
	(cd "$W" && apt-get download -qq -o APT::Sandbox::User=root \
		"linux-image-$ABI=$VER" "linux-source-6.1=$VER" >&2) ||
		fail "apt-get download linux-image-$ABI=$VER linux-source-6.1=$VER failed"
	done_step "download linux-image + linux-source $VER"

	# --- kernel image and configfs.ko (the one dependency FACTS.md found),
	# unpacked in the background while the source unpacks: one pass each over
	# ~400 MB and ~1.3 GB of tar, on 2 cores.
	IMG_DEB=("$W"/linux-image-"$ABI"_*.deb)
	(dpkg-deb --fsys-tarfile "${IMG_DEB[0]}" | tar -x -C "$W" --wildcards \
		"./boot/vmlinuz-$ABI" "./lib/modules/$ABI/kernel/fs/configfs/*") &
	img_pid=$!

	# --- gpio-sim.ko from linux-source (a multi-block .tar.xz: xz -T0 helps)
	SRC_TOP=linux-source-6.1
	dpkg-deb --fsys-tarfile "$W"/linux-source-6.1_*.deb |
		tar -xO ./usr/src/linux-source-6.1.tar.xz | xz -d -T0 |
		tar -x -C "$W" "$SRC_TOP/drivers/gpio/gpio-sim.c" "$SRC_TOP/drivers/gpio/gpiolib.h" \
			"$SRC_TOP/kernel/irq/irq_sim.c" "$SRC_TOP/scripts/extract-vmlinux" ||
		fail "could not unpack gpio-sim.c/irq_sim.c from linux-source-6.1 $VER"
	if ! wait "$img_pid" || [[ ! -f $W/boot/vmlinuz-$ABI ]]; then
		fail "could not unpack /boot/vmlinuz-$ABI from linux-image-$ABI"
	fi
	done_step "unpack vmlinuz, configfs.ko, gpio-sim.c, irq_sim.c"
	M="$W/mod"
	mkdir -p "$M"
	cp "$W/$SRC_TOP/drivers/gpio/gpio-sim.c" "$M/gpio-sim-main.c"
	cp "$W/$SRC_TOP/drivers/gpio/gpiolib.h" "$M/"
	# irq_to_desc() is not exported to modules; the irq_data route is. The
	# private copy exports nothing, so it cannot clash with a kernel IRQ_SIM.
	sed -e 's/handle_simple_irq(irq_to_desc(irqnum))/handle_simple_irq(irq_data_to_desc(irq_get_irq_data(irqnum)))/' \
		-e '/^EXPORT_SYMBOL_GPL(/d' "$W/$SRC_TOP/kernel/irq/irq_sim.c" >"$M/irq_sim.c"
	grep -q 'irq_data_to_desc(irq_get_irq_data(irqnum))' "$M/irq_sim.c" ||
		fail "irq_sim.c patch did not apply (source changed?)"
	printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio-sim-main.o irq_sim.o\n' >"$M/Kbuild"
	KDIR="/usr/src/linux-headers-$ABI"
	[[ -f $KDIR/Makefile ]] || fail "no kernel headers in $KDIR"
	make -s -C "$KDIR" M="$M" -j"$(nproc)" modules >"$W/build.log" 2>&1 ||
		{ tail -n 30 "$W/build.log" >&2; fail "gpio-sim.ko build failed (log: $W/build.log)"; }
	done_step "build gpio-sim.ko"

	# --- dependencies of gpio-sim.ko, found by modinfo, taken from the image
	norm() { local b="${1##*/}"; b="${b%%.ko*}"; echo "${b//-/_}"; }
	find_ko() { # module name -> unpacked file; unpacks it if it is elsewhere
		local n f p
		n="$(norm "$1")"
		while IFS= read -r f; do
			[[ $(norm "$f") == "$n" ]] && { echo "$f"; return; }
		done < <(find "$W/lib/modules" -name '*.ko*')
		# Not where FACTS.md said: one more pass over the image, listing it.
		p="$(dpkg-deb -c "${IMG_DEB[0]}" | awk '{print $NF}' | grep '\.ko' |
			while read -r f; do [[ $(norm "$f") == "$n" ]] && { echo "$f"; break; }; done || true)"
		[[ -n $p ]] || return 0
		dpkg-deb --fsys-tarfile "${IMG_DEB[0]}" | tar -x -C "$W" "$p"
		echo "$W/$p"
	}
	cp "$M/gpio-sim.ko" "$OUT/modules/"
	order=() # dependencies first, gpio-sim last
	declare -A seen=()
	add_deps() { # $1: a .ko on disk
		local dep f
		for dep in $(modinfo -F depends "$1" | tr ',' ' '); do
			[[ -n ${seen[$dep]:-} ]] && continue
			seen[$dep]=1
			f="$(find_ko "$dep")"
			[[ -n $f ]] || fail "module $dep (needed by ${1##*/}) is not in linux-image-$ABI"
			case "$f" in # insmod in busybox may not read compressed modules
			*.xz) xz -d "$f"; f="${f%.xz}" ;;
			*.gz) gzip -d "$f"; f="${f%.gz}" ;;
			*.zst) zstd -q --rm -d "$f"; f="${f%.zst}" ;;
			esac
			add_deps "$f"
			cp "$f" "$OUT/modules/"
			order+=("${f##*/}")
		done
	}
	add_deps "$M/gpio-sim.ko"
	order+=(gpio-sim.ko)
	printf '%s\n' "${order[@]}" >"$OUT/modules/load.order"
	# vermagic must be the image's own, or insmod refuses the module.
	vm_sim="$(modinfo -F vermagic "$M/gpio-sim.ko")"
	for ko in "$OUT"/modules/*.ko; do
		[[ $(modinfo -F vermagic "$ko") == "$vm_sim" ]] ||
			fail "vermagic mismatch: $(basename "$ko") '$(modinfo -F vermagic "$ko")' vs gpio-sim '$vm_sim'"
	done
	[[ $vm_sim == "$ABI "* ]] || fail "gpio-sim.ko vermagic '$vm_sim' is not for $ABI"
	done_step "modules: ${order[*]} (vermagic ok)"

	# --- ELF vmlinux for PVH boot; keep the bzImage if there is no PVH note
	VMLINUZ="$W/boot/vmlinuz-$ABI"
	if sh "$W/$SRC_TOP/scripts/extract-vmlinux" "$VMLINUZ" >"$W/vmlinux" 2>/dev/null &&
		readelf -n "$W/vmlinux" 2>/dev/null | grep -q 'Xen.*0x00000012'; then
		mv "$W/vmlinux" "$OUT/vmlinux"
		done_step "extract ELF vmlinux (PVH entry)"
	else
		cp "$VMLINUZ" "$OUT/vmlinuz"
		done_step "no PVH vmlinux; keeping the bzImage"
	fi
	echo "$VER" >"$OUT/version"
	rm -rf "$W" # 200 MB of packages and sources; the products are enough
	echo "recipe=$RECIPE" >"$OUT/stamp"
fi

# The ALSA loopback card (snd-aloop and its deps) for the sound scenario, from the same image
# at the same version; in its own stamp so that adding it does not rebuild gpio-sim.ko.
SOUND_MODS=(snd-aloop)
if [[ ! -f $OUT/sound/stamp ]]; then
	SW="$OUT/sound-work"
	rm -rf "$SW" "$OUT/sound"
	mkdir -p "$SW" "$OUT/sound"
	SVER="$(cat "$OUT/version")"
	(cd "$SW" && apt-get download -qq -o APT::Sandbox::User=root "linux-image-$ABI=$SVER" >&2) ||
		fail "apt-get download linux-image-$ABI=$SVER failed (for the sound modules)"
	dpkg-deb --fsys-tarfile "$SW"/linux-image-"$ABI"_*.deb |
		tar -x -C "$SW" --wildcards "./lib/modules/$ABI/kernel/sound/*" ||
		fail "could not unpack sound modules from linux-image-$ABI"
	snorm() { local b="${1##*/}"; b="${b%%.ko*}"; echo "${b//-/_}"; }
	sorder=()
	declare -A sseen=()
	sadd() { # module name; dependencies first
		local n f dep
		n="$(snorm "$1")"
		[[ -n ${sseen[$n]:-} ]] && return 0
		sseen[$n]=1
		f="$(find "$SW/lib/modules" -name '*.ko*' | while read -r f; do [[ $(snorm "$f") == "$n" ]] && { echo "$f"; break; }; done)"
		[[ -n $f ]] || fail "module $1 is not in linux-image-$ABI's sound/"
		case "$f" in
		*.xz) xz -d "$f"; f="${f%.xz}" ;;
		*.gz) gzip -d "$f"; f="${f%.gz}" ;;
		*.zst) zstd -q --rm -d "$f"; f="${f%.zst}" ;;
		esac
		for dep in $(modinfo -F depends "$f" | tr ',' ' '); do sadd "$dep"; done
		[[ $(modinfo -F vermagic "$f") == "$ABI "* ]] || fail "vermagic of ${f##*/} is not for $ABI"
		cp "$f" "$OUT/sound/"
		sorder+=("${f##*/}")
	}
	for m in "${SOUND_MODS[@]}"; do sadd "$m"; done
	printf '%s\n' "${sorder[@]}" >"$OUT/sound/load.order"
	rm -rf "$SW"
	echo done >"$OUT/sound/stamp"
	done_step "sound modules: ${sorder[*]} (vermagic ok)"
fi

# pulsegen and wavgen follow their sources, independently of the kernel parts.
for tool in pulsegen wavgen; do
	sum="$(sha256sum "$HERE/$tool.c" | cut -d' ' -f1)"
	if [[ ! -x $OUT/$tool || ! -f $OUT/$tool.sum || $(cat "$OUT/$tool.sum") != "$sum" ]]; then
		gcc -O2 -static -Wall -Wextra -o "$OUT/$tool.tmp" "$HERE/$tool.c" -lm >&2 ||
			fail "$tool.c does not compile"
		mv "$OUT/$tool.tmp" "$OUT/$tool"
		echo "$sum" >"$OUT/$tool.sum"
		done_step "build $tool (static)"
	fi
done

[[ $QUIET == 1 ]] || log "$(printf '%-52s %5ss' "ready: ${OUT#"$ROOT"/} ($(cat "$OUT/version"))" "$(elapsed "$T0")")"
echo "$OUT"
