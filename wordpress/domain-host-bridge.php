<?php
/**
 * Plugin Name: Domain Host Bridge
 * Description: Sends Ultimate Multisite's domain events to `domain-host serve` (nothing is lost while it is down), records the domain stages it reports back, and lets it be the one checker of domain stages while it answers.
 * Version:     0.2.0
 * Requires PHP: 8.1
 * Network:     true
 * License:     GPL-2.0-or-later
 *
 * A must-use plugin: copy this file and the folder `domain-host-bridge/` beside it to
 * wp-content/mu-plugins/. Configuration, in wp-config.php:
 *
 *   define( 'DOMAIN_HOST_URL', 'http://127.0.0.1:8787' );           // the service (http:// only on loopback);
 *                                                                   // several, comma-separated: failover
 *   define( 'DOMAIN_HOST_TOKEN', '...' );                            // its [service] token
 *   define( 'DOMAIN_HOST_CALLBACK_SECRET', '...' );                  // its callback_secret
 *   define( 'DOMAIN_HOST_CHECKER_SILENCE', 1800 );                   // optional, seconds (default 30 minutes)
 *
 * How it works:
 * - Each of `wu_add_domain`, `wu_remove_domain`, `wu_add_subdomain`, `wu_remove_subdomain`
 *   ($domain, $site_id) becomes an event with its own Idempotency-Key (this install's random
 *   id and a random part: never repeated, not even by a database restored from a backup). The
 *   event is first written to the bridge's table `{base_prefix}domain_host_events` (one row
 *   per event), then posted to POST /v1/events; it leaves the queue once the service accepts it
 *   (2xx with its event id `{"id": ...}`) or refuses it for good (400/409 with its JSON
 *   `{"error": ...}`, logged). Anything else (unreachable, 3xx, 5xx, 429, a proxy's 4xx, a 2xx
 *   without an id) keeps it queued and retries with backoff. Events are sent in the order they
 *   happened: a queued event holds back the ones after it.
 * - A domain renamed in Ultimate Multisite is `remove-domain` of the old name (UM itself then
 *   sends `wu_add_domain` for the new one); a domain moved to another site is `remove-domain`
 *   from the old site and `add-domain` to the new one.
 * - A subdomain site's own host is one event: the `add-domain` / `remove-domain` doubles
 *   Ultimate Multisite fires beside `wu_add_subdomain` / `wu_remove_subdomain` are folded.
 * - Delivery runs through Action Scheduler in the main site (where UM keeps its jobs),
 *   checked and scheduled under one lock; WP-Cron when Action Scheduler is absent or returns 0.
 *   At most once a minute, any request schedules a run when events wait and none is scheduled.
 * - POST /wp-json/domain-host/v1/stage receives the service's signed stage callbacks
 *   (X-Domain-Host-Timestamp, X-Domain-Host-Signature: sha256=HMAC(secret, "ts.body"),
 *   300 s window) and records the stage in the table `{base_prefix}domain_host_stages` (one row
 *   per domain; `removed` rows pruned after 7 days) and, when Ultimate Multisite's domain
 *   model is active, in it as a forward-only compare-and-set (see FORWARD): a live `done`
 *   never goes back to `checking-*`. Refused callbacks are logged at most once a minute.
 * - One checker (domain-host-bridge/checker.php): while the service is configured and has
 *   answered within DOMAIN_HOST_CHECKER_SILENCE, Ultimate Multisite's own stage job
 *   (`wu_async_process_domain_stage`) moves no stage: the bridge asks the service to verify
 *   the domain instead, and fires `wu_domain_manager_dns_propagation_finished` when the
 *   service's callback moves a row past `checking-dns`, as UM's checker does. When the service
 *   has been silent longer, UM's own check runs as before.
 * - Several service instances (DOMAIN_HOST_URL a comma-separated list): on a connection error
 *   or a 5xx the next is tried; the one that answered is tried first next time
 *   (domain-host-bridge/service.php).
 * - Named locks carry this install's random id (MySQL named locks are server-wide).
 * - Network Admin > Settings > Domain Host lists the service's domains with stage and
 *   diagnosis, and the events still queued here.
 *
 * @package DomainHost\Bridge
 */

namespace DomainHost\Bridge;

defined( 'ABSPATH' ) || exit;

