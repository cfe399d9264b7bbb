<?php
/**
 * The bridge's storage: its own two tables (created and migrated here), the per-install
 * random part of its lock names, and the locks.
 *
 * - `{base_prefix}domain_host_events`: the queue, one row per event, in the order the events
 *   happened (auto-increment id); a row leaves once the service accepted or refused it.
 * - `{base_prefix}domain_host_stages`: the service's last reported stage, one row per domain;
 *   `removed` rows are pruned after REMOVED_KEPT.
 *
 * Both replace network options that grew without bound and were rewritten whole on every
 * change (security review F7); their contents are moved over once (migrate_options()).
 *
 * @package DomainHost\Bridge
 */

namespace DomainHost\Bridge;

defined( 'ABSPATH' ) || exit;

/** Bump when the tables change: dbDelta() then brings them up to date. */
const SCHEMA_VERSION = 1;
const SCHEMA_OPTION  = 'domain_host_schema';
const INSTALL_OPTION = 'domain_host_install_id';
/** How long a `removed` domain's record is kept (for the operator page), then pruned. */
const REMOVED_KEPT = 7 * DAY_IN_SECONDS;
/** Diagnosis lines kept per domain, and their length: the record stays small. */
const DIAGNOSIS_LINES = 20;
const DIAGNOSIS_CHARS = 500;

function events_table(): string {
	global $wpdb;
	return $wpdb->base_prefix . 'domain_host_events';
}

function stages_table(): string {
	global $wpdb;
	return $wpdb->base_prefix . 'domain_host_stages';
}

/**
 * The tables exist at the current schema version (created, migrated, the old network options
 * moved over, once; under the set-up lock). False when that could not be done now: the
 * caller keeps what it has and tries again later.
 */
function ensure_tables(): bool {
	static $ready = false;
	if ( $ready ) {
		return true;
	}
	if ( (int) fresh_network_option( SCHEMA_OPTION, 0 ) >= SCHEMA_VERSION ) {
		return $ready = true;
	}
	$done = with_named_lock(
		setup_lock_name(),
		10,
		static function () {
			if ( (int) fresh_network_option( SCHEMA_OPTION, 0 ) >= SCHEMA_VERSION ) {
				return true;
			}
			if ( ! create_tables() ) {
				return false;
			}
			migrate_options();
			update_network_option( null, SCHEMA_OPTION, SCHEMA_VERSION );
			return true;
		}
	);
	if ( true !== $done ) {
		log_message( 'The bridge\'s tables could not be set up now; will try again.', 'error' );
		return false;
	}
	return $ready = true;
}

/** dbDelta() creates the tables or brings them to this schema; true when both exist. */
function create_tables(): bool {
	global $wpdb;
	require_once ABSPATH . 'wp-admin/includes/upgrade.php';
	$charset = $wpdb->get_charset_collate();
	$events  = events_table();
	$stages  = stages_table();
	// Domain names are ASCII (IDNs travel as punycode): an ASCII key fits any index limit.
	dbDelta(
		"CREATE TABLE $events (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  idem_key varchar(191) NOT NULL,
  event varchar(32) NOT NULL,
  domain varchar(255) NOT NULL,
  site_id bigint(20) unsigned NOT NULL DEFAULT 0,
  www_mapped tinyint(1) NOT NULL DEFAULT 0,
  queued bigint(20) NOT NULL DEFAULT 0,
  attempts int(10) unsigned NOT NULL DEFAULT 0,
  last_error text NULL,
  PRIMARY KEY  (id),
  UNIQUE KEY idem_key (idem_key)
) $charset;
CREATE TABLE $stages (
  domain varchar(253) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  stage varchar(40) NOT NULL,
  site_id bigint(20) unsigned NOT NULL DEFAULT 0,
  kind varchar(40) NULL,
  previous varchar(40) NULL,
  diagnosis text NULL,
  delivery bigint(20) NULL,
  changed_at varchar(40) NULL,
  received bigint(20) NOT NULL DEFAULT 0,
  model varchar(20) NOT NULL DEFAULT 'option',
  PRIMARY KEY  (domain),
  KEY stage_received (stage,received)
) $charset;"
	);
	foreach ( array( $events, $stages ) as $table ) {
		if ( $table !== $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $wpdb->esc_like( $table ) ) ) ) {
			return false;
		}
	}
	return true;
}

