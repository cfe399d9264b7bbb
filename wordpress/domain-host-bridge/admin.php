<?php
/**
 * The operator's page: Network Admin > Settings > Domain Host.
 *
 * What it shows comes from the service (`GET /v1/domains`, `GET /v1/integrations`): every
 * domain with its stage, each name's DNS and certificate state and the diagnosis in the
 * service's words, the last and next check; each integration; and the events still queued
 * here (the bridge's events table). Its buttons: "Check now" (`POST /v1/domains/{d}/verify`),
 * "Test" (`POST /v1/integrations/{id}/test`), "Retry now" (the local queue) and the migration
 * export (export.php). Every action checks a nonce and `manage_network` before it does
 * anything; nothing secret is ever written into the page, and everything is escaped.
 *
 * @package DomainHost\Bridge
 */

namespace DomainHost\Bridge;

defined( 'ABSPATH' ) || exit;

const ADMIN_SLUG = 'domain-host';

/** The page's actions; each has its own nonce action `domain-host-<name>`. */
const ADMIN_ACTIONS = array( 'check', 'test', 'retry', 'export' );

add_action(
	'network_admin_menu',
	static function () {
		$hook = add_submenu_page( 'settings.php', 'Domain Host', 'Domain Host', 'manage_network', ADMIN_SLUG, __NAMESPACE__ . '\\render_admin_page' );
		if ( $hook ) {
			// Before any output: a download sends its own headers, a result is kept for the page.
			add_action( 'load-' . $hook, __NAMESPACE__ . '\\handle_admin_request' );
		}
	}
);

/** The outcome of the action posted with this request, shown at the top of the page. */
$GLOBALS['domain_host_bridge_admin_result'] = null;

/** The page's POST, on its load hook: an export is sent as a download, anything else kept for render. */
function handle_admin_request(): void {
	if ( 'POST' !== ( $_SERVER['REQUEST_METHOD'] ?? '' ) || ! isset( $_POST['domain_host_action'] ) ) {
		return;
	}
	$result = handle_admin_action( wp_unslash( $_POST ) );
	if ( isset( $result['download'] ) ) {
		send_download( $result['download'] );
		exit;
	}
	$GLOBALS['domain_host_bridge_admin_result'] = $result;
}

/**
 * One of the page's actions. Refused, with nothing done, without `manage_network` or
 * without the action's nonce.
 *
 * @param array $post The form fields (unslashed).
 * @return array{ok: bool, message: string, lines?: string[], download?: array}
 */
function handle_admin_action( array $post ): array {
	$action = is_string( $post['domain_host_action'] ?? null ) ? $post['domain_host_action'] : '';
	if ( ! in_array( $action, ADMIN_ACTIONS, true ) ) {
		return array(
			'ok'      => false,
			'message' => 'Unknown action.',
		);
	}
	if ( ! current_user_can( 'manage_network' ) ) {
		return array(
			'ok'      => false,
			'message' => 'Sorry, you are not allowed to do that.',
		);
	}
	$nonce = is_string( $post['_wpnonce'] ?? null ) ? $post['_wpnonce'] : '';
	if ( ! wp_verify_nonce( $nonce, 'domain-host-' . $action ) ) {
		return array(
			'ok'      => false,
			'message' => 'The link has expired or is not valid; reload the page and try again.',
		);
	}
	$arg = is_string( $post['target'] ?? null ) ? trim( $post['target'] ) : '';
	switch ( $action ) {
		case 'check':
			return check_now( $arg );
		case 'test':
			return test_integration( $arg );
		case 'retry':
			$id = ctype_digit( $arg ) ? (int) $arg : 0;
			$ok = $id > 0 && retry_now( $id );
			return array(
				'ok'      => $ok,
				'message' => $ok ? 'The queued events were sent again now: see the queue below.' : 'No such queued event.',
			);
		case 'export':
			return array(
				'ok'       => true,
				'message'  => '',
				'download' => export_download( 'env' === $arg ? 'env' : 'toml' ),
			);
	}
	return array(
		'ok'      => false,
		'message' => 'Unknown action.',
	);
}

// ---------------------------------------------------------------------------------------
// The service.
// ---------------------------------------------------------------------------------------

/**
 * One request to the service through the bridge's one transport (call_service() in
 * service.php: the token never follows a redirect, never goes in clear to another machine).
 *
 * @return array{status: int, json: mixed, error: ?string}
 */
