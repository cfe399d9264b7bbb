<?php
/**
 * One checker of a domain's DNS and certificate stage (bridge-review.md §2.3-2.4, F2).
 *
 * Ultimate Multisite checks each new domain itself: `Domain_Manager::async_process_domain_stage`
 * on the Action Scheduler hook `wu_async_process_domain_stage` (hooked `(10, 2)`,
 * `inc/managers/class-domain-manager.php`:155; enqueued by `wu_create_domain()`,
 * `inc/functions/domain.php`:90, and again by the admin and customer screens). It writes the
 * row's stage, gives up after about 25 minutes (`failed` / `ssl-failed`) and fires
 * `wu_domain_manager_dns_propagation_finished` when DNS is right (:808).
 *
 * The hand-over: once Ultimate Multisite has loaded, the bridge puts itself in place of that
 * callback. Each time the job runs:
 * - the service is configured (DOMAIN_HOST_URL, DOMAIN_HOST_TOKEN, an acceptable URL), checks
 *   stages (it has a [lifecycle]), and has answered within DOMAIN_HOST_CHECKER_SILENCE (30
 *   minutes by default) or answers now: the service checks. Ultimate Multisite's check does not run (no stage moves); the bridge
 *   asks the service to verify the domain now (`POST /v1/domains/{domain}/verify`), and the
 *   stage arrives by the service's callback, which the bridge writes forward-only and on which
 *   it fires the hooks Ultimate Multisite's checker would (record_in_model());
 * - otherwise (not configured, or silent for longer): Ultimate Multisite's own check runs,
 *   exactly as without the bridge.
 *
 * @package DomainHost\Bridge
 */

namespace DomainHost\Bridge;

defined( 'ABSPATH' ) || exit;

const UM_MANAGER   = 'WP_Ultimo\\Managers\\Domain_Manager';
const UM_STAGE_JOB = 'wu_async_process_domain_stage';

/**
 * Replaces Ultimate Multisite's stage-check callback by the bridge's dispatcher (once; UM
 * creates its Domain_Manager when its plugin file loads, after the must-use plugins).
 */
function take_over_stage_checks(): void {
	static $done = false;
	if ( $done || ! class_exists( UM_MANAGER ) || ! method_exists( UM_MANAGER, 'get_instance' ) || ! method_exists( UM_MANAGER, 'async_process_domain_stage' ) ) {
		return;
	}
	$manager = call_user_func( array( UM_MANAGER, 'get_instance' ) );
	$um      = array( $manager, 'async_process_domain_stage' );
	$at      = has_action( UM_STAGE_JOB, $um );
	if ( false === $at ) {
		return;
	}
	$done = true;
	remove_action( UM_STAGE_JOB, $um, $at );
	add_action(
		UM_STAGE_JOB,
		static function ( $domain_id, $tries = 0 ) use ( $um ) {
			process_domain_stage( $um, $domain_id, $tries );
		},
		$at,
		2
	);
}
add_action( 'plugins_loaded', __NAMESPACE__ . '\\take_over_stage_checks', 20 );
add_action( 'init', __NAMESPACE__ . '\\take_over_stage_checks', 0 );

/**
 * Ultimate Multisite's stage job, run by the one checker: the service, or (when it is not
 * configured or has been silent too long) Ultimate Multisite's own check.
 */
function process_domain_stage( callable $um, $domain_id, $tries ): void {
	$domain = function_exists( 'wu_get_domain' ) ? wu_get_domain( $domain_id ) : false;
	$name   = $domain && is_object( $domain ) && method_exists( $domain, 'get_domain' ) ? strtolower( (string) $domain->get_domain() ) : '';
	if ( '' === $name || ! service_checks_stages( $name ) ) {
		call_user_func( $um, $domain_id, $tries );
		return;
	}
	log_message( sprintf( 'Stage check of %s: domain-host checks it (Ultimate Multisite\'s own check was not run).', $name ) );
}

/**
 * Whether the service is the checker now. Asks it to verify the domain, which also tells
 * whether it answers now and whether it checks stages at all:
 * - 200 (the domain's status) or 404 (not known yet: the add-domain event is on its way):
 *   the service checks;
 * - 409 (the service has no [lifecycle]: it checks no stage) or 400 (a name it will not
 *   check): Ultimate Multisite's own check runs;
 * - no answer: the service checks if it answered within DOMAIN_HOST_CHECKER_SILENCE.
 */
function service_checks_stages( string $domain ): bool {
	if ( is_wp_error( service_url() ) ) {
		return false;
	}
	$response = call_service( 'POST', '/v1/domains/' . rawurlencode( $domain ) . '/verify', array( 'timeout' => 10 ) );
	if ( ! is_wp_error( $response ) ) {
		$status = (int) wp_remote_retrieve_response_code( $response );
		$json   = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		$error  = is_array( $json ) && isset( $json['error'] ) && is_string( $json['error'] ) ? $json['error'] : null;
		if ( ( 200 === $status && is_array( $json ) ) || ( 404 === $status && null !== $error ) ) {
			mark_service_answered();
			return true;
		}
		if ( in_array( $status, array( 400, 409 ), true ) && null !== $error ) {
			mark_service_answered();
			log_message( sprintf( 'Stage check of %s: the service does not check it (HTTP %d: %s); Ultimate Multisite\'s own check runs.', $domain, $status, $error ), 'warning' );
			return false;
		}
	}
	$silent = service_silent_for();
	if ( $silent > checker_silence() ) {
		log_message( sprintf( 'Stage check of %s: the service has not answered for %s; Ultimate Multisite\'s own check runs.', $domain, PHP_INT_MAX === $silent ? 'ever' : human_time_diff( time() - $silent ) ), 'warning' );
		return false;
	}
	return true;
}
