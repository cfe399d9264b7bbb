#!/usr/bin/env bash
# A real WordPress multisite for the bridge's end-to-end test (tests/wordpress_e2e.rs).
#
# Idempotent; needs root (it installs Debian packages and runs MariaDB as root):
#   1. installs `wordpress`, `php-cli`, `php-mysql` and `mariadb-server` if missing;
#   2. runs a private MariaDB (own data dir and socket, no TCP) and creates the database;
#   3. lays out a WordPress copy from /usr/share/wordpress with its own wp-config.php
#      (multisite, DOMAIN_HOST_URL / _TOKEN / _CALLBACK_SECRET);
#   4. installs a multisite network with plain PHP (wp_install, install_network,
#      populate_network), once;
#   5. copies the bridge (its file and its folder, wordpress/domain-host-bridge/) and the
#      test stand-ins of Ultimate Multisite into mu-plugins;
#   6. serves it with `php -S 127.0.0.1:$WP_PORT` and a router.
# Then it writes $DIR/env (KEY=value lines) for the test and prints it.
#
# Environment: DOMAIN_HOST_WP_DIR (default /tmp/domain-host-wordpress), DOMAIN_HOST_WP_PORT
# (default 18780), DOMAIN_HOST_WP_SERVICE_PORT (the port domain-host serve listens on,
# default 18787). Run it again at any time: it only does what is missing.
# `scripts/wordpress-env.sh stop` stops its MariaDB and PHP server (the data stays).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
DIR="${DOMAIN_HOST_WP_DIR:-/tmp/domain-host-wordpress}"
WP_PORT="${DOMAIN_HOST_WP_PORT:-18780}"
SERVICE_PORT="${DOMAIN_HOST_WP_SERVICE_PORT:-18787}"
HOST="127.0.0.1:$WP_PORT"
say() { echo "wordpress-env: $*" >&2; }

if [ "${1:-}" = stop ]; then
  # Stops what an earlier run started (php -S and its workers, MariaDB); keeps the data.
  if [ -f "$DIR/php-server.pid" ]; then
    kill -- -"$(cat "$DIR/php-server.pid")" 2>/dev/null || true
    rm -f "$DIR/php-server.pid"
  fi
  mariadb-admin --no-defaults --socket="$DIR/mysqld.sock" -uroot shutdown 2>/dev/null || true
  say "stopped"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  say "must run as root (installs Debian packages, runs MariaDB)"
  exit 2
fi

# 1. Packages.
missing=()
for pkg in wordpress php-cli php-mysql mariadb-server; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
for bin in php mariadbd mariadb-install-db mariadb-admin mariadb; do
  command -v "$bin" >/dev/null || [ -x "/usr/sbin/$bin" ] || { say "$bin not found after install"; exit 2; }
done
MARIADBD="$(command -v mariadbd || echo /usr/sbin/mariadbd)"

mkdir -p "$DIR"
# Generated once, kept across runs (wp-config.php and the test read them).
if [ ! -f "$DIR/secrets" ]; then
  umask 077
  {
    echo "DB_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
    echo "DOMAIN_HOST_TOKEN=$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9')"
    echo "DOMAIN_HOST_CALLBACK_SECRET=$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9')"
  } > "$DIR/secrets"
  umask 022
fi
# shellcheck disable=SC1091
. "$DIR/secrets"
# The service wants 32 characters or more for both (an older run made shorter ones).
if [ "${#DOMAIN_HOST_TOKEN}" -lt 32 ] || [ "${#DOMAIN_HOST_CALLBACK_SECRET}" -lt 32 ]; then
  umask 077
  {
    echo "DB_PASSWORD=$DB_PASSWORD"
    echo "DOMAIN_HOST_TOKEN=$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9')"
    echo "DOMAIN_HOST_CALLBACK_SECRET=$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9')"
  } > "$DIR/secrets"
  umask 022
  # shellcheck disable=SC1091
  . "$DIR/secrets"
fi

# 2. MariaDB: private data dir and socket, no networking.
SOCK="$DIR/mysqld.sock"
DATA="$DIR/mysql"
if [ ! -d "$DATA/mysql" ]; then
  say "initialising MariaDB in $DATA"
  mariadb-install-db --no-defaults --datadir="$DATA" --user=root \
    --auth-root-authentication-method=socket --skip-test-db >"$DIR/mariadb-install.log" 2>&1 \
    || { cat "$DIR/mariadb-install.log" >&2; exit 1; }
fi
if ! mariadb-admin --no-defaults --socket="$SOCK" -uroot ping >/dev/null 2>&1; then
  say "starting MariaDB"
  setsid "$MARIADBD" --no-defaults --datadir="$DATA" --socket="$SOCK" --pid-file="$DIR/mysqld.pid" \
    --skip-networking --user=root --log-error="$DIR/mysqld.err" </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 100); do
    mariadb-admin --no-defaults --socket="$SOCK" -uroot ping >/dev/null 2>&1 && break
    sleep 0.2
  done
  mariadb-admin --no-defaults --socket="$SOCK" -uroot ping >/dev/null 2>&1 \
    || { say "MariaDB did not start"; tail -20 "$DIR/mysqld.err" >&2; exit 1; }