function service_request( string $method, string $path ): array {
	$response = call_service( $method, $path, array( 'timeout' => 'GET' === $method ? 10 : 60 ) );
	if ( is_wp_error( $response ) ) {
		// The bridge's own refusals (not configured, a URL it will not send the token to)
		// say why; anything else is the network's.
		$own = 0 === strpos( (string) $response->get_error_code(), 'domain_host_' );
		return array(
			'status' => 0,
			'json'   => null,
			'error'  => $own ? $response->get_error_message() . '.' : 'The service is unreachable: ' . $response->get_error_message(),
		);
	}
	$status = (int) wp_remote_retrieve_response_code( $response );
	$json   = json_decode( (string) wp_remote_retrieve_body( $response ), true );
	$error  = null;
	if ( $status < 200 || $status >= 300 ) {
		$reason = is_array( $json ) && is_string( $json['error'] ?? null ) ? ': ' . $json['error'] : '.';
		$error  = sprintf( 'The service answered HTTP %d%s', $status, $reason );
	}
	return array(
		'status' => $status,
		'json'   => $json,
		'error'  => $error,
	);
}

/**
 * The service's domains (GET /v1/domains), each as the service reports it.
 *
 * @return array{domains: array, error: ?string}
 */
function fetch_domains(): array {
	$answer = service_request( 'GET', '/v1/domains' );
	if ( $answer['error'] || ! is_array( $answer['json'] ) ) {
		return array(
			'domains' => array(),
			'error'   => $answer['error'] ?? 'The service answered something that is not a list.',
		);
	}
	$list = isset( $answer['json']['domains'] ) && is_array( $answer['json']['domains'] ) ? $answer['json']['domains'] : $answer['json'];
	return array(
		'domains' => array_values( array_filter( $list, 'is_array' ) ),
		'error'   => null,
	);
}

/**
 * The service's integrations (GET /v1/integrations).
 *
 * @return array{integrations: array, error: ?string}
 */
function fetch_integrations(): array {
	$answer = service_request( 'GET', '/v1/integrations' );
	if ( $answer['error'] || ! is_array( $answer['json'] ) ) {
		return array(
			'integrations' => array(),
			'error'        => $answer['error'] ?? 'The service answered something that is not a list.',
		);
	}
	return array(
		'integrations' => array_values( array_filter( $answer['json'], 'is_array' ) ),
		'error'        => null,
	);
}

/** "Check now": the service checks the domain at once (POST /v1/domains/{d}/verify). */
function check_now( string $domain ): array {
	$domain = strtolower( $domain );
	if ( '' === $domain || ! preg_match( '/^[a-z0-9*][a-z0-9.*-]{0,252}$/', $domain ) ) {
		return array(
			'ok'      => false,
			'message' => 'Not a domain name.',
		);
	}
	$answer = service_request( 'POST', '/v1/domains/' . rawurlencode( $domain ) . '/verify' );
	if ( $answer['error'] || ! is_array( $answer['json'] ) ) {
		return array(
			'ok'      => false,
			'message' => sprintf( 'Checking %s failed. %s', $domain, $answer['error'] ?? '' ),
		);
	}
	mark_service_answered(); // the service answered as itself (checker.php's hand-over counts it)
	return array(
		'ok'      => true,
		'message' => sprintf( 'Checked %s now: stage %s.', $domain, (string) ( $answer['json']['stage'] ?? '?' ) ),
		'lines'   => diagnosis_lines( $answer['json']['diagnosis'] ?? array() ),
	);
}

/** "Test": the integration's connection test (POST /v1/integrations/{id}/test). */
function test_integration( string $id ): array {
	if ( ! preg_match( '/^[a-z0-9][a-z0-9_-]{0,63}$/', $id ) ) {
		return array(
			'ok'      => false,
			'message' => 'Not an integration id.',
		);
	}
	$answer = service_request( 'POST', '/v1/integrations/' . rawurlencode( $id ) . '/test' );
	if ( $answer['error'] || ! is_array( $answer['json'] ) ) {
		return array(
			'ok'      => false,
			'message' => sprintf( 'Testing %s failed. %s', $id, $answer['error'] ?? '' ),
		);
	}
	$lines = array();
	$ok    = (bool) ( $answer['json']['ok'] ?? false );
	foreach ( (array) ( $answer['json']['integrations'] ?? array() ) as $report ) {
		if ( ! is_array( $report ) ) {
			continue;
		}
		$ok = $ok && ! empty( $report['ok'] );
		foreach ( (array) ( $report['notes'] ?? array() ) as $note ) {
			if ( is_scalar( $note ) ) {
				$lines[] = (string) $note;
			}
		}
		if ( is_array( $report['error'] ?? null ) && is_string( $report['error']['message'] ?? null ) ) {
			$lines[] = $report['error']['message'];
		}
	}
	return array(
		'ok'      => $ok,
		'message' => $ok ? sprintf( 'Test of %s: the connection works.', $id ) : sprintf( 'Test of %s: FAILED.', $id ),
		'lines'   => $lines,
	);
}