/**
 * Moves what the bridge kept in network options before 0.2 (`domain_host_queue`,
 * `domain_host_stages`) into the tables, keeping the queue's order and keys, then deletes
 * the options. Runs once, under the set-up lock.
 */
function migrate_options(): void {
	global $wpdb;
	$queue = fresh_network_option( 'domain_host_queue', array() );
	foreach ( is_array( $queue ) ? $queue : array() as $entry ) {
		if ( ! is_array( $entry ) || empty( $entry['key'] ) || empty( $entry['event'] ) || ! isset( $entry['domain'] ) ) {
			continue;
		}
		$wpdb->query(
			$wpdb->prepare(
				'INSERT IGNORE INTO ' . events_table() . ' (idem_key, event, domain, site_id, www_mapped, queued, attempts, last_error) VALUES (%s, %s, %s, %d, %d, %d, %d, %s)',
				(string) $entry['key'],
				(string) $entry['event'],
				(string) $entry['domain'],
				(int) ( $entry['site_id'] ?? 0 ),
				empty( $entry['www_mapped'] ) ? 0 : 1,
				(int) ( $entry['queued'] ?? time() ),
				(int) ( $entry['attempts'] ?? 0 ),
				(string) ( $entry['last_error'] ?? '' )
			)
		);
	}
	$stages = fresh_network_option( 'domain_host_stages', array() );
	foreach ( is_array( $stages ) ? $stages : array() as $domain => $record ) {
		if ( is_array( $record ) && isset( $record['stage'] ) ) {
			put_stage_record( (string) $domain, $record );
		}
	}
	$moved = sprintf( '%d queued events and %d stage records', is_array( $queue ) ? count( $queue ) : 0, is_array( $stages ) ? count( $stages ) : 0 );
	delete_network_option( null, 'domain_host_queue' );
	delete_network_option( null, 'domain_host_stages' );
	log_message( "Moved $moved from network options into the bridge's tables." );
}

// ---------------------------------------------------------------------------------------
// The queue.
// ---------------------------------------------------------------------------------------

/**
 * Adds an event at the end of the queue: one INSERT (no read-modify-write, so nothing to
 * lose between two requests). The same key twice is one event. False when it was not stored.
 */
function queue_insert( array $entry ): bool {
	global $wpdb;
	if ( ! ensure_tables() ) {
		return false;
	}
	$result = $wpdb->query(
		$wpdb->prepare(
			// The same key again changes nothing (not IGNORE: that would also hide other errors).
			'INSERT INTO ' . events_table() . ' (idem_key, event, domain, site_id, www_mapped, queued, attempts) VALUES (%s, %s, %s, %d, %d, %d, 0) ON DUPLICATE KEY UPDATE id = id',
			$entry['key'],
			$entry['event'],
			$entry['domain'],
			$entry['site_id'],
			empty( $entry['www_mapped'] ) ? 0 : 1,
			$entry['queued']
		)
	);
	return false !== $result;
}

/** The oldest queued event, or null. */
function queue_head(): ?array {
	global $wpdb;
	if ( ! ensure_tables() ) {
		return null;
	}
	$row = $wpdb->get_row( 'SELECT * FROM ' . events_table() . ' ORDER BY id ASC LIMIT 1', ARRAY_A );
	return $row ? event_from_row( $row ) : null;
}

/** Every queued event, oldest first (the operator page and the tests read this). */
function queued_events( int $limit = 500 ): array {
	global $wpdb;
	if ( ! ensure_tables() ) {
		return array();
	}
	$rows = $wpdb->get_results( $wpdb->prepare( 'SELECT * FROM ' . events_table() . ' ORDER BY id ASC LIMIT %d', $limit ), ARRAY_A );
	return array_map( __NAMESPACE__ . '\\event_from_row', $rows ? $rows : array() );
}

