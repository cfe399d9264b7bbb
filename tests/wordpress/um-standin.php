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
 * the associative args (domain|subdomain, site_id) are passed positionally
 * (AS `ActionScheduler_Action.php`:67, `do_action_ref_array( $hook, array_values( $args ) )`).
 * The site id keeps the type UM enqueued it with (the args pass through JSON): an int for
 * `wu_add_domain` / `wu_remove_domain` (`Domain::get_site_id()` casts,
 * `inc/models/class-domain.php`:183-186), a numeric string for `wu_add_subdomain` /
 * `wu_remove_subdomain` (`$site->blog_id`, a string in `WP_Site`;
 * `class-domain-manager.php`:296-299, :372-375). Review: bridge-review.md §1.1.
 */
function um_standin_fire( string $hook, string $domain, $site_id ): void {
	$subdomain = in_array( $hook, array( 'wu_add_subdomain', 'wu_remove_subdomain' ), true );
	$args      = array(
		( $subdomain ? 'subdomain' : 'domain' ) => $domain,
		'site_id'                               => $subdomain ? (string) (int) $site_id : (int) $site_id,
	);
	do_action_ref_array( $hook, array_values( $args ) );
}

/**
 * A new subdomain site, as Ultimate Multisite handles `wp_insert_site`
 * (`Domain_Manager::handle_site_created`, `class-domain-manager.php`:286-305): it enqueues
 * `wu_add_subdomain` (:301), then `create_domain_record_for_site()` (:304, :315-352) inserts
 * a Domain row for the site's own host at `checking-dns`, whose BerlinDB insert fires
 * `wu_transition_domain_domain( 'new', host, id )` (BDB `Query.php`:2264-2272, :1868), so
 * `send_domain_to_host` also enqueues `wu_add_domain` for the same host (:718-744, :729).
 * Review: bridge-review.md §5 "F3".
 */
function um_standin_create_site( string $host, int $site_id ): void {
	um_standin_fire( 'wu_add_subdomain', $host, $site_id );
	if ( function_exists( 'um_standin_create_domain' ) ) {
		um_standin_create_domain( $host, $site_id );
	}
	um_standin_fire( 'wu_add_domain', $host, $site_id );
}

/**
 * The site deleted: `handle_site_deleted` on `wp_delete_site` enqueues `wu_remove_subdomain`
 * (`class-domain-manager.php`:362-378, :377); the site's Domain rows are deleted
 * (`inc/class-domain-mapping.php`:137, :444-463), and `handle_domain_deleted` on
 * `wu_domain_post_delete` enqueues `wu_remove_domain` (`class-domain-manager.php`:411-437,
 * :422). Review: bridge-review.md §5 "F3".
 */
function um_standin_delete_site( string $host, int $site_id ): void {
	um_standin_fire( 'wu_remove_subdomain', $host, $site_id );
	$rows = get_site_option( 'um_standin_domains', array() );
	unset( $rows[ $host ] );
	update_site_option( 'um_standin_domains', $rows );
	um_standin_fire( 'wu_remove_domain', $host, $site_id );
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

		public function is_secure(): bool {
			return (bool) $this->row['secure'];
		}

		/** Raw assignment, as `Domain::set_stage()` (`class-domain.php`:348-351). */
		public function set_stage( string $stage ): void {
			$this->row['stage'] = $stage;
		}

		/** Raw assignment, as `Domain::set_secure()` (`class-domain.php`:322-325). */
		public function set_secure( bool $secure ): void {
			$this->row['secure'] = $secure;
		}

		/**
		 * Like `Domain::save()` → `Base_Model::save()` (`class-base-model.php`:512-633): a
		 * WP_Error when validation fails (:578-582; the stage must be one of the six
		 * `Domain_Stage` values, `class-domain.php`:131), otherwise
		 * `(bool) $query->update_item(...)` (:595). BerlinDB's `update_item()` diffs the
		 * values against the row freshly read from the database
		 * (`array_diff_assoc`, BDB 2.0.2 `Query.php`:1957) and returns **false when nothing
		 * changed** (:1966-1968), so saving a row that already has these values is `false`,
		 * not `true`. Only the columns that differ are written. Review: bridge-review.md §2.2.
		 */
		public function save() {
			$stages = array( 'checking-dns', 'checking-ssl-cert', 'done', 'done-without-ssl', 'failed', 'ssl-failed' );
			if ( ! in_array( $this->row['stage'], $stages, true ) ) {
				return new WP_Error( 'invalid-stage', 'Stage is not one of the enum values.' );
			}
			wp_cache_delete( get_current_network_id() . ':um_standin_domains', 'site-options' );
			$rows  = get_site_option( 'um_standin_domains', array() );
			$fresh = $rows[ $this->domain ] ?? null;
			if ( null === $fresh ) {
				return false; // the row is gone: update_item() finds no item and returns false
			}
			$changed = array();
			foreach ( array( 'blog_id', 'stage', 'secure' ) as $column ) {
				// Database values are strings: compared as array_diff_assoc does.
				$value = static fn ( $v ) => is_bool( $v ) ? (string) (int) $v : (string) $v;
				if ( $value( $this->row[ $column ] ) !== $value( $fresh[ $column ] ) ) {
					$changed[ $column ] = $this->row[ $column ];
				}
			}
			if ( ! $changed ) {
				return false;
			}
			$fresh                 = array_merge( $fresh, $changed );
			$fresh['saves']        = ( $fresh['saves'] ?? 0 ) + 1;
			$rows[ $this->domain ] = $fresh;
			return update_site_option( 'um_standin_domains', $rows );
		}
	}

	/** Sets a row's stage as UM's own checker or a network admin would (no bridge involved). */
	function um_standin_set_stage( string $domain, string $stage, bool $secure ): void {
		wp_cache_delete( get_current_network_id() . ':um_standin_domains', 'site-options' );
		$rows                      = get_site_option( 'um_standin_domains', array() );
		$rows[ $domain ]['stage']  = $stage;
		$rows[ $domain ]['secure'] = $secure;
		update_site_option( 'um_standin_domains', $rows );
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