// ---------------------------------------------------------------------------------------
// The local queue.
// ---------------------------------------------------------------------------------------

/**
 * The events waiting here, oldest first: the bridge's events table (queued_events()). Each
 * waits for the next delivery run, which sends the queue from its head.
 *
 * @return array<int, array{id: int, event: string, domain: string, site_id: int, attempts: int, next_attempt: ?int, last_error: string}>
 */
function queue_rows(): array {
	$next = next_delivery();
	$rows = array();
	foreach ( queued_events() as $row ) {
		$rows[] = array(
			'id'           => (int) $row['id'],
			'event'        => (string) $row['event'],
			'domain'       => (string) $row['domain'],
			'site_id'      => (int) $row['site_id'],
			'attempts'     => (int) $row['attempts'],
			'next_attempt' => $next,
			'last_error'   => (string) ( $row['last_error'] ?? '' ),
		);
	}
	return $rows;
}

/**
 * "Retry now" for one queued event: retry_queued_event() sends the queue now, from its head
 * (an event never overtakes the ones queued before it). False when no such event waits.
 */
function retry_now( int $id ): bool {
	return retry_queued_event( $id );
}

/**
 * When the next delivery run is scheduled (unix time), if one is: in the main site, where
 * the bridge schedules it (scheduling.php).
 */
function next_delivery(): ?int {
	return in_main_site(
		static function () {
			if ( function_exists( 'as_next_scheduled_action' ) ) {
				$next = as_next_scheduled_action( DELIVER_HOOK, array(), AS_GROUP );
				if ( is_int( $next ) ) {
					return $next;
				}
			}
			$next = wp_next_scheduled( DELIVER_HOOK );
			return false === $next ? null : (int) $next;
		}
	);
}

/**
 * The bridge's last recorded callback per domain (its stages table).
 *
 * @return array<string, array>
 */
function local_stages(): array {
	return recorded_stages();
}

// ---------------------------------------------------------------------------------------
// The page.
// ---------------------------------------------------------------------------------------

/** A POST button for one action of the page, with its nonce. */
function action_button( string $action, string $target, string $label, string $class = 'button' ): string {
	return '<form method="post" action="' . esc_url( network_admin_url( 'settings.php?page=' . ADMIN_SLUG ) ) . '" style="display:inline">'
		. wp_nonce_field( 'domain-host-' . $action, '_wpnonce', false, false )
		. '<input type="hidden" name="domain_host_action" value="' . esc_attr( $action ) . '">'
		. '<input type="hidden" name="target" value="' . esc_attr( $target ) . '">'
		. '<button type="submit" class="' . esc_attr( $class ) . '" data-action="' . esc_attr( $action ) . '" data-target="' . esc_attr( $target ) . '">' . esc_html( $label ) . '</button>'
		. '</form>';
}

/** A service timestamp (RFC 3339) or unix time, shown in UTC. */
function show_time( $value ): string {
	if ( null === $value || '' === $value ) {
		return '—';
	}
	$unix = is_int( $value ) ? $value : strtotime( (string) $value );
	return false === $unix ? (string) $value : gmdate( 'Y-m-d H:i:s', $unix ) . ' UTC';
}