/** One queued event by its id (queued_events()' `id`), or null when it is not queued. */
function queued_event( int $id ): ?array {
	global $wpdb;
	if ( $id <= 0 || ! ensure_tables() ) {
		return null;
	}
	$row = $wpdb->get_row( $wpdb->prepare( 'SELECT * FROM ' . events_table() . ' WHERE id = %d', $id ), ARRAY_A );
	return $row ? event_from_row( $row ) : null;
}

/** How many events wait. */
function queue_length(): int {
	global $wpdb;
	if ( ! ensure_tables() ) {
		return 0;
	}
	return (int) $wpdb->get_var( 'SELECT COUNT(*) FROM ' . events_table() );
}

/** One more failed attempt on an event; returns its attempts so far. */
function queue_note_failure( int $id, string $error ): int {
	global $wpdb;
	$wpdb->query( $wpdb->prepare( 'UPDATE ' . events_table() . ' SET attempts = attempts + 1, last_error = %s WHERE id = %d', $error, $id ) );
	return (int) $wpdb->get_var( $wpdb->prepare( 'SELECT attempts FROM ' . events_table() . ' WHERE id = %d', $id ) );
}

/** The event leaves the queue (accepted or refused for good). */
function queue_remove( int $id ): void {
	global $wpdb;
	$wpdb->query( $wpdb->prepare( 'DELETE FROM ' . events_table() . ' WHERE id = %d', $id ) );
}

/** The shape the bridge passes around (and the old option held). */
function event_from_row( array $row ): array {
	$entry = array(
		'id'         => (int) $row['id'],
		'key'        => (string) $row['idem_key'],
		'event'      => (string) $row['event'],
		'domain'     => (string) $row['domain'],
		'site_id'    => (int) $row['site_id'],
		'queued'     => (int) $row['queued'],
		'attempts'   => (int) $row['attempts'],
		'last_error' => null === $row['last_error'] ? null : (string) $row['last_error'],
	);
	if ( ! empty( $row['www_mapped'] ) ) {
		$entry['www_mapped'] = true;
	}
	return $entry;
}

// ---------------------------------------------------------------------------------------
// The stage records.
// ---------------------------------------------------------------------------------------

/** The service's last reported stage for a domain, or null. */
function stage_record( string $domain ): ?array {
	global $wpdb;
	if ( ! ensure_tables() ) {
		return null;
	}
	$row = $wpdb->get_row( $wpdb->prepare( 'SELECT * FROM ' . stages_table() . ' WHERE domain = %s', $domain ), ARRAY_A );
	return $row ? stage_from_row( $row ) : null;
}

/** Every domain's record, by domain (the operator page and the tests read this). */
function stage_records( int $limit = 5000 ): array {
	global $wpdb;
	if ( ! ensure_tables() ) {
		return array();
	}
	$rows = $wpdb->get_results( $wpdb->prepare( 'SELECT * FROM ' . stages_table() . ' ORDER BY domain ASC LIMIT %d', $limit ), ARRAY_A );
	$out  = array();
	foreach ( $rows ? $rows : array() as $row ) {
		$out[ $row['domain'] ] = stage_from_row( $row );
	}
	return $out;
}

/** The same, under the name the operator page (admin.php) looks for. */
function recorded_stages(): array {
	return stage_records();
}

/** Writes one domain's record (one row); true when the row now holds it. */
function put_stage_record( string $domain, array $record ): bool {
	global $wpdb;
	$lines = array_slice( diagnosis_lines( $record['diagnosis'] ?? array() ), 0, DIAGNOSIS_LINES );
	$lines = array_map( static fn ( $l ) => substr( $l, 0, DIAGNOSIS_CHARS ), $lines );
	$row   = array(
		'domain'     => $domain,
		'stage'      => (string) $record['stage'],
		'site_id'    => (int) ( $record['site'] ?? 0 ),
		'kind'       => $record['kind'] ?? null,
		'previous'   => $record['previous'] ?? null,
		'diagnosis'  => wp_json_encode( array_values( $lines ) ),
		'delivery'   => $record['delivery'] ?? null,
		'changed_at' => $record['changed_at'] ?? null,
		'received'   => (int) ( $record['received'] ?? time() ),
		'model'      => (string) ( $record['model'] ?? 'option' ),
	);
	$done = $wpdb->replace( stages_table(), $row, array( '%s', '%s', '%d', '%s', '%s', '%s', '%d', '%s', '%d', '%s' ) );
	return false !== $done;
}

