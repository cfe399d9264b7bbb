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

	/** The rows, read past the object cache (other processes write them). */
	function um_standin_rows(): array {
		wp_cache_delete( get_current_network_id() . ':um_standin_domains', 'site-options' );
		wp_cache_delete( get_current_network_id() . ':notoptions', 'site-options' );
		return get_site_option( 'um_standin_domains', array() );
	}

	/** A Domain row: what Ultimate Multisite's WP_Ultimo\Models\Domain offers the bridge. */
	class UM_Standin_Domain {
		/** The values as loaded (`Base_Model::$_original`, `class-base-model.php`:243-248). */
		private array $original;

		public function __construct( private string $domain, private array $row ) {
			$this->original = array( 'domain' => $domain ) + $row;
		}

		public function get_id(): int {
			return (int) ( $this->row['id'] ?? 0 );
		}

		public function get_domain(): string {
			return $this->domain;
		}

		/** `Domain::get_site_id()` casts (`class-domain.php`:183-186, :207). */
		public function get_site_id(): int {
			return (int) $this->row['blog_id'];
		}

		public function get_stage(): string {
			return $this->row['stage'];
		}

		public function is_secure(): bool {
			return (bool) $this->row['secure'];
		}

		/** `Base_Model::_get_original()` (`class-base-model.php`:1141-1144): `blog_id`, `domain`, ... as loaded. */
		public function _get_original(): array {
			return $this->original;
		}

		public function set_domain( string $domain ): void {
			$this->domain = $domain;
		}

		public function set_blog_id( int $blog_id ): void {
			$this->row['blog_id'] = $blog_id;
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
		 * not `true`. Only the columns that differ are written; a changed transition column
		 * (`domain`, `stage`, `secure`: `class-domains-schema.php`:53-97) fires
		 * `wu_transition_domain_{column}( old, new, id )` (BDB :2303); then
		 * `wu_domain_post_save( data, model, false )` (`class-base-model.php` `save()`).
		 * Review: bridge-review.md §2.2.
		 */
		public function save() {
			$stages = array( 'checking-dns', 'checking-ssl-cert', 'done', 'done-without-ssl', 'failed', 'ssl-failed' );
			if ( ! in_array( $this->row['stage'], $stages, true ) ) {
				return new WP_Error( 'invalid-stage', 'Stage is not one of the enum values.' );
			}
			$rows  = um_standin_rows();
			$name  = $this->original['domain'];
			$fresh = $rows[ $name ] ?? null;
			if ( null === $fresh ) {
				return false; // the row is gone: update_item() finds no item and returns false
			}
			$fresh['domain'] = $name;
			$mine            = array( 'domain' => $this->domain ) + $this->row;
			$changed         = array();
			foreach ( array( 'domain', 'blog_id', 'stage', 'secure' ) as $column ) {
				// Database values are strings: compared as array_diff_assoc does.
				$value = static fn ( $v ) => is_bool( $v ) ? (string) (int) $v : (string) $v;
				if ( $value( $mine[ $column ] ) !== $value( $fresh[ $column ] ) ) {
					$changed[ $column ] = $mine[ $column ];
				}
			}
			if ( ! $changed ) {
				return false;
			}
			$updated          = array_merge( $fresh, $changed );
			$updated['saves'] = ( $fresh['saves'] ?? 0 ) + 1;
			unset( $rows[ $name ], $updated['domain'] );
			$rows[ $this->domain ] = $updated;
			$saved                 = update_site_option( 'um_standin_domains', $rows );
			foreach ( array( 'domain', 'stage', 'secure' ) as $column ) {
				if ( array_key_exists( $column, $changed ) ) {
					do_action( "wu_transition_domain_{$column}", $fresh[ $column ], $changed[ $column ], $this->get_id() );
				}
			}
			do_action( 'wu_domain_post_save', $changed, $this, false );
			return $saved;
		}
	}

	/** Sets a row's stage as UM's own checker or a network admin would (no bridge involved). */
	function um_standin_set_stage( string $domain, string $stage, bool $secure ): void {
		$rows                      = um_standin_rows();
		$rows[ $domain ]['stage']  = $stage;
		$rows[ $domain ]['secure'] = $secure;
		update_site_option( 'um_standin_domains', $rows );
	}

	/**
	 * A mapped domain as wu_create_domain() leaves it: stage checking-dns
	 * (`inc/functions/domain.php`:63-93), and its stage job enqueued (:90).
	 */
	function um_standin_create_domain( string $domain, int $site_id ): void {
		$rows            = um_standin_rows();
		$id              = (int) get_site_option( 'um_standin_next_id', 1 );
		$rows[ $domain ] = array(
			'id'      => $id,
			'blog_id' => $site_id,
			'stage'   => 'checking-dns',
			'secure'  => false,
			'saves'   => 0,
		);
		update_site_option( 'um_standin_next_id', $id + 1 );
		update_site_option( 'um_standin_domains', $rows );
	}

	function wu_get_domain_by_domain( $domain ) {
		$rows = um_standin_rows();
		return isset( $rows[ $domain ] ) ? new UM_Standin_Domain( $domain, $rows[ $domain ] ) : false;
	}

	/** `wu_get_domain( $id )` (`inc/functions/domain.php`:22). */
	function wu_get_domain( $domain_id ) {
		foreach ( um_standin_rows() as $domain => $row ) {
			if ( (int) ( $row['id'] ?? 0 ) === (int) $domain_id ) {
				return new UM_Standin_Domain( $domain, $row );
			}
		}
		return false;
	}

	/** Ultimate Multisite's logger: one file per handle under uploads/wu-logs. */
	function wu_log_add( $handle, $message, $log_level = 'info' ) {
		$dir = WP_CONTENT_DIR . '/uploads/wu-logs';
		wp_mkdir_p( $dir );
		file_put_contents( "$dir/$handle.log", sprintf( "[%s] [%s] %s\n", gmdate( 'Y-m-d H:i:s' ), strtoupper( (string) $log_level ), $message ), FILE_APPEND );
	}

	/**
	 * Ultimate Multisite's `Domain_Manager` as far as the bridge meets it
	 * (`inc/managers/class-domain-manager.php`), created when the plugin loads (after the
	 * must-use plugins) as UM's singleton is (`inc/class-wp-ultimo.php`:914):
	 * - `async_process_domain_stage( $domain_id, $tries )` on `wu_async_process_domain_stage`
	 *   `(10, 2)` (:155, :755-899): its own checker, which writes the stage. The DNS and TLS
	 *   checks' outcomes are the network options `um_standin_dns` / `um_standin_ssl` ('ok').
	 *   `checking-dns` → `checking-ssl-cert` and `wu_domain_manager_dns_propagation_finished`
	 *   (:788-808); `checking-ssl-cert` → `done` + secure (:847-853); past 5 tries `failed` /
	 *   `ssl-failed`. Each run is counted in `um_standin_checks`.
	 * - `send_domain_to_host( $old, $new, $id )` on `wu_transition_domain_domain` `(10, 3)`
	 *   (:157, :718-744): enqueues `wu_add_domain( new, site )` for any change of the name,
	 *   and nothing for the old name. Enqueued jobs wait in um_standin_jobs() until run.
	 */
	class UM_Standin_Domain_Manager {
		private static ?UM_Standin_Domain_Manager $instance = null;

		/** Jobs enqueued with wu_enqueue_async_action(): [hook, args]. */
		public array $jobs = array();

		public static function get_instance(): self {
			if ( null === self::$instance ) {
				self::$instance = new self();
				add_action( 'wu_async_process_domain_stage', array( self::$instance, 'async_process_domain_stage' ), 10, 2 );
				add_action( 'wu_transition_domain_domain', array( self::$instance, 'send_domain_to_host' ), 10, 3 );
			}
			return self::$instance;
		}

		public function send_domain_to_host( $old_value, $new_value, $item_id ): void {
			if ( $old_value !== $new_value ) {
				$domain       = wu_get_domain( $item_id );
				$this->jobs[] = array(
					'wu_add_domain',
					array(
						'domain'  => $new_value,
						'site_id' => $domain->get_site_id(),
					),
				);
			}
		}

		public function async_process_domain_stage( $domain_id, $tries = 0 ): void {
			update_site_option( 'um_standin_checks', (int) get_site_option( 'um_standin_checks', 0 ) + 1 );
			$domain = wu_get_domain( $domain_id );
			if ( ! $domain ) {
				return;
			}
			++$tries;
			$ok = static fn ( string $what ) => 'ok' === get_site_option( "um_standin_$what" );
			if ( 'checking-dns' === $domain->get_stage() ) {
				if ( $ok( 'dns' ) ) {
					$domain->set_stage( 'checking-ssl-cert' );
					$domain->save();
					$this->jobs[] = array(
						'wu_async_process_domain_stage',
						array(
							'domain_id' => $domain_id,
							'tries'     => 0,
						),
					);
					do_action( 'wu_domain_manager_dns_propagation_finished', $domain );
				} elseif ( $tries > 5 ) {
					$domain->set_stage( 'failed' );
					$domain->save();
				}
			} elseif ( 'checking-ssl-cert' === $domain->get_stage() ) {
				if ( $ok( 'ssl' ) ) {
					$domain->set_stage( 'done' );
					$domain->set_secure( true );
					$domain->save();
				} elseif ( $tries > 5 ) {
					$domain->set_stage( 'ssl-failed' );
					$domain->save();
				}
			}
		}
	}
	class_alias( 'UM_Standin_Domain_Manager', 'WP_Ultimo\Managers\Domain_Manager' );
	UM_Standin_Domain_Manager::get_instance();

	/** Runs the jobs Ultimate Multisite enqueued, as its Action Scheduler jobs would later. */
	function um_standin_run_jobs(): void {
		$manager = UM_Standin_Domain_Manager::get_instance();
		while ( $manager->jobs ) {
			[ $hook, $args ] = array_shift( $manager->jobs );
			do_action_ref_array( $hook, array_values( $args ) );
		}
	}

	/** An add-on listening to UM's checker (as Cloudways does): what it saw, in `um_standin_heard`. */
	add_action(
		'wu_domain_manager_dns_propagation_finished',
		static function ( $domain ) {
			$heard   = get_site_option( 'um_standin_heard', array() );
			$heard[] = 'dns_propagation_finished ' . $domain->get_domain();
			update_site_option( 'um_standin_heard', $heard );
		}
	);
}

