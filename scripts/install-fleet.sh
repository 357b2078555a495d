#!/usr/bin/env bash
# `make install-fleet`: puts the vigil-fleet binary, its systemd unit, /etc/vigil/fleet.yaml, the user
# (sysusers.d) and the store's directory (tmpfiles.d) in place.
#
#   scripts/install-fleet.sh BINARY    with, from the environment (make passes them):
#   DESTDIR=              staging root; when empty the files go live and the user is created
#   PREFIX=/usr/local     BINDIR=$PREFIX/bin  MANDIR=$PREFIX/share/man  LIBDIR=$PREFIX/lib  UNITDIR=$LIBDIR/systemd/system
#                         SYSUSERSDIR=$LIBDIR/sysusers.d  TMPFILESDIR=$LIBDIR/tmpfiles.d
#   SYSCONFDIR=/etc       the config goes to $SYSCONFDIR/vigil/fleet.yaml (an edited one is kept)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:?usage: scripts/install-fleet.sh BINARY}
[ -x "$BIN" ] || { echo "install-fleet: $BIN is not an executable (build first: swift build -c release --product vigil-fleet)" >&2; exit 1; }

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BINDIR=${BINDIR:-$PREFIX/bin}
LIBDIR=${LIBDIR:-$PREFIX/lib}
MANDIR=${MANDIR:-$PREFIX/share/man}
UNITDIR=${UNITDIR:-$LIBDIR/systemd/system}
SYSUSERSDIR=${SYSUSERSDIR:-$LIBDIR/sysusers.d}
TMPFILESDIR=${TMPFILESDIR:-$LIBDIR/tmpfiles.d}
SYSCONFDIR=${SYSCONFDIR:-/etc}
umask 022

install -d "$DESTDIR$BINDIR" "$DESTDIR$UNITDIR" "$DESTDIR$SYSUSERSDIR" "$DESTDIR$TMPFILESDIR" "$DESTDIR$SYSCONFDIR/vigil" \
           "$DESTDIR$MANDIR/man1"
install -m 0755 "$BIN" "$DESTDIR$BINDIR/vigil-fleet"
install -m 0644 packaging/vigil-fleet.1 "$DESTDIR$MANDIR/man1/vigil-fleet.1"
# The unit names the binary and the config by absolute path.
sed -e "s#/usr/bin/vigil-fleet#$BINDIR/vigil-fleet#g" -e "s#/etc/vigil/#$SYSCONFDIR/vigil/#g" systemd/vigil-fleet.service \
  > "$DESTDIR$UNITDIR/vigil-fleet.service"
chmod 0644 "$DESTDIR$UNITDIR/vigil-fleet.service"
install -m 0644 systemd/vigil-fleet.sysusers "$DESTDIR$SYSUSERSDIR/vigil-fleet.conf"
install -m 0644 systemd/vigil-fleet.tmpfiles "$DESTDIR$TMPFILESDIR/vigil-fleet.conf"

# Never overwrite a config someone edited: the new one goes next to it.
config="$DESTDIR$SYSCONFDIR/vigil/fleet.yaml"
if [ -e "$config" ] && ! cmp -s packaging/fleet.yaml "$config"; then
  install -m 0644 packaging/fleet.yaml "$config.new"
  echo "install-fleet: kept your $SYSCONFDIR/vigil/fleet.yaml; the shipped one is $SYSCONFDIR/vigil/fleet.yaml.new"
else
  install -m 0644 packaging/fleet.yaml "$config"
fi

if [ -z "$DESTDIR" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v systemd-sysusers >/dev/null; then
    systemd-sysusers "$SYSUSERSDIR/vigil-fleet.conf"
    systemd-tmpfiles --create "$TMPFILESDIR/vigil-fleet.conf" || true
    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
    echo "install-fleet: done. Edit $SYSCONFDIR/vigil/fleet.yaml, then: systemctl enable --now vigil-fleet"
  else
    echo "install-fleet: files are in place; as root run: systemd-sysusers vigil-fleet.conf && systemd-tmpfiles --create vigil-fleet.conf && systemctl daemon-reload"
  fi
fi
