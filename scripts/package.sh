#!/usr/bin/env bash
# Builds the Debian package of domain-host: target/debian/domain-host_<version>_<arch>.deb
#
#   bash scripts/package.sh [--no-build] [--components DIR] [--revision N] [--out DIR]
#
# The package holds /usr/bin/domain-host (release build, stripped), the provider components
# in /usr/lib/domain-host/components/ (where domain-host finds them without configuration),
# the WordPress bridge (the whole wordpress/ folder) in /usr/share/domain-host/wordpress/,
# the conffiles /etc/domain-host/domain-host.toml (0640, group domain-host, set by postinst)
# and /etc/domain-host/domain-host.env (secrets, 0600), the systemd unit
# /lib/systemd/system/domain-host.service and the maintainer scripts; all from
# packaging/deb/. Version: the workspace's (Cargo.toml) plus -REVISION (default 1);
# Architecture: dpkg's; Depends: dpkg-shlibdeps on the binary, and adduser.
#
#   --no-build        package what target/ holds (no cargo)
#   --components DIR  take the components from DIR (default target/wasm32-wasip2/component)
#   DEB_COMPRESSION=gzip (environment): faster than the default xz, a bigger package
#
# Tools: dpkg-deb (--root-owner-group, so no fakeroot or root needed), dpkg-shlibdeps
# (dpkg-dev) and strip (binutils).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build=1
components=target/wasm32-wasip2/component
revision=1
out=target/debian
while (($#)); do
  case $1 in
    --no-build) build=0; shift ;;
    --components) components=$2; shift 2 ;;
    --revision) revision=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "package.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $revision =~ ^[0-9A-Za-z.+~]+$ ]] || { echo "package.sh: bad revision $revision" >&2; exit 2; }

if ((build)); then
  bash scripts/build-components.sh >/dev/null
  cargo build --locked --release -p domain-host
fi

upstream=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)
[[ -n $upstream ]] || { echo "package.sh: no version in Cargo.toml [workspace.package]" >&2; exit 1; }
version=$upstream-$revision
arch=$(dpkg --print-architecture)
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$out/stage/domain-host_${version}_$arch
rm -rf "$stage"

# Files, with the modes the package installs them with (dpkg keeps them; owners are root).
install -D -m 0755 /dev/null "$stage/usr/bin/domain-host"
strip --strip-unneeded -o "$stage/usr/bin/domain-host" target/release/domain-host
chmod 0755 "$stage/usr/bin/domain-host"

install -d -m 0755 "$stage/usr/lib/domain-host/components"
count=0
for dir in providers/*/; do
  id=$(basename "$dir")
  wasm=$components/${id//-/_}.wasm
  [[ -f $wasm ]] || { echo "package.sh: no component $wasm (run scripts/build-components.sh)" >&2; exit 1; }
  install -m 0644 "$wasm" "$stage/usr/lib/domain-host/components/"
  count=$((count + 1))
done

install -d -m 0755 "$stage/usr/share/domain-host"
cp -r wordpress "$stage/usr/share/domain-host/wordpress"
find "$stage/usr/share/domain-host" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +

install -D -m 0644 packaging/deb/copyright "$stage/usr/share/doc/domain-host/copyright"
install -m 0644 README.md "$stage/usr/share/doc/domain-host/README.md"
install -D -m 0644 packaging/deb/domain-host.service "$stage/lib/systemd/system/domain-host.service"
install -d -m 0755 "$stage/etc/domain-host"
install -m 0640 packaging/deb/domain-host.toml "$stage/etc/domain-host/domain-host.toml"
install -m 0600 packaging/deb/domain-host.env "$stage/etc/domain-host/domain-host.env"

# Control files.
install -d -m 0755 "$stage/DEBIAN"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$stage/DEBIAN/"
printf '%s\n' /etc/domain-host/domain-host.toml /etc/domain-host/domain-host.env \
  > "$stage/DEBIAN/conffiles"
# dpkg-shlibdeps reads debian/control of the directory it runs in.
shlibs_dir=$out/stage/shlibs
mkdir -p "$shlibs_dir/debian"
printf 'Source: domain-host\n\nPackage: domain-host\nArchitecture: any\n' > "$shlibs_dir/debian/control"
shlibs=$(cd "$shlibs_dir" && dpkg-shlibdeps -O "$stage/usr/bin/domain-host" | sed -n 's/^shlibs:Depends=//p')
[[ -n $shlibs ]] || { echo "package.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
description=$(sed -n 's/^description = "\(.*\)"/\1/p' host-harness/Cargo.toml)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: domain-host
Version: $version
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-domain-host maintainers <maintainers@users.noreply.b-seed-df43a9cf.example>}
Installed-Size: $size
Depends: $shlibs, adduser
Section: net
Priority: optional
Description: Ultimate Multisite host integrations as sandboxed WebAssembly components
 $(printf '%s, with one component per hosting panel (%s) and the WordPress must-use plugin that feeds it (/usr/share/domain-host/wordpress).' "$description" "$count" | fold -s -w 78 | sed 's/ *$//; 2,$s/^/ /')
 .
 The service (domain-host.service) is installed but neither enabled nor started:
 fill in /etc/domain-host/domain-host.toml and domain-host.env, run
 "domain-host approve", then "systemctl enable --now domain-host".
CONTROL

deb=$out/domain-host_${version}_$arch.deb
dpkg-deb --root-owner-group "-Z${DEB_COMPRESSION:-xz}" --build "$stage" "$deb" >/dev/null
echo "$deb"