const LOG_HANDLE    = 'integration-domain-host';
const SUBS_OPTION   = 'domain_host_subdomains';
const DELIVER_HOOK  = 'domain_host_deliver';
const ACCEPT_HOOK   = 'domain_host_accept';
const AS_GROUP      = 'domain-host';
const MAX_SKEW      = 300;
const BASE_DELAY    = 30;
const MAX_DELAY     = 600;
const REFUSALS_OPTION = 'domain_host_refusals';

require_once __DIR__ . '/domain-host-bridge/storage.php';
require_once __DIR__ . '/domain-host-bridge/service.php';
require_once __DIR__ . '/domain-host-bridge/scheduling.php';
require_once __DIR__ . '/domain-host-bridge/checker.php';

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
 * `removed`; those two, and any stage a later service adds, go to the bridge's table only.
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
// An event that could not be queued at once (the table was not ready) comes back here.
add_action(
	ACCEPT_HOOK,
	static function ( $event, $domain, $site_id, $key = '' ) {
		accept_event( (string) $event, (string) $domain, (int) $site_id, (string) $key );
	},
	10,
	4
);

/*
 * Renames (bridge-review.md F9). Ultimate Multisite's `send_domain_to_host` (on BerlinDB's
 * `wu_transition_domain_domain`, `class-domain-manager.php`:157, :718-744) enqueues
 * `wu_add_domain` for the new name and nothing for the old one. BerlinDB fires the transition
 * with the old value `'new'` on an insert (BDB `Query.php`:2264-2272): any other old value is
 * a rename, and the old name is removed (queued before UM's job for the new name runs).
 */
add_action(
	'wu_transition_domain_domain',
	static function ( $old, $new, $item_id ) {
		if ( ! is_string( $old ) || in_array( $old, array( 'new', '' ), true ) || strtolower( $old ) === strtolower( (string) $new ) ) {
			return;
		}
		$site_id = 0;
		$model   = function_exists( 'wu_get_domain' ) ? wu_get_domain( $item_id ) : false;
		if ( $model && is_object( $model ) && method_exists( $model, 'get_site_id' ) ) {
			$site_id = (int) $model->get_site_id();
		}
		accept_event( 'remove-domain', strtolower( $old ), $site_id );
	},
	10,
	3
);

/*
 * A domain moved to another site: `blog_id` is not a transition column
 * (`class-domains-schema.php`), so UM fires nothing for the service. After the save
 * (`wu_domain_post_save`, `class-base-model.php` `save()`), the model's original values
 * (`_get_original()`) tell the old site: remove there, add to the new one.
 */
add_action(
	'wu_domain_post_save',
	static function ( $data, $model, $is_new = false ) {
		if ( $is_new || ! is_object( $model ) || ! method_exists( $model, '_get_original' ) || ! method_exists( $model, 'get_site_id' ) || ! method_exists( $model, 'get_domain' ) ) {
			return;
		}
		$original = (array) $model->_get_original();
		$name     = strtolower( (string) $model->get_domain() );
		$before   = (int) ( $original['blog_id'] ?? 0 );
		$after    = (int) $model->get_site_id();
		if ( ! $before || $before === $after || strtolower( (string) ( $original['domain'] ?? $name ) ) !== $name ) {
			return; // unchanged, or a rename (the transition above and UM's own add carry it)
		}
		accept_event( 'remove-domain', $name, $before );
		accept_event( 'add-domain', $name, $after );
	},
	10,
	3
);

/**
 * A new idempotency key: this install's random id and 96 random bits. Never derived from
 * Action Scheduler ids, which repeat after a database restore (security review F16).
 */
function new_event_key(): string {
	$install = install_id();
	return 'wp-' . ( null === $install ? '' : substr( $install, 0, 12 ) . '-' ) . bin2hex( random_bytes( 12 ) );
}

/**
 * Queues one event durably, then tries to deliver the queue at once.
 */
