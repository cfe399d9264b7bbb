<?php
/**
 * Migration in one step: Ultimate Multisite's enabled host integrations, their `WU_*`
 * values (constants in wp-config.php or the credentials its wizard stored) and its `www`
 * setting, written as a `domain-host.toml` and the environment file for the service.
 *
 * Ids and other plain values go to the integration's `constants`; secrets are only named
 * in its `env` list, and their values go to the environment file. Both are downloads for a
 * network admin (admin.php checks the nonce and `manage_network`); nothing here is logged
 * or shown on the page.
 *
 * How Ultimate Multisite keeps them (2.4.10 to 2.4.13 and its main branch):
 * - the enabled list: the network option `wu_host_integrations_enabled` (id => bool);
 * - a value: `Integration::get_credential( NAME )` from 2.4.11 on (a truthy constant wins,
 *   else the network option `wu_hosting_credential_NAME`, encrypted by its Credential_Store
 *   with a key from wp_salt('auth')); only the constant before that;
 * - WPMU DEV's API key is not a constant: the network option `wpmudev_apikey`;
 * - `www`: its setting `auto_create_www_subdomain` (always, main_only, never).
 *
 * @package DomainHost\Bridge
 */

namespace DomainHost\Bridge;

defined( 'ABSPATH' ) || exit;

/**
 * Ultimate Multisite's integration ids (equal to domain-host's) and the constants the
 * domain-host component of each reads: name => secret. `required` lists the groups one of
 * which must be set (as Ultimate Multisite's `is_setup()` checks). `network_domain` lists the
 * values Ultimate Multisite takes from the network's own domain when unset (the component
 * needs them written down).
 */