function render_admin_page(): void {
	if ( ! current_user_can( 'manage_network' ) ) {
		wp_die( esc_html__( 'Sorry, you are not allowed to access this page.' ) );
	}
	$result       = $GLOBALS['domain_host_bridge_admin_result'] ?? null;
	$domains      = fetch_domains();
	$integrations = fetch_integrations();
	$local        = local_stages();
	$queue        = queue_rows();
	echo '<div class="wrap" id="domain-host"><h1>Domain Host</h1>';
	if ( is_array( $result ) ) {
		echo '<div class="notice ' . ( $result['ok'] ? 'notice-success' : 'notice-error' ) . '" id="domain-host-result"><p>' . esc_html( $result['message'] ) . '</p>';
		if ( ! empty( $result['lines'] ) ) {
			echo '<ul>';
			foreach ( $result['lines'] as $line ) {
				echo '<li>' . esc_html( $line ) . '</li>';
			}
			echo '</ul>';
		}
		echo '</div>';
	}
	// Ultimate Multisite's own host integrations act on the same events: one of them and
	// the service would both call the panel.
	$own = array_keys( array_filter( (array) get_network_option( null, 'wu_host_integrations_enabled', array() ) ) );
	if ( $own ) {
		echo '<div class="notice notice-warning"><p>' . esc_html( 'Ultimate Multisite\'s own host integrations are enabled too (' . implode( ', ', $own ) . '): they act on the same domain events as domain-host. Turn them off in Ultimate Multisite > Settings > Integrations, or leave the panel out of domain-host.' ) . '</p></div>';
	}
	foreach ( array_unique( array_filter( array( $domains['error'], $integrations['error'] ) ) ) as $error ) {
		echo '<div class="notice notice-error"><p>' . esc_html( $error ) . '</p></div>';
	}
	render_domains( $domains['domains'], $local );
	render_integrations( $integrations['integrations'] );
	render_queue( $queue );
	render_export();
	echo '</div>';
}

/** Every domain: stage, each name's DNS and certificate, the diagnosis, the checks. */
function render_domains( array $domains, array $local ): void {
	echo '<h2>Domains</h2><table class="widefat striped" id="domain-host-domains"><thead><tr><th>Domain</th><th>Site</th><th>Stage</th><th>Names</th><th>Diagnosis</th><th>Last check</th><th>Next check</th><th>Last callback</th><th></th></tr></thead><tbody>';
	if ( ! $domains ) {
		echo '<tr><td colspan="9">No domains reported by the service.</td></tr>';
	}
	foreach ( $domains as $row ) {
		$name      = (string) ( $row['domain'] ?? '' );
		$diagnosis = diagnosis_lines( $row['diagnosis'] ?? array() );
		$callback  = is_array( $local[ $name ] ?? null ) ? $local[ $name ] : null;
		echo '<tr data-domain="' . esc_attr( $name ) . '"><td>' . esc_html( $name ) . '</td>';
		echo '<td>' . esc_html( (string) ( $row['site'] ?? $row['site_id'] ?? '' ) ) . '</td>';
		echo '<td class="stage" style="white-space:nowrap"><code>' . esc_html( (string) ( $row['stage'] ?? '' ) ) . '</code></td><td>';
		foreach ( (array) ( $row['names'] ?? array() ) as $n ) {
			if ( ! is_array( $n ) ) {
				continue;
			}
			$dns  = (array) ( $n['dns'] ?? array() );
			$cert = (array) ( $n['certificate'] ?? array() );
			$days = isset( $cert['days_left'] ) && is_numeric( $cert['days_left'] ) ? sprintf( ', %d days left', (int) $cert['days_left'] ) : '';
			echo '<div class="name"><strong>' . esc_html( (string) ( $n['name'] ?? '' ) ) . '</strong>: DNS '
				. esc_html( sprintf( '%s (%s)', (string) ( $dns['state'] ?? '?' ), (string) ( $dns['reason'] ?? '' ) ) )
				. ', certificate ' . esc_html( sprintf( '%s (%s%s)', (string) ( $cert['state'] ?? '?' ), (string) ( $cert['reason'] ?? '' ), $days ) ) . '</div>';
		}
		echo '</td><td class="diagnosis">';
		if ( $diagnosis ) {
			echo '<ul>';
			foreach ( $diagnosis as $line ) {
				echo '<li>' . esc_html( $line ) . '</li>';
			}
			echo '</ul>';
		} else {
			echo '&mdash;';
		}
		echo '</td><td>' . esc_html( show_time( $row['last_check_at'] ?? null ) ) . '</td>';
		echo '<td>' . esc_html( show_time( $row['next_check_at'] ?? null ) ) . '</td>';
		echo '<td>' . ( $callback ? esc_html( (string) ( $callback['stage'] ?? '' ) . ' at ' . show_time( isset( $callback['received'] ) ? (int) $callback['received'] : null ) ) : '&mdash;' ) . '</td>';
		echo '<td>' . action_button( 'check', $name, 'Check now' ) . '</td></tr>'; // phpcs:ignore WordPress.Security.EscapeOutput -- escaped in action_button
	}
	echo '</tbody></table>';
}