function accept_event( string $event, string $domain, int $site_id, string $key = '' ): void {
	if ( '' === $domain || strlen( $domain ) > 253 ) {
		// No host name is longer (RFC 1035); the service would refuse it for good.
		log_message( sprintf( 'Dropped %s of a %d-character name (site %d): not a host name.', $event, strlen( $domain ), $site_id ), 'error' );
		return;
	}
	if ( is_subdomain_double( $event, $domain, $site_id ) ) {
		log_message( sprintf( 'Folded %s %s (site %d) into its subdomain event: the same host, already sent as a subdomain.', $event, $domain, $site_id ) );
		return;
	}
	$entry = array(
		'key'     => '' === $key ? new_event_key() : $key,
		'event'   => $event,
		'domain'  => $domain,
		'site_id' => $site_id,
		'queued'  => time(),
	);
	// `www.<domain>` mapped as a domain of its own stays when <domain> goes: the service
	// is told, so no panel removes it with the domain.
	if ( 'remove-domain' === $event && www_mapped( $domain ) ) {
		$entry['www_mapped'] = true;
	}
	if ( ! queue_insert( $entry ) ) {
		// Not stored now (the table is not ready): the event comes back through the
		// scheduler with its key, never dropped and never written past the set-up.
		log_message( "Could not queue $event $domain now; it is scheduled to be queued again.", 'error' );
		in_main_site(
			static function () use ( $entry ) {
				wp_schedule_single_event( time() + BASE_DELAY, ACCEPT_HOOK, array( $entry['event'], $entry['domain'], $entry['site_id'], $entry['key'] ) );
			}
		);
		return;
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
 * next attempt); drops those the service refuses for good. One sender at a time: when the
 * sender's lock is not granted (another request is sending), this returns at once and
 * leaves it to that one (and to a scheduled run).
 */
function deliver_queue(): void {
	$sent = with_lock(
		'deliver',
		0,
		static function () {
			while ( true ) {
				$head = queue_head();
				if ( ! $head ) {
					return true;
				}
				$outcome = post_event( $head );
				if ( 'retry' !== $outcome['result'] ) {
					queue_remove( $head['id'] );
					continue;
				}
				$attempts = queue_note_failure( $head['id'], $outcome['message'] );
				schedule_delivery( retry_delay( $attempts, $outcome['retry_after'] ?? null ) );
				return true;
			}
		}
	);
	if ( null === $sent && queue_length() > 0 ) {
		schedule_delivery( BASE_DELAY ); // a safety net if the running sender just finished
	}
}

/**
 * "Retry now" for one queued event (the operator page): the queue is sent now, from its head
 * (an event never overtakes the ones queued before it, so retrying one sends those first).
 * False, with nothing done, when no event with that id is queued; true once a delivery ran
 * (or another request holds the sender's lock and is sending). Whether the event left the
 * queue, queued_events() tells (a service still down keeps it, with its last error).
 */
function retry_queued_event( int $id ): bool {
	if ( null === queued_event( $id ) ) {
		return false;
	}
	deliver_queue();
	return true;
}

/**
 * Posts one event. Returns ['result' => 'sent'|'dropped'|'retry', 'message' => ..., 'retry_after' => ?int].
 *
 * Only the service's own answers end an event (security review F3): a 2xx with its event id
 * (`{"id": ...}`), or its refusal, 400/409 with a JSON `{"error": ...}`. A redirect (never
 * followed: it would carry the token), a proxy's error page or a 2xx from something else
 * keeps the event and says so.
 */
function post_event( array $entry ): array {
	$describe = sprintf( '%s %s (site %d, key %s)', $entry['event'], $entry['domain'], $entry['site_id'], $entry['key'] );
	$response = call_service(
		'POST',
		'/v1/events',
		array(
			'headers' => array(
				'Content-Type'    => 'application/json',
				'Idempotency-Key' => $entry['key'],
			),
			'body'    => wp_json_encode(
				array(
					'event'   => $entry['event'],
					'domain'  => $entry['domain'],
					'site_id' => (int) $entry['site_id'],
				) + ( empty( $entry['www_mapped'] ) ? array() : array( 'www_mapped' => true ) )
			),
		)
	);
	if ( is_wp_error( $response ) && in_array( $response->get_error_code(), array( 'domain_host_not_configured', 'domain_host_bad_url', 'domain_host_cleartext' ), true ) ) {
		$message = $response->get_error_message();
		log_message( "Kept $describe: $message.", 'error' );
		return array( 'result' => 'retry', 'message' => $message );
	}
	if ( is_wp_error( $response ) ) {
		$message = 'service unreachable: ' . $response->get_error_message();
		log_message( "Kept $describe, will retry: $message.", 'warning' );
		return array( 'result' => 'retry', 'message' => $message );
	}
	$status = (int) wp_remote_retrieve_response_code( $response );
	$body   = (string) wp_remote_retrieve_body( $response );
	$json   = json_decode( $body, true );
	if ( $status >= 200 && $status < 300 && is_array( $json ) && isset( $json['id'] ) && is_scalar( $json['id'] ) ) {
		mark_service_answered();
		$id = (string) $json['id'];
		log_message( 202 === $status ? "Sent $describe: accepted as event $id." : "Sent $describe: the service already had it (event $id)." );
		return array( 'result' => 'sent', 'message' => '' );
	}
	$reason = is_array( $json ) && isset( $json['error'] ) ? ( is_string( $json['error'] ) ? $json['error'] : wp_json_encode( $json['error'] ) ) : null;
	if ( in_array( $status, array( 400, 409 ), true ) && null !== $reason ) {
		mark_service_answered();
		$message = sprintf( 'HTTP %d: %s', $status, $reason );
		log_message( "Dropped $describe, the service refused it: $message.", 'error' );
		return array( 'result' => 'dropped', 'message' => $message );
	}
	if ( $status >= 200 && $status < 300 ) {
		$message = sprintf( 'HTTP %d without an event id: not the service\'s answer (check DOMAIN_HOST_URL)', $status );
	} elseif ( $status >= 300 && $status < 400 ) {
		$message = sprintf( 'HTTP %d redirect (not followed: it would carry the token; set DOMAIN_HOST_URL to where it points)', $status );
	} else {
		$message = sprintf( 'HTTP %d: %s', $status, $reason ?? substr( wp_strip_all_tags( $body ), 0, 200 ) );
	}
	// Worth waiting for: the service is busy or down, or a configuration to fix (wrong
	// token, URL or proxy) after which the event succeeds.
	$retry_after = wp_remote_retrieve_header( $response, 'retry-after' );
	log_message( "Kept $describe, will retry: $message.", $status >= 500 || 429 === $status ? 'warning' : 'error' );
	return array(
		'result'      => 'retry',
		'message'     => $message,
		'retry_after' => is_numeric( $retry_after ) ? (int) $retry_after : null,
	);
}

/** Backoff: 30 s, 60 s, 120 s, ... up to 10 minutes; Retry-After when the service sends one. */
function retry_delay( int $attempts, ?int $retry_after ): int {
	$delay = min( MAX_DELAY, BASE_DELAY * ( 2 ** min( 10, max( 0, $attempts - 1 ) ) ) );
	if ( null !== $retry_after && $retry_after > 0 ) {
		$delay = min( MAX_DELAY, max( $delay, $retry_after ) );
	}
	return (int) apply_filters( 'domain_host_bridge_retry_delay', $delay, $attempts );
}

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
		log_refusal( 'DOMAIN_HOST_CALLBACK_SECRET is not defined in wp-config.php', 'error' );
		// 503: the service keeps the callback and retries once this is configured.
		return new \WP_Error( 'domain_host_not_configured', 'The callback secret is not configured.', array( 'status' => 503 ) );
	}
	$timestamp = (string) $request->get_header( 'x-domain-host-timestamp' );
	$signature = (string) $request->get_header( 'x-domain-host-signature' );
	if ( ! ctype_digit( $timestamp ) || abs( time() - (int) $timestamp ) > MAX_SKEW ) {
		log_refusal( 'missing or stale timestamp' );
		return new \WP_Error( 'domain_host_stale', 'Missing or stale timestamp.', array( 'status' => 401 ) );
	}
	$expected = 'sha256=' . hash_hmac( 'sha256', $timestamp . '.' . $request->get_body(), $secret );
	if ( ! hash_equals( $expected, $signature ) ) {
		log_refusal( 'bad signature' );
		return new \WP_Error( 'domain_host_bad_signature', 'Bad signature.', array( 'status' => 401 ) );
	}
	return true;
}

