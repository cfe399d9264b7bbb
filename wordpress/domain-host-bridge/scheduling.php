<?php
/**
 * When the queue is delivered: Action Scheduler in the main site (where Ultimate Multisite
 * keeps its jobs), WP-Cron when Action Scheduler is absent or refuses, and a self-healing
 * check so a queue is never left without a scheduled run (bridge-review.md §4.2, F5).
 *
 * @package DomainHost\Bridge
 */

namespace DomainHost\Bridge;

defined( 'ABSPATH' ) || exit;

/** At most one self-healing check a minute (network option: when the last one ran). */
const HEAL_OPTION   = 'domain_host_heal_at';
const HEAL_INTERVAL = 60;

/**
 * Runs $work in the main site: Action Scheduler's tables and WP-Cron's `cron` option are the
 * current site's (`$wpdb->prefix`), and a run scheduled in a subsite's queue may never run.
 */
function in_main_site( callable $work ) {
	if ( ! is_multisite() || get_current_blog_id() === get_main_site_id() ) {
		return $work();
	}
	switch_to_blog( get_main_site_id() );
	try {
		return $work();
	} finally {
		restore_current_blog();
	}
}

/**
 * One pending delivery run at a time. The check and the scheduling happen under one lock
 * (two requests cannot both find nothing and both schedule), in the main site. Action
 * Scheduler when present; a 0 from it (not initialised, a database error) is a failure and
 * WP-Cron takes the run. Returns where the run is ('action-scheduler', 'wp-cron',
 * 'already', or 'busy' when the lock was not granted: the holder is scheduling one).
 */
function schedule_delivery( int $delay ): string {
	$when   = time() + max( 1, $delay );
	$result = with_lock(
		'schedule',
		5,
		static function () use ( $when ) {
			return in_main_site(
				static function () use ( $when ) {
					if ( delivery_scheduled() ) {
						return 'already';
					}
					if ( function_exists( 'as_schedule_single_action' ) ) {
						$id = (int) as_schedule_single_action( $when, DELIVER_HOOK, array(), AS_GROUP );
						if ( $id > 0 ) {
							return 'action-scheduler';
						}
						log_message( 'Action Scheduler did not schedule the delivery run (it returned 0); WP-Cron takes it.', 'warning' );
					}
					wp_schedule_single_event( $when, DELIVER_HOOK );
					return 'wp-cron';
				}
			);
		}
	);
	return null === $result ? 'busy' : $result;
}

/**
 * Whether a delivery run is waiting (in the current site: call it in the main site). Pending
 * Action Scheduler actions only: the action running now (when this is it) does not count,
 * and `$unique` would count it (bridge-review.md §4.1).
 */
function delivery_scheduled(): bool {
	if ( false !== wp_next_scheduled( DELIVER_HOOK ) ) {
		return true;
	}
	if ( ! function_exists( 'as_get_scheduled_actions' ) ) {
		return false;
	}
	$pending = as_get_scheduled_actions(
		array(
			'hook'     => DELIVER_HOOK,
			'group'    => AS_GROUP,
			'status'   => 'pending',
			'per_page' => 1,
		),
		'ids'
	);
	return ! empty( $pending );
}

/**
 * The self-healing check, at most once a minute on any request (after Action Scheduler is
 * initialised at `init` priority 1): a queue with no run waiting gets one (a delivery run
 * that died is marked failed by Action Scheduler and leaves nothing pending), and `removed`
 * records past their time are pruned.
 */
function maybe_heal(): void {
	// The cached value is enough to skip (one read per request, none with a persistent
	// object cache); a fresh read before acting keeps concurrent requests from all healing.
	if ( (int) get_network_option( null, HEAL_OPTION, 0 ) > time() - HEAL_INTERVAL
		|| (int) fresh_network_option( HEAL_OPTION, 0 ) > time() - HEAL_INTERVAL ) {
		return;
	}
	update_network_option( null, HEAL_OPTION, time() );
	if ( ! ensure_tables() ) {
		return;
	}
	prune_stage_records();
	if ( queue_length() > 0 && ! in_main_site( __NAMESPACE__ . '\\delivery_scheduled' ) ) {
		$where = schedule_delivery( BASE_DELAY );
		log_message( sprintf( 'Events were queued with no delivery run waiting; scheduled one (%s).', $where ), 'warning' );
	}
}
add_action( 'init', __NAMESPACE__ . '\\maybe_heal', 20 );
