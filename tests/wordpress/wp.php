<?php
/**
 * The test's hands in WordPress, without wp-cli: loads wp-load.php and does one thing,
 * printing JSON.
 *
 *   php wp.php WORDPRESS_DIR HOST fire HOOK DOMAIN SITE_ID   one of the four actions
 *   php wp.php WORDPRESS_DIR HOST map DOMAIN SITE_ID         a domain row (stand-in model), then wu_add_domain
 *   php wp.php WORDPRESS_DIR HOST site-create HOST SITE_ID   a new subdomain site: wu_add_subdomain and wu_add_domain
 *   php wp.php WORDPRESS_DIR HOST site-delete HOST SITE_ID   that site deleted: wu_remove_subdomain and wu_remove_domain
 *   php wp.php WORDPRESS_DIR HOST um-stage DOMAIN STAGE SECURE   the row's stage written by UM itself (checker or admin)
 *   php wp.php WORDPRESS_DIR HOST state                      queue, scheduled run, stages
 *   php wp.php WORDPRESS_DIR HOST cron                       runs the bridge's scheduled delivery as WP-Cron would
 *   php wp.php WORDPRESS_DIR HOST due                        makes the scheduled delivery due now (for wp-cron.php)
 *   php wp.php WORDPRESS_DIR HOST standin on|off             Ultimate Multisite's model present or not
 *   php wp.php WORDPRESS_DIR HOST reset                      forget the bridge's state
 *   php wp.php WORDPRESS_DIR HOST admin-page                 the network admin page's HTML
 *   php wp.php WORDPRESS_DIR HOST um-integrations [ID...]    Ultimate Multisite's own integrations enabled
 *   php wp.php WORDPRESS_DIR HOST as on|off                  the Action Scheduler stand-in
 *   php wp.php WORDPRESS_DIR HOST as-fire ID HOOK DOMAIN SITE_ID   Ultimate Multisite's job, run as action ID
 *   php wp.php WORDPRESS_DIR HOST as-run                     runs the pending domain-host action
 *   php wp.php WORDPRESS_DIR HOST admin-password             a fresh password for the network admin (the browser test logs in)
 *   php wp.php WORDPRESS_DIR HOST admin-action WHO ACTION TARGET NONCE
 *        one of the admin page's actions as WHO (network-admin, site-admin: an administrator
 *        of the main site only, anonymous) with NONCE (valid, missing, other: another
 *        action's, admins: the network admin's own nonce)
 *   php wp.php WORDPRESS_DIR HOST um-settings JSON            Ultimate Multisite's integration settings
 *        ({"constants":{}, "credentials":{}, "www":"", "enabled":[]}; credentials stored
 *        encrypted as its wizard does); `um-settings off` forgets them
 */
if ( $argc < 4 ) {
	fwrite( STDERR, "usage: php wp.php WORDPRESS_DIR HOST COMMAND [ARGS]\n" );
	exit( 2 );
}
[ , $root, $host, $command ] = $argv;
$args                   = array_slice( $argv, 4 );
$_SERVER['HTTP_HOST']   = $host;
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/';
require rtrim( $root, '/' ) . '/wp-load.php';

function fresh( string $name ) {
	wp_cache_delete( get_current_network_id() . ':' . $name, 'site-options' );
	return get_site_option( $name, null );
}

function state(): array {
	return array(
		'queue'     => fresh( 'domain_host_queue' ) ?? array(),
		'scheduled' => wp_next_scheduled( 'domain_host_deliver' ),
		'stages'    => fresh( 'domain_host_stages' ) ?? (object) array(),
		'model'     => fresh( 'um_standin_domains' ) ?? (object) array(),
		'standin'   => function_exists( 'wu_get_domain_by_domain' ),
		'actions'   => fresh( 'um_standin_as_actions' ) ?? (object) array(),
	);
}

