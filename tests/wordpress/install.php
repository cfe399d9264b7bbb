<?php
/**
 * Installs the test multisite network once, with plain PHP (no wp-cli):
 * wp_install() for the first site, then install_network() + populate_network().
 *
 * Usage: php install.php WORDPRESS_DIR HOST   (HOST like 127.0.0.1:18780)
 * Run by scripts/wordpress-env.sh; does nothing when the network is already there.
 */
if ( $argc < 3 ) {
	fwrite( STDERR, "usage: php install.php WORDPRESS_DIR HOST\n" );
	exit( 2 );
}
[ , $root, $host ] = $argv;
$root = rtrim( $root, '/' );

// Already a network? Ask with MULTISITE on (the normal config).
$probe = sprintf(
	'$_SERVER["HTTP_HOST"] = %s; $_SERVER["REQUEST_URI"] = "/"; $_SERVER["SERVER_NAME"] = "127.0.0.1";'
	. ' define("WP_INSTALLING", true); require %s; echo is_multisite() && get_network(1) && is_blog_installed() ? "yes" : "no";',
	var_export( $host, true ),
	var_export( $root . '/wp-load.php', true )
);
$out = shell_exec( 'php -r ' . escapeshellarg( $probe ) . ' 2>/dev/null' );
if ( 'yes' === trim( (string) $out ) ) {
	fwrite( STDERR, "wordpress-env: network already installed\n" );
	exit( 0 );
}

// A single site first, multisite constants off (wp-config.php honours this).
define( 'DOMAIN_HOST_ENV_SINGLE_SITE', true );
define( 'WP_INSTALLING', true );
$_SERVER['HTTP_HOST']   = $host;
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/wp-admin/install.php';
$_SERVER['SCRIPT_NAME'] = '/wp-admin/install.php';
$_SERVER['PHP_SELF']    = '/wp-admin/install.php';
require $root . '/wp-load.php';
// No "new site" e-mail: there is no mailer here.
function wp_new_blog_notification() {}
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

$url = 'http://' . $host;
if ( ! is_blog_installed() ) {
	$result = wp_install( 'Domain Host Test Network', 'admin', 'admin@example.com', false, '', wp_generate_password( 24 ) );
	if ( empty( $result['user_id'] ) ) {
		fwrite( STDERR, "wp_install failed\n" );
		exit( 1 );
	}
}
update_option( 'siteurl', $url );
update_option( 'home', $url );

// As wp-admin/network.php does: the global tables' names, before they exist.
foreach ( $wpdb->tables( 'ms_global' ) as $table => $prefixed_table ) {
	$wpdb->$table = $prefixed_table;
}
install_network();
$result = populate_network( 1, $host, 'admin@example.com', 'Domain Host Test Network', '/', false );
if ( is_wp_error( $result ) && 'siteid_exists' !== $result->get_error_code() ) {
	fwrite( STDERR, 'populate_network: ' . $result->get_error_message() . "\n" );
	exit( 1 );
}
// Pretty permalinks, so /wp-json/... routes (populate_network set a structure already).
flush_rewrite_rules();
fwrite( STDERR, "wordpress-env: multisite network installed at $url\n" );