/*
 * Action Scheduler 3.8 as the bridge meets it (switched on by the network option
 * `um_standin_as`), with its real semantics (woocommerce/action-scheduler `functions.php`,
 * `classes/abstracts/ActionScheduler_Abstract_QueueRunner.php`):
 * - each site has its own store: the tables are `$wpdb->prefix . 'actionscheduler_*'`
 *   (`ActionScheduler_Abstract_Schema.php`), so they follow switch_to_blog(); here a site
 *   option (`um_standin_as_actions`), which follows it too;
 * - `as_schedule_single_action()` returns the action id, or 0 when it could not schedule
 *   (not initialised, a database error: `functions.php`:69-72); the network option
 *   `um_standin_as_fail` makes it return 0;
 * - `as_get_scheduled_actions( ..., 'ids' )` filters by hook, group and status;
 * - the runner runs only a pending action: any other (complete, failed, in-progress) is
 *   ignored (`process_action`: `action_scheduler_execution_ignored`), so a finished action
 *   never runs again.
 */
if ( get_site_option( 'um_standin_as' ) ) {

	function um_standin_as_actions(): array {
		wp_cache_delete( 'um_standin_as_actions', 'options' );
		wp_cache_delete( 'alloptions', 'options' );
		wp_cache_delete( 'notoptions', 'options' );
		return get_option( 'um_standin_as_actions', array() );
	}

	function um_standin_as_store( int $id, array $action ): void {
		$actions        = um_standin_as_actions();
		$actions[ $id ] = $action;
		update_option( 'um_standin_as_actions', $actions, false );
	}

	function as_schedule_single_action( $timestamp, $hook, $args = array(), $group = '', $unique = false, $priority = 10 ) {
		if ( get_site_option( 'um_standin_as_fail' ) ) {
			return 0;
		}
		$actions = um_standin_as_actions();
		$id      = 1000 + count( $actions );
		um_standin_as_store(
			$id,
			array(
				'hook'   => $hook,
				'args'   => $args,
				'group'  => $group,
				'when'   => (int) $timestamp,
				'status' => 'pending',
			)
		);
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

	/**
	 * Ultimate Multisite's `wu_enqueue_async_action()` (`inc/functions/scheduler.php`:37-40):
	 * in the main site (`wu_switch_blog_and_run()`, `inc/functions/site-context.php`:21-34),
	 * here with the id given (the test names it).
	 */
	function um_standin_as_enqueue( int $id, string $hook, array $args, string $group ): void {
		switch_to_blog( get_main_site_id() );
		if ( ! isset( um_standin_as_actions()[ $id ] ) ) {
			um_standin_as_store(
				$id,
				array(
					'hook'   => $hook,
					'args'   => $args,
					'group'  => $group,
					'when'   => time(),
					'status' => 'pending',
				)
			);
		}
		restore_current_blog();
	}

	/**
	 * Runs an action of the current site's store as the queue runner does: a non-pending
	 * action is ignored; otherwise in-progress, its hook with the args positionally
	 * (`ActionScheduler_Action.php`:67), then complete.
	 */
	function um_standin_as_run( int $id ): bool {
		do_action( 'action_scheduler_before_execute', $id, 'WP CLI' );
		$action = um_standin_as_actions()[ $id ] ?? null;
		if ( ! $action || 'pending' !== $action['status'] ) {
			do_action( 'action_scheduler_execution_ignored', $id, 'WP CLI' );
			return false;
		}
		$action['status'] = 'in-progress';
		um_standin_as_store( $id, $action );
		do_action_ref_array( $action['hook'], array_values( $action['args'] ) );
		do_action( 'action_scheduler_after_execute', $id, null, 'WP CLI' );
		$action['status'] = 'complete';
		um_standin_as_store( $id, $action );
		return true;
	}
}
