<?php
/**
 * Plugin Name: Ultimate Multisite integrations stand-in (tests only)
 * Description: How Ultimate Multisite (2.4.11 and later) keeps its host integrations' settings, for the bridge's migration export: the enabled list, `WU_*` constants from wp-config.php, credentials stored encrypted by its wizard, Integration_Registry::get( $id )->get_credential( $name ), and its `auto_create_www_subdomain` setting.
 *
 * Switched on by the network option `um_standin_integrations` (tests/wordpress/wp.php
 * um-settings). Then:
 * - every entry of the network option `um_standin_constants` (NAME => value) is defined as
 *   a constant, as wp-config.php would;
 * - `wu_hosting_credential_<NAME>` network options hold values encrypted as UM's
 *   Credential_Store does (AES-256-CBC, key sha256(wp_salt('auth')), a random IV, base64,
 *   prefixed); get_credential() prefers a truthy constant, as UM's
 *   `Integration::get_credential()` (`inc/integrations/class-integration.php`:311-324);
 * - `wu_get_setting( 'auto_create_www_subdomain' )` answers the network option
 *   `um_standin_www` (UM's default `always` when unset).
 */

namespace WP_Ultimo\Helpers {
	defined( 'ABSPATH' ) || exit;

	if ( get_site_option( 'um_standin_integrations' ) && ! class_exists( __NAMESPACE__ . '\\Credential_Store' ) ) {
		class Credential_Store {
			const PREFIX = '$wu_enc$';

			private static function key(): string {
				return hash( 'sha256', wp_salt( 'auth' ), true );
			}

			public static function encrypt( string $value ): string {
				$iv = random_bytes( 16 );
				return self::PREFIX . base64_encode( $iv . openssl_encrypt( $value, 'aes-256-cbc', self::key(), OPENSSL_RAW_DATA, $iv ) );
			}

			public static function decrypt( string $value ): string {
				if ( 0 !== strpos( $value, self::PREFIX ) ) {
					return $value;
				}
				$raw = base64_decode( substr( $value, strlen( self::PREFIX ) ), true );
				if ( false === $raw || strlen( $raw ) < 17 ) {
					return '';
				}
				$plain = openssl_decrypt( substr( $raw, 16 ), 'aes-256-cbc', self::key(), OPENSSL_RAW_DATA, substr( $raw, 0, 16 ) );
				return false === $plain ? '' : $plain;
			}
		}
	}
}

namespace WP_Ultimo\Integrations {
	defined( 'ABSPATH' ) || exit;

	if ( get_site_option( 'um_standin_integrations' ) && ! class_exists( __NAMESPACE__ . '\\Integration_Registry' ) ) {
		foreach ( (array) get_site_option( 'um_standin_constants', array() ) as $name => $value ) {
			if ( ! defined( $name ) ) {
				define( $name, $value );
			}
		}

		class Integration {
			public function __construct( private string $id ) {}

			public function get_id(): string {
				return $this->id;
			}

			public function get_credential( string $constant_name ): string {
				if ( defined( $constant_name ) && constant( $constant_name ) ) {
					return (string) constant( $constant_name );
				}
				$stored = get_network_option( null, 'wu_hosting_credential_' . $constant_name, '' );
				return $stored ? \WP_Ultimo\Helpers\Credential_Store::decrypt( $stored ) : '';
			}
		}

		class Integration_Registry {
			private static ?Integration_Registry $instance = null;

			public static function get_instance(): Integration_Registry {
				return self::$instance ??= new Integration_Registry();
			}

			public function get( string $id ): ?Integration {
				return preg_match( '/^[a-z0-9-]+$/', $id ) ? new Integration( $id ) : null;
			}
		}
	}
}

namespace {
	defined( 'ABSPATH' ) || exit;

	if ( get_site_option( 'um_standin_integrations' ) && ! function_exists( 'wu_get_setting' ) ) {
		function wu_get_setting( $setting, $default = false ) {
			if ( 'auto_create_www_subdomain' === $setting ) {
				return get_site_option( 'um_standin_www', $default );
			}
			return $default;
		}
	}
}