/** Each integration the service has, with what it lacks (names only) and a "Test" button. */
function render_integrations( array $integrations ): void {
	echo '<h2>Integrations</h2><table class="widefat striped" id="domain-host-integrations"><thead><tr><th>Integration</th><th>State</th><th>Capabilities</th><th></th></tr></thead><tbody>';
	if ( ! $integrations ) {
		echo '<tr><td colspan="4">No integrations reported by the service.</td></tr>';
	}
	foreach ( $integrations as $i ) {
		$id    = (string) ( $i['id'] ?? '' );
		$state = array();
		$state[] = empty( $i['enabled'] ) ? 'disabled' : 'enabled';
		if ( ! empty( $i['missing'] ) && is_array( $i['missing'] ) ) {
			$state[] = 'missing ' . implode( ', ', array_map( 'strval', array_filter( $i['missing'], 'is_scalar' ) ) );
		}
		// The service's `approval` is ["approved"] once the component's permissions are
		// pinned; otherwise its own words (not approved yet, or what it asks beyond its pin).
		$approval = is_array( $i['approval'] ?? null ) ? array_map( 'strval', array_filter( $i['approval'], 'is_scalar' ) ) : array();
		if ( $approval && array( 'approved' ) !== $approval ) {
			$state[] = 'approval: ' . implode( '; ', $approval );
		}
		if ( is_string( $i['error'] ?? null ) ) {
			$state[] = 'broken: ' . $i['error'];
		}
		$title = is_string( $i['title'] ?? null ) ? $i['title'] . ' (' . $id . ')' : $id;
		echo '<tr data-integration="' . esc_attr( $id ) . '"><td>' . esc_html( $title ) . '</td><td class="state">' . esc_html( implode( '; ', $state ) ) . '</td>';
		echo '<td>' . esc_html( implode( ', ', array_map( 'strval', array_filter( (array) ( $i['capabilities'] ?? array() ), 'is_scalar' ) ) ) ) . '</td>';
		echo '<td>' . action_button( 'test', $id, 'Test' ) . '</td></tr>'; // phpcs:ignore WordPress.Security.EscapeOutput -- escaped in action_button
	}
	echo '</tbody></table>';
}

/** The events waiting here, each with "Retry now". */
function render_queue( array $queue ): void {
	echo '<h2>Waiting to be sent</h2><table class="widefat striped" id="domain-host-queue"><thead><tr><th>Event</th><th>Domain</th><th>Site</th><th>Attempts</th><th>Next attempt</th><th>Last error</th><th></th></tr></thead><tbody>';
	if ( ! $queue ) {
		echo '<tr><td colspan="7">Nothing waiting: every event reached the service.</td></tr>';
	}
	foreach ( $queue as $row ) {
		echo '<tr><td>' . esc_html( $row['event'] ) . '</td><td>' . esc_html( $row['domain'] ) . '</td><td>' . esc_html( (string) $row['site_id'] ) . '</td><td>' . esc_html( (string) $row['attempts'] ) . '</td><td>' . esc_html( show_time( $row['next_attempt'] ) ) . '</td><td>' . esc_html( $row['last_error'] ) . '</td>';
		echo '<td>' . action_button( 'retry', (string) $row['id'], 'Retry now' ) . '</td></tr>'; // phpcs:ignore WordPress.Security.EscapeOutput -- escaped in action_button
	}
	echo '</tbody></table>';
}

/** The migration export's buttons (the values never appear on the page). */
function render_export(): void {
	echo '<h2>Move Ultimate Multisite\'s integrations to domain-host</h2>';
	echo '<p>Downloads the <code>domain-host.toml</code> made from Ultimate Multisite\'s enabled host integrations and its www setting, and the environment file with their secrets (for the service\'s <code>EnvironmentFile</code>; keep it private, mode 0600).</p><p>';
	echo action_button( 'export', 'toml', 'Download domain-host.toml', 'button button-primary' ) . ' '; // phpcs:ignore WordPress.Security.EscapeOutput -- escaped in action_button
	echo action_button( 'export', 'env', 'Download the environment file' ); // phpcs:ignore WordPress.Security.EscapeOutput -- escaped in action_button
	echo '</p>';
}
