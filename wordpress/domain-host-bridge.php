<?php
/**
 * Plugin Name: Domain Host Bridge
 * Description: Sends Ultimate Multisite's domain events to `domain-host serve` (nothing is lost while it is down) and records the domain stages it reports back.
 * Version:     0.1.0
 * Requires PHP: 8.1
 * Network:     true
 * License:     GPL-2.0-or-later
 *
 * A must-use plugin: copy this file to wp-content/mu-plugins/. Configuration, in wp-config.php:
 *
 *   define( 'DOMAIN_HOST_URL', 'http://127.0.0.1:8787' );           // the service
 *   define( 'DOMAIN_HOST_TOKEN', '...' );                            // its [service] token
 *   define( 'DOMAIN_HOST_CALLBACK_SECRET', '...' );                  // its callback_secret
 *
 * How it works:
 * - Each of `wu_add_domain`, `wu_remove_domain`, `wu_add_subdomain`, `wu_remove_subdomain`
 *   ($domain, $site_id) becomes an event with its own Idempotency-Key. The event is first
 *   written to a network option (the queue), then posted to POST /v1/events; it leaves the
 *   queue once the service answers 2xx (accepted) or a 4xx that can never succeed (logged).
 *   Unreachable, 5xx, 429 (and 401/403/404/408: a configuration to fix) keep it queued and
 *   retry with backoff, through Action Scheduler when present, WP-Cron otherwise. Events are
 *   sent in the order they happened: a queued event holds back the ones after it.
 * - POST /wp-json/domain-host/v1/stage receives the service's signed stage callbacks
 *   (X-Domain-Host-Timestamp, X-Domain-Host-Signature: sha256=HMAC(secret, "ts.body"),
 *   300 s window) and records the stage always in the network option `domain_host_stages`
 *   and, when Ultimate Multisite's domain model is active, in it as a forward-only
 *   compare-and-set (see FORWARD): a live `done` never goes back to `checking-*`.
 * - A subdomain site's own host is one event: the `add-domain` / `remove-domain` doubles
 *   Ultimate Multisite fires beside `wu_add_subdomain` / `wu_remove_subdomain` are folded.
 * - Network Admin > Settings > Domain Host lists the service's domains with stage and
 *   diagnosis, and the events still queued here.
 *
 * @package DomainHost\Bridge
 */

namespace DomainHost\Bridge;

defined( 'ABSPATH' ) || exit;

const LOG_HANDLE    = 'integration-domain-host';
const QUEUE_OPTION  = 'domain_host_queue';
const STAGES_OPTION = 'domain_host_stages';
const SUBS_OPTION   = 'domain_host_subdomains';
const DELIVER_HOOK  = 'domain_host_deliver';
const AS_GROUP      = 'domain-host';
const MAX_SKEW      = 300;
const BASE_DELAY    = 30;
const MAX_DELAY     = 600;

/** Ultimate Multisite's actions and the service's event names. */
const EVENTS = array(
	'wu_add_domain'       => 'add-domain',
	'wu_remove_domain'    => 'remove-domain',
	'wu_add_subdomain'    => 'add-subdomain',
	'wu_remove_subdomain' => 'remove-subdomain',
);

/** The stages Ultimate Multisite's Domain model stores (Domain_Stage). */
const UM_STAGES = array( 'checking-dns', 'checking-ssl-cert', 'done', 'done-without-ssl', 'failed', 'ssl-failed' );

/*
 * The service reports Ultimate Multisite's stages plus `degraded` (was done, broke) and
 * `removed`; those two, and any stage a later service adds, go to the network option only.
 */

// ---------------------------------------------------------------------------------------
// Outgoing: domain events to the service.
// ---------------------------------------------------------------------------------------

foreach ( EVENTS as $hook => $event ) {
	add_action(
		$hook,
		static function ( $domain, $site_id = 0 ) use ( $event ) {
			accept_event( $event, (string) $domain, (int) $site_id );
		},
		10,
		2
	);
}
add_action( DELIVER_HOOK, __NAMESPACE__ . '\\deliver_queue' );

/** The Action Scheduler action running now, if any (its retries reuse the same key). */
$GLOBALS['domain_host_bridge_action_id'] = null;
add_action(
	'action_scheduler_before_execute',
	static function ( $action_id ) {
		$GLOBALS['domain_host_bridge_action_id'] = (int) $action_id;
	}
);
add_action(
	'action_scheduler_after_execute',
	static function () {
		$GLOBALS['domain_host_bridge_action_id'] = null;
	}
);

