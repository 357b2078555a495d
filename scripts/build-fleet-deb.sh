#!/usr/bin/env bash
# `make deb-fleet`: the second Debian package, vigil-fleet (the fleet receiver), built like the agent's
# (scripts/build-deb.sh): static Swift runtime, stripped, no rpath, full RELRO, files staged by
# scripts/install-fleet.sh with Debian's paths, maintainer scripts in packaging/debian/fleet/,
# /etc/vigil/fleet.yaml a conffile.
#
#   scripts/build-fleet-deb.sh      builds into .build-deb-fleet/ and prints the .deb's path on the last line
#   FLEET_BIN=path                  package this binary instead of building one
#   VERSION=x.y.z                   instead of `vigil-fleet --version` (the agent's version: one for both packages)
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
OUT=${OUT:-.build-deb-fleet}
ARCH=$(dpkg --print-architecture)

if [ -z "${FLEET_BIN:-}" ]; then
  "$SWIFT" build -c release --product vigil-fleet --scratch-path "$OUT" \
    --static-swift-stdlib --disable-local-rpath -Xlinker -z -Xlinker now >&2
  FLEET_BIN="$OUT/release/vigil-fleet"
fi
VERSION=${VERSION:-$("$FLEET_BIN" --version)}

work="$OUT/deb"
rm -rf "$work"
mkdir -p "$work/debian"
root="$work/debian/vigil-fleet"
DESTDIR="$root" PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/lib/systemd/system SYSUSERSDIR=/usr/lib/sysusers.d \
  TMPFILESDIR=/usr/lib/tmpfiles.d scripts/install-fleet.sh "$FLEET_BIN" >&2
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/vigil-fleet"

gzip -9n "$root/usr/share/man/man1/vigil-fleet.1"
doc="$root/usr/share/doc/vigil-fleet"
install -d -m 0755 "$doc"
gzip -9n < docs/fleet.md > "$doc/fleet.md.gz"
install -m 0644 packaging/debian/fleet/copyright "$doc/copyright"
date=$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
sed -e "s/@VERSION@/$VERSION/" -e "s/@DATE@/$date/" packaging/debian/fleet/changelog.in | gzip -9n > "$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz" "$doc/fleet.md.gz"

install -d -m 0755 "$root/DEBIAN"
install -m 0755 packaging/debian/fleet/postinst packaging/debian/fleet/prerm packaging/debian/fleet/postrm "$root/DEBIAN/"
(cd "$root" && find etc -type f | sort | sed 's#^#/#') > "$root/DEBIAN/conffiles"
printf 'Source: vigil\n\nPackage: vigil-fleet\nArchitecture: any\n' > "$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O debian/vigil-fleet/usr/bin/vigil-fleet 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-fleet-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -k -s --apparent-size --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$size/" -e "s/@SHLIBS@/$shlibs/" \
  packaging/debian/fleet/control.in > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

deb="$OUT/vigil-fleet_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
echo "$deb" > "$OUT/last-deb"
echo "$deb"