switch ( $command ) {
	case 'fire':
		um_standin_fire( $args[0], $args[1], $args[2] );
		$out = state();
		break;
	case 'site-create':
		um_standin_create_site( $args[0], (int) $args[1] );
		$out = state();
		break;
	case 'site-delete':
		um_standin_delete_site( $args[0], (int) $args[1] );
		$out = state();
		break;
	case 'um-stage':
		um_standin_set_stage( $args[0], $args[1], '1' === ( $args[2] ?? '' ) );
		$out = state();
		break;
	case 'map':
		if ( ! function_exists( 'um_standin_create_domain' ) ) {
			fwrite( STDERR, "the stand-in model is off\n" );
			exit( 1 );
		}
		um_standin_create_domain( $args[0], (int) $args[1] );
		um_standin_fire( 'wu_add_domain', $args[0], (int) $args[1] );
		$out = state();
		break;
	case 'state':
		$out = state();
		break;
	case 'cron':
		// What wp-cron.php does for a due event: take it off the schedule, run its hook.
		$ts = wp_next_scheduled( 'domain_host_deliver' );
		if ( false !== $ts ) {
			wp_unschedule_event( $ts, 'domain_host_deliver' );
			do_action( 'domain_host_deliver' );
		}
		$out = array( 'ran' => false !== $ts ) + state();
		break;
	case 'due':
		$ts = wp_next_scheduled( 'domain_host_deliver' );
		if ( false !== $ts ) {
			wp_unschedule_event( $ts, 'domain_host_deliver' );
			wp_schedule_single_event( time() - 1, 'domain_host_deliver' );
		}
		$out = array( 'was' => $ts ) + state();
		break;
	case 'standin':
		update_site_option( 'um_standin_active', 'on' === ( $args[0] ?? '' ) );
		$out = array( 'standin' => 'on' === ( $args[0] ?? '' ) );
		break;
	case 'reset':
		foreach ( array( 'domain_host_queue', 'domain_host_stages', 'domain_host_subdomains', 'um_standin_domains', 'wu_host_integrations_enabled', 'um_standin_as', 'um_standin_as_actions' ) as $o ) {
			delete_site_option( $o );
		}
		wp_clear_scheduled_hook( 'domain_host_deliver' );
		@unlink( WP_CONTENT_DIR . '/uploads/wu-logs/integration-domain-host.log' );
		$out = state();
		break;
	case 'admin-page':
		$admins = get_super_admins();
		wp_set_current_user( get_user_by( 'login', $admins[0] )->ID );
		ob_start();
		\DomainHost\Bridge\render_admin_page();
		$out = array( 'html' => ob_get_clean() );
		break;
	case 'as':
		update_site_option( 'um_standin_as', 'on' === ( $args[0] ?? '' ) );
		$out = array( 'as' => 'on' === ( $args[0] ?? '' ) );
		break;
	case 'as-fire':
		$name = in_array( $args[1], array( 'wu_add_subdomain', 'wu_remove_subdomain' ), true ) ? 'subdomain' : 'domain';
		um_standin_as_run( (int) $args[0], $args[1], array( $name => $args[2], 'site_id' => 'subdomain' === $name ? (string) (int) $args[3] : (int) $args[3] ) );
		$out = state();
		break;
	case 'as-run':
		$ids = as_get_scheduled_actions( array( 'hook' => 'domain_host_deliver', 'status' => 'pending' ), 'ids' );
		foreach ( $ids as $id ) {
			um_standin_as_run( $id, 'domain_host_deliver', array() );
		}
		$out = array( 'ran' => count( $ids ) ) + state();
		break;
	case 'admin-password':
		$admin    = get_user_by( 'login', get_super_admins()[0] );
		$password = wp_generate_password( 24, false );
		wp_set_password( $password, $admin->ID );
		$out = array(
			'login'    => $admin->user_login,
			'password' => $password,
		);
		break;
	case 'admin-action':
		[ $who, $action, $target, $nonce ] = $args;
		$admin = get_user_by( 'login', get_super_admins()[0] );
		wp_set_current_user( $admin->ID );
		$admins_nonce = wp_create_nonce( 'domain-host-' . $action );
		if ( 'site-admin' === $who ) {
			$user = get_user_by( 'login', 'dh-site-admin' );
			if ( ! $user ) {
				$id   = wp_insert_user( array( 'user_login' => 'dh-site-admin', 'user_pass' => wp_generate_password( 24 ), 'user_email' => 'site-admin@example.test', 'role' => 'administrator' ) );
				$user = get_user_by( 'id', $id );
			}
			wp_set_current_user( $user->ID );
		} elseif ( 'anonymous' === $who ) {
			wp_set_current_user( 0 );
		}
		$post = array(
			'domain_host_action' => $action,
			'target'             => $target,
		);
		if ( 'valid' === $nonce ) {
			$post['_wpnonce'] = wp_create_nonce( 'domain-host-' . $action );
		} elseif ( 'other' === $nonce ) {
			$post['_wpnonce'] = wp_create_nonce( 'export' === $action ? 'domain-host-check' : 'domain-host-export' );
		} elseif ( 'admins' === $nonce ) {
			$post['_wpnonce'] = $admins_nonce;
		}
		$out = array(
			'can'    => current_user_can( 'manage_network' ),
			'result' => \DomainHost\Bridge\handle_admin_action( $post ),
			'rows'   => \DomainHost\Bridge\queue_rows(),
		) + state();
		break;
	case 'um-settings':
		global $wpdb;
		$wpdb->query( "DELETE FROM {$wpdb->sitemeta} WHERE meta_key LIKE 'wu\\_hosting\\_credential\\_%'" );
		foreach ( array( 'um_standin_integrations', 'um_standin_constants', 'um_standin_www', 'wu_host_integrations_enabled', 'wpmudev_apikey' ) as $o ) {
			delete_site_option( $o );
		}
		wp_cache_flush();
		if ( 'off' === ( $args[0] ?? 'off' ) ) {
			$out = array( 'um-settings' => 'off' );
			break;
		}
		$settings = json_decode( $args[0], true );
		update_site_option( 'um_standin_integrations', true );
		update_site_option( 'um_standin_constants', $settings['constants'] ?? array() );
		if ( isset( $settings['www'] ) ) {
			update_site_option( 'um_standin_www', $settings['www'] );
		}
		update_site_option( 'wu_host_integrations_enabled', $settings['enabled'] ?? array() );
		// The stand-in loaded switched off in this process: load it again, now on.
		include WPMU_PLUGIN_DIR . '/um-standin-integrations.php';
		foreach ( $settings['credentials'] ?? array() as $name => $value ) {
			update_network_option( null, 'wu_hosting_credential_' . $name, \WP_Ultimo\Helpers\Credential_Store::encrypt( $value ) );
		}
		$out = array( 'um-settings' => 'on' );
		break;
	case 'um-integrations':
		update_site_option( 'wu_host_integrations_enabled', array_fill_keys( $args, true ) );
		$out = array( 'enabled' => $args );
		break;
	default:
		fwrite( STDERR, "unknown command $command\n" );
		exit( 2 );
}
echo wp_json_encode( $out ), "\n";