/**
 * Queues one event durably, then tries to deliver the queue at once.
 */
function accept_event( string $event, string $domain, int $site_id ): void {
	if ( is_subdomain_double( $event, $domain, $site_id ) ) {
		log_message( sprintf( 'Folded %s %s (site %d) into its subdomain event: the same host, already sent as a subdomain.', $event, $domain, $site_id ) );
		return;
	}
	$action_id = $GLOBALS['domain_host_bridge_action_id'] ?? null;
	// One key per event: the Action Scheduler action when there is one (so a re-run of the
	// same action is the same event; the name and site are in it too, in case the action
	// table's ids are ever reused), a fresh UUID otherwise. Kept with the queued event.
	$key   = $action_id
		? sprintf( 'wu-as-%d-%s-%s', $action_id, $event, substr( hash( 'sha256', $domain . '|' . $site_id ), 0, 12 ) )
		: 'wp-' . wp_generate_uuid4();
	$entry = array(
		'key'      => $key,
		'event'    => $event,
		'domain'   => $domain,
		'site_id'  => $site_id,
		'queued'   => time(),
		'attempts' => 0,
	);
	// `www.<domain>` mapped as a domain of its own stays when <domain> goes: the service
	// is told, so no panel removes it with the domain.
	if ( 'remove-domain' === $event && www_mapped( $domain ) ) {
		$entry['www_mapped'] = true;
	}
	$append = static function () use ( $entry ) {
		$queue = read_option( QUEUE_OPTION );
		foreach ( $queue as $queued ) {
			if ( $queued['key'] === $entry['key'] ) {
				return true; // the same event again
			}
		}
		$queue[] = $entry;
		return update_network_option( null, QUEUE_OPTION, $queue );
	};
	if ( null === with_lock( 'queue', 10, $append ) ) {
		// Never drop an event: write it even without the lock.
		log_message( "Queued $event $domain without the queue lock (it was not granted in 10 s).", 'warning' );
		$append();
	}
	deliver_queue();
}

/**
 * Ultimate Multisite fires both `wu_add_subdomain` and `wu_add_domain` for a new subdomain
 * site's own host (`handle_site_created` enqueues the first, then the Domain row it inserts
 * for the site enqueues the second), and both removes when the site is deleted. One event per
 * host: the subdomain events are kept (remembered in the network option
 * `domain_host_subdomains`), and `add-domain` / `remove-domain` for a host remembered as that
 * site's subdomain, or equal to the site's own host, are the doubles.
 */
function is_subdomain_double( string $event, string $domain, int $site_id ): bool {
	if ( 'add-domain' === $event && function_exists( 'get_site' ) && function_exists( 'is_subdomain_install' ) && is_subdomain_install() ) {
		$site = get_site( $site_id );
		if ( $site && strtolower( (string) $site->domain ) === $domain ) {
			return true;
		}
	}
	$fold = with_lock(
		'subdomains',
		10,
		static function () use ( $event, $domain, $site_id ) {
			$subs = read_option( SUBS_OPTION );
			// Forget deleted sites' hosts after a day (both removes come within minutes).
			$subs = array_filter(
				$subs,
				static function ( $entry ) {
					return empty( $entry['removed'] ) || $entry['removed'] > time() - DAY_IN_SECONDS;
				}
			);
			$known = isset( $subs[ $domain ] ) && (int) $subs[ $domain ]['site_id'] === $site_id;
			$fold  = false;
			switch ( $event ) {
				case 'add-subdomain':
					$subs[ $domain ] = array( 'site_id' => $site_id );
					break;
				case 'remove-subdomain':
					$subs[ $domain ] = array(
						'site_id' => $site_id,
						'removed' => time(),
					);
					break;
				case 'add-domain':
					$fold = $known && empty( $subs[ $domain ]['removed'] );
					break;
				case 'remove-domain':
					$fold = $known;
					break;
			}
			update_network_option( null, SUBS_OPTION, $subs );
			return $fold;
		}
	);
	return true === $fold;
}

/** Whether Ultimate Multisite has a mapping row for `www.` + the domain. */
function www_mapped( string $domain ): bool {
	if ( ! function_exists( 'wu_get_domain_by_domain' ) || 0 === strpos( $domain, 'www.' ) ) {
		return false;
	}
	return (bool) wu_get_domain_by_domain( 'www.' . $domain );
}

