<?php
/**
 * Talking to `domain-host serve`: the one place that sends the token (never to a redirect,
 * never over plain HTTP to another machine: security review F14), and the record of when
 * the service last answered (which decides who checks the stages: checker.php).
 *
 * @package DomainHost\Bridge
 */

namespace DomainHost\Bridge;

defined( 'ABSPATH' ) || exit;

/** Network option: the time of the service's last answer (an accepted event, a refusal it gave, a callback). */
const ANSWERED_OPTION = 'domain_host_service_answered_at';

/**
 * The service's base URL, or a WP_Error saying why it is not used: not configured, or
 * `http://` to a host that is not this machine (the token would cross the network in clear;
 * put a TLS proxy in front and use `https://`).
 *
 * @return string|\WP_Error
 */
function service_url() {
	$url   = defined( 'DOMAIN_HOST_URL' ) ? trim( (string) DOMAIN_HOST_URL ) : '';
	$token = defined( 'DOMAIN_HOST_TOKEN' ) ? (string) DOMAIN_HOST_TOKEN : '';
	if ( '' === $url || '' === $token ) {
		return new \WP_Error( 'domain_host_not_configured', 'DOMAIN_HOST_URL and DOMAIN_HOST_TOKEN must be defined in wp-config.php' );
	}
	$parts  = wp_parse_url( $url );
	$scheme = strtolower( (string) ( $parts['scheme'] ?? '' ) );
	$host   = strtolower( trim( (string) ( $parts['host'] ?? '' ), '[]' ) );
	if ( '' === $host || ! in_array( $scheme, array( 'http', 'https' ), true ) ) {
		return new \WP_Error( 'domain_host_bad_url', 'DOMAIN_HOST_URL must be an http:// or https:// URL' );
	}
	if ( 'http' === $scheme && ! is_loopback_host( $host ) ) {
		return new \WP_Error( 'domain_host_cleartext', sprintf( 'DOMAIN_HOST_URL is http:// to %s, not this machine: the token would travel in clear. Use https:// (a TLS proxy in front of the service) or a loopback address', $host ) );
	}
	return rtrim( $url, '/' );
}

/** 127.0.0.0/8, ::1 and localhost: this machine. */
function is_loopback_host( string $host ): bool {
	if ( 'localhost' === $host || '::1' === $host ) {
		return true;
	}
	return (bool) filter_var( $host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4 ) && 0 === strpos( $host, '127.' );
}

/**
 * One request to the service with the token: redirects are never followed (WP_Http would
 * send the Authorization header on to the Location), and the URL passes service_url().
 *
 * @return array|\WP_Error The WP_Http response.
 */
function call_service( string $method, string $path, array $args = array() ) {
	$base = service_url();
	if ( is_wp_error( $base ) ) {
		return $base;
	}
	$headers = ( $args['headers'] ?? array() ) + array(
		'Authorization' => 'Bearer ' . DOMAIN_HOST_TOKEN,
		'Accept'        => 'application/json',
	);
	return wp_remote_request(
		$base . $path,
		array(
			'method'      => $method,
			'timeout'     => $args['timeout'] ?? 15,
			'redirection' => 0,
			'headers'     => $headers,
		) + ( isset( $args['body'] ) ? array( 'body' => $args['body'] ) : array() )
	);
}

/** The service answered (as itself: an event id, its own refusal, a signed callback). */
function mark_service_answered(): void {
	$last = (int) fresh_network_option( ANSWERED_OPTION, 0 );
	// One write a minute at most: a burst of callbacks does not rewrite it each time.
	if ( $last < time() - 60 ) {
		update_network_option( null, ANSWERED_OPTION, time() );
	}
}

/** Seconds since the service last answered (PHP_INT_MAX when it never did). */
function service_silent_for(): int {
	$last = (int) fresh_network_option( ANSWERED_OPTION, 0 );
	return $last > 0 ? max( 0, time() - $last ) : PHP_INT_MAX;
}

/**
 * How long the service may be silent before Ultimate Multisite's own stage checks run again:
 * DOMAIN_HOST_CHECKER_SILENCE seconds, 30 minutes by default.
 */
function checker_silence(): int {
	return defined( 'DOMAIN_HOST_CHECKER_SILENCE' ) ? max( 60, (int) DOMAIN_HOST_CHECKER_SILENCE ) : 30 * MINUTE_IN_SECONDS;
}

// A DOMAIN_HOST_URL the bridge will not use is said on every network admin page.
add_action(
	'network_admin_notices',
	static function () {
		if ( ! current_user_can( 'manage_network' ) || ! defined( 'DOMAIN_HOST_URL' ) ) {
			return;
		}
		$url = service_url();
		if ( is_wp_error( $url ) && 'domain_host_not_configured' !== $url->get_error_code() ) {
			echo '<div class="notice notice-error"><p>' . esc_html( 'Domain Host: ' . $url->get_error_message() . '. Events wait until this is fixed.' ) . '</p></div>';
		}
	}
);
