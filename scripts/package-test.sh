#!/usr/bin/env bash
# The Debian package's install test (CI runs it from .ci/run; root only).
#
#   bash scripts/package-test.sh [--no-build]
#
#   --no-build  package the domain-host and components target/ already holds (.ci/run: the
#               ones scripts/test.sh just built), instead of building them again
#
# Builds the package (scripts/package.sh), installs it with dpkg into a clean Debian root
# (debootstrap --variant=minbase of this machine's release, kept under target/package-test/
# so reruns skip it; each run works on a fresh copy) and, through chroot:
#   - checks the system user, the files' owners and modes, the unit, that nothing is enabled;
#   - as an operator would: enables ServerPilot in the config (routed to the ServerPilot
#     emulator on 127.0.0.1, outside the chroot), puts its key and the service token in the
#     env file, runs `domain-host approve` as root, then `domain-host list` and
#     `domain-host test` as the service runs (its user, its unit's environment), and
#     `domain-host serve` until it answers /healthz;
#   - upgrades to a second build whose ServerPilot component changed (another digest,
#     asking for nothing new): config, env file, lock file and state are kept, and the
#     service user's `test` is refused until root runs `domain-host approve`;
#   - `dpkg -r` leaves only the conffiles and state, `dpkg -P` leaves no file behind.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { echo "== [$((SECONDS - started)) s] $*"; }
build_args=()
while (($#)); do
  case $1 in
    --no-build) build_args=(--no-build); shift ;;
    *) echo "package-test.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) == 0 ]] || { echo "package-test.sh: needs root (debootstrap, chroot)" >&2; exit 1; }

# Tools: debootstrap; dpkg-dev, binutils and the Rust toolchain for scripts/package.sh.
if ! command -v debootstrap >/dev/null || ! command -v dpkg-shlibdeps >/dev/null ||
  ! command -v strip >/dev/null; then
  apt-get update
  apt-get install -y --no-install-recommends debootstrap dpkg-dev binutils
fi