/**
 * Sends the queued events in order. Stops at the first that must wait (and schedules the
 * next attempt); drops those the service refuses for good. One sender at a time: when
 * another request is sending, this one leaves it to that one (and to a scheduled run).
 */
function deliver_queue(): void {
	$sent = with_lock(
		'deliver',
		0,
		static function () {
			while ( true ) {
				$queue = read_option( QUEUE_OPTION );
				if ( ! $queue ) {
					return true;
				}
				$head    = $queue[0];
				$outcome = post_event( $head );
				$retry   = 'retry' === $outcome['result'];
				$left    = with_lock(
					'queue',
					10,
					static function () use ( $head, $retry, $outcome ) {
						$queue = read_option( QUEUE_OPTION );
						foreach ( $queue as $i => $entry ) {
							if ( $entry['key'] !== $head['key'] ) {
								continue;
							}
							if ( $retry ) {
								++$queue[ $i ]['attempts'];
								$queue[ $i ]['last_error'] = $outcome['message'];
							} else {
								array_splice( $queue, $i, 1 );
							}
							update_network_option( null, QUEUE_OPTION, $queue );
							return $retry ? $queue[ $i ]['attempts'] : 0;
						}
						return 0;
					}
				);
				if ( $retry ) {
					schedule_delivery( retry_delay( (int) $left, $outcome['retry_after'] ?? null ) );
					return true;
				}
			}
		}
	);
	if ( null === $sent && read_option( QUEUE_OPTION ) ) {
		schedule_delivery( BASE_DELAY ); // a safety net if the running sender just finished
	}
}

/**
 * Posts one event. Returns ['result' => 'sent'|'dropped'|'retry', 'message' => ..., 'retry_after' => ?int].
 */
function post_event( array $entry ): array {
	$describe = sprintf( '%s %s (site %d, key %s)', $entry['event'], $entry['domain'], $entry['site_id'], $entry['key'] );
	$url      = defined( 'DOMAIN_HOST_URL' ) ? (string) DOMAIN_HOST_URL : '';
	$token    = defined( 'DOMAIN_HOST_TOKEN' ) ? (string) DOMAIN_HOST_TOKEN : '';
	if ( '' === $url || '' === $token ) {
		$message = 'DOMAIN_HOST_URL and DOMAIN_HOST_TOKEN must be defined in wp-config.php';
		log_message( "Kept $describe: $message.", 'error' );
		return array( 'result' => 'retry', 'message' => $message );
	}
	$response = wp_remote_post(
		rtrim( $url, '/' ) . '/v1/events',
		array(
			'timeout'     => 15,
			'redirection' => 0,
			'headers'     => array(
				'Authorization'   => 'Bearer ' . $token,
				'Content-Type'    => 'application/json',
				'Accept'          => 'application/json',
				'Idempotency-Key' => $entry['key'],
			),
			'body'        => wp_json_encode(
				array(
					'event'   => $entry['event'],
					'domain'  => $entry['domain'],
					'site_id' => (int) $entry['site_id'],
				) + ( empty( $entry['www_mapped'] ) ? array() : array( 'www_mapped' => true ) )
			),
		)
	);
	if ( is_wp_error( $response ) ) {
		$message = 'service unreachable: ' . $response->get_error_message();
		log_message( "Kept $describe, will retry: $message.", 'warning' );
		return array( 'result' => 'retry', 'message' => $message );
	}
	$status = (int) wp_remote_retrieve_response_code( $response );
	$body   = (string) wp_remote_retrieve_body( $response );
	$json   = json_decode( $body, true );
	if ( $status >= 200 && $status < 300 ) {
		$id = is_array( $json ) && isset( $json['id'] ) ? (string) $json['id'] : '?';
		log_message( 202 === $status ? "Sent $describe: accepted as event $id." : "Sent $describe: the service already had it (event $id)." );
		return array( 'result' => 'sent', 'message' => '' );
	}
	$reason  = is_array( $json ) && isset( $json['error'] ) ? ( is_string( $json['error'] ) ? $json['error'] : wp_json_encode( $json['error'] ) ) : substr( $body, 0, 300 );
	$message = sprintf( 'HTTP %d: %s', $status, $reason );
	// Worth waiting for: the service is busy or down, or its configuration needs a fix
	// (wrong token or URL) after which the event succeeds.
	if ( $status >= 500 || in_array( $status, array( 401, 403, 404, 408, 425, 429 ), true ) ) {
		$retry_after = wp_remote_retrieve_header( $response, 'retry-after' );
		log_message( "Kept $describe, will retry: $message.", $status >= 500 || 429 === $status ? 'warning' : 'error' );
		return array(
			'result'      => 'retry',
			'message'     => $message,
			'retry_after' => is_numeric( $retry_after ) ? (int) $retry_after : null,
		);
	}
	log_message( "Dropped $describe, the service refused it: $message.", 'error' );
	return array( 'result' => 'dropped', 'message' => $message );
}

