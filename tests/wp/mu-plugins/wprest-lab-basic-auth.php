<?php
/**
 * Plugin Name: wp-rest lab Basic-Auth (WP-API/Basic-Auth 0.1 behaviour)
 * Description: Test double for "JSON Basic Authentication" 0.1 (WP-API/Basic-Auth).
 *
 * This file REPRODUCES the behaviour of basic-auth.php of WP-API/Basic-Auth 0.1
 * (commit 9e9d526) step for step, under lab-prefixed function names, for
 * wp_rest's integration tests. It is an independent
 * rewrite, not that plugin. Lab only.
 *
 * Active only on the lab site 'basicauth'. Behaviour, quirks included:
 * - determine_current_user at priority 20, on every request: if PHP_AUTH_USER
 *   is set, wp_authenticate() with the user's real LOGIN password (so it also
 *   fires wp_login_failed); no HTTP_AUTHORIZATION fallback of its own.
 * - The result goes into the global $wp_json_basic_auth_error (a WP_Error,
 *   true on success, null without credentials), which rest_authentication_errors
 *   returns at priority 10. A WP_Error from wp_authenticate has no status, so
 *   a wrong password or unknown user is a 500 with "data": null, on public
 *   routes too; and a valid application password fails the same way, because
 *   the check runs before REST_REQUEST is defined.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

if ( ! defined( 'WPREST_LAB_SITE' ) || 'basicauth' !== WPREST_LAB_SITE ) {
	return;
}

/**
 * determine_current_user, priority 20. Returns the user id, null after a
 * failed login (the error is kept for later), or the input unchanged.
 */
function wprest_lab_json_basic_auth_handler( $user ) {
	global $wp_json_basic_auth_error;
	$wp_json_basic_auth_error = null; // reset on every call, as 0.1 does

	if ( ! empty( $user ) || ! isset( $_SERVER['PHP_AUTH_USER'] ) ) {
		return $user; // someone else found a user, or no Basic credentials
	}

	// PHP_AUTH_PW is read unguarded, as in 0.1 (PHP sets both or neither).
	$login    = $_SERVER['PHP_AUTH_USER'];
	$password = $_SERVER['PHP_AUTH_PW'];

	// Multisite recursion guard of 0.1: wp_authenticate() can end up asking
	// for the current user again, so unhook around the call.
	remove_filter( 'determine_current_user', 'wprest_lab_json_basic_auth_handler', 20 );
	$authenticated = wp_authenticate( $login, $password );
	add_filter( 'determine_current_user', 'wprest_lab_json_basic_auth_handler', 20 );

	if ( is_wp_error( $authenticated ) ) {
		$wp_json_basic_auth_error = $authenticated; // no 'status': REST turns it into a 500
		return null;
	}
	$wp_json_basic_auth_error = true;
	return $authenticated->ID;
}
add_filter( 'determine_current_user', 'wprest_lab_json_basic_auth_handler', 20 );

/** rest_authentication_errors (and the WP-API v1 json_ twin), priority 10. */
function wprest_lab_json_basic_auth_error( $error ) {
	global $wp_json_basic_auth_error;
	return empty( $error ) ? $wp_json_basic_auth_error : $error;
}
add_filter( 'json_authentication_errors', 'wprest_lab_json_basic_auth_error' );
add_filter( 'rest_authentication_errors', 'wprest_lab_json_basic_auth_error' );