fi
mariadb --no-defaults --socket="$SOCK" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS wordpress CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'wordpress'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER 'wordpress'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL ON wordpress.* TO 'wordpress'@'localhost';
SQL

# 3. The WordPress copy (Debian's wp-config.php is replaced by ours).
WP="$DIR/wordpress"
if [ ! -f "$WP/wp-settings.php" ]; then
  say "copying /usr/share/wordpress to $WP"
  mkdir -p "$WP"
  cp -a /usr/share/wordpress/. "$WP/"
  rm -f "$WP/.htaccess"
fi
mkdir -p "$WP/wp-content/mu-plugins" "$WP/wp-content/uploads"
cat > "$WP/wp-config.php" <<PHP
<?php
// Written by scripts/wordpress-env.sh: a throwaway multisite for tests.
define( 'DB_NAME', 'wordpress' );
define( 'DB_USER', 'wordpress' );
define( 'DB_PASSWORD', '$DB_PASSWORD' );
define( 'DB_HOST', 'localhost:$SOCK' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
\$table_prefix = 'wp_';
foreach ( array( 'AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT' ) as \$k ) {
	define( \$k, hash( 'sha256', \$k . '$DB_PASSWORD' ) );
}
define( 'WP_DEBUG', false );
define( 'WP_DEBUG_LOG', '$DIR/debug.log' );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_AUTO_UPDATE_CORE', false );
define( 'DISABLE_WP_CRON', true ); // the test runs cron itself, when it means to
define( 'WP_ALLOW_MULTISITE', true );
// The installer first installs a single site, then turns it into a network.
if ( ! defined( 'DOMAIN_HOST_ENV_SINGLE_SITE' ) ) {
	define( 'MULTISITE', true );
	define( 'SUBDOMAIN_INSTALL', false );
	define( 'DOMAIN_CURRENT_SITE', '$HOST' );
	define( 'PATH_CURRENT_SITE', '/' );
	define( 'SITE_ID_CURRENT_SITE', 1 );
	define( 'BLOG_ID_CURRENT_SITE', 1 );
}
// The bridge (wordpress/domain-host-bridge.php).
// (not redefined when tests/wordpress/wp.php gives the test's own URL)
defined( 'DOMAIN_HOST_URL' ) || define( 'DOMAIN_HOST_URL', 'http://127.0.0.1:$SERVICE_PORT' );
define( 'DOMAIN_HOST_TOKEN', '$DOMAIN_HOST_TOKEN' );
define( 'DOMAIN_HOST_CALLBACK_SECRET', '$DOMAIN_HOST_CALLBACK_SECRET' );
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
PHP
chmod 600 "$WP/wp-config.php"

# 4. The network, installed once.
php "$REPO/tests/wordpress/install.php" "$WP" "$HOST"

# 5. The bridge and the stand-in, refreshed on every run.
cp "$REPO/wordpress/domain-host-bridge.php" "$WP/wp-content/mu-plugins/domain-host-bridge.php"
# The bridge's parts (WordPress loads only the files directly in mu-plugins; the bridge
# requires these), replaced whole so a removed part does not linger.
rm -rf "$WP/wp-content/mu-plugins/domain-host-bridge"
cp -r "$REPO/wordpress/domain-host-bridge" "$WP/wp-content/mu-plugins/domain-host-bridge"
cp "$REPO/tests/wordpress/um-standin.php" "$WP/wp-content/mu-plugins/um-standin.php"
cp "$REPO/tests/wordpress/um-standin-integrations.php" "$WP/wp-content/mu-plugins/um-standin-integrations.php"

# 6. PHP's built-in server.
cp "$REPO/tests/wordpress/router.php" "$DIR/router.php"
up() { php -r 'exit(@file_get_contents("http://'"$HOST"'/wp-json/") === false ? 1 : 0);'; }
if ! up; then
  if [ -f "$DIR/php-server.pid" ] && kill -0 "$(cat "$DIR/php-server.pid")" 2>/dev/null; then
    kill -- -"$(cat "$DIR/php-server.pid")" 2>/dev/null || kill "$(cat "$DIR/php-server.pid")" || true
    sleep 0.5
  fi
  say "starting php -S $HOST"
  # Its own process group (setsid), whose leader writes its pid: stop kills the group,
  # the workers included.
  PHP_CLI_SERVER_WORKERS=4 setsid bash -c 'echo $$ > "$1"; shift; exec "$@"' _ "$DIR/php-server.pid" \
    php -S "$HOST" -t "$WP" "$DIR/router.php" </dev/null >>"$DIR/php-server.log" 2>&1 &
  for _ in $(seq 1 50); do up && break; sleep 0.2; done
  up || { say "php -S did not answer"; tail -20 "$DIR/php-server.log" >&2; exit 1; }
fi

cat > "$DIR/env" <<ENV
WP_DIR=$DIR
WP_ROOT=$WP
WP_HOST=$HOST
WP_URL=http://$HOST
SERVICE_PORT=$SERVICE_PORT
DOMAIN_HOST_TOKEN=$DOMAIN_HOST_TOKEN
DOMAIN_HOST_CALLBACK_SECRET=$DOMAIN_HOST_CALLBACK_SECRET
ENV
chmod 600 "$DIR/env"
say "ready: http://$HOST (network), env in $DIR/env"