const UM_INTEGRATIONS = array(
	'serverpilot'   => array(
		'constants' => array(
			'WU_SERVER_PILOT_CLIENT_ID' => false,
			'WU_SERVER_PILOT_API_KEY'   => true,
			'WU_SERVER_PILOT_APP_ID'    => false,
		),
		'required'  => array( array( 'WU_SERVER_PILOT_CLIENT_ID' ), array( 'WU_SERVER_PILOT_API_KEY' ), array( 'WU_SERVER_PILOT_APP_ID' ) ),
	),
	'runcloud'      => array(
		'constants' => array(
			'WU_RUNCLOUD_API_TOKEN'  => true,
			'WU_RUNCLOUD_API_KEY'    => true,
			'WU_RUNCLOUD_API_SECRET' => true,
			'WU_RUNCLOUD_SERVER_ID'  => false,
			'WU_RUNCLOUD_APP_ID'     => false,
		),
		'required'  => array( array( 'WU_RUNCLOUD_API_TOKEN', 'WU_RUNCLOUD_API_KEY' ), array( 'WU_RUNCLOUD_SERVER_ID' ), array( 'WU_RUNCLOUD_APP_ID' ) ),
	),
	'cloudways'     => array(
		'constants' => array(
			'WU_CLOUDWAYS_EMAIL'         => false,
			'WU_CLOUDWAYS_API_KEY'       => true,
			'WU_CLOUDWAYS_ACCESS_TOKEN'  => true,
			'WU_CLOUDWAYS_SERVER_ID'     => false,
			'WU_CLOUDWAYS_APP_ID'        => false,
			'WU_CLOUDWAYS_EXTRA_DOMAINS' => false,
		),
		'required'  => array( array( 'WU_CLOUDWAYS_EMAIL' ), array( 'WU_CLOUDWAYS_API_KEY', 'WU_CLOUDWAYS_ACCESS_TOKEN' ), array( 'WU_CLOUDWAYS_SERVER_ID' ), array( 'WU_CLOUDWAYS_APP_ID' ) ),
	),
	'cpanel'        => array(
		'constants' => array(
			'WU_CPANEL_USERNAME'  => false,
			'WU_CPANEL_API_TOKEN' => true,
			'WU_CPANEL_PASSWORD'  => true,
			'WU_CPANEL_HOST'      => false,
			'WU_CPANEL_PORT'      => false,
			'WU_CPANEL_ROOT_DIR'  => false,
		),
		'required'  => array( array( 'WU_CPANEL_USERNAME' ), array( 'WU_CPANEL_API_TOKEN', 'WU_CPANEL_PASSWORD' ), array( 'WU_CPANEL_HOST' ) ),
	),
	'cloudflare'    => array(
		'constants' => array(
			'WU_CLOUDFLARE_API_KEY'      => true,
			'WU_CLOUDFLARE_ZONE_ID'      => false,
			'WU_CLOUDFLARE_SAAS_ZONE_ID' => false,
		),
		'required'  => array( array( 'WU_CLOUDFLARE_API_KEY' ), array( 'WU_CLOUDFLARE_ZONE_ID' ) ),
	),
	'hestia'        => array(
		'constants' => array(
			'WU_HESTIA_API_URL'      => false,
			'WU_HESTIA_API_HASH'     => true,
			'WU_HESTIA_API_PASSWORD' => true,
			'WU_HESTIA_API_USER'     => false,
			'WU_HESTIA_ACCOUNT'      => false,
			'WU_HESTIA_WEB_DOMAIN'   => false,
			'WU_HESTIA_RESTART'      => false,
		),
		'required'  => array( array( 'WU_HESTIA_API_URL' ), array( 'WU_HESTIA_API_HASH', 'WU_HESTIA_API_PASSWORD' ), array( 'WU_HESTIA_API_USER' ), array( 'WU_HESTIA_ACCOUNT' ), array( 'WU_HESTIA_WEB_DOMAIN' ) ),
	),
	'enhance'       => array(
		'constants' => array(
			'WU_ENHANCE_API_TOKEN'  => true,
			'WU_ENHANCE_API_URL'    => false,
			'WU_ENHANCE_ORG_ID'     => false,
			'WU_ENHANCE_WEBSITE_ID' => false,
		),
		'required'  => array( array( 'WU_ENHANCE_API_TOKEN' ), array( 'WU_ENHANCE_API_URL' ), array( 'WU_ENHANCE_ORG_ID' ), array( 'WU_ENHANCE_WEBSITE_ID' ) ),
	),
	'plesk'         => array(
		'constants' => array(
			'WU_PLESK_HOST'     => false,
			'WU_PLESK_API_KEY'  => true,
			'WU_PLESK_USERNAME' => false,
			'WU_PLESK_PASSWORD' => true,
			'WU_PLESK_DOMAIN'   => false,
			'WU_PLESK_PORT'     => false,
		),
		'required'  => array( array( 'WU_PLESK_HOST' ), array( 'WU_PLESK_API_KEY', 'WU_PLESK_PASSWORD' ), array( 'WU_PLESK_DOMAIN' ) ),
	),
	'gridpane'      => array(
		'constants' => array(
			'WU_GRIDPANE'           => false,
			'WU_GRIDPANE_API_KEY'   => true,
			'WU_GRIDPANE_SERVER_ID' => false,
			'WU_GRIDPANE_APP_ID'    => false,
		),
		'required'  => array( array( 'WU_GRIDPANE_API_KEY' ), array( 'WU_GRIDPANE_SERVER_ID' ), array( 'WU_GRIDPANE_APP_ID' ) ),
	),
	'rocket'        => array(
		'constants' => array(
			'WU_ROCKET_EMAIL'    => false,
			'WU_ROCKET_PASSWORD' => true,
			'WU_ROCKET_SITE_ID'  => false,
		),
		'required'  => array( array( 'WU_ROCKET_EMAIL' ), array( 'WU_ROCKET_PASSWORD' ), array( 'WU_ROCKET_SITE_ID' ) ),
	),
	'bunnynet'      => array(
		'constants' => array(
			'WU_BUNNYNET_API_KEY' => true,
			'WU_BUNNYNET_ZONE_ID' => false,
			'WU_BUNNYNET_TARGET'  => false,
		),
		'required'  => array( array( 'WU_BUNNYNET_API_KEY' ), array( 'WU_BUNNYNET_ZONE_ID' ) ),
		'note'      => 'WU_BUNNYNET_TARGET is new: where the records point (an IPv4 or IPv6 address, or a host name); without it no record is created.',
	),
	'laravel-forge' => array(
		'constants' => array(
			'WU_FORGE_API_TOKEN'               => true,
			'WU_FORGE_ORGANIZATION'            => false,
			'WU_FORGE_SERVER_ID'               => false,
			'WU_FORGE_SITE_ID'                 => false,
			'WU_FORGE_LOAD_BALANCER_SERVER_ID' => false,
			'WU_FORGE_LOAD_BALANCER_SITE_ID'   => false,
			'WU_FORGE_ADDITIONAL_SERVER_IDS'   => false,
			'WU_FORGE_DEPLOY_COMMAND'          => false,
			'WU_FORGE_SYMLINK_TARGET'          => false,
		),
		'required'  => array( array( 'WU_FORGE_API_TOKEN' ), array( 'WU_FORGE_SERVER_ID' ), array( 'WU_FORGE_SITE_ID' ) ),
		'note'      => 'WU_FORGE_ORGANIZATION is new and required: the organization\'s slug in forge.laravel.com/{organization}/...',
	),
	// From Ultimate Multisite's newer releases (its main branch).
	'cyberpanel'    => array(
		'constants'      => array(
			'WU_CYBERPANEL_HOST'          => false,
			'WU_CYBERPANEL_PORT'          => false,
			'WU_CYBERPANEL_USERNAME'      => false,
			'WU_CYBERPANEL_PASSWORD'      => true,
			'WU_CYBERPANEL_MASTER_DOMAIN' => false,
			'WU_CYBERPANEL_API_TOKEN'     => true,
		),
		'required'       => array( array( 'WU_CYBERPANEL_HOST' ), array( 'WU_CYBERPANEL_USERNAME' ), array( 'WU_CYBERPANEL_PASSWORD' ) ),
		'network_domain' => array( 'WU_CYBERPANEL_MASTER_DOMAIN' ),
		'note'           => 'WU_CYBERPANEL_API_TOKEN is new and required: the admin\'s cloudAPI token as CyberPanel stores it (Users > API Access).',
	),
	'directadmin'   => array(
		'constants' => array(
			'WU_DIRECTADMIN_HOST'      => false,
			'WU_DIRECTADMIN_PORT'      => false,
			'WU_DIRECTADMIN_USERNAME'  => false,
			'WU_DIRECTADMIN_API_TOKEN' => true,
			'WU_DIRECTADMIN_PASSWORD'  => true,
			'WU_DIRECTADMIN_DOMAIN'    => false,
		),
		'required'  => array( array( 'WU_DIRECTADMIN_HOST' ), array( 'WU_DIRECTADMIN_USERNAME' ), array( 'WU_DIRECTADMIN_API_TOKEN', 'WU_DIRECTADMIN_PASSWORD' ), array( 'WU_DIRECTADMIN_DOMAIN' ) ),
	),
	'hostinger'     => array(
		'constants'      => array(
			'WU_HOSTINGER_API_TOKEN'      => true,
			'WU_HOSTINGER_NETWORK_DOMAIN' => false,
		),
		'required'       => array( array( 'WU_HOSTINGER_API_TOKEN' ) ),
		'network_domain' => array( 'WU_HOSTINGER_NETWORK_DOMAIN' ),
	),
	'bigscoots'     => array(
		'constants' => array(
			'WU_BIGSCOOTS_API_EMAIL'    => false,
			'WU_BIGSCOOTS_API_KEY'      => true,
			'WU_BIGSCOOTS_PRIMARY_UUID' => false,
		),
		'required'  => array( array( 'WU_BIGSCOOTS_API_EMAIL' ), array( 'WU_BIGSCOOTS_API_KEY' ), array( 'WU_BIGSCOOTS_PRIMARY_UUID' ) ),
	),
	'closte'        => array(
		'constants' => array( 'CLOSTE_CLIENT_API_KEY' => true ),
		'required'  => array( array( 'CLOSTE_CLIENT_API_KEY' ) ),
	),
	'wpmudev'       => array(
		'constants' => array(
			'WPMUDEV_HOSTING_SITE_ID' => false,
			'WU_WPMUDEV_API_KEY'      => true,
		),
		'required'  => array( array( 'WPMUDEV_HOSTING_SITE_ID' ), array( 'WU_WPMUDEV_API_KEY' ) ),
	),
);