/**
 * Refused callbacks are unauthenticated: anyone can send them. One log line a minute at
 * most, with the count of those not logged since (security review F17).
 */
function log_refusal( string $why, string $level = 'warning' ): void {
	// Once per request: WordPress asks the permission callback again for the Allow header
	// (`rest_send_allow_header`).
	static $counted = false;
	if ( $counted ) {
		return;
	}
	$counted = true;
	$window = fresh_network_option( REFUSALS_OPTION, array() );
	$window = is_array( $window ) ? $window : array();
	if ( (int) ( $window['logged'] ?? 0 ) > time() - 60 ) {
		$window['count'] = (int) ( $window['count'] ?? 0 ) + 1;
		update_network_option( null, REFUSALS_OPTION, $window );
		return;
	}
	$more = (int) ( $window['count'] ?? 0 );
	log_message( sprintf( 'Refused a stage callback: %s.%s', $why, $more ? sprintf( ' (%d more refused since the last line.)', $more ) : '' ), $level );
	update_network_option(
		null,
		REFUSALS_OPTION,
		array(
			'logged' => time(),
			'count'  => 0,
		)
	);
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
	if ( '' === $domain || strlen( $domain ) > 253 || ! preg_match( '/^[\x21-\x7e]+$/', $domain ) || ! preg_match( '/^[a-z][a-z-]{0,39}$/', $stage ) ) {
		return new \WP_Error( 'domain_host_bad_callback', 'A callback needs a domain and a stage.', array( 'status' => 400 ) );
	}
	mark_service_answered();
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
	$result = ensure_tables() ? with_lock(
		'stage_' . substr( md5( $domain ), 0, 16 ),
		10,
		static function () use ( $domain, $stage, $record ) {
			$last = stage_record( $domain );
			if ( $last && null !== $record['delivery'] && null !== $last['delivery']
				&& $record['delivery'] <= $last['delivery'] && (string) $record['changed_at'] <= (string) ( $last['changed_at'] ?? '' ) ) {
				return array( 'already', $last['model'] );
			}
			$model = record_in_model( $domain, $stage );
			if ( is_wp_error( $model ) ) {
				return $model;
			}
			$record['model'] = $model;
			if ( ! put_stage_record( $domain, $record ) ) {
				return new \WP_Error( 'domain_host_table', 'the stage table could not be written' );
			}
			return array( 'recorded', $model );
		}
	) : new \WP_Error( 'domain_host_table', 'the bridge\'s tables are not ready' );
	if ( null === $result ) {
		$result = new \WP_Error( 'domain_host_busy', 'the stage lock was not granted' );
	}
	if ( is_wp_error( $result ) ) {
		log_message( "Stage $stage for $domain not recorded: " . $result->get_error_message() . '.', 'error' );
		// 503: transient (busy, a database error); the service retries.
		return new \WP_Error( 'domain_host_not_recorded', 'The stage could not be recorded.', array( 'status' => 503 ) );
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
 * Anything else stays in the bridge's record (its table) only.
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
 * - the row already has the stage (and `secure` for `done`): nothing to write (no save());
 * - a move FORWARD allows: set_stage (+ set_secure on done), save;
 * - any other move (e.g. `done` → `checking-dns`): the model keeps its stage.
 * `save()` is `false` when the row did not change (BerlinDB `update_item()` "nothing to
 * save"), so a `false` is answered by reading the row again: holding the stage is success.
 * A move out of `checking-dns` to `checking-ssl-cert` or `done` fires
 * `wu_domain_manager_dns_propagation_finished` with the model, as UM's checker does when DNS
 * is right (`class-domain-manager.php`:808): its listeners (e.g. Cloudways) still run while the
 * service is the checker.
 *
 * Returns where the stage went: 'domain-model', or 'option' (the bridge's own record only:
 * no model, unknown domain, a stage the model does not have, `degraded` and `removed`
 * included, or a move the model does not take), or a WP_Error for trouble worth retrying
 * (validation, a write that did not land).
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
	if ( 'checking-dns' === $current && in_array( $stage, array( 'checking-ssl-cert', 'done' ), true ) ) {
		do_action( 'wu_domain_manager_dns_propagation_finished', $model );
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

/**
 * The service's diagnosis as lines (the stage records keep them; the operator page shows them).
 *
 * @return string[]
 */
function diagnosis_lines( $diagnosis ): array {
	if ( is_string( $diagnosis ) ) {
		return '' === $diagnosis ? array() : array( $diagnosis );
	}
	if ( ! is_array( $diagnosis ) ) {
		return array();
	}
	return array_values( array_map( 'strval', array_filter( $diagnosis, 'is_scalar' ) ) );
}

// ---------------------------------------------------------------------------------------
// Network admin page (Settings > Domain Host) and the migration export.
// ---------------------------------------------------------------------------------------

require_once __DIR__ . '/domain-host-bridge/admin.php';
require_once __DIR__ . '/domain-host-bridge/export.php';

// ---------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------

/**
 * A network option read past the object cache (another process may have written it). The
 * queue and the stage records are in the bridge's tables since 0.2 (storage.php).
 */
function read_option( string $name ): array {
	$value = fresh_network_option( $name, array() );
	return is_array( $value ) ? $value : array();
}

/** Ultimate Multisite's log (wu-logs/integration-domain-host.log) when present. Never given a secret. */
function log_message( string $message, string $level = 'info' ): void {
	if ( function_exists( 'wu_log_add' ) ) {
		wu_log_add( LOG_HANDLE, $message, $level );
		return;
	}
	error_log( '[' . LOG_HANDLE . '] [' . strtoupper( $level ) . '] ' . $message ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions
}