function stage_from_row( array $row ): array {
	$diagnosis = json_decode( (string) $row['diagnosis'], true );
	return array(
		'stage'      => (string) $row['stage'],
		'site'       => (int) $row['site_id'],
		'kind'       => $row['kind'],
		'previous'   => $row['previous'],
		'diagnosis'  => is_array( $diagnosis ) ? $diagnosis : array(),
		'delivery'   => null === $row['delivery'] ? null : (int) $row['delivery'],
		'changed_at' => $row['changed_at'],
		'received'   => (int) $row['received'],
		'model'      => (string) $row['model'],
	);
}

/** Drops the records of domains removed longer than REMOVED_KEPT ago; returns how many. */
function prune_stage_records(): int {
	global $wpdb;
	if ( ! ensure_tables() ) {
		return 0;
	}
	return (int) $wpdb->query( $wpdb->prepare( 'DELETE FROM ' . stages_table() . " WHERE stage = 'removed' AND received < %d", time() - REMOVED_KEPT ) );
}

// ---------------------------------------------------------------------------------------
// Locks: MySQL named locks are server-wide (any client of the database server can take
// one), so their names carry a random part of this install's own (security review F6).
// ---------------------------------------------------------------------------------------

/**
 * This install's random id (32 hex digits), generated once and kept in a network option.
 * Null when it could not be had now (the set-up lock was busy).
 */
function install_id(): ?string {
	static $id = null;
	if ( null !== $id ) {
		return $id;
	}
	$stored = fresh_network_option( INSTALL_OPTION, '' );
	if ( is_string( $stored ) && preg_match( '/^[0-9a-f]{32}$/', $stored ) ) {
		return $id = $stored;
	}
	$made = with_named_lock(
		setup_lock_name(),
		10,
		static function () {
			$stored = fresh_network_option( INSTALL_OPTION, '' );
			if ( is_string( $stored ) && preg_match( '/^[0-9a-f]{32}$/', $stored ) ) {
				return $stored;
			}
			$new = bin2hex( random_bytes( 16 ) );
			update_network_option( null, INSTALL_OPTION, $new );
			return $new;
		}
	);
	return is_string( $made ) ? ( $id = $made ) : null;
}

/**
 * The lock that guards creating the install id and the tables: nobody outside this install
 * can name it (a keyed hash of the database and table prefix under the install's auth salt).
 */
function setup_lock_name(): string {
	global $wpdb;
	return 'dh_setup_' . substr( hash_hmac( 'sha256', DB_NAME . '|' . $wpdb->base_prefix, wp_salt( 'auth' ) ), 0, 32 );
}

/** The MySQL lock name for one of the bridge's locks (at most 64 characters). */
function lock_name( string $lock ): ?string {
	$id = install_id();
	return null === $id ? null : 'dh_' . substr( $id, 0, 24 ) . '_' . substr( $lock, 0, 36 );
}

/**
 * Runs $work under one of the bridge's named locks (waiting up to $wait seconds), so
 * concurrent requests do not lose each other's writes. Returns $work's result, or null when
 * the lock was not granted.
 */
function with_lock( string $lock, int $wait, callable $work ) {
	$name = lock_name( $lock );
	return null === $name ? null : with_named_lock( $name, $wait, $work );
}

function with_named_lock( string $name, int $wait, callable $work ) {
	global $wpdb;
	if ( '1' !== (string) $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, %d)', $name, $wait ) ) ) {
		return null;
	}
	try {
		return $work();
	} finally {
		$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $name ) );
	}
}

/**
 * A network option read past the object cache, the "not an option" cache included (another
 * process may have written it since this one looked).
 */
function fresh_network_option( string $name, $default ) {
	$network = get_current_network_id();
	wp_cache_delete( "$network:$name", 'site-options' );
	wp_cache_delete( "$network:notoptions", 'site-options' );
	return get_network_option( null, $name, $default );
}