/** The www policies both understand. */
const WWW_POLICIES = array( 'always', 'main_only', 'never' );

/**
 * One value as Ultimate Multisite would use it: its own get_credential() when it has one
 * (constant, else the decrypted stored credential), the constant otherwise. '' when unset.
 */
function um_value( string $id, string $name ): string {
	if ( 'WU_WPMUDEV_API_KEY' === $name ) {
		// Ultimate Multisite reads WPMU DEV's own option, not a constant.
		$key = get_site_option( 'wpmudev_apikey', '' );
		return is_scalar( $key ) ? (string) $key : '';
	}
	if ( class_exists( '\\WP_Ultimo\\Integrations\\Integration_Registry' ) ) {
		$integration = \WP_Ultimo\Integrations\Integration_Registry::get_instance()->get( $id );
		if ( $integration && method_exists( $integration, 'get_credential' ) ) {
			return (string) $integration->get_credential( $name );
		}
	}
	if ( defined( $name ) && constant( $name ) ) {
		$value = constant( $name );
		return is_bool( $value ) ? ( $value ? 'true' : 'false' ) : ( is_scalar( $value ) ? (string) $value : '' );
	}
	$stored = get_network_option( null, 'wu_hosting_credential_' . $name, '' );
	if ( is_string( $stored ) && '' !== $stored && class_exists( '\\WP_Ultimo\\Helpers\\Credential_Store' ) ) {
		return (string) \WP_Ultimo\Helpers\Credential_Store::decrypt( $stored );
	}
	return '';
}

