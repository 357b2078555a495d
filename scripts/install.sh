#!/usr/bin/env bash
# `make install`: puts the vigil binary, its systemd unit, the documented config, the user/group setup
# (sysusers.d), tmpfiles.d and the GPIO udev rule in place. Also stages the Debian package (build-deb.sh).
#
#   scripts/install.sh BINARY          with, from the environment (make passes them):
#   DESTDIR=              staging root; when empty the files go live and the user is created
#   PREFIX=/usr/local     BINDIR=$PREFIX/bin  MANDIR=$PREFIX/share/man  DOCDIR=$PREFIX/share/doc/vigil
#   LIBDIR=$PREFIX/lib    UNITDIR=$LIBDIR/systemd/system  SYSUSERSDIR=$LIBDIR/sysusers.d
#                         TMPFILESDIR=$LIBDIR/tmpfiles.d  UDEVRULESDIR=$LIBDIR/udev/rules.d
#   SYSCONFDIR=/etc       the config goes to $SYSCONFDIR/vigil/vigil.yaml (an edited one is kept)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:?usage: scripts/install.sh BINARY}
[ -x "$BIN" ] || { echo "install: $BIN is not an executable (build first: make build)" >&2; exit 1; }

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BINDIR=${BINDIR:-$PREFIX/bin}
LIBDIR=${LIBDIR:-$PREFIX/lib}
MANDIR=${MANDIR:-$PREFIX/share/man}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/vigil}
UNITDIR=${UNITDIR:-$LIBDIR/systemd/system}
SYSUSERSDIR=${SYSUSERSDIR:-$LIBDIR/sysusers.d}
TMPFILESDIR=${TMPFILESDIR:-$LIBDIR/tmpfiles.d}
UDEVRULESDIR=${UDEVRULESDIR:-$LIBDIR/udev/rules.d}
SYSCONFDIR=${SYSCONFDIR:-/etc}
umask 022

install -d "$DESTDIR$BINDIR" "$DESTDIR$UNITDIR" "$DESTDIR$SYSUSERSDIR" "$DESTDIR$TMPFILESDIR" \
           "$DESTDIR$UDEVRULESDIR" "$DESTDIR$MANDIR/man1" "$DESTDIR$DOCDIR" "$DESTDIR$SYSCONFDIR/vigil"
install -m 0755 "$BIN" "$DESTDIR$BINDIR/vigil"
# The unit names the binary and the config by absolute path.
sed -e "s#/usr/bin/vigil#$BINDIR/vigil#g" -e "s#/etc/vigil/#$SYSCONFDIR/vigil/#g" systemd/vigil.service > "$DESTDIR$UNITDIR/vigil.service"
chmod 0644 "$DESTDIR$UNITDIR/vigil.service"
install -m 0644 systemd/vigil.sysusers "$DESTDIR$SYSUSERSDIR/vigil.conf"
sed -e "s#/etc/vigil/#$SYSCONFDIR/vigil/#g" systemd/vigil.tmpfiles > "$DESTDIR$TMPFILESDIR/vigil.conf"
chmod 0644 "$DESTDIR$TMPFILESDIR/vigil.conf"
install -m 0644 packaging/60-vigil-gpio.rules "$DESTDIR$UDEVRULESDIR/60-vigil-gpio.rules"
install -m 0644 packaging/vigil.1 "$DESTDIR$MANDIR/man1/vigil.1"
install -m 0644 README.md "$DESTDIR$DOCDIR/README.md"
# The reference, laid out as in the repository so README's links hold: docs/ and each sensor kind's README.
install -d "$DESTDIR$DOCDIR/docs"
install -m 0644 docs/*.md "$DESTDIR$DOCDIR/docs/"
for kind_readme in Sources/VigilSources/*/README.md; do
  install -D -m 0644 "$kind_readme" "$DESTDIR$DOCDIR/$kind_readme"
done
install -d "$DESTDIR$DOCDIR/examples" "$DESTDIR$DOCDIR/boards"
install -m 0644 examples/*.yaml "$DESTDIR$DOCDIR/examples/"
install -m 0644 boards/*.txt "$DESTDIR$DOCDIR/boards/"

# Never overwrite a config someone edited: the new one goes next to it.
config="$DESTDIR$SYSCONFDIR/vigil/vigil.yaml"
if [ -e "$config" ] && ! cmp -s packaging/vigil.yaml "$config"; then
  install -m 0644 packaging/vigil.yaml "$config.new"
  echo "install: kept your $SYSCONFDIR/vigil/vigil.yaml; the shipped one is $SYSCONFDIR/vigil/vigil.yaml.new"
else
  install -m 0644 packaging/vigil.yaml "$config"
fi

# Installing into the running system: create the user and directories, tell systemd and udev.
if [ -z "$DESTDIR" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v systemd-sysusers >/dev/null; then
    systemd-sysusers "$SYSUSERSDIR/vigil.conf"
    systemd-tmpfiles --create "$TMPFILESDIR/vigil.conf" || true
    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
    if [ -d /run/udev ] && command -v udevadm >/dev/null; then
      udevadm control --reload-rules || true
      udevadm trigger --subsystem-match=gpio --action=change || true
    fi
    echo "install: done. Edit $SYSCONFDIR/vigil/vigil.yaml, then: systemctl enable --now vigil"
  else
    echo "install: files are in place; as root run: systemd-sysusers vigil.conf && systemd-tmpfiles --create vigil.conf && systemctl daemon-reload"
  fi
fi
