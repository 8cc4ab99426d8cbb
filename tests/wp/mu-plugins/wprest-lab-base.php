<?php
/**
 * Plugin Name: wp-rest lab base
 * Description: What every lab site needs. Installed by tests/wp/lab.sh into
 *              wp-content/mu-plugins/ of every release (on 6.1 the Debian
 *              wp-content, which all sites of the machine share, hence the
 *              WPREST_LAB_SITE checks).
 *
 * Lab only. Never install this on a real site.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

// The Debian wp-content directory is shared by every site on this machine;
// do nothing on a site that lab.sh did not configure.
if ( ! defined( 'WPREST_LAB_SITE' ) ) {
	return;
}

/*
 * No outbound HTTP. The lab machine may have no network at all, and a
 * WordPress that calls api.wordpress.org (update checks, "browse happy",
 * translations, oEmbed discovery...) then blocks a php -S worker until the
 * timeout, which looks like a random slow or hanging test. Loopback requests
 * stay allowed: WordPress and tests may talk to the lab sites themselves.
 */
add_filter(
	'pre_http_request',
	static function ( $pre, $args, $url ) {
		$host = strtolower( (string) wp_parse_url( $url, PHP_URL_HOST ) );
		$host = trim( $host, '[]' );
		if ( 'localhost' === $host || '::1' === $host || preg_match( '/^127\.\d+\.\d+\.\d+$/', $host ) ) {
			return $pre;
		}
		return new WP_Error( 'wprest_lab_offline', sprintf( 'wp-rest lab: outbound HTTP to %s is disabled.', $host ) );
	},
	PHP_INT_MAX,
	3
);

// Update checks would fail anyway (see above); not scheduling them keeps
// them from being retried and from writing failure transients.
add_filter( 'automatic_updater_disabled', '__return_true' );
remove_action( 'init', 'wp_schedule_update_checks' );
remove_action( 'admin_init', '_maybe_update_core' );
remove_action( 'admin_init', '_maybe_update_plugins' );
remove_action( 'admin_init', '_maybe_update_themes' );
remove_action( 'wp_version_check', 'wp_version_check' );
remove_action( 'wp_update_plugins', 'wp_update_plugins' );
remove_action( 'wp_update_themes', 'wp_update_themes' );
remove_action( 'wp_maybe_auto_update', 'wp_maybe_auto_update' );

// There is no MTA. Pretend every mail was sent rather than letting PHPMailer
// fail (new users, password changes, e-mail change confirmations...).
add_filter( 'pre_wp_mail', '__return_true' );

/*
 * All lab sites share /var/lib/wordpress/wp-content/uploads. Give each site
 * its own subdirectory so that uploads of one site never show up in (or
 * rename files of) another.
 */
add_filter(
	'upload_dir',
	static function ( $dirs ) {
		$suffix = '/' . WPREST_LAB_SITE;
		if ( substr( $dirs['basedir'], -strlen( $suffix ) ) !== $suffix ) {
			$dirs['basedir'] .= $suffix;
			$dirs['baseurl'] .= $suffix;
			$dirs['path']     = $dirs['basedir'] . $dirs['subdir'];
			$dirs['url']      = $dirs['baseurl'] . $dirs['subdir'];
		}
		return $dirs;
	}
);

// Lets a test (or a human with curl -i) see which lab site and release
// answered; the sites differ only by loopback address, which is easy to get
// wrong.
add_filter(
	'rest_post_dispatch',
	static function ( $response ) {
		if ( $response instanceof WP_HTTP_Response ) {
			$response->header( 'X-WPRest-Lab-Site', WPREST_LAB_SITE );
			$response->header( 'X-WPRest-Lab-Version', defined( 'WPREST_LAB_VERSION' ) ? WPREST_LAB_VERSION : '6.1' );
		}
		return $response;
	}
);