/** The network's main domain, as Ultimate Multisite takes it (DOMAIN_CURRENT_SITE). */
function network_domain(): string {
	if ( defined( 'DOMAIN_CURRENT_SITE' ) && '' !== (string) DOMAIN_CURRENT_SITE ) {
		return (string) DOMAIN_CURRENT_SITE;
	}
	$network = get_network();
	return $network ? (string) $network->domain : '';
}

/**
 * The `[lifecycle]` table: the stage callbacks carry its checks' stage changes (domain-host
 * refuses a callback_url without it). Ultimate Multisite's DNS check takes a domain as
 * pointed when a record names the network's domain (CNAME) or the network's public IP
 * (`Domain::has_correct_dns`, ultimate-multisite-providers.md "Stage checking-dns"): the
 * same two become `cname_target` and `targets`, the IP as the network domain resolves now.
 */
function lifecycle_table(): string {
	$host    = strtolower( (string) preg_replace( '/:\d+$/', '', network_domain() ) );
	$literal = false !== filter_var( trim( $host, '[]' ), FILTER_VALIDATE_IP );
	$targets = $literal ? array( trim( $host, '[]' ) ) : ( '' !== $host ? (array) gethostbynamel( $host ) : array() );
	$table   = "[lifecycle]\n";
	$table  .= "# A mapped domain is pointed when its records name the network (as Ultimate Multisite\n";
	$table  .= "# checks): check these are the addresses the network serves customers' domains from.\n";
	if ( $targets ) {
		$table .= 'targets = [' . implode( ', ', array_map( __NAMESPACE__ . '\toml_string', $targets ) ) . "]\n";
	}
	if ( '' !== $host && ! $literal ) {
		$table .= 'cname_target = ' . toml_string( $host ) . "\n";
	}
	if ( '' === $host ) {
		$table .= "# targets = [\"203.0.113.10\"]   # required: the network's public addresses\n";
	}
	return $table . "\n";
}