/** Backoff: 30 s, 60 s, 120 s, ... up to 10 minutes; Retry-After when the service sends one. */
function retry_delay( int $attempts, ?int $retry_after ): int {
	$delay = min( MAX_DELAY, BASE_DELAY * ( 2 ** min( 10, max( 0, $attempts - 1 ) ) ) );
	if ( null !== $retry_after && $retry_after > 0 ) {
		$delay = min( MAX_DELAY, max( $delay, $retry_after ) );
	}
	return (int) apply_filters( 'domain_host_bridge_retry_delay', $delay, $attempts );
}

/** One pending delivery run at a time: Action Scheduler when present, WP-Cron otherwise. */
function schedule_delivery( int $delay ): void {
	$when = time() + max( 1, $delay );
	if ( function_exists( 'as_schedule_single_action' ) && function_exists( 'as_get_scheduled_actions' ) ) {
		// Pending ones only: the action running now (if this is it) does not count.
		$pending = as_get_scheduled_actions(
			array(
				'hook'     => DELIVER_HOOK,
				'group'    => AS_GROUP,
				'status'   => 'pending',
				'per_page' => 1,
			),
			'ids'
		);
		if ( ! $pending ) {
			as_schedule_single_action( $when, DELIVER_HOOK, array(), AS_GROUP );
		}
		return;
	}
	// WP-Cron removes an event from the schedule before running it.
	if ( ! wp_next_scheduled( DELIVER_HOOK ) ) {
		wp_schedule_single_event( $when, DELIVER_HOOK );
	}
}

// A queue left without a scheduled run (e.g. the cron entry was cleared) is picked up again
// when a network admin page loads.
add_action(
	'admin_init',
	static function () {
		if ( is_network_admin() && read_option( QUEUE_OPTION ) ) {
			schedule_delivery( BASE_DELAY );
		}
	}
);

// ---------------------------------------------------------------------------------------
// Incoming: signed stage callbacks.
// ---------------------------------------------------------------------------------------

add_action(
	'rest_api_init',
	static function () {
		register_rest_route(
			'domain-host/v1',
			'/stage',
			array(
				'methods'             => 'POST',
				'callback'            => __NAMESPACE__ . '\\receive_stage',
				'permission_callback' => __NAMESPACE__ . '\\verify_signature',
			)
		);
	}
);

/**
 * The request is the service's: HMAC-SHA256 over "<timestamp>.<body>" with the shared
 * secret, and a timestamp within 300 s of now.
 *
 * @return true|\WP_Error
 */
function verify_signature( \WP_REST_Request $request ) {
	$secret = defined( 'DOMAIN_HOST_CALLBACK_SECRET' ) ? (string) DOMAIN_HOST_CALLBACK_SECRET : '';
	if ( '' === $secret ) {
		log_message( 'Refused a stage callback: DOMAIN_HOST_CALLBACK_SECRET is not defined in wp-config.php.', 'error' );
		// 503: the service keeps the callback and retries once this is configured.
		return new \WP_Error( 'domain_host_not_configured', 'The callback secret is not configured.', array( 'status' => 503 ) );
	}
	$timestamp = (string) $request->get_header( 'x-domain-host-timestamp' );
	$signature = (string) $request->get_header( 'x-domain-host-signature' );
	if ( ! ctype_digit( $timestamp ) || abs( time() - (int) $timestamp ) > MAX_SKEW ) {
		log_message( 'Refused a stage callback: missing or stale timestamp.', 'warning' );
		return new \WP_Error( 'domain_host_stale', 'Missing or stale timestamp.', array( 'status' => 401 ) );
	}
	$expected = 'sha256=' . hash_hmac( 'sha256', $timestamp . '.' . $request->get_body(), $secret );
	if ( ! hash_equals( $expected, $signature ) ) {
		log_message( 'Refused a stage callback: bad signature.', 'warning' );
		return new \WP_Error( 'domain_host_bad_signature', 'Bad signature.', array( 'status' => 401 ) );
	}
	return true;
}