work=$PWD/target/package-test
mkdir -p "$work"
. /etc/os-release
suite=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
# The mirror apt uses here (deb822 sources, else sources.list).
mirror=$(sed -n 's/^URIs: *\([^ ]*\/debian\/\{0,1\}\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[[ -n $mirror ]] || mirror=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
mirror=${mirror:-http://deb.debian.org/debian}

base=$work/base-$suite
if [[ ! -e $base/.complete ]]; then
  step "debootstrap --variant=minbase $suite $mirror (once; kept in $base)"
  rm -rf "$base"
  debootstrap --variant=minbase "$suite" "$base" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; exit 1; }
  rm -f "$base"/var/cache/apt/archives/*.deb
  touch "$base/.complete"
fi

step "build the package, and a second one whose serverpilot component changed"
deb1=$(bash scripts/package.sh "${build_args[@]}" --out "$work/debs")
cargo build --locked --release -p panel-emulators
changed=$work/changed-components
rm -rf "$changed"
cp -r target/wasm32-wasip2/component "$changed"
# A custom section appended: the same component, another digest, asking for nothing new.
printf '\000\032\020domain-host-testrebuild-2' >>"$changed/serverpilot.wasm"
deb2=$(DEB_COMPRESSION=gzip bash scripts/package.sh --no-build --components "$changed" --revision 2 --out "$work/debs")

root=$work/root
emulator_pid=
cleanup() {
  [[ -n $emulator_pid ]] && kill "$emulator_pid" 2>/dev/null || true
  [[ -n ${serve_pid:-} ]] && kill "$serve_pid" 2>/dev/null || true
  mountpoint -q "$root/proc" && umount "$root/proc" || true
}
trap cleanup EXIT
cleanup
rm -rf "$root"
cp -a "$base" "$root"
mount -t proc proc "$root/proc"
cp "$deb1" "$deb2" "$root/tmp/"

# A command as root, with the environment sudo gives one. With in_root_exec=exec (in a
# subshell) the command replaces the shell, so that its pid is the subshell's.
in_root() {
  ${in_root_exec:-} chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"
}
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
# Runs domain-host as the unit does: its user and home, its Environment= lines and
# EnvironmentFile.
as_service() {
  local unit_env
  unit_env=$(sed -n 's/^Environment=//p' "$root/lib/systemd/system/domain-host.service" | tr '\n' ' ')
  in_root sh -c "set -a; . /etc/domain-host/domain-host.env; HOME=/var/lib/domain-host; export $unit_env; set +a
    cd /; exec setpriv --reuid=domain-host --regid=domain-host --init-groups -- \
      /usr/bin/domain-host \"\$@\"" sh "$@"
}
mode() { in_root stat -c "%a %U:%G" "$1"; }
expect_mode() { [[ $(mode "$1") == "$2" ]] || fail "$1 is $(mode "$1"), expected $2"; }
# Every path in the root but the ones dpkg and the test itself write, /run (a tmpfs on a
# real system; adduser leaves its lock file there), and root's own compile cache
# (~root/.cache/domain-host, made by `sudo domain-host approve`: the operator's, not the
# package's).
snapshot() {
  (cd "$root" && find . -xdev \( -path ./proc -o -path ./tmp -o -path ./var/lib/dpkg \
    -o -path ./run -o -path ./root/.cache \
    -o -path ./var/log -o -path ./var/cache/debconf \) -prune -o -print | sort)
}

before=$(snapshot)
step "install $(basename "$deb1")"
in_root dpkg -i "/tmp/$(basename "$deb1")"

step "check the user, the files and the unit"
in_root getent passwd domain-host | grep -q ':/var/lib/domain-host:/usr/sbin/nologin$' ||
  fail "no domain-host system user: $(in_root getent passwd domain-host)"
uid=$(in_root id -u domain-host)
((uid < 1000)) || fail "domain-host is not a system user (uid $uid)"
in_root getent group domain-host >/dev/null || fail "no domain-host group"
expect_mode /usr/bin/domain-host "755 root:root"
expect_mode /etc/domain-host "750 root:domain-host"
expect_mode /etc/domain-host/domain-host.toml "640 root:domain-host"
expect_mode /etc/domain-host/domain-host.env "600 root:root"
expect_mode /var/lib/domain-host "700 domain-host:domain-host"
expect_mode /var/cache/domain-host "700 domain-host:domain-host"
expect_mode /lib/systemd/system/domain-host.service "644 root:root"
readelf -S "$root/usr/bin/domain-host" | grep -q '\.symtab' && fail "/usr/bin/domain-host is not stripped"
providers=$(ls providers | wc -l)
installed=$(ls "$root/usr/lib/domain-host/components/"*.wasm | wc -l)
((installed == providers)) || fail "$installed components installed, $providers providers"
[[ -f $root/usr/share/domain-host/wordpress/domain-host-bridge.php ]] || fail "no bridge"
[[ -f $root/usr/share/domain-host/wordpress/domain-host-bridge/admin.php ]] || fail "the bridge without its folder"
[[ $(in_root dpkg-query -W -f '${Conffiles}' domain-host | awk '{print $1}' | sort | tr '\n' ' ') == \
  "/etc/domain-host/domain-host.env /etc/domain-host/domain-host.toml " ]] || fail "conffiles"
in_root dpkg-query -W -f '${Depends}\n' domain-host | grep -q 'libc6 (>= ' || fail "Depends lacks libc6"
unit=$root/lib/systemd/system/domain-host.service
for line in User=domain-host ExecStart=/usr/bin/domain-host\ serve \
  EnvironmentFile=/etc/domain-host/domain-host.env StateDirectory=domain-host \
  StateDirectoryMode=0700 CacheDirectory=domain-host CacheDirectoryMode=0700 \
  NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes; do
  grep -qx "$line" "$unit" || fail "the unit lacks $line"
done
[[ -z $(find "$root/etc/systemd/system" -name 'domain-host*' 2>/dev/null) ]] ||
  fail "the unit was enabled on install"

step "configure ServerPilot against the emulator, approve as root, list and test as the service"
emulator_out=$work/emulator.out
target/release/panel-emulator serverpilot --port 0 --client-id cid_pkg --api-key pkg-api-key \
  --app-id pkgapp000000001 >"$emulator_out" 2>&1 &
emulator_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$emulator_out" && break; sleep 0.1; done
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$emulator_out" | head -1)
[[ -n $url ]] || fail "the emulator did not start: $(cat "$emulator_out")"
cat >>"$root/etc/domain-host/domain-host.toml" <<TOML

[integrations.serverpilot]
enabled = true
constants = { WU_SERVER_PILOT_CLIENT_ID = "cid_pkg", WU_SERVER_PILOT_APP_ID = "pkgapp000000001" }
env = ["WU_SERVER_PILOT_API_KEY"]
routes = { "api.serverpilot.io" = "$url" }
TOML
sed -i 's/^DOMAIN_HOST_TOKEN=$/DOMAIN_HOST_TOKEN=pkg-test-token-0123456789abcdef0123456789/' "$root/etc/domain-host/domain-host.env"
echo 'WU_SERVER_PILOT_API_KEY=pkg-api-key' >>"$root/etc/domain-host/domain-host.env"
in_root /usr/bin/domain-host --config /etc/domain-host/domain-host.toml approve
[[ -f $root/etc/domain-host/domain-host.lock ]] || fail "approve wrote no lock file"
as_service list | tee "$work/list.out"
grep -q '/usr/lib/domain-host/components/serverpilot.wasm' "$work/list.out" ||
  fail "list does not show the installed component"
as_service test || fail "domain-host test as the service failed"

step "serve as the service until /healthz answers"
serve_out=$work/serve.out
(in_root_exec=exec as_service serve --listen 127.0.0.1:0) >"$serve_out" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do grep -q '^listening on' "$serve_out" && break; sleep 0.1; done
address=$(sed -n 's/^listening on //p' "$serve_out" | head -1)
[[ -n $address ]] || fail "serve did not start: $(cat "$serve_out")"
exec 3<>"/dev/tcp/${address%:*}/${address##*:}"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
grep -q '"ok": *true' <&3 || fail "/healthz did not answer ok"
exec 3<&-
kill -TERM "$serve_pid"
wait "$serve_pid" || fail "serve did not exit 0 on SIGTERM"
serve_pid=
[[ -f $root/var/lib/domain-host/domain-host.db ]] || fail "serve kept no database in /var/lib/domain-host"
expect_mode /var/lib/domain-host/domain-host.db "600 domain-host:domain-host"

step "upgrade to $(basename "$deb2"): the changed component waits for approve"
config_before=$(sha256sum "$root/etc/domain-host/domain-host.toml" "$root/etc/domain-host/domain-host.env" \
  "$root/etc/domain-host/domain-host.lock" "$root/var/lib/domain-host/domain-host.db")
in_root dpkg -i "/tmp/$(basename "$deb2")"
[[ $(sha256sum "$root/etc/domain-host/domain-host.toml" "$root/etc/domain-host/domain-host.env" \
  "$root/etc/domain-host/domain-host.lock" "$root/var/lib/domain-host/domain-host.db") == "$config_before" ]] ||
  fail "the upgrade changed the config, the env file, the lock file or the state"
expect_mode /etc/domain-host/domain-host.toml "640 root:domain-host"
expect_mode /etc/domain-host/domain-host.env "600 root:root"
cmp -s "$changed/serverpilot.wasm" "$root/usr/lib/domain-host/components/serverpilot.wasm" ||
  fail "the upgrade did not install the changed component"
if as_service test >"$work/refused.out" 2>&1; then
  cat "$work/refused.out"; fail "the changed component ran without approval"
fi
cat "$work/refused.out"
grep -q 'domain-host approve serverpilot' "$work/refused.out" || fail "the refusal does not say to approve"
in_root /usr/bin/domain-host --config /etc/domain-host/domain-host.toml approve | tee "$work/approve.out"
grep -q '~ component sha256:' "$work/approve.out" || fail "approve did not show the new digest"
as_service test || fail "test after approve failed"

step "remove, then purge"
in_root dpkg -r domain-host
for path in /usr/bin/domain-host /usr/lib/domain-host /usr/share/domain-host \
  /lib/systemd/system/domain-host.service /usr/share/doc/domain-host; do
  [[ ! -e $root$path ]] || fail "dpkg -r left $path"
done
[[ -f $root/etc/domain-host/domain-host.toml && -d $root/var/lib/domain-host ]] ||
  fail "dpkg -r removed the config or the state"
in_root dpkg -P domain-host
after=$(snapshot)
left=$(comm -13 <(echo "$before") <(echo "$after") | grep -vxE '\./etc/(passwd|group|shadow|gshadow)-' || true)
[[ -z $left ]] || fail "dpkg -P left: $left"
[[ -z $(find "$root" -xdev -path "$root/proc" -prune -o -user "$uid" -print) ]] ||
  fail "files owned by domain-host are left"
in_root dpkg-query -W domain-host 2>/dev/null && fail "dpkg still knows domain-host"

echo "package-test: OK ($((SECONDS - started)) s)"