/** A TOML basic string (JSON's string escapes are TOML's). */
function toml_string( string $value ): string {
	return (string) wp_json_encode( $value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE );
}

/** One line of an environment file (systemd EnvironmentFile, and `. file` in sh). */
function env_line( string $name, string $value ): string {
	$value = str_replace( array( "\r", "\n" ), '', $value );
	if ( false === strpos( $value, "'" ) ) {
		return $name . "='" . $value . "'\n";
	}
	return $name . '="' . str_replace( array( '\\', '"', '$', '`' ), array( '\\\\', '\\"', '\\$', '\\`' ), $value ) . "\"\n";
}

/**
 * The two files.
 *
 * @return array{toml: string, env: string}
 */
function export_files(): array {
	$toml  = "# domain-host.toml, generated by the Domain Host bridge from Ultimate Multisite's settings\n";
	$toml .= '# on ' . gmdate( 'Y-m-d H:i' ) . " UTC. Secrets are not in this file: `env` names them, and the\n";
	$toml .= "# environment file (the service's EnvironmentFile) holds their values.\n\n";
	$env   = "# The environment of domain-host serve (EnvironmentFile=; keep this file private, mode 0600).\n";

	$www = function_exists( 'wu_get_setting' ) ? (string) wu_get_setting( 'auto_create_www_subdomain', 'always' ) : 'always';
	if ( ! in_array( $www, WWW_POLICIES, true ) ) {
		$toml .= '# Ultimate Multisite\'s www setting ' . toml_string( $www ) . " is not one domain-host knows; \"always\" is its default.\n";
		$www   = 'always';
	}
	$toml .= 'www = ' . toml_string( $www ) . "   # Ultimate Multisite's auto_create_www_subdomain\n\n";

	// The service, as this bridge is configured to reach it.
	$toml .= "[service]\n";
	// DOMAIN_HOST_URL may list several instances (service.php): this `listen` is the first's.
	$urls = service_urls();
	$url  = is_wp_error( $urls ) ? '' : $urls[0];
	if ( ! is_wp_error( $urls ) && count( $urls ) > 1 ) {
		$toml .= '# DOMAIN_HOST_URL lists ' . count( $urls ) . " instances: this is the first's; each other one listens on its own address.\n";
	}
	$host = (string) wp_parse_url( $url, PHP_URL_HOST );
	$port = (int) wp_parse_url( $url, PHP_URL_PORT );
	if ( in_array( $host, array( '127.0.0.1', 'localhost', '[::1]', '::1' ), true ) && $port > 0 ) {
		$toml .= 'listen = ' . toml_string( ( 'localhost' === $host ? '127.0.0.1' : $host ) . ':' . $port ) . "\n";
	}
	$toml .= "token_env = \"DOMAIN_HOST_TOKEN\"\n";
	$toml .= 'callback_url = ' . toml_string( get_rest_url( get_main_site_id(), 'domain-host/v1/stage' ) ) . "\n";
	$toml .= "callback_secret_env = \"DOMAIN_HOST_CALLBACK_SECRET\"\n\n";
	$toml .= lifecycle_table();
	foreach ( array( 'DOMAIN_HOST_TOKEN', 'DOMAIN_HOST_CALLBACK_SECRET' ) as $name ) {
		if ( defined( $name ) && '' !== (string) constant( $name ) ) {
			$env .= env_line( $name, (string) constant( $name ) );
		} else {
			$env .= "# $name: not defined in wp-config.php; choose a random value (openssl rand -hex 24) and define it there too.\n";
		}
	}

	$enabled = array_keys( array_filter( (array) get_network_option( null, 'wu_host_integrations_enabled', array() ) ) );
	sort( $enabled );
	if ( ! $enabled ) {
		$toml .= "# Ultimate Multisite has no host integration enabled.\n";
	}
	foreach ( $enabled as $id ) {
		$id = (string) $id;
		if ( 'wpengine' === $id ) {
			$toml .= "# wpengine: Ultimate Multisite uses WP Engine's on-server API, which domain-host cannot reach.\n";
			$toml .= "# Create an API user (my.wpengine.com > API Access) and set WU_WPENGINE_API_USER,\n";
			$toml .= "# WU_WPENGINE_API_PASSWORD and WU_WPENGINE_INSTALL_ID (see docs/providers/wpengine.md).\n\n";
			continue;
		}
		$spec = UM_INTEGRATIONS[ $id ] ?? null;
		if ( null === $spec ) {
			$toml .= '# ' . preg_replace( '/[^a-z0-9_-]/', '?', $id ) . ": enabled in Ultimate Multisite, but not a host integration domain-host has.\n\n";
			continue;
		}
		$values = array();
		foreach ( array_keys( $spec['constants'] ) as $name ) {
			$value = um_value( $id, $name );
			if ( '' !== $value ) {
				$values[ $name ] = $value;
			}
		}
		foreach ( $spec['network_domain'] ?? array() as $name ) {
			if ( ! isset( $values[ $name ] ) ) {
				$values[ $name ] = network_domain();
			}
		}
		$missing = array();
		foreach ( $spec['required'] as $group ) {
			if ( ! array_intersect( $group, array_keys( $values ) ) ) {
				$missing[] = implode( ' or ', $group );
			}
		}
		if ( $missing ) {
			// Ultimate Multisite does not use it either (is_setup() is false).
			$toml .= "# $id: enabled in Ultimate Multisite but not set up (missing " . implode( '; ', $missing ) . "); left out.\n\n";
			continue;
		}
		$constants = array();
		$secrets   = array();
		foreach ( $values as $name => $value ) {
			if ( $spec['constants'][ $name ] ) {
				$secrets[] = $name;
				$env      .= env_line( $name, $value );
			} else {
				$constants[] = $name . ' = ' . toml_string( $value );
			}
		}
		$toml .= "[integrations.$id]\nenabled = true\n";
		if ( $constants ) {
			$toml .= 'constants = { ' . implode( ', ', $constants ) . " }\n";
		}
		if ( $secrets ) {
			$toml .= 'env = [' . implode( ', ', array_map( __NAMESPACE__ . '\\toml_string', $secrets ) ) . "]\n";
		}
		if ( isset( $spec['note'] ) ) {
			$toml .= '# ' . $spec['note'] . "\n";
		}
		$toml .= "\n";
	}
	return array(
		'toml' => $toml,
		'env'  => $env,
	);
}

/**
 * One of the two files as a download.
 *
 * @return array{filename: string, type: string, body: string}
 */
function export_download( string $which ): array {
	$files = export_files();
	return 'env' === $which
		? array(
			'filename' => 'domain-host.env',
			'type'     => 'text/plain; charset=utf-8',
			'body'     => $files['env'],
		)
		: array(
			'filename' => 'domain-host.toml',
			'type'     => 'application/toml; charset=utf-8',
			'body'     => $files['toml'],
		);
}

/** Sends a download: never cached, never sniffed into a page. */
function send_download( array $download ): void {
	nocache_headers();
	header( 'Content-Type: ' . $download['type'] );
	header( 'Content-Disposition: attachment; filename="' . $download['filename'] . '"' );
	header( 'X-Content-Type-Options: nosniff' );
	header( 'Content-Length: ' . strlen( $download['body'] ) );
	echo $download['body']; // phpcs:ignore WordPress.Security.EscapeOutput -- a file, not HTML
}