/**
 * Records a verified stage callback. 200 only once it is stored (or was already: the
 * service numbers each change, `delivery`, and sends a domain's changes in order, so a
 * change older than the one recorded is a retry or a replay and changes nothing).
 *
 * @return \WP_REST_Response|\WP_Error
 */
function receive_stage( \WP_REST_Request $request ) {
	$data   = json_decode( $request->get_body(), true );
	$domain = is_array( $data ) && is_string( $data['domain'] ?? null ) ? strtolower( trim( $data['domain'] ) ) : '';
	$stage  = is_array( $data ) && is_string( $data['stage'] ?? null ) ? $data['stage'] : '';
	// Any well-formed stage is recorded (refusing one would hold up the service's outbox).
	if ( '' === $domain || ! preg_match( '/^[a-z][a-z-]{0,39}$/', $stage ) ) {
		return new \WP_Error( 'domain_host_bad_callback', 'A callback needs a domain and a stage.', array( 'status' => 400 ) );
	}
	$record = array(
		'stage'      => $stage,
		'site'       => (int) ( $data['site'] ?? $data['site_id'] ?? 0 ),
		'kind'       => is_string( $data['kind'] ?? null ) ? $data['kind'] : null,
		'previous'   => is_string( $data['previous_stage'] ?? null ) ? $data['previous_stage'] : null,
		'diagnosis'  => diagnosis_lines( $data['diagnosis'] ?? array() ),
		'delivery'   => is_int( $data['delivery'] ?? null ) ? $data['delivery'] : null,
		'changed_at' => is_string( $data['changed_at'] ?? null ) ? $data['changed_at'] : null,
		'received'   => time(),
	);
	$result = with_lock(
		'stages',
		10,
		static function () use ( $domain, $stage, $record ) {
			$stages = read_option( STAGES_OPTION );
			$last   = $stages[ $domain ] ?? null;
			if ( $last && null !== $record['delivery'] && null !== ( $last['delivery'] ?? null )
				&& $record['delivery'] <= $last['delivery'] && (string) $record['changed_at'] <= (string) ( $last['changed_at'] ?? '' ) ) {
				return array( 'already', $last['model'] ?? 'option' );
			}
			$model = record_in_model( $domain, $stage );
			if ( is_wp_error( $model ) ) {
				return $model;
			}
			$record['model']   = $model;
			$stages[ $domain ] = $record;
			update_network_option( null, STAGES_OPTION, $stages );
			$stored = read_option( STAGES_OPTION )[ $domain ] ?? null;
			if ( ! is_array( $stored ) || $stored['stage'] !== $stage || $stored['delivery'] !== $record['delivery'] ) {
				return new \WP_Error( 'domain_host_option', 'the network option could not be written' );
			}
			return array( 'recorded', $model );
		}
	);
	if ( null === $result ) {
		$result = new \WP_Error( 'domain_host_busy', 'the stage lock was not granted' );
	}
	if ( is_wp_error( $result ) ) {
		log_message( "Stage $stage for $domain not recorded: " . $result->get_error_message() . '.', 'error' );
		return new \WP_Error( 'domain_host_not_recorded', 'The stage could not be recorded.', array( 'status' => 500 ) );
	}
	[ $outcome, $where ] = $result;
	if ( 'recorded' === $outcome ) {
		log_message( sprintf( 'Stage of %s: %s (recorded in %s).', $domain, $stage, $where ) );
	}
	return new \WP_REST_Response(
		array(
			'recorded' => true,
			'already'  => 'already' === $outcome,
			'domain'   => $domain,
			'stage'    => $stage,
			'in'       => $where,
		),
		200
	);
}

/**
 * Which of the service's stages may replace the stage Ultimate Multisite's row has. Forward
 * only: a live `done` goes only to a failure (never back to `checking-*`, which unmaps it:
 * `Domain::INACTIVE_STAGES`, `class-domain.php`:92-97; `class-domain-mapping.php`:391-396);
 * a network admin's `done-without-ssl` (UM's own checker never sets it) only to `failed`.
 * Anything else stays in the bridge's record (the network option) only.
 */
const FORWARD = array(
	'checking-dns'      => array( 'checking-ssl-cert', 'done', 'failed', 'ssl-failed' ),
	'checking-ssl-cert' => array( 'done', 'ssl-failed', 'failed' ),
	'failed'            => array( 'checking-dns', 'checking-ssl-cert', 'done', 'ssl-failed' ),
	'ssl-failed'        => array( 'checking-ssl-cert', 'done', 'failed' ),
	'done'              => array( 'failed', 'ssl-failed' ),
	'done-without-ssl'  => array( 'failed' ),
);

