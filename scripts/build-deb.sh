#!/usr/bin/env bash
# `make deb`: a Debian package of vigil for this machine's architecture, built with dpkg-deb.
#
# The binary links the Swift runtime statically (--static-swift-stdlib), so the package needs only
# Debian's libraries (found by dpkg-shlibdeps), not a Swift toolchain. It is stripped, has no rpath and
# full RELRO. Files are staged by scripts/install.sh with Debian's paths; the maintainer scripts
# (packaging/debian/) create the user, enable and start the service, and clean up on purge;
# /etc/vigil/vigil.yaml is a conffile, so an edited config survives upgrades.
#
#   scripts/build-deb.sh            builds into .build-deb/ and prints the .deb's path on the last line
#   VIGIL_BIN=path                  package this binary instead of building one
#   VERSION=x.y.z                   instead of `vigil --version`
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
OUT=${OUT:-.build-deb}
ARCH=$(dpkg --print-architecture)

if [ -z "${VIGIL_BIN:-}" ]; then
  # Its own scratch path: the static runtime changes every object, and `make test` keeps .build.
  "$SWIFT" build -c release --product vigil --scratch-path "$OUT" \
    --static-swift-stdlib --disable-local-rpath -Xlinker -z -Xlinker now >&2
  VIGIL_BIN="$OUT/release/vigil"
fi
VERSION=${VERSION:-$("$VIGIL_BIN" --version)}

work="$OUT/deb"
rm -rf "$work"
mkdir -p "$work/debian"
root="$work/debian/vigil"

DESTDIR="$root" PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/lib/systemd/system UDEVRULESDIR=/lib/udev/rules.d \
  SYSUSERSDIR=/usr/lib/sysusers.d TMPFILESDIR=/usr/lib/tmpfiles.d DOCDIR=/usr/share/doc/vigil \
  scripts/install.sh "$VIGIL_BIN" >&2
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/vigil"

# Documentation as Debian wants it: compressed without timestamps, copyright and changelog.
doc="$root/usr/share/doc/vigil"
gzip -9n "$root/usr/share/man/man1/vigil.1" "$doc/README.md"
find "$doc/docs" "$doc/Sources" -type f -name '*.md' -exec gzip -9n {} +
find "$doc/boards" -type f -size +4k -exec gzip -9n {} +
install -m 0644 packaging/debian/copyright "$doc/copyright"
date=$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
sed -e "s/@VERSION@/$VERSION/" -e "s/@DATE@/$date/" packaging/debian/changelog.in | gzip -9n > "$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# Control files.
install -d -m 0755 "$root/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
(cd "$root" && find etc -type f | sort | sed 's#^#/#') > "$root/DEBIAN/conffiles"
printf 'Source: vigil\n\nPackage: vigil\nArchitecture: any\n' > "$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O debian/vigil/usr/bin/vigil 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -k -s --apparent-size --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$size/" -e "s/@SHLIBS@/$shlibs/" \
  packaging/debian/control.in > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

deb="$OUT/vigil_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
echo "$deb" > "$OUT/last-deb"
echo "$deb"
