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
 *   php wp.php WORDPRESS_DIR HOST as-run                     runs the pending domain-host action (main site)
 *   php wp.php WORDPRESS_DIR HOST as-fail on|off             as_schedule_single_action() returns 0 (or not)
 *   php wp.php WORDPRESS_DIR HOST as-clear                   the main site's domain-host actions marked failed (a run that died)
 *   php wp.php WORDPRESS_DIR HOST cron-clear                 the bridge's WP-Cron events cleared
 *   php wp.php WORDPRESS_DIR HOST heal                       the bridge's self-healing check, due now
 *   php wp.php WORDPRESS_DIR HOST subsite-fire HOOK DOMAIN SITE_ID   one of the four actions, fired in a subsite's context
 *   php wp.php WORDPRESS_DIR HOST um-check DOMAIN            Ultimate Multisite's stage job for the domain's row (wu_async_process_domain_stage)
 *   php wp.php WORDPRESS_DIR HOST um-checks-pass dns|ssl|none   what UM's own DNS / TLS checks find
 *   php wp.php WORDPRESS_DIR HOST service-answered SECONDS_AGO|never   when the service last answered
 *   php wp.php WORDPRESS_DIR HOST rename OLD NEW             the domain row renamed (and UM's jobs run)
 *   php wp.php WORDPRESS_DIR HOST move DOMAIN SITE_ID        the domain row moved to another site
 *   php wp.php WORDPRESS_DIR HOST hold-lock NAME SECONDS     holds a MySQL named lock (NAME "bridge:deliver" = the bridge's own)
 *   php wp.php WORDPRESS_DIR HOST legacy QUEUE_JSON STAGES_JSON   the bridge's storage as 0.1 left it (network options, no tables)
 *   php wp.php WORDPRESS_DIR HOST storage                    the bridge's tables, schema version, install id, old options
 *   php wp.php WORDPRESS_DIR HOST notices                    the network admin notices' HTML
 *   php wp.php WORDPRESS_DIR HOST retry ID                   the operator's "Retry now" for queued event ID (retry_queued_event())
 *   php wp.php WORDPRESS_DIR HOST refusals-due               the next refused callback is logged (the minute is over)
 *   php wp.php WORDPRESS_DIR HOST admin-password             a fresh password for the network admin (the browser test logs in)
 *   php wp.php WORDPRESS_DIR HOST admin-action WHO ACTION TARGET NONCE
 *        one of the admin page's actions as WHO (network-admin, site-admin: an administrator
 *        of the main site only, anonymous) with NONCE (valid, missing, other: another
 *        action's, admins: the network admin's own nonce)
 *   php wp.php WORDPRESS_DIR HOST um-settings JSON            Ultimate Multisite's integration settings
 *        ({"constants":{}, "credentials":{}, "www":"", "enabled":[]}; credentials stored
 *        encrypted as its wizard does); `um-settings off` forgets them
 *
 * DH_TEST_URL in the environment is the DOMAIN_HOST_URL for this run.
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
if ( getenv( 'DH_TEST_URL' ) ) {
	define( 'DOMAIN_HOST_URL', getenv( 'DH_TEST_URL' ) );
}
require rtrim( $root, '/' ) . '/wp-load.php';

function fresh( string $name ) {
	wp_cache_delete( get_current_network_id() . ':' . $name, 'site-options' );
	return get_site_option( $name, null );
}

function state(): array {
	// (The fallbacks read bridge 0.1's network options: to check a test fails without the tables.)
	$stages = function_exists( '\DomainHost\Bridge\stage_records' ) ? \DomainHost\Bridge\stage_records() : fresh( 'domain_host_stages' );
	return array(
		'queue'     => function_exists( '\DomainHost\Bridge\queued_events' ) ? \DomainHost\Bridge\queued_events() : ( fresh( 'domain_host_queue' ) ?? array() ),
		'scheduled' => wp_next_scheduled( 'domain_host_deliver' ),
		'stages'    => $stages ? $stages : (object) array(),
		'model'     => fresh( 'um_standin_domains' ) ?? (object) array(),
		'standin'   => function_exists( 'wu_get_domain_by_domain' ),
		'actions'   => site_actions( get_main_site_id() ),
		'checks'    => (int) fresh( 'um_standin_checks' ),
		'heard'     => fresh( 'um_standin_heard' ) ?? array(),
	);
}

/** A site's Action Scheduler store (the stand-in's). */
function site_actions( int $blog ) {
	switch_to_blog( $blog );
	wp_cache_delete( 'um_standin_as_actions', 'options' );
	wp_cache_delete( 'alloptions', 'options' );
	$actions = get_option( 'um_standin_as_actions', array() );
	restore_current_blog();
	return $actions ? $actions : (object) array();
}

/** The test network's one subsite (created once). */
function subsite(): int {
	$found = get_sites(
		array(
			'path'   => '/sub/',
			'number' => 1,
			'fields' => 'ids',
		)
	);
	if ( $found ) {
		return (int) $found[0];
	}
	$id = wp_insert_site(
		array(
			'domain' => get_network()->domain,
			'path'   => '/sub/',
			'title'  => 'Subsite',
		)
	);
	if ( is_wp_error( $id ) ) {
		fwrite( STDERR, $id->get_error_message() . "\n" );
		exit( 1 );
	}
	return (int) $id;
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
		foreach ( array( 'domain_host_queue', 'domain_host_stages', 'domain_host_subdomains', 'domain_host_heal_at', 'domain_host_refusals', 'domain_host_service_answered_at', 'domain_host_service_preferred', 'um_standin_domains', 'wu_host_integrations_enabled', 'um_standin_as', 'um_standin_as_fail', 'um_standin_checks', 'um_standin_heard', 'um_standin_dns', 'um_standin_ssl' ) as $o ) {
			delete_site_option( $o );
		}
		foreach ( array( get_main_site_id(), subsite() ) as $blog ) {
			switch_to_blog( $blog );
			delete_option( 'um_standin_as_actions' );
			wp_clear_scheduled_hook( 'domain_host_deliver' );
			wp_clear_scheduled_hook( 'domain_host_accept' );
			restore_current_blog();
		}
		if ( function_exists( '\DomainHost\Bridge\ensure_tables' ) ) {
			\DomainHost\Bridge\ensure_tables();
			$wpdb->query( 'TRUNCATE TABLE ' . \DomainHost\Bridge\events_table() );
			$wpdb->query( 'TRUNCATE TABLE ' . \DomainHost\Bridge\stages_table() );
		}
		@unlink( WP_CONTENT_DIR . '/uploads/wu-logs/integration-domain-host.log' );
		$out = state();
		break;
	case 'retry':
		$out = array( 'retried' => \DomainHost\Bridge\retry_queued_event( (int) ( $args[0] ?? 0 ) ) ) + state();
		break;
	case 'admin-page':
		$admins = get_super_admins();
		wp_set_current_user( get_user_by( 'login', $admins[0] )->ID );
		ob_start();
		\DomainHost\Bridge\render_admin_page();
		$out = array( 'html' => ob_get_clean() );
		break;
	case 'notices':
		$admins = get_super_admins();
		wp_set_current_user( get_user_by( 'login', $admins[0] )->ID );
		ob_start();
		do_action( 'network_admin_notices' );
		$out = array( 'html' => ob_get_clean() );
		break;
	case 'as':
		update_site_option( 'um_standin_as', 'on' === ( $args[0] ?? '' ) );
		$out = array( 'as' => 'on' === ( $args[0] ?? '' ) );
		break;
	case 'as-fire':
		// UM enqueues the job in the main site's store; its queue runner runs it there.
		$name = in_array( $args[1], array( 'wu_add_subdomain', 'wu_remove_subdomain' ), true ) ? 'subdomain' : 'domain';
		um_standin_as_enqueue( (int) $args[0], $args[1], array( $name => $args[2], 'site_id' => 'subdomain' === $name ? (string) (int) $args[3] : (int) $args[3] ), 'domain' );
		$ran = um_standin_as_run( (int) $args[0] );
		$out = array( 'ran' => $ran ) + state();
		break;
	case 'as-run':
		$ids = as_get_scheduled_actions( array( 'hook' => 'domain_host_deliver', 'status' => 'pending' ), 'ids' );
		foreach ( $ids as $id ) {
			um_standin_as_run( $id );
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
	case 'as-fail':
		update_site_option( 'um_standin_as_fail', 'on' === ( $args[0] ?? '' ) );
		$out = array( 'as_fail' => 'on' === ( $args[0] ?? '' ) );
		break;
	case 'as-clear':
		$actions = um_standin_as_actions();
		foreach ( $actions as $id => $action ) {
			if ( 'domain_host_deliver' === $action['hook'] && 'pending' === $action['status'] ) {
				$actions[ $id ]['status'] = 'failed';
			}
		}
		update_option( 'um_standin_as_actions', $actions, false );
		$out = state();
		break;
	case 'cron-clear':
		wp_clear_scheduled_hook( 'domain_host_deliver' );
		$out = state();
		break;
	case 'heal':
		delete_site_option( 'domain_host_heal_at' );
		function_exists( '\DomainHost\Bridge\maybe_heal' ) && \DomainHost\Bridge\maybe_heal();
		$out = state();
		break;
	case 'subsite-fire':
		$blog = subsite();
		switch_to_blog( $blog );
		um_standin_fire( $args[0], $args[1], $args[2] );
		restore_current_blog();
		switch_to_blog( $blog );
		$sub_cron = wp_next_scheduled( 'domain_host_deliver' );
		restore_current_blog();
		$out = array(
			'blog'          => $blog,
			'sub_actions'   => site_actions( $blog ),
			'sub_scheduled' => $sub_cron,
		) + state();
		break;
	case 'um-check':
		$model = wu_get_domain_by_domain( $args[0] );
		do_action( 'wu_async_process_domain_stage', $model->get_id(), 0 );
		$out = state();
		break;
	case 'um-checks-pass':
		update_site_option( 'um_standin_dns', in_array( $args[0], array( 'dns', 'ssl' ), true ) ? 'ok' : 'no' );
		update_site_option( 'um_standin_ssl', 'ssl' === $args[0] ? 'ok' : 'no' );
		$out = array( 'pass' => $args[0] );
		break;
	case 'service-answered':
		if ( 'never' === $args[0] ) {
			delete_site_option( 'domain_host_service_answered_at' );
		} else {
			update_site_option( 'domain_host_service_answered_at', time() - (int) $args[0] );
		}
		$out = array( 'answered' => $args[0] );
		break;
	case 'rename':
		$model = wu_get_domain_by_domain( $args[0] );
		$model->set_domain( $args[1] );
		$saved = $model->save();
		um_standin_run_jobs();
		$out = array( 'saved' => $saved ) + state();
		break;
	case 'move':
		$model = wu_get_domain_by_domain( $args[0] );
		$model->set_blog_id( (int) $args[1] );
		$saved = $model->save();
		um_standin_run_jobs();
		$out = array( 'saved' => $saved ) + state();
		break;
	case 'hold-lock':
		$name = $args[0];
		if ( 0 === strpos( $name, 'bridge:' ) ) {
			$name = function_exists( '\DomainHost\Bridge\lock_name' ) ? \DomainHost\Bridge\lock_name( substr( $name, 7 ) ) : 'domain_host_' . substr( $name, 7 ) . '_' . get_current_network_id();
		}
		$got  = $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, 5)', $name ) );
		echo wp_json_encode( array( 'held' => '1' === (string) $got ) ), "\n";
		flush();
		sleep( (int) $args[1] );
		exit( 0 );
	case 'legacy':
		function_exists( '\DomainHost\Bridge\events_table' ) && $wpdb->query( 'DROP TABLE IF EXISTS ' . \DomainHost\Bridge\events_table() );
		function_exists( '\DomainHost\Bridge\stages_table' ) && $wpdb->query( 'DROP TABLE IF EXISTS ' . \DomainHost\Bridge\stages_table() );
		delete_site_option( 'domain_host_schema' );
		update_site_option( 'domain_host_queue', json_decode( $args[0], true ) );
		update_site_option( 'domain_host_stages', json_decode( $args[1], true ) );
		$out = array( 'legacy' => true );
		break;
	case 'storage':
		if ( ! function_exists( '\DomainHost\Bridge\events_table' ) ) {
			$out = array(
				'tables'     => array(),
				'schema'     => 0,
				'install_id' => null,
				'lock'       => 'domain_host_deliver_' . get_current_network_id(),
				'old_queue'  => fresh( 'domain_host_queue' ),
				'old_stages' => fresh( 'domain_host_stages' ),
				'events'     => count( fresh( 'domain_host_queue' ) ?? array() ),
			);
			break;
		}
		$tables = array();
		foreach ( array( \DomainHost\Bridge\events_table(), \DomainHost\Bridge\stages_table() ) as $t ) {
			$tables[ $t ] = $t === $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $t ) );
		}
		$out = array(
			'tables'     => $tables,
			'schema'     => (int) fresh( 'domain_host_schema' ),
			'install_id' => fresh( 'domain_host_install_id' ),
			'lock'       => \DomainHost\Bridge\lock_name( 'deliver' ),
			'old_queue'  => fresh( 'domain_host_queue' ),
			'old_stages' => fresh( 'domain_host_stages' ),
			'events'     => (int) $wpdb->get_var( 'SELECT COUNT(*) FROM ' . \DomainHost\Bridge\events_table() ),
		);
		break;
	case 'refusals-due':
		$window           = fresh( 'domain_host_refusals' ) ?? array();
		$window['logged'] = 0;
		update_site_option( 'domain_host_refusals', $window );
		$out = array( 'refusals' => $window );
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