/**
 * Ultimate Multisite's Domain model, when the plugin is active and knows the domain, written
 * as a compare-and-set against the row as it is now (re-read here, under the stage lock):
 * - the row already has the stage (and `secure` for `done`): nothing to write;
 * - a move FORWARD allows: set_stage (+ set_secure on done), save;
 * - any other move (e.g. `done` → `checking-dns`): the model keeps its stage.
 * `save()` is `false` when the row did not change (BerlinDB `update_item()` "nothing to
 * save"), so a `false` is answered by reading the row again: holding the stage is success.
 *
 * Returns where the stage went: 'domain-model', or 'option' (no model, unknown domain, a
 * stage the model does not have, `degraded` and `removed` included, or a move the model
 * does not take), or a WP_Error for trouble worth retrying (validation, a write that did
 * not land).
 *
 * @return string|\WP_Error
 */
function record_in_model( string $domain, string $stage ) {
	if ( ! function_exists( 'wu_get_domain_by_domain' ) || ! in_array( $stage, UM_STAGES, true ) ) {
		return 'option';
	}
	$model = wu_get_domain_by_domain( $domain );
	if ( ! $model || ! is_object( $model ) || ! method_exists( $model, 'set_stage' ) || ! method_exists( $model, 'get_stage' ) ) {
		return 'option';
	}
	if ( model_holds( $model, $stage ) ) {
		return 'domain-model';
	}
	$current = (string) $model->get_stage();
	if ( ! in_array( $stage, FORWARD[ $current ] ?? array(), true ) ) {
		log_message( sprintf( 'Stage of %s: %s kept in the bridge only; Ultimate Multisite keeps %s.', $domain, $stage, $current ) );
		return 'option';
	}
	$model->set_stage( $stage );
	// Ultimate Multisite marks a domain secure when its certificate checks out.
	if ( 'done' === $stage && method_exists( $model, 'set_secure' ) ) {
		$model->set_secure( true );
	}
	$saved = $model->save();
	if ( is_wp_error( $saved ) ) {
		return $saved;
	}
	if ( false === $saved ) {
		$again = wu_get_domain_by_domain( $domain );
		if ( ! $again || ! is_object( $again ) ) {
			return 'option'; // deleted meanwhile
		}
		if ( ! model_holds( $again, $stage ) ) {
			return new \WP_Error( 'domain_host_model', sprintf( 'The domain model did not save (it has %s).', (string) $again->get_stage() ) );
		}
	}
	return 'domain-model';
}

/** Whether the row has the stage already (and, for `done`, is marked secure). */
function model_holds( $model, string $stage ): bool {
	if ( (string) $model->get_stage() !== $stage ) {
		return false;
	}
	return 'done' !== $stage || ! method_exists( $model, 'is_secure' ) || (bool) $model->is_secure();
}

// ---------------------------------------------------------------------------------------
// Network admin page (Settings > Domain Host) and the migration export.
// ---------------------------------------------------------------------------------------

require_once __DIR__ . '/domain-host-bridge/admin.php';
require_once __DIR__ . '/domain-host-bridge/export.php';

// ---------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------

/** A network option read past the object cache (another process may have written it). */
function read_option( string $name ): array {
	wp_cache_delete( get_current_network_id() . ':' . $name, 'site-options' );
	$value = get_network_option( null, $name, array() );
	return is_array( $value ) ? $value : array();
}

/**
 * Runs $work under a MySQL named lock (waiting up to $wait seconds), so concurrent requests
 * do not lose each other's writes. Returns $work's result, or null when the lock was busy.
 */
function with_lock( string $lock, int $wait, callable $work ) {
	global $wpdb;
	$name = 'domain_host_' . $lock . '_' . get_current_network_id();
	if ( '1' !== (string) $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, %d)', $name, $wait ) ) ) {
		return null;
	}
	try {
		return $work();
	} finally {
		$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $name ) );
	}
}

/** Ultimate Multisite's log (wu-logs/integration-domain-host.log) when present. Never given a secret. */
function log_message( string $message, string $level = 'info' ): void {
	if ( function_exists( 'wu_log_add' ) ) {
		wu_log_add( LOG_HANDLE, $message, $level );
		return;
	}
	error_log( '[' . LOG_HANDLE . '] [' . strtoupper( $level ) . '] ' . $message ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions
}
