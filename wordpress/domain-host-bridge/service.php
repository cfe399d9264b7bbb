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

/** Network option: the service URL that last answered, tried first next time. */
const PREFERRED_OPTION = 'domain_host_service_preferred';

/**
 * The service's base URLs (DOMAIN_HOST_URL, one or several separated by commas: instances
 * sharing one store), or a WP_Error saying why none is used: not configured, or one of them
 * not acceptable (not http(s)://, or `http://` to a host that is not this machine: the token
 * would cross the network in clear; put a TLS proxy in front and use `https://`). One bad URL
 * stops them all: a list that is half wrong is a configuration to fix, not to guess around.
 *
 * @return string[]|\WP_Error
 */
function service_urls() {
	$list  = defined( 'DOMAIN_HOST_URL' ) ? (string) DOMAIN_HOST_URL : '';
	$token = defined( 'DOMAIN_HOST_TOKEN' ) ? (string) DOMAIN_HOST_TOKEN : '';
	$urls  = array_values( array_filter( array_map( 'trim', explode( ',', $list ) ), 'strlen' ) );
	if ( ! $urls || '' === $token ) {
		return new \WP_Error( 'domain_host_not_configured', 'DOMAIN_HOST_URL and DOMAIN_HOST_TOKEN must be defined in wp-config.php' );
	}
	foreach ( $urls as $i => $url ) {
		$parts  = wp_parse_url( $url );
		$scheme = strtolower( (string) ( $parts['scheme'] ?? '' ) );
		$host   = strtolower( trim( (string) ( $parts['host'] ?? '' ), '[]' ) );
		$which  = count( $urls ) > 1 ? sprintf( 'DOMAIN_HOST_URL\'s URL %d', $i + 1 ) : 'DOMAIN_HOST_URL';
		if ( '' === $host || ! in_array( $scheme, array( 'http', 'https' ), true ) ) {
			return new \WP_Error( 'domain_host_bad_url', "$which must be an http:// or https:// URL" );
		}
		if ( 'http' === $scheme && ! is_loopback_host( $host ) ) {
			return new \WP_Error( 'domain_host_cleartext', sprintf( '%s is http:// to %s, not this machine: the token would travel in clear. Use https:// (a TLS proxy in front of the service) or a loopback address', $which, $host ) );
		}
		$urls[ $i ] = rtrim( $url, '/' );
	}
	return array_values( array_unique( $urls ) );
}

/**
 * The service URL tried first (the one that last answered, else the first listed), or a
 * WP_Error saying why none is used.
 *
 * @return string|\WP_Error
 */
function service_url() {
	$urls = service_urls();
	return is_wp_error( $urls ) ? $urls : $urls[0];
}

/** The URLs in the order to try them: the one that last answered first, then the list's order. */
function service_urls_in_order( array $urls ): array {
	$preferred = (string) get_network_option( null, PREFERRED_OPTION, '' );
	if ( in_array( $preferred, $urls, true ) ) {
		$urls = array_values( array_unique( array_merge( array( $preferred ), $urls ) ) );
	}
	return $urls;
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
 * send the Authorization header on to the Location), and the URLs pass service_urls().
 *
 * Several URLs fail over: on a connection error or a 5xx (503 included: an instance that lost
 * its store) the next one is tried, starting with the one that last answered; the one that
 * answers is remembered. Sending an event again to another instance is safe: instances
 * share one store, and the Idempotency-Key makes it one event. When none answers, the last
 * answer (or error) is returned.
 *
 * @return array|\WP_Error The WP_Http response.
 */
function call_service( string $method, string $path, array $args = array() ) {
	$urls = service_urls();
	if ( is_wp_error( $urls ) ) {
		return $urls;
	}
	$headers  = ( $args['headers'] ?? array() ) + array(
		'Authorization' => 'Bearer ' . DOMAIN_HOST_TOKEN,
		'Accept'        => 'application/json',
	);
	$ordered  = service_urls_in_order( $urls );
	$response = null;
	foreach ( $ordered as $i => $base ) {
		$response = wp_remote_request(
			$base . $path,
			array(
				'method'      => $method,
				'timeout'     => $args['timeout'] ?? 15,
				'redirection' => 0,
				'headers'     => $headers,
			) + ( isset( $args['body'] ) ? array( 'body' => $args['body'] ) : array() )
		);
		$status = is_wp_error( $response ) ? 0 : (int) wp_remote_retrieve_response_code( $response );
		if ( 0 !== $status && $status < 500 ) {
			if ( count( $urls ) > 1 && (string) get_network_option( null, PREFERRED_OPTION, '' ) !== $base ) {
				update_network_option( null, PREFERRED_OPTION, $base );
			}
			return $response;
		}
		if ( isset( $ordered[ $i + 1 ] ) ) {
			$why = is_wp_error( $response ) ? 'unreachable: ' . $response->get_error_message() : sprintf( 'HTTP %d', $status );
			log_message( sprintf( 'The service at %s did not answer %s %s (%s); trying %s.', url_origin( $base ), $method, $path, $why, url_origin( $ordered[ $i + 1 ] ) ), 'warning' );
		}
	}
	return $response;
}

/** scheme://host[:port] of a service URL, for the log (never a path, query or user part). */
function url_origin( string $url ): string {
	$parts = wp_parse_url( $url );
	return ( $parts['scheme'] ?? '' ) . '://' . ( $parts['host'] ?? '' ) . ( isset( $parts['port'] ) ? ':' . $parts['port'] : '' );
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
