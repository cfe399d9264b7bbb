<?php
/**
 * Plugin Name: Ultimate Multisite stand-in (tests only)
 * Description: The parts of Ultimate Multisite the bridge touches, for tests: the four domain actions fired with the plugin's arguments, and, when switched on, a minimal Domain model (wu_get_domain_by_domain, set_stage, save) and wu_log_add. The real plugin is not available here.
 *
 * Switched on by the network option `um_standin_active` (tests/wordpress/wp.php standin on).
 */

defined( 'ABSPATH' ) || exit;

/**
 * Fires one of Ultimate Multisite's domain actions as its Action Scheduler job does:
 * the associative args (domain|subdomain, site_id) are passed positionally.
 */
function um_standin_fire( string $hook, string $domain, int $site_id ): void {
	$name = in_array( $hook, array( 'wu_add_subdomain', 'wu_remove_subdomain' ), true ) ? 'subdomain' : 'domain';
	$args = array(
		$name     => $domain,
		'site_id' => $site_id,
	);
	do_action_ref_array( $hook, array_values( $args ) );
}

if ( get_site_option( 'um_standin_active' ) ) {

	/** A Domain row: what Ultimate Multisite's WP_Ultimo\Models\Domain offers the bridge. */
	class UM_Standin_Domain {
		public function __construct( private string $domain, private array $row ) {}

		public function get_domain(): string {
			return $this->domain;
		}

		public function get_stage(): string {
			return $this->row['stage'];
		}

		public function set_stage( string $stage ): void {
			$this->row['stage'] = $stage;
		}

		public function set_secure( bool $secure ): void {
			$this->row['secure'] = $secure;
		}

		/** Like Base_Model::save(): true, or a WP_Error when validation fails. */
		public function save() {
			$stages = array( 'checking-dns', 'checking-ssl-cert', 'done', 'done-without-ssl', 'failed', 'ssl-failed' );
			if ( ! in_array( $this->row['stage'], $stages, true ) ) {
				return new WP_Error( 'invalid-stage', 'Stage is not one of the enum values.' );
			}
			$rows                  = get_site_option( 'um_standin_domains', array() );
			$this->row['saves']    = ( $this->row['saves'] ?? 0 ) + 1;
			$rows[ $this->domain ] = $this->row;
			return update_site_option( 'um_standin_domains', $rows );
		}
	}

	/** A mapped domain as wu_create_domain() leaves it: stage checking-dns. */
	function um_standin_create_domain( string $domain, int $site_id ): void {
		$rows            = get_site_option( 'um_standin_domains', array() );
		$rows[ $domain ] = array(
			'blog_id' => $site_id,
			'stage'   => 'checking-dns',
			'secure'  => false,
			'saves'   => 0,
		);
		update_site_option( 'um_standin_domains', $rows );
	}

	function wu_get_domain_by_domain( $domain ) {
		wp_cache_delete( get_current_network_id() . ':um_standin_domains', 'site-options' );
		$rows = get_site_option( 'um_standin_domains', array() );
		return isset( $rows[ $domain ] ) ? new UM_Standin_Domain( $domain, $rows[ $domain ] ) : false;
	}

	/** Ultimate Multisite's logger: one file per handle under uploads/wu-logs. */
	function wu_log_add( $handle, $message, $log_level = 'info' ) {
		$dir = WP_CONTENT_DIR . '/uploads/wu-logs';
		wp_mkdir_p( $dir );
		file_put_contents( "$dir/$handle.log", sprintf( "[%s] [%s] %s\n", gmdate( 'Y-m-d H:i:s' ), strtoupper( (string) $log_level ), $message ), FILE_APPEND );
	}
}

/*
 * Action Scheduler, as far as the bridge uses it (switched on by the network option
 * `um_standin_as`): actions kept in the network option `um_standin_as_actions`.
 */
if ( get_site_option( 'um_standin_as' ) ) {

	function um_standin_as_actions(): array {
		wp_cache_delete( get_current_network_id() . ':um_standin_as_actions', 'site-options' );
		return get_site_option( 'um_standin_as_actions', array() );
	}

	function as_schedule_single_action( $timestamp, $hook, $args = array(), $group = '' ) {
		$actions        = um_standin_as_actions();
		$id             = 1000 + count( $actions );
		$actions[ $id ] = array(
			'hook'   => $hook,
			'args'   => $args,
			'group'  => $group,
			'when'   => (int) $timestamp,
			'status' => 'pending',
		);
		update_site_option( 'um_standin_as_actions', $actions );
		return $id;
	}

	function as_get_scheduled_actions( $query = array(), $return_format = OBJECT ) {
		$found = array();
		foreach ( um_standin_as_actions() as $id => $action ) {
			foreach ( array( 'hook', 'group', 'status' ) as $field ) {
				if ( isset( $query[ $field ] ) && $query[ $field ] !== $action[ $field ] ) {
					continue 2;
				}
			}
			$found[ $id ] = $action;
		}
		return 'ids' === $return_format ? array_keys( $found ) : $found;
	}

	/** Runs an action as Action Scheduler's queue runner does (with its execute hooks). */
	function um_standin_as_run( int $id, string $hook, array $args ): void {
		$actions = um_standin_as_actions();
		if ( isset( $actions[ $id ] ) ) {
			$actions[ $id ]['status'] = 'in-progress';
			update_site_option( 'um_standin_as_actions', $actions );
		}
		do_action( 'action_scheduler_before_execute', $id, 'WP CLI' );
		do_action_ref_array( $hook, array_values( $args ) );
		do_action( 'action_scheduler_after_execute', $id, null, 'WP CLI' );
		$actions = um_standin_as_actions();
		if ( isset( $actions[ $id ] ) ) {
			$actions[ $id ]['status'] = 'complete';
			update_site_option( 'um_standin_as_actions', $actions );
		}
	}
}
